"""Zero-duration operations (orb07 has one) occupy no machine time (DESIGN section 11)."""

from __future__ import annotations

import pytest
from paths import ROOT

import scheduler
from scheduler.core.model import Instance, Job, Machine, Mode, Operation
from scheduler.core.schedule import Assignment, Schedule


def _instance() -> Instance:
    machines = (Machine("M1", unavailable=((4, 6),)),)
    jobs = (
        Job("A", (Operation("A1", (Mode("M1", 4),), family="x"),)),
        Job(
            "B",
            (
                Operation("B0", (Mode("M1", 0),)),
                Operation("B1", (Mode("M1", 3),), family="y"),
            ),
        ),
    )
    return Instance(machines, jobs, setup_times={"M1": {"x": {"y": 2}}})


def test_validator_lets_a_zero_duration_operation_sit_anywhere_on_its_machine() -> None:
    inst = _instance()
    rows = (
        Assignment("A", "A1", "M1", 0, 0, 4),
        Assignment("B", "B0", "M1", 0, 5, 5),  # inside A1's setup gap and inside the window
        Assignment("B", "B1", "M1", 0, 8, 11),  # setup x -> y of 2 after the window
    )
    assert scheduler.validate(inst, Schedule(inst, rows)) == []
    squeezed = rows[:2] + (Assignment("B", "B1", "M1", 0, 6, 9),)
    assert [v.rule for v in scheduler.validate(inst, Schedule(inst, squeezed))] == ["setup"]


@pytest.mark.parametrize("solver", ["cpsat", "heuristic", "baseline"])
def test_solvers_keep_orb07_whole(solver: str) -> None:
    if solver not in scheduler.available_solvers():
        pytest.fail(f"solver {solver!r} is not registered")
    inst = scheduler.load(ROOT / "benchmarks" / "instances" / "jssp" / "orb07.txt")
    result = scheduler.solve(inst, solver=solver, time_limit=3, workers=2, warm_start=False)
    assert result.schedule is not None
    assert len(result.schedule.assignments) == 100
    assert scheduler.validate(inst, result.schedule) == []
    assert result.objective is not None and result.objective >= 397  # the proven optimum
