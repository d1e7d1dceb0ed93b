"""The `baseline` solver: OR-Tools' plain job-shop sample formulation, the reference peer."""

from solvers.baseline.solver import BaselineSolver

__all__ = ["BaselineSolver"]
