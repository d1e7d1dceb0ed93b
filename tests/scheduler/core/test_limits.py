"""The limits table (`scheduler.core.limits`, DESIGN section 8): every number bounded for the
solvers, caps that cannot bind dropped, a long horizon clipped to the useful one without losing
the optimum, and the pre-solve proofs of infeasibility (`scheduler.core.presolve`)."""

from __future__ import annotations

import dataclasses
import math
import re

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from strategies import instances

import scheduler
from scheduler.core.compile import CompiledInstance, compile_instance, useful_horizon
from scheduler.core.errors import InstanceError
from scheduler.core.limits import HORIZON_KEPT, MAX_TICKS, QUOTE_CHARS, quote
from scheduler.core.model import Energy, Instance, Job, Machine, Mode, Operation, Profile
from scheduler.core.presolve import carbon_reason, infeasibility, least_carbon_bound, power_reason


def _plant(*modes: Mode, energy: Energy | None = None, **kwargs: object) -> Instance:
    ops = tuple(Operation(f"O{i}", (mode,)) for i, mode in enumerate(modes))
    jobs = tuple(Job(f"J{i}", (op,)) for i, op in enumerate(ops))
    return Instance((Machine("M"),), jobs, energy=energy or Energy(), **kwargs)  # type: ignore[arg-type]


def test_quotes_are_bounded_whatever_the_value() -> None:
    assert quote("short") == "'short'"
    assert len(quote("x" * 5_000_000)) <= QUOTE_CHARS + 2
    assert quote(10**5000) == "an integer of about 5000 digits"
    assert len(quote([list(range(100))] * 100)) <= QUOTE_CHARS


@pytest.mark.parametrize(
    ("build", "where"),
    [
        (lambda: _plant(Mode("M", MAX_TICKS + 1)), "modes[0]: duration"),
        (lambda: _plant(Mode("M", 1, 1e7)), "modes[0]: power_kw: 1e+07 is beyond the limit"),
        (lambda: _plant(Mode("M", 1), horizon=2**41), "horizon: 2199023255552 is above"),
        (lambda: _plant(Mode("M", 1), time_unit_minutes=1e5), "time_unit_minutes"),
        (
            lambda: _plant(Mode("M", 1), energy=Energy(tariff=Profile(((0, 2e6),)))),
            "energy.tariff: steps[0] value",
        ),
    ],
)
def test_the_model_checks_apply_the_limits(build: object, where: str) -> None:
    with pytest.raises(InstanceError, match=re.escape(where)):
        build()  # type: ignore[operator]


def test_a_derived_horizon_above_the_limit_is_refused() -> None:
    half = MAX_TICKS // 2 + 1
    with pytest.raises(InstanceError, match="horizon: the derived horizon .* above the limit"):
        compile_instance(_plant(Mode("M", half), Mode("M", half)))


def test_too_many_profile_steps_are_refused_naming_the_profile() -> None:
    tariff = Profile(((0, 0.1), (1, 0.2)), period=2)
    late = Job("L", (Operation("L0", (Mode("M", 1),)),), release=MAX_TICKS // 2)
    early = Job("E", (Operation("E0", (Mode("M", 1),)),))
    instance = Instance((Machine("M"),), (early, late), energy=Energy(tariff=tariff))
    with pytest.raises(InstanceError, match="energy.tariff: its period 2 repeats"):
        compile_instance(instance)


def test_caps_that_cannot_bind_are_dropped_and_high_steps_clipped() -> None:
    modes = (Mode("M", 2, 10.0), Mode("M", 3, 5.0))
    intensity = Profile(((0, 0.5),))
    loose = compile_instance(
        _plant(*modes, energy=Energy(power_cap_kw=1e20, carbon_intensity=intensity,
                                     carbon_cap_kg=1e300))
    )  # fmt: skip
    assert loose.power_cap_start.size == 0 and math.isnan(loose.carbon_cap_kg)
    step = Profile(((0, 1e20), (2, 12.0)), period=20)  # (the derived horizon is 5)
    tight = compile_instance(
        _plant(*modes, energy=Energy(power_cap_kw=step, carbon_intensity=intensity,
                                     carbon_cap_kg=0.2))
    )  # fmt: skip
    assert list(tight.power_cap_value[:2]) == [15.0, 12.0]  # 15 kW: both ops at once
    assert tight.carbon_cap_kg == 0.2


def test_presolve_names_an_operation_above_every_cap() -> None:
    c = compile_instance(_plant(Mode("M", 2, 10.0), energy=Energy(power_cap_kw=8.0)))
    assert power_reason(c) == "operation O0 draws 10 kW in every mode, above the 8 kW cap"
    zero = compile_instance(_plant(Mode("M", 0, 10.0), energy=Energy(power_cap_kw=8.0)))
    assert infeasibility(zero) is None  # a zero-duration mode draws at no tick


def test_presolve_carbon_bound_is_each_op_leanest_at_the_cleanest_intensity() -> None:
    intensity = Profile(((0, 0.5), (5, 0.2)), period=10)
    energy = Energy(carbon_intensity=intensity, carbon_cap_kg=0.01)
    two = Operation("O", (Mode("M", 6, 10.0), Mode("M", 2, 20.0)))  # 1 kWh and 0.667 kWh
    c = compile_instance(Instance((Machine("M"),), (Job("J", (two,)),), energy=energy))
    assert least_carbon_bound(c) == pytest.approx(20 * 2 / 60 * 0.2)
    assert "carbon cap 0.01 kg is below" in str(carbon_reason(c))
    result = scheduler.solve(c, solver="heuristic", iterations=10**9)  # no search is run
    assert result.status == "infeasible" and result.message == carbon_reason(c)
    assert result.trajectory == [] and result.schedule is None


OBJECTIVES = ("makespan", "energy_cost", "carbon", "weighted_tardiness", "idle_energy")


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    instance=instances(jobs=(2, 3), ops_per_job=(1, 2), deadlines=False, horizon=False),
    objective=st.sampled_from(OBJECTIVES),
)
def test_the_useful_horizon_keeps_the_optimum(instance: Instance, objective: str) -> None:
    """Solved to optimality with a horizon that is kept (below HORIZON_KEPT) and with the
    useful horizon itself as the given one: the same optimal value."""
    c = compile_instance(instance)
    parts = (c.op_release, _longest(c), c.succ_lag, c.setup, c.unav_end)
    useful = useful_horizon(instance, *parts)
    roomy = min(HORIZON_KEPT, 3 * useful)
    values = []
    for horizon in (roomy, useful):
        result = scheduler.solve(
            dataclasses.replace(instance, horizon=horizon),
            solver="cpsat",
            objective=objective,
            time_limit=10,
            workers=2,
            warm_start=False,
        )
        if result.status != "optimal":
            return  # nothing to compare (the time limit is generous for these sizes)
        values.append(result.objective)
    assert values[1] == pytest.approx(values[0], rel=1e-9, abs=1e-9)


def _longest(c: CompiledInstance) -> np.ndarray:
    """Each operation's longest mode."""
    return np.maximum.reduceat(c.mode_duration, c.mode_ptr[:-1])
