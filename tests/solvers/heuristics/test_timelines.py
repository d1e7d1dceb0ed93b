"""The heuristic's per-tick time lines (power cap and resources) are bounded: past
MAX_TIMELINE_CELLS it refuses the instance, and a cpsat solve then starts without its warm start."""

from __future__ import annotations

import pytest

import scheduler
from scheduler.core.errors import UnsupportedFeatureError
from scheduler.core.model import Instance, Job, Machine, Mode, Operation, Resource
from solvers.heuristics.problem import MAX_TIMELINE_CELLS


def _late_release(release: int) -> Instance:
    """Two one-op jobs sharing a crew, one released at `release`: the time lines reach it."""
    mode = Mode("M", 5, resources={"crew": 1})  # type: ignore[arg-type]
    jobs = (
        Job("early", (Operation("e", (mode,)),)),
        Job("late", (Operation("l", (mode,)),), release=release),
    )
    return Instance((Machine("M"),), jobs, resources=(Resource("crew", 1),))


def test_time_lines_past_the_limit_are_refused_and_cpsat_starts_cold() -> None:
    instance = _late_release(2 * MAX_TIMELINE_CELLS)
    with pytest.raises(UnsupportedFeatureError, match="per-tick time lines"):
        scheduler.solve(instance, solver="heuristic", iterations=10)
    logged: list[str] = []
    result = scheduler.solve(instance, solver="cpsat", time_limit=5, log=logged.append)
    assert result.status == "optimal" and result.objective == 2 * MAX_TIMELINE_CELLS + 5
    assert any(line.startswith("warm start skipped: heuristic") for line in logged)


def test_time_lines_within_the_limit_are_kept() -> None:
    result = scheduler.solve(_late_release(MAX_TIMELINE_CELLS // 4), solver="heuristic")
    assert result.objective == MAX_TIMELINE_CELLS // 4 + 5
