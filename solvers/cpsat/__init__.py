"""The CP-SAT solver (OR-Tools): the exact core of the engine, registered as `cpsat`; and its
greedy list schedule alone, `auto`'s stopgap while the heuristic's kernels compile."""

from solvers.cpsat.solver import CpSatSolver, ListScheduleSolver

__all__ = ["CpSatSolver", "ListScheduleSolver"]
