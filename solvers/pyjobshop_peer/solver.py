"""The `pyjobshop` peer: PyJobShop's OR-Tools model of the same instance, solved with the same
time limit, worker count and seed, so benchmark tables compare us with an outside modeller.

PyJobShop's own `solve` returns only the final result, so this builds its CP-SAT model
(`pyjobshop.solvers.ortools.CPModel`, its public `model` and `variables`) and solves it with the
parameters PyJobShop sets, plus a solution callback that records the anytime curve. PyJobShop is
an optional extra: `pip install .[peers]`."""

from __future__ import annotations

import importlib
import time
from types import ModuleType
from typing import Any

import numpy as np
from ortools.sat.python import cp_model

from scheduler.core.compile import CompiledInstance
from scheduler.core.errors import UnsupportedFeatureError
from scheduler.core.protocol import FEATURES, Capabilities, SolveConfig, check_supported
from scheduler.core.result import Result, close_trajectory
from scheduler.core.schedule import Schedule
from solvers.baseline.solver import STATUS, ProgressRecorder
from solvers.pyjobshop_peer.adapter import TERM_WEIGHTS, build_model, refuse_unsupported
from solvers.stopping import stop_watch

NAME = "pyjobshop"
INSTALL_HINT = "pip install .[peers]  (or: pip install 'prodsched[peers]')"


def import_pyjobshop() -> ModuleType:
    """The pyjobshop package, or a clear error naming the extra that installs it."""
    try:
        return importlib.import_module("pyjobshop")
    except ImportError:
        raise UnsupportedFeatureError(
            f"the pyjobshop peer needs the optional package PyJobShop: {INSTALL_HINT}"
        ) from None


class PyJobShopSolver:
    """PyJobShop's CP-SAT model as a registered solver (a peer for benchmarks)."""

    name = NAME
    capabilities = Capabilities(
        features=frozenset(FEATURES) - {"power_cap", "carbon_cap"},
        terms=frozenset(TERM_WEIGHTS),
        lexicographic=False,
    )

    def solve(self, compiled: CompiledInstance, config: SolveConfig) -> Result:
        """Translate, solve with a progress callback, and map the solution back."""
        check_supported(self, compiled, config)
        pyjobshop = import_pyjobshop()
        weights = refuse_unsupported(compiled, config.objective)
        started = time.perf_counter()
        from pyjobshop.solvers.ortools import CPModel

        wrapped = CPModel(build_model(pyjobshop, compiled, weights).data())
        solver = cp_model.CpSolver()
        if config.time_limit is not None:
            solver.parameters.max_time_in_seconds = max(0.0, config.time_limit)
        solver.parameters.num_workers = config.workers or 0  # 0: all cores, PyJobShop's default
        solver.parameters.random_seed = config.seed
        recorder = ProgressRecorder(config)
        solver.parameters.catch_sigint_signal = False
        with stop_watch(config.stop, solver.stop_search):
            code = solver.solve(wrapped.model, recorder)
        result = Result(status=STATUS.get(code, "unknown"), solver=NAME)
        result.trajectory = recorder.trajectory
        if result.status in ("optimal", "feasible"):
            result.schedule = _schedule(compiled, wrapped.variables, solver)
            result.objective = float(solver.objective_value)
            result.bound = float(solver.best_objective_bound)
            result.objectives = [result.objective]
            close_trajectory(result.trajectory, solver.wall_time, result.objective, result.bound)
        if config.warm_start is not None:
            result.message = "warm start not used (the peer is run as PyJobShop ships it)"
        result.wall_time_s = time.perf_counter() - started
        return result


def _schedule(compiled: CompiledInstance, variables: Any, solver: cp_model.CpSolver) -> Schedule:
    """Our Schedule from PyJobShop's variables: task i is operation i, mode k is mode k."""
    c = compiled
    mode = np.empty(c.n_ops, dtype=np.int64)
    start = np.empty(c.n_ops, dtype=np.int64)
    for o in range(c.n_ops):
        lo, hi = int(c.mode_ptr[o]), int(c.mode_ptr[o + 1])
        mode[o] = next(k for k in range(lo, hi) if solver.boolean_value(variables.mode_vars[k]))
        start[o] = solver.value(variables.task_vars[o].start)
    return Schedule.from_arrays(c, mode, start)
