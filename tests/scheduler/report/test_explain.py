"""Explaining cap infeasibility: the static reasons (power-cap mode exclusion to a fixed point,
the carbon lower bound) and the verdicts drawn from solving without a cap (with a stand-in
solve function, so no solver runs)."""

from __future__ import annotations

import pytest

from scheduler.core.compile import compile_instance
from scheduler.core.model import Energy, Instance, Job, Machine, Mode, Operation, Profile
from scheduler.core.result import Result
from scheduler.core.schedule import Assignment, Schedule
from scheduler.report.explain import explain_infeasibility, least_carbon, static_reasons


def _instance(
    modes: tuple[Mode, ...],
    energy: Energy,
    deadline: int | None = None,
    second: tuple[Mode, ...] = (Mode("M2", 5, 10.0),),
    horizon: int | None = None,
) -> Instance:
    ops = (Operation("J3-1", second), Operation("J3-2", modes))
    return Instance(
        (Machine("M1"), Machine("M2")),
        (Job("J3", ops, deadline=deadline), Job("J4", (Operation("J4-1", (Mode("M1", 4, 5.0),)),))),
        energy=energy,
        horizon=horizon,
    )


def _never(instance: Instance, objective: str) -> Result:
    raise AssertionError("static reasons must not solve")


def test_every_mode_above_a_constant_cap() -> None:
    instance = _instance((Mode("M1", 10, 55.0), Mode("M2", 8, 55.0)), Energy(power_cap_kw=40))
    assert explain_infeasibility(instance, _never) == [
        "operation J3-2 draws 55 kW in every mode, above the 40 kW cap"
    ]


def test_modes_of_different_power_above_a_cap() -> None:
    instance = _instance((Mode("M1", 10, 55.0), Mode("M2", 8, 70.0)), Energy(power_cap_kw=40))
    assert static_reasons(instance) == [
        "operation J3-2 draws at least 55 kW in every mode, above the 40 kW cap"
    ]


def test_a_step_cap_that_never_leaves_room_long_enough() -> None:
    cap = Profile(((0, 20.0), (10, 60.0), (16, 20.0)), period=30)
    instance = _instance((Mode("M1", 8, 50.0),), Energy(power_cap_kw=cap), horizon=60)
    assert static_reasons(instance) == [
        "operation J3-2 cannot run in its window [5, 60): mode 0 (50 kW for 8 ticks) finds at "
        "most 6 consecutive ticks with room under the cap"
    ]


def test_a_mode_above_the_cap_is_only_unusable() -> None:
    modes = (Mode("M1", 4, 90.0), Mode("M2", 9, 30.0))
    assert static_reasons(_instance(modes, Energy(power_cap_kw=40))) == []


def test_fast_mode_above_the_cap_and_slow_mode_too_long() -> None:
    first = (Mode("M2", 5, 60.0), Mode("M2", 12, 20.0))
    instance = _instance((Mode("M1", 6, 10.0),), Energy(power_cap_kw=40), deadline=15, second=first)
    assert static_reasons(instance) == [
        "operation J3-1 cannot run in its window [0, 9): mode 0 draws 60 kW, above the 40 kW "
        "cap; mode 1 needs 12 ticks, more than the window's 9"
    ]


def test_slow_modes_that_fit_alone_close_the_job_together() -> None:
    # each operation's slow mode (6 ticks) fits its own window, but not both by the deadline
    slow_fast = (Mode("M2", 3, 60.0), Mode("M2", 6, 20.0))
    instance = _instance(slow_fast, Energy(power_cap_kw=40), deadline=10, second=slow_fast)
    assert static_reasons(instance) == [
        "job J3 cannot meet its deadline 10: with the modes the power cap leaves, it cannot "
        "end before 12"
    ]


def test_narrowing_repeats_to_a_fixed_point() -> None:
    # the cap leaves room for 50 kW only in [0, 10): J3-1's slow mode (12 ticks, 20 kW) pushes
    # J3-2 past tick 12, where its 50 kW mode no longer fits -> no mode left for J3-2
    cap = Profile(((0, 60.0), (10, 25.0)))
    first = (Mode("M2", 3, 70.0), Mode("M2", 12, 20.0))
    instance = _instance((Mode("M1", 4, 50.0),), Energy(power_cap_kw=cap), second=first)
    (reason,) = static_reasons(instance)
    assert reason.startswith("operation J3-2 draws 50 kW in every mode, above the highest power")
    assert "cap in its window [12," in reason


