"""The setup-aware batching decoder and its variants: every schedule it calls feasible passes
the validator, on random instances with setups, windows, releases, deadlines, resources and
power caps; energy-balanced modes respect the load target where they can."""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from strategies import instances, zero_some_modes

from scheduler.core.compile import compile_instance
from scheduler.core.model import Instance
from scheduler.core.objective import Objective
from scheduler.core.schedule import Schedule
from scheduler.core.validate import validate
from solvers.heuristics.problem import FAILED, NO_DEADLINE, make_problem, make_workspace
from solvers.heuristics.regroup import NOISE, balanced_modes, rng_for, run_variant, variants

SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(instances(energy_caps=True), st.booleans(), st.integers(0, 2**16))
def test_batching_schedules_are_valid(inst: Instance, zeros: bool, seed: int) -> None:
    if zeros:
        inst = zero_some_modes(inst, iter([True, False] * 100).__next__)
    c = compile_instance(inst)
    p = make_problem(c, Objective.parse("makespan"))
    w = make_workspace(p)
    rng = rng_for(seed)
    for v in variants(p, least_energy=bool(seed % 2), c=c):
        for noise in (0.0, NOISE):
            viol = run_variant(p, w, v, noise, rng, NO_DEADLINE)
            if viol == FAILED:
                continue
            schedule = Schedule.from_arrays(c, w.mode.copy(), w.start.copy())
            found = validate(inst, schedule)
            if viol == 0:
                assert found == [], (v.label, found[:3])
            else:  # only what the decoder counts: deadlines, the horizon, the carbon cap
                assert all(x.rule in ("deadline", "horizon", "carbon_cap") for x in found)


@SETTINGS
@given(instances(energy=False, resources=False), st.floats(0.0, 50.0))
def test_balanced_modes_meet_the_target_or_stay_least_energy(inst: Instance, target: float) -> None:
    c = compile_instance(inst)
    p = make_problem(c, Objective.parse("makespan"))
    mode = balanced_modes(p, target)
    for o in range(p.n_ops):
        assert p.mode_ptr[o] <= mode[o] < p.mode_ptr[o + 1]
    load = np.zeros(p.n_machines)
    np.add.at(load, p.mode_machine[mode], p.mode_duration[mode])
    least = np.array(
        [
            p.mode_ptr[o] + np.argmin(p.mode_kwh[p.mode_ptr[o] : p.mode_ptr[o + 1]])
            for o in range(p.n_ops)
        ]
    )
    moved = mode != least
    # an op moved off its least-energy machine went to a machine within the target
    assert all(load[p.mode_machine[mode[o]]] <= target for o in np.flatnonzero(moved))
