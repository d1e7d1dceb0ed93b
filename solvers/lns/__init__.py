"""Large-neighbourhood search with CP-SAT (`lns`): exact re-optimisation of parts of a schedule."""

from solvers.lns.solver import LnsSolver

__all__ = ["LnsSolver"]
