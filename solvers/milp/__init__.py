"""The MILP solver (Pyomo, solved by HiGHS by default), registered as `milp`."""

from solvers.milp.solver import MilpSolver

__all__ = ["MilpSolver"]
