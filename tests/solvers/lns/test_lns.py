"""The `lns` solver and its sub-model: every schedule passes the validator on random instances
with setups, windows, releases, deadlines, resources and power caps; parts keep the rest."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ortools.sat.python import cp_model
from strategies import instances

from scheduler.core.compile import compile_instance
from scheduler.core.errors import UnsupportedFeatureError
from scheduler.core.model import Energy, Instance, Job, Machine, Mode, Operation, Profile
from scheduler.core.objective import Objective
from scheduler.core.schedule import Schedule
from scheduler.core.solve import solve
from scheduler.core.validate import validate
from solvers.cpsat.energy_blocks import power_scale
from solvers.heuristics.problem import make_problem
from solvers.lns.submodel import build, neighbourhood

SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
OBJECTIVES = ("makespan", "weighted_tardiness", "energy", "makespan=1,energy=0.5")


def _no_carbon_cap(inst: Instance) -> Instance:
    """The instance without its carbon cap (which `lns` refuses)."""
    return dataclasses.replace(inst, energy=dataclasses.replace(inst.energy, carbon_cap_kg=None))


@SETTINGS
@given(instances(energy_caps=True), st.sampled_from(OBJECTIVES))
def test_lns_schedules_are_valid(inst: Instance, objective: str) -> None:
    inst = _no_carbon_cap(inst)
    result = solve(inst, solver="lns", objective=objective, part_time_limit=0.2)
    if result.schedule is not None:  # the facade validates too; check it here explicitly
        assert validate(inst, result.schedule) == []
        assert result.status in ("feasible", "optimal")
        assert result.objective is not None and result.bound is not None
        assert result.bound <= result.objective + 1e-6


@SETTINGS
@given(instances(energy_caps=True, jobs=(2, 5), ops_per_job=(1, 3)), st.data())
def test_a_part_re_solved_keeps_the_schedule_valid(inst: Instance, data: st.DataObject) -> None:
    """Free random machines in a random window of a valid schedule, solve the sub-model and
    put the part back: without compaction the whole schedule still passes the validator."""
    inst = _no_carbon_cap(inst)
    start_result = solve(inst, solver="heuristic", iterations=50)
    if start_result.schedule is None:
        return
    c = compile_instance(inst)
    p = make_problem(c, Objective.parse("makespan"))
    mode, start = start_result.schedule.to_arrays(c)
    machines = np.array(
        sorted(data.draw(st.sets(st.integers(0, c.n_machines - 1), min_size=1))), dtype=np.int64
    )
    end = int((start + p.mode_duration[mode]).max())
    a = data.draw(st.integers(0, max(0, end)))
    b = data.draw(st.integers(a, end + 1))
    nb = neighbourhood(p, start, mode, machines, a, b)
    if nb.ops.size == 0:
        return
    guide = {"makespan": 1.0}
    sm = build(p, nb, start, mode, power_scale(c) if p.has_cap else 1, guide, np.zeros(c.n_ops))
    assert sm is not None  # the incumbent fits its own part
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = 2.0
    solver.parameters.num_workers = 1
    code = solver.solve(sm.model)
    assert code in (cp_model.OPTIMAL, cp_model.FEASIBLE)  # the incumbent is a solution
    new_mode, new_start = mode.copy(), start.copy()
    for o in nb.ops.tolist():
        new_mode[o] = sm.mode_of(o, solver)
        new_start[o] = solver.value(sm.start[o])
    assert validate(inst, Schedule.from_arrays(c, new_mode, new_start)) == []


def _tiny(energy: Energy) -> Instance:
    jobs = tuple(
        Job(
            f"J{j}",
            (Operation(f"J{j}-0", (Mode("M0", 2, power_kw=5.0), Mode("M1", 3, power_kw=4.0))),),
        )
        for j in range(3)
    )
    return Instance((Machine("M0"), Machine("M1")), jobs, name="tiny", energy=energy)


def test_lns_refuses_a_carbon_cap() -> None:
    inst = _tiny(Energy(carbon_intensity=Profile(((0, 0.5),)), carbon_cap_kg=0.3))
    with pytest.raises(UnsupportedFeatureError, match="carbon cap"):
        solve(inst, solver="lns", time_limit=1)


def test_lns_refuses_malformed_options() -> None:
    with pytest.raises(UnsupportedFeatureError, match="part_size"):
        solve(_tiny(Energy()), solver="lns", time_limit=1, part_size=0)
