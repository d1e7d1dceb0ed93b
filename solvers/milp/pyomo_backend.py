"""Any other Pyomo solver by name (`backend=cbc`, `glpk`, `gurobi`, ...): the same levels
solved through Pyomo's generic SolverFactory interface, with the time limit, threads and gap
passed under each solver's own option names; a warm start where the solver takes one. The
generic interface has no progress callback: the trajectory gets the final point only."""

from __future__ import annotations

import time

import pyomo.environ as pyo
from pyomo.opt import TerminationCondition

from scheduler.core.errors import UnsupportedFeatureError
from scheduler.core.protocol import SolveConfig
from solvers.milp.model import Outcome

LEVEL_TOL = 1e-6
# option names per solver: time limit (s), threads, relative MIP gap
OPTION_NAMES: dict[str, tuple[str, str | None, str]] = {
    "cbc": ("seconds", "threads", "ratioGap"),
    "glpk": ("tmlim", None, "mipgap"),
    "gurobi": ("TimeLimit", "Threads", "MIPGap"),
    "gurobi_direct": ("TimeLimit", "Threads", "MIPGap"),
    "gurobi_persistent": ("TimeLimit", "Threads", "MIPGap"),
    "cplex": ("timelimit", "threads", "mipgap"),
    "cplex_direct": ("timelimit", "threads", "mipgap"),
    "scip": ("limits/time", "parallel/maxnthreads", "limits/gap"),
    "xpress": ("maxtime", "threads", "miprelstop"),
    "appsi_highs": ("time_limit", "threads", "mip_rel_gap"),
    "appsi_cbc": ("seconds", "threads", "ratioGap"),
}


def pyomo_solver(name: str) -> pyo.SolverFactory:
    """The named Pyomo solver, or a clear error when Pyomo does not know it or it is not
    installed."""
    if name not in OPTION_NAMES:
        raise UnsupportedFeatureError(
            f"milp backend {name!r}: the options (time limit, threads, gap) of this solver are not "
            f"known here; known backends: highs, {', '.join(OPTION_NAMES)}"
        )
    solver = pyo.SolverFactory(name)
    try:
        available = solver.available(exception_flag=False)
    except Exception:  # some plugins raise instead of answering
        available = False
    if not available:
        raise UnsupportedFeatureError(
            f"milp backend {name!r} is not available (not installed or not on the PATH); "
            "the default backend=highs needs no external program"
        )
    return solver


def solve_pyomo(
    model: pyo.ConcreteModel,
    n_levels: int,
    config: SolveConfig,
    backend: str,
    mip_gap: float,
    started: float,
) -> Outcome:
    """Minimise the levels in turn with the named Pyomo solver (values already set on the
    model are its warm start where it takes one)."""
    solver = pyomo_solver(backend)
    time_name, threads_name, gap_name = OPTION_NAMES[backend]
    warm = bool(getattr(solver, "warm_start_capable", lambda: False)())
    out = Outcome(statuses=[])
    model.held = pyo.ConstraintList()
    for level in range(n_levels):
        if config.stop.is_set():  # the generic interface cannot stop a running solve
            out.interrupted = True
            break
        for i in range(n_levels):
            model.level[i].activate() if i == level else model.level[i].deactivate()
        options: dict[str, float] = {gap_name: mip_gap}
        if threads_name and config.workers:
            options[threads_name] = config.workers
        if config.time_limit is not None:
            remaining = config.time_limit - (time.perf_counter() - started)
            options[time_name] = max(0.01, remaining / (n_levels - level))
        kwargs = {"warmstart": True} if warm else {}
        results = solver.solve(model, options=options, load_solutions=False, **kwargs)
        condition = results.solver.termination_condition
        found = len(results.solution) > 0
        if condition == TerminationCondition.infeasible:
            out.statuses.append("infeasible")
        elif not found:
            out.statuses.append("unknown")
        else:
            proven = condition == TerminationCondition.optimal and mip_gap == 0
            out.statuses.append("optimal" if proven else "feasible")
        bound = results.problem.lower_bound
        if level == 0 and bound is not None and abs(float(bound)) != float("inf"):
            out.bound = float(bound)
        if not found:
            break
        model.solutions.load_from(results)
        out.found = True
        value = pyo.value(model.level[level])
        model.held.add(model.level[level].expr <= value + LEVEL_TOL * max(1.0, abs(value)))
    return out
