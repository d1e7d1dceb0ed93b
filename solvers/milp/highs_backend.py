"""The default backend: the Pyomo model compiled to matrix form by Pyomo's public
`LinearStandardFormCompiler` and solved by HiGHS through highspy, which gives what the generic
Pyomo interface does not: the improving-solution and bound callbacks (progress), a MIP start
set from the warm start, and Ctrl-C that stops the search and keeps the incumbent. The
lexicographic levels are solved in turn on one HiGHS model: each level's objective row becomes
a constraint at its found value before the next level is minimised."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from typing import Any

import highspy
import numpy as np
import pyomo.environ as pyo
from pyomo.repn.plugins.standard_form import LinearStandardFormCompiler

from scheduler.core.highs import new_highs
from scheduler.core.protocol import SolveConfig
from scheduler.core.result import Progress
from solvers.milp.model import Outcome
from solvers.stopping import stop_watch

LEVEL_TOL = 1e-6  # a level held at its value v may reach v + LEVEL_TOL * max(1, |v|)
SENSES = {0: (0, 0), 1: (-math.inf, 0), -1: (0, math.inf)}  # mixed-form row sense -> bounds


class _Recorder:
    """Progress of level 0 from HiGHS's callbacks (run in the solver's thread): a point on
    every improving solution and every better dual bound."""

    def __init__(
        self,
        started: float,
        trajectory: list[Progress],
        on_progress: Callable[[Progress], None] | None,
    ) -> None:
        self._started = started
        self._trajectory = trajectory
        self._on_progress = on_progress
        self._lock = threading.Lock()
        self.objective: float | None = None
        self.bound: float | None = None

    def improving(self, event: Any) -> None:
        self._record(event.data_out.objective_function_value, event.data_out.mip_dual_bound)

    def interrupt(self, event: Any) -> None:
        bound = event.data_out.mip_dual_bound
        if math.isfinite(bound) and (self.bound is None or bound > self.bound + 1e-9):
            self._record(None, bound)

    def _record(self, objective: float | None, bound: float | None) -> None:
        with self._lock:
            if objective is not None and math.isfinite(objective):
                self.objective = objective
            if bound is not None and math.isfinite(bound):
                self.bound = bound if self.objective is None else min(bound, self.objective)
            point = Progress(time.perf_counter() - self._started, self.objective, self.bound)
            self._trajectory.append(point)
        if self._on_progress is not None:
            self._on_progress(point)


def solve_highs(
    model: pyo.ConcreteModel,
    n_levels: int,
    config: SolveConfig,
    mip_gap: float,
    solver_log: bool,
    started: float,
    trajectory: list[Progress],
) -> Outcome:
    """Minimise `model.level[0]`, ..., `model.level[n_levels - 1]` in turn (every variable
    value set on the model is the MIP start); the last solution is loaded into the model."""
    repn = LinearStandardFormCompiler().write(model, mixed_form=True, set_sense=None)
    columns = repn.columns
    n = len(columns)
    h = new_highs()
    h.setOptionValue("output_flag", bool(solver_log and config.log))
    h.setOptionValue("log_to_console", False)
    if solver_log and config.log is not None:
        log = config.log
        h.cbLogging += lambda event: log(event.message.rstrip())
    h.setOptionValue("mip_rel_gap", mip_gap)
    h.setOptionValue("random_seed", int(config.seed))
    if config.workers:
        h.setOptionValue("threads", int(config.workers))
    lower = np.array([-math.inf if v.lb is None else v.lb for v in columns], dtype=np.float64)
    upper = np.array([math.inf if v.ub is None else v.ub for v in columns], dtype=np.float64)
    h.addVars(n, lower, upper)
    integer = [i for i, v in enumerate(columns) if v.is_integer()]
    h.changeColsIntegrality(
        len(integer), np.array(integer), np.array([highspy.HighsVarType.kInteger] * len(integer))
    )
    a = repn.A.tocsr()
    rhs = np.asarray(repn.rhs, dtype=np.float64)
    lo_hi = np.array([SENSES[sense] for _, sense in repn.rows], dtype=np.float64).reshape(-1, 2)
    h.addRows(a.shape[0], rhs + lo_hi[:, 0], rhs + lo_hi[:, 1], a.nnz, a.indptr, a.indices, a.data)
    costs = repn.c.toarray()
    if config.time_limit is not None and time.perf_counter() - started >= config.time_limit:
        return Outcome(statuses=["unknown"])  # compiling took the rest of the time limit
    values = np.array([v.value if v.value is not None else 0.0 for v in columns])
    has_start = any(v.value is not None for v in columns)
    recorder = _Recorder(started, trajectory, config.on_progress)
    out = Outcome(statuses=[])
    solution: np.ndarray | None = None
    index = np.arange(n)
    for level in range(n_levels):
        if config.stop.is_set():
            out.interrupted = True
            break
        h.changeColsCost(n, index, costs[level])
        h.changeObjectiveOffset(float(repn.c_offset[level]))
        if config.time_limit is not None:
            remaining = config.time_limit - (time.perf_counter() - started)
            h.setOptionValue("time_limit", max(0.01, remaining / (n_levels - level)))
        if has_start:
            start = highspy.HighsSolution()
            start.col_value = list(values)
            start.value_valid = True
            h.setSolution(start)
        if level == 0:
            h.cbMipImprovingSolution += recorder.improving
            h.cbMipInterrupt += recorder.interrupt
        with stop_watch(config.stop, h.cancelSolve):
            _run(h, costs[level], float(repn.c_offset[level]), time.perf_counter())
        if level == 0:
            h.cbMipImprovingSolution -= recorder.improving
            h.cbMipInterrupt -= recorder.interrupt
        status = h.getModelStatus()
        info = h.getInfo()
        found = info.primal_solution_status == highspy.kSolutionStatusFeasible
        objective = info.objective_function_value
        bound = info.mip_dual_bound
        out.statuses.append(_status(status, found, objective, bound, mip_gap))
        if level == 0 and math.isfinite(bound) and out.statuses[0] != "infeasible":
            out.bound = bound
        out.interrupted = status == highspy.HighsModelStatus.kInterrupt or config.stop.is_set()
        if not found:
            break
        values = np.array(h.getSolution().col_value)
        solution, has_start = values, True
        if out.interrupted or level + 1 == n_levels:
            break
        row = np.flatnonzero(costs[level])
        most = objective - float(repn.c_offset[level]) + LEVEL_TOL * max(1.0, abs(objective))
        h.addRow(-math.inf, most, row.size, row, costs[level][row])
    if solution is not None:
        for v, x in zip(columns, solution, strict=True):
            v.set_value(float(x), skip_validation=True)
        out.found = True
    return out


def _run(h: highspy.Highs, cost: np.ndarray, offset: float, began: float) -> None:
    """Solve, Ctrl-C stopping the search with the incumbent kept. HiGHS 1.16 may hand back
    the MIP start as the solution while reporting a better objective (seen when presolve
    solves the model): then the level is solved again without the start."""
    h.HandleKeyboardInterrupt = True
    h.solve()
    info = h.getInfo()
    if info.primal_solution_status != highspy.kSolutionStatusFeasible:
        return
    objective = info.objective_function_value
    actual = float(cost @ np.array(h.getSolution().col_value)) + offset
    if abs(actual - objective) > LEVEL_TOL * max(1.0, abs(objective)):
        limit = float(h.getOptionValue("time_limit")[1])
        h.setOptionValue("time_limit", max(0.01, limit - (time.perf_counter() - began)))
        h.clearSolver()
        h.solve()


def _status(
    status: highspy.HighsModelStatus, found: bool, objective: float, bound: float, gap: float
) -> str:
    """One level's status: optimal only when HiGHS proved it to the absolute tolerance."""
    if status == highspy.HighsModelStatus.kInfeasible:
        return "infeasible"
    if not found:
        return "unknown"
    proven = status == highspy.HighsModelStatus.kOptimal and (
        gap == 0 or abs(objective - bound) <= 1e-6 * max(1.0, abs(objective))
    )
    return "optimal" if proven else "feasible"