def test_least_carbon_takes_the_cleanest_mode_and_time() -> None:
    intensity = Profile(((0, 0.5), (20, 0.1)))
    instance = _instance(
        (Mode("M1", 6, 30.0), Mode("M2", 3, 90.0)), Energy(carbon_intensity=intensity), horizon=40
    )
    # J3-1: 10 kW x 5 ticks; J3-2 at 0.1 from tick 20 (mode 0: 30 kW x 6 min = 3 kWh) ;
    # J4-1 5 kW x 4 ticks; all in 1-minute ticks
    expected = (10 * 5 + 30 * 6 + 5 * 4) / 60 * 0.1
    assert least_carbon(compile_instance(instance)) == pytest.approx(expected)
    capped = _instance(
        (Mode("M1", 6, 30.0),),
        Energy(carbon_intensity=intensity, carbon_cap_kg=0.3),
        horizon=40,
    )
    assert static_reasons(capped) == [
        "carbon cap 0.3 kg is below 0.417 kg, the least the operations emit even each alone, "
        "in its cleanest mode at its cleanest time"
    ]


def _answer(status: str, carbon: float | None = None, bound: float | None = None):  # type: ignore[no-untyped-def]
    """A stand-in solve function that records what it was asked and answers as told."""
    asked: list[tuple[Instance, str]] = []

    def solve_fn(instance: Instance, objective: str) -> Result:
        asked.append((instance, objective))
        schedule = None
        if carbon is not None:
            schedule = Schedule(instance, (Assignment("J", "J-0", "M", 0, 0, 1),))
        kpis = {"carbon": carbon, "makespan": 17} if carbon is not None else {}
        return Result(status, "stand-in", schedule, objective=carbon, bound=bound, kpis=kpis)  # type: ignore[arg-type]

    return solve_fn, asked


def _carbon_capped(cap: float) -> Instance:
    intensity = Profile(((0, 0.5), (20, 0.1)))
    return _instance(
        (Mode("M1", 6, 30.0),),
        Energy(power_cap_kw=100, carbon_intensity=intensity, carbon_cap_kg=cap),
    )


def test_carbon_cap_below_the_minimum_achievable() -> None:
    solve_fn, asked = _answer("optimal", carbon=131.4)
    assert explain_infeasibility(_carbon_capped(120), solve_fn) == [
        "carbon cap 120.0 kg is below the minimum achievable 131.4 kg"
    ]
    ((solved, objective),) = asked
    assert objective == "carbon"
    assert solved.energy.carbon_cap_kg is None and solved.energy.power_cap_kw == 100


def test_carbon_cap_below_a_proven_bound_or_undecided() -> None:
    solve_fn, _ = _answer("feasible", carbon=140.0, bound=125.0)
    assert explain_infeasibility(_carbon_capped(120), solve_fn) == [
        "carbon cap 120.0 kg is below the proven lower bound 125.0 kg on carbon "
        "(best schedule found: 140.0 kg)"
    ]
    solve_fn, _ = _answer("feasible", carbon=140.0, bound=110.0)
    (reason,) = explain_infeasibility(_carbon_capped(120), solve_fn)
    assert reason.startswith("could not decide in the time given whether carbon cap 120.0 kg")


def test_infeasible_without_the_carbon_cap_then_tests_the_power_cap() -> None:
    calls: list[tuple[Instance, str]] = []

    def solve_fn(instance: Instance, objective: str) -> Result:
        calls.append((instance, objective))
        if instance.energy.power_cap_kw is not None:
            return Result("infeasible", "stand-in")
        schedule = Schedule(instance, (Assignment("J", "J-0", "M", 0, 0, 1),))
        return Result("optimal", "stand-in", schedule, kpis={"makespan": 23})

    (reason,) = explain_infeasibility(_carbon_capped(120), solve_fn)
    assert reason == (
        "the instance is infeasible even without its carbon cap; the power cap makes the "
        "instance infeasible: without it a schedule exists (makespan 23)"
    )
    assert [o for _, o in calls] == ["carbon", "makespan"]
    assert calls[1][0].energy.power_cap_kw is None and calls[1][0].energy.carbon_cap_kg is None
