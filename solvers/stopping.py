"""Stopping a search that runs outside Python (CP-SAT, HiGHS) when `SolveConfig.stop` is set:
Ctrl-C and SIGTERM on the command line, the portfolio ending a part, or a caller's reason;
and stopping long Python set-up work (model building, list schedules) at the time limit."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

POLL_S = 0.05  # how often a running search looks at the stop request


class OutOfTime(Exception):
    """The time limit passed, or a stop was requested, during a solver's set-up work."""


class SetupClock:
    """A deadline (perf_counter seconds, None: none) and a stop request, checked by set-up loops
    that take seconds on large instances, so that a solver returns within its time limit."""

    def __init__(self, deadline: float | None, stop: threading.Event | None = None) -> None:
        self.deadline = deadline
        self.stop = stop

    def check(self) -> None:
        """Raise OutOfTime when the deadline has passed or a stop was requested."""
        if (self.stop is not None and self.stop.is_set()) or (
            self.deadline is not None and time.perf_counter() > self.deadline
        ):
            raise OutOfTime


NO_DEADLINE = SetupClock(None)


@contextmanager
def stop_watch(stop: threading.Event, cancel: Callable[[], object]) -> Iterator[None]:
    """Within the block, call `cancel` (e.g. CP-SAT's `stop_search`, HiGHS's `cancelSolve`,
    which keep their incumbent) as soon as `stop` is set; the watcher thread ends with the
    block."""
    done = threading.Event()

    def watch() -> None:
        while not done.is_set():
            if stop.wait(POLL_S):
                cancel()
                return

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        yield
    finally:
        done.set()
        watcher.join()
