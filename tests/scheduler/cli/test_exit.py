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


@pytest.fixture
def handlers(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """os._exit raising _Ended, and the exit handlers noted in the list returned (outside a
    debugger or coverage run, whose tracer would choose the usual exit)."""

    def ended(code: int) -> None:
        raise _Ended(code)

    ran: list[str] = []
    monkeypatch.setattr(sys, "getprofile", lambda: None)
    monkeypatch.setattr(sys, "gettrace", lambda: None)
    monkeypatch.setattr(os, "_exit", ended)
    monkeypatch.setattr(atexit, "_run_exitfuncs", lambda: ran.append("handlers"))
    return ran


@pytest.mark.parametrize("daemon", [True, False])
def test_a_thread_at_work_ends_with_the_process_only_if_it_is_a_daemon(
    handlers: list[str], daemon: bool
) -> None:
    """A daemon thread at work (the kernels compiling) does not hold up the exit: the
    handlers run and the process ends at once with the code. A non-daemon one gets the usual
    exit, which waits for it, rather than ending it half-way."""
    release = threading.Event()
    busy = threading.Thread(target=release.wait, daemon=daemon)
    busy.start()
    try:
        with pytest.raises(_Ended if daemon else SystemExit) as exit_:
            leave(3)
    finally:
        release.set()
        busy.join()
    if daemon:
        assert exit_.value.args == (3,) and handlers == ["handlers"]
    else:
        assert exit_.value.code == 3 and handlers == []  # type: ignore[attr-defined]


def test_without_other_threads_the_process_ends_at_once(
    handlers: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """No interpreter finalisation after the handlers: it took 0.6-0.8 s after a large solve."""
    monkeypatch.setattr(threading, "enumerate", lambda: [threading.main_thread()])
    with pytest.raises(_Ended) as exit_:
        leave(4)
    assert exit_.value.args == (4,) and handlers == ["handlers"]


def test_under_a_profiler_the_exit_is_the_usual_one(monkeypatch: pytest.MonkeyPatch) -> None:
    """`python -m cProfile` writes its output after the script returns: no os._exit then."""
    monkeypatch.setattr(threading, "enumerate", lambda: [threading.main_thread()])
    monkeypatch.setattr(sys, "getprofile", lambda: object())
    with pytest.raises(SystemExit) as exit_:
        leave(0)
    assert exit_.value.code == 0
