"""How the command line's process ends (`scheduler.cli.leave`)."""

from __future__ import annotations

import atexit
import os
import sys
import threading

import pytest

from scheduler.cli import leave


class _Ended(Exception):
    """Raised in place of os._exit, carrying its code."""


def test_a_busy_daemon_thread_does_not_hold_up_the_exit(monkeypatch: pytest.MonkeyPatch) -> None:
    """With a daemon thread at work (the kernels compiling), the exit handlers run and the
    process ends at once with the code, not after interpreter finalisation."""

    def ended(code: int) -> None:
        raise _Ended(code)

    ran: list[str] = []
    _untraced(monkeypatch)
    monkeypatch.setattr(os, "_exit", ended)
    monkeypatch.setattr(atexit, "_run_exitfuncs", lambda: ran.append("handlers"))
    release = threading.Event()
    busy = threading.Thread(target=release.wait, daemon=True)
    busy.start()
    try:
        with pytest.raises(_Ended) as exit_:
            leave(3)
    finally:
        release.set()
        busy.join()
    assert exit_.value.args == (3,) and ran == ["handlers"]


def test_without_other_threads_the_process_ends_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """No interpreter finalisation after the handlers: it took 0.6-0.8 s after a large solve."""

    def ended(code: int) -> None:
        raise _Ended(code)

    ran: list[str] = []
    _untraced(monkeypatch)
    monkeypatch.setattr(os, "_exit", ended)
    monkeypatch.setattr(atexit, "_run_exitfuncs", lambda: ran.append("handlers"))
    monkeypatch.setattr(threading, "enumerate", lambda: [threading.main_thread()])
    with pytest.raises(_Ended) as exit_:
        leave(4)
    assert exit_.value.args == (4,) and ran == ["handlers"]


def test_a_working_non_daemon_thread_gets_the_usual_exit(monkeypatch: pytest.MonkeyPatch) -> None:
    """The usual exit, which waits for the thread, rather than ending it half-way."""
    release = threading.Event()
    worker = threading.Thread(target=release.wait)
    worker.start()
    try:
        with pytest.raises(SystemExit) as exit_:
            leave(4)
    finally:
        release.set()
        worker.join()
    assert exit_.value.code == 4


def test_under_a_profiler_the_exit_is_the_usual_one(monkeypatch: pytest.MonkeyPatch) -> None:
    """`python -m cProfile` writes its output after the script returns: no os._exit then."""
    monkeypatch.setattr(threading, "enumerate", lambda: [threading.main_thread()])
    monkeypatch.setattr(sys, "getprofile", lambda: object())
    with pytest.raises(SystemExit) as exit_:
        leave(0)
    assert exit_.value.code == 0


def _untraced(monkeypatch: pytest.MonkeyPatch) -> None:
    """As outside a debugger or coverage run, whose tracer would choose the usual exit."""
    monkeypatch.setattr(sys, "getprofile", lambda: None)
    monkeypatch.setattr(sys, "gettrace", lambda: None)
