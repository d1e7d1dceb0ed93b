"""First-call cost of the Numba kernels: one call on a tiny instance compiles them (or loads
them from the on-disk cache, `cache=True`, next to the sources or, where those are read-only,
in Numba's per-user cache), timed once per process and reported by the solver.

Compiling from an empty cache takes minutes of CPU, far more than a typical time limit, so it
runs in the background (`start_warmup`); callers wait for it only as long as their own
deadline allows (`kernels_ready`) and work without the kernels meanwhile. When the cache does
not hold them, a child process compiles them into it and the background thread then loads
them: compiling in a thread held the interpreter's lock for most of the minute, so the
solve's own Python work and its outputs (a 1,500-operation plant's HTML report: 4.5 s
instead of 1.45 s) ran at a fraction of their speed."""

from __future__ import annotations

import atexit
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

from scheduler.core.compile import compile_instance
from scheduler.core.model import Instance, Job, Machine, Mode, Operation
from scheduler.core.objective import Objective
from solvers.heuristics.annealing import anneal, make_state, start_search
from solvers.heuristics.batching import batch_decode
from solvers.heuristics.decode import SERIAL, STATIC, decode
from solvers.heuristics.evaluate import N_TERMS, score, violation
from solvers.heuristics.justify import justified, justify
from solvers.heuristics.problem import (
    NO_DEADLINE,
    level_matrix,
    make_problem,
    make_workspace,
    term_caps,
)
from solvers.heuristics.regroup import NO_END, rng_for
from solvers.heuristics.tabu import make_tabu_state, start_tabu, tabu_search

POLL_S = 0.05  # how often a waiting solve looks at its clock and stop request
STOP_WAIT_S = 5.0  # how long an exiting process waits for its compiling child to end
CHILD = (  # the compiling child's program (`{root}`: where `solvers` is importable from)
    "import sys; sys.path.insert(0, {root!r}); "
    "from solvers.heuristics import warmup; warmup._compile_as_child()"
)
_first_call_s: list[float] = []
_failure: list[BaseException] = []
_ready = threading.Event()
_lock = threading.Lock()
_thread: list[threading.Thread] = []
_started_at: list[float] = []  # perf_counter reading when the warm-up started
_child: list[subprocess.Popen[bytes]] = []  # the process compiling the kernels, if any
_closing = threading.Event()  # set at exit: the warm-up must not start compiling then
# the kernels `_run_kernels` calls (the kernels they call are compiled into them)
KERNELS: tuple[Any, ...] = (decode, violation, score, start_search, anneal, start_tabu)
KERNELS += (tabu_search, batch_decode, justify)


def _tiny() -> Instance:
    """Two jobs on two machines: enough to run every kernel once."""
    jobs = tuple(
        Job(f"J{j}", (Operation(f"J{j}-0", (Mode("M0", 2), Mode("M1", 3))),)) for j in range(2)
    )
    return Instance((Machine("M0"), Machine("M1")), jobs, name="warmup")


def start_warmup() -> None:
    """Start loading (or compiling) the kernels in a background thread, once per process."""
    with _lock:
        if not _thread:
            _started_at.append(time.perf_counter())
            _thread.append(threading.Thread(target=_warm, name="numba-warmup", daemon=True))
            _thread[0].start()


def kernels_ready(deadline: float | None, stop: threading.Event | None = None) -> bool:
    """Wait (starting the warm-up if needed) until the kernels are ready, the clock reaches
    `deadline` (perf_counter seconds; None: no limit) or `stop` is set; True when ready."""
    start_warmup()
    while not _ready.is_set():
        if stop is not None and stop.is_set():
            return False
        left = None if deadline is None else deadline - time.perf_counter()
        if left is not None and left <= 0:
            return False
        _ready.wait(POLL_S if left is None else min(POLL_S, left))
    return True


def warming_seconds() -> float:
    """Seconds since the warm-up started (0 before it has): past a couple of seconds without
    the kernels ready, they are compiling, not loading from the cache."""
    return time.perf_counter() - _started_at[0] if _started_at else 0.0


def ready_event() -> threading.Event:
    """Set once the kernels are ready (or failed to build: `first_call_seconds` raises)."""
    return _ready


