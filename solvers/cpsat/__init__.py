"""The CP-SAT solver (OR-Tools): the exact core of the engine, registered as `cpsat`."""

from solvers.cpsat.solver import CpSatSolver

__all__ = ["CpSatSolver"]
