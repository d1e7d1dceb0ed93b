"""The facade's time budget: what it keeps back for checking a schedule, and tells the solver."""

from __future__ import annotations

import time
from typing import Any

import pytest
from paths import INSTANCES

from scheduler.core import solve as facade
from scheduler.core.compile import CompiledInstance, compile_instance
from scheduler.core.protocol import SolveConfig
from scheduler.core.registry import get_solver
from scheduler.core.result import Result
from scheduler.io import load


class _Recording:
    """A solver that notes the budget it is given and lets the heuristic solve."""

    def __init__(self) -> None:
        self.inner = get_solver("heuristic")
        self.name = self.inner.name
        self.capabilities = self.inner.capabilities
        self.seen: list[tuple[float | None, float]] = []

    def solve(self, compiled: CompiledInstance, config: SolveConfig) -> Result:
        self.seen.append((config.time_limit, config.reserve_s))
        return self.inner.solve(compiled, config)


@pytest.mark.parametrize("limit", [None, 0.002, 2.0])
def test_the_solver_is_told_the_time_kept_back_to_check_its_schedule(
    monkeypatch: pytest.MonkeyPatch, limit: float | None
) -> None:
    """The solver's limit leaves out the check's reserve (FINISH_S_PER_OP per operation, at
    most half the limit), and `reserve_s` says how much that is, for a solver still without a
    schedule (0 without a limit)."""
    recording = _Recording()
    monkeypatch.setattr(facade, "get_solver", lambda name: recording)
    c = compile_instance(load(INSTANCES / "jssp" / "ft06.txt"))
    result: Any = facade.solve(c, "heuristic", time_limit=limit, workers=1)
    ((given, reserve),) = recording.seen
    if limit is None:
        assert given is None and reserve == 0.0 and result.objective == 55
        return
    kept = min(0.5 * limit, facade.FINISH_S_PER_OP * c.n_ops)
    assert 0.0 <= reserve <= kept and given is not None and 0.0 <= given <= limit - reserve
    if limit >= 1.0:  # the start took a few milliseconds: the whole reserve is left
        assert reserve == pytest.approx(kept)


def test_no_reserve_is_given_once_the_limit_has_passed() -> None:
    """A solve whose start used up the limit gives its solver neither time nor a reserve to
    spend on a first schedule."""
    c = compile_instance(load(INSTANCES / "jssp" / "ft06.txt"))
    long_ago = time.perf_counter() - 5.0
    assert facade._reserve(1.0, long_ago, c) == 0.0 and facade._left(1.0, long_ago, c) == 0.0
    assert facade._reserve(None, long_ago, c) == 0.0 and facade._left(None, long_ago, c) is None
