"""KPIs on a hand-computed example (periodic tariff crossing a step and a period boundary,
idle energy), and the step-profile integral against a tick-by-tick sum."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scheduler.core.accounting import operation_energy
from scheduler.core.kpi import compute_kpis
from scheduler.core.model import Energy, Instance, Job, Machine, Mode, Operation, Profile
from scheduler.core.objective import TERMS, Objective
from scheduler.core.schedule import Assignment, Schedule
from scheduler.core.validate import validate

TARIFF = Profile(((0, 0.1), (4, 0.3)), period=8)  # 0.1 on ticks 0-3, 0.3 on 4-7, 0.1 on 8-11...
CARBON = Profile(((0, 0.5), (6, 0.2)))  # 0.5 before tick 6, then 0.2


def _example() -> Schedule:
    """Half-hour ticks. O1 4 kW on M1 [2, 5); O2 2 kW on M2 [6, 10); P1 6 kW on M1 [7, 9);
    Q1 1 kW on M2 [0, 2)."""
    instance = Instance(
        (Machine("M1", idle_power_kw=2.0), Machine("M2", idle_power_kw=1.0)),
        (
            Job(
                "J1",
                (Operation("O1", (Mode("M1", 3, 4.0),)), Operation("O2", (Mode("M2", 4, 2.0),))),
                due=6,
                weight=2.0,
            ),
            Job("J2", (Operation("P1", (Mode("M2", 5, 9.0), Mode("M1", 2, 6.0))),), release=1),
            Job("J3", (Operation("Q1", (Mode("M2", 2, 1.0),)),)),
        ),
        time_unit_minutes=30.0,
        energy=Energy(tariff=TARIFF, carbon_intensity=CARBON),
    )
    rows = (
        Assignment("J1", "O1", "M1", 0, 2, 5),
        Assignment("J1", "O2", "M2", 0, 6, 10),
        Assignment("J2", "P1", "M1", 1, 7, 9),
        Assignment("J3", "Q1", "M2", 0, 0, 2),
    )
    return Schedule(instance, rows)


def test_operation_energy_by_hand() -> None:
    schedule = _example()
    assert validate(schedule.instance, schedule) == []
    expected = {
        # kWh per tick = kW x 0.5 h
        "O1": (6.0, 2 * (0.1 + 0.1 + 0.3), 2 * 3 * 0.5),  # tariff steps up at tick 4
        "O2": (4.0, 1 * (0.3 + 0.3 + 0.1 + 0.1), 1 * 4 * 0.2),  # wraps into the next period
        "P1": (6.0, 3 * (0.3 + 0.1), 3 * 2 * 0.2),  # mode 1: 6 kW for 2 ticks
        "Q1": (1.0, 0.5 * 2 * 0.1, 0.5 * 2 * 0.5),
    }
    for a in schedule.assignments:
        assert operation_energy(schedule.instance, a) == pytest.approx(expected[a.operation])
    frame = schedule.to_frame()
    assert frame["energy_kwh"].sum() == pytest.approx(17.0)
    assert frame.set_index("operation").loc["O2", "energy_cost"] == pytest.approx(0.8)


def test_kpis_by_hand() -> None:
    kpis = compute_kpis(_example().instance, _example())
    assert kpis["makespan"] == 10
    # J1 completes at 10 (due 6, weight 2); J2 at 9 (no due); J3 at 2 (no due)
    assert kpis["total_tardiness"] == 4 and kpis["weighted_tardiness"] == 8
    assert kpis["n_late"] == 1 and kpis["on_time_rate"] == 0.0 and kpis["n_jobs"] == 3
    assert kpis["total_flow_time"] == (10 - 0) + (9 - 1) + (2 - 0)
    assert kpis["throughput_per_hour"] == pytest.approx(3 / (10 * 0.5))
    assert kpis["energy"] == pytest.approx(17.0)
    assert kpis["energy_cost"] == pytest.approx(1.0 + 0.8 + 1.2 + 0.1)
    assert kpis["carbon"] == pytest.approx(3.0 + 0.8 + 1.2 + 0.5)
    # M1 spans [2, 9) busy 5: 2 idle ticks x 2 kW x 0.5 h; M2 spans [0, 10) busy 6: 4 x 1 x 0.5
    assert kpis["idle_energy"] == pytest.approx(2.0 + 2.0)
    assert kpis["total_energy"] == pytest.approx(21.0)
    assert kpis["utilisation"] == pytest.approx({"M1": 0.5, "M2": 0.6})
    assert kpis["mean_utilisation"] == pytest.approx(0.55)


def test_kpis_hold_every_objective_term() -> None:
    kpis = compute_kpis(_example().instance, _example(), reference=_example())
    assert set(TERMS) <= set(kpis) and kpis["deviation"] == 0  # against itself: no shift
    objective = Objective.parse("makespan=1,energy_cost=10>carbon")
    assert objective.value(kpis) == pytest.approx(10 + 31.0)
    assert objective.value(kpis, 1) == pytest.approx(5.5)


def test_no_profiles_give_zero_cost_and_carbon() -> None:
    instance = Instance((Machine("M1"),), (Job("J", (Operation("A", (Mode("M1", 4, 3.0),)),)),))
    row = Assignment("J", "A", "M1", 0, 5, 9)
    assert operation_energy(instance, row) == (pytest.approx(0.2), 0.0, 0.0)
    kpis = compute_kpis(instance, Schedule(instance, (row,)))
    assert kpis["idle_energy"] == 0.0 and kpis["on_time_rate"] == 1.0
    assert kpis["utilisation"] == {"M1": pytest.approx(4 / 9)}


def test_long_operation_over_many_periods() -> None:
    instance = Instance(
        (Machine("M1"),),
        (Job("J", (Operation("A", (Mode("M1", 1000, 60.0),)),)),),
        energy=Energy(tariff=TARIFF),
    )
    # 1 kWh per tick; from tick 3: 125 periods of (4 x 0.1 + 4 x 0.3) = 200
    _, cost, _ = operation_energy(instance, Assignment("J", "A", "M1", 0, 3, 1003))
    assert cost == pytest.approx(200.0)


@settings(max_examples=200, deadline=None)
@given(
    steps=st.lists(st.tuples(st.integers(1, 30), st.integers(-5, 20)), min_size=0, max_size=4),
    first=st.integers(-5, 20),
    period_extra=st.one_of(st.none(), st.integers(1, 10)),
    start=st.integers(0, 100),
    duration=st.integers(1, 80),
)
def test_cost_equals_the_tick_by_tick_sum(
    steps: list[tuple[int, int]],
    first: int,
    period_extra: int | None,
    start: int,
    duration: int,
) -> None:
    starts = sorted({s for s, _ in steps})
    values = dict(steps)
    profile = Profile(
        ((0, float(first)), *((s, values[s] / 4) for s in starts)),
        period=None if period_extra is None else (starts[-1] if starts else 0) + period_extra,
    )
    instance = Instance(
        (Machine("M1"),),
        (Job("J", (Operation("A", (Mode("M1", duration, 6.0),)),)),),
        time_unit_minutes=10.0,
        energy=Energy(tariff=profile, carbon_intensity=Profile(((0, 0.4),))),
    )
    _, cost, carbon = operation_energy(
        instance, Assignment("J", "A", "M1", 0, start, start + duration)
    )
    expected = sum(profile.value_at(t) for t in range(start, start + duration))
    assert cost == pytest.approx(expected, abs=1e-9)  # 6 kW x 10 min = 1 kWh per tick
    assert carbon == pytest.approx(0.4 * duration)
