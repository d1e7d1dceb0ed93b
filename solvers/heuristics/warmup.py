"""First-call cost of the Numba kernels: one call on a tiny instance compiles them (or loads
them from the on-disk cache, `cache=True`), timed once per process and reported by the solver."""

from __future__ import annotations

import time

import numpy as np

from scheduler.core.compile import compile_instance
from scheduler.core.model import Instance, Job, Machine, Mode, Operation
from scheduler.core.objective import Objective
from solvers.heuristics.annealing import anneal, make_state, start_search
from solvers.heuristics.decode import SERIAL, STATIC, decode
from solvers.heuristics.problem import level_matrix, make_problem, make_workspace, term_caps
from solvers.heuristics.tabu import make_tabu_state, start_tabu, tabu_search

_first_call_s: list[float] = []


def _tiny() -> Instance:
    """Two jobs on two machines: enough to run every kernel once."""
    jobs = tuple(
        Job(f"J{j}", (Operation(f"J{j}-0", (Mode("M0", 2), Mode("M1", 3))),)) for j in range(2)
    )
    return Instance((Machine("M0"), Machine("M1")), jobs, name="warmup")


def first_call_seconds() -> float:
    """Seconds the first kernel calls of this process took (compile or cache load)."""
    if not _first_call_s:
        started = time.perf_counter()
        objective = Objective.parse("makespan")
        p = make_problem(compile_instance(_tiny()), objective)
        w = make_workspace(p)
        assign = np.full(p.n_ops, -1, dtype=np.int64)
        defer = np.zeros(p.n_ops, dtype=np.bool_)
        decode(p, w, SERIAL, STATIC, np.zeros(p.n_ops), assign, False, defer, 0)
        levels, caps = level_matrix(objective), term_caps({})
        st = make_state(p, levels, caps, w.seq.copy(), assign, defer, 0)
        start_search(p, w, st, SERIAL, False)
        anneal(p, w, st, False, 4, 0.01, True, 100)
        tabu = make_tabu_state(p, w.mode.copy(), w.start.copy(), 0)
        start_tabu(p, tabu)
        tabu_search(p, tabu, 4, 100)
        _first_call_s.append(time.perf_counter() - started)
    return _first_call_s[0]
