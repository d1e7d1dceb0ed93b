"""Stopping a search that runs outside Python (CP-SAT, HiGHS) when `SolveConfig.stop` is set:
Ctrl-C and SIGTERM on the command line, the portfolio ending a part, or a caller's reason."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

POLL_S = 0.05  # how often a running search looks at the stop request


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