def first_call_seconds() -> float:
    """Seconds the first kernel calls of this process took (compile or cache load); waits
    for the warm-up."""
    kernels_ready(None)
    if _failure:
        raise _failure[0]
    return _first_call_s[0]


def _warm() -> None:
    """Compile the kernels apart when the cache lacks them, then run each once on a tiny
    instance (loading it from the cache); mark the kernels ready."""
    try:
        started = time.perf_counter()
        if not _cached():
            _compile_apart()
        if _closing.is_set():
            return
        _run_kernels()
        _first_call_s.append(time.perf_counter() - started)
    except BaseException as error:  # re-raised in the solving thread by first_call_seconds
        _failure.append(error)
    finally:
        _ready.set()


def _cached() -> bool:
    """Whether Numba's on-disk cache holds every kernel for the present sources (an index that
    Numba reads as empty once a source changed); True when Numba's layout cannot be read. An
    index that lacks only this machine's entry passes: the thread then compiles it."""
    try:
        return all(kernel._cache._cache_file._load_index() for kernel in KERNELS)
    except Exception:  # Numba's internals moved: compile in this process, as before
        return True


def _compile_apart() -> None:
    """Compile the kernels into the cache in a child process and wait for it (the wait
    releases the interpreter). The child runs in a session of its own (a Ctrl-C meant for
    the solve does not reach it) and ends when its stdin closes, so it never outlives this
    process; if it cannot start or fails, the kernels compile in this process after."""
    root = str(Path(__file__).resolve().parents[2])  # where `solvers` is importable from
    with _lock:
        if _closing.is_set():
            return
        try:
            child = subprocess.Popen(
                [sys.executable, "-c", CHILD.format(root=root)],
                stdin=subprocess.PIPE,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
            )
        except (OSError, ValueError, subprocess.SubprocessError):
            return
        _child.append(child)
    child.wait()


def _compile_as_child() -> None:
    """The child of `_compile_apart`: compile the kernels into the cache, and exit at once
    when the parent goes (its end of the stdin pipe closes, however it ended)."""

    def orphaned() -> None:
        sys.stdin.buffer.read()
        os._exit(1)

    threading.Thread(target=orphaned, daemon=True).start()
    _run_kernels()


@atexit.register
def _stop_child() -> None:
    """At exit, end the compiling child (the kernels it finished stay cached)."""
    _closing.set()
    with _lock:
        children = list(_child)
    for child in children:
        if child.poll() is None:
            child.terminate()
            try:
                child.wait(STOP_WAIT_S)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()


def _after_fork() -> None:
    """In a forked process: the warm-up thread and its child stay the parent's, so start
    afresh (a lock held across the fork would block it)."""
    global _lock
    _lock = threading.Lock()
    _child.clear()
    if not _ready.is_set():
        _thread.clear()
        _started_at.clear()


os.register_at_fork(after_in_child=_after_fork)


def _run_kernels() -> None:
    """Run every kernel once on a tiny instance."""
    objective = Objective.parse("makespan")
    p = make_problem(compile_instance(_tiny()), objective)
    w = make_workspace(p)
    assign = np.full(p.n_ops, -1, dtype=np.int64)
    defer = np.zeros(p.n_ops, dtype=np.bool_)
    decode(p, w, SERIAL, STATIC, np.zeros(p.n_ops), assign, False, defer, NO_DEADLINE)
    levels, caps = level_matrix(objective), term_caps({})
    violation(p, w.start, w.end, w.mode)  # as the solver calls them on offered schedules
    score(p, w.start, w.mode, levels, caps, np.zeros(N_TERMS), np.zeros(levels.shape[0]))
    st = make_state(p, levels, caps, w.seq.copy(), assign, defer, 0)
    start_search(p, w, st, SERIAL, False)
    anneal(p, w, st, False, 4, 0.01, True, 100)
    tabu = make_tabu_state(p, w.mode.copy(), w.start.copy(), 0)
    start_tabu(p, tabu)
    tabu_search(p, tabu, 4, 100)
    boost = np.zeros(p.n_jobs)
    batch_decode(p, w, assign, False, 0.0, 0.0, rng_for(0), NO_DEADLINE, boost, 0, NO_END)
    justified(p, objective, w.start, w.end, w.mode, NO_DEADLINE)
