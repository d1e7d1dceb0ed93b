"""HiGHS for the linear programs of the core and for the MILP solver: imported when first
used, with its banner (printed from C++ on standard output when a process makes its first
instance) kept off standard output, which may carry a schedule."""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import highspy

_LOCK = threading.Lock()
_BANNER_DONE = threading.Event()


def new_highs() -> highspy.Highs:
    """A fresh `highspy.Highs`, the first of the process made with stdout silenced (the
    banner comes once per process; later ones need no redirection)."""
    import highspy

    if _BANNER_DONE.is_set():
        return highspy.Highs()
    with _LOCK:
        if _BANNER_DONE.is_set():
            return highspy.Highs()
        with _silent_stdout():
            h = highspy.Highs()
        _BANNER_DONE.set()
        return h


@contextlib.contextmanager
def _silent_stdout() -> Iterator[None]:
    """File descriptor 1 sent to /dev/null for the block."""
    saved = os.dup(1)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 1)
            yield
    finally:
        os.dup2(saved, 1)
        os.close(saved)
