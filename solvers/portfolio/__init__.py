"""The `auto` solver, the default of `scheduler.solve` and `scheduler solve`: the heuristic's
local search and CP-SAT in turns within one time budget, sharing their best schedule."""

from solvers.portfolio.solver import AutoSolver

__all__ = ["AutoSolver"]
