"""The Numba heuristic solver, registered as `heuristic`: dispatching rules decoded by schedule
generation schemes that respect every constraint, then simulated annealing."""

from solvers.heuristics.solver import HeuristicSolver

__all__ = ["HeuristicSolver"]
