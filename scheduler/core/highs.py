"""HiGHS for the linear programs of the core and for the MILP solver: imported when first
used, with its banner (printed from C++ on standard output when a process makes its first
instance) kept off standard output, which may carry a schedule."""

from __future__ import annotations

import contextlib
import os
import sys
import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import highspy

_LOCK = threading.Lock()
_BANNER_DONE = threading.Event()


def silence_banner() -> None:
    """Let HiGHS print its banner into /dev/null now, once per process: called where no other
    thread writes to stdout yet (a solve's set-up), since file descriptor 1 is redirected for
    the moment it takes."""
    if _BANNER_DONE.is_set():
        return
    import highspy

    with _LOCK:
        if not _BANNER_DONE.is_set():
            with _silent_stdout():
                highspy.Highs()
            _BANNER_DONE.set()


def new_highs() -> highspy.Highs:
    """A fresh `highspy.Highs`, its banner silenced (`silence_banner`)."""
    import highspy

    silence_banner()
    return highspy.Highs()


@contextlib.contextmanager
def _silent_stdout() -> Iterator[None]:
    """File descriptor 1 sent to /dev/null for the block (left alone if it is closed)."""
    sys.stdout.flush()
    try:
        saved = os.dup(1)
    except OSError:
        yield
        return
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 1)
            yield
    finally:
        os.dup2(saved, 1)
        os.close(saved)
