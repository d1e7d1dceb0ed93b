"""The solver registry, filled from the entry-point group `scheduler.solvers`, so an outside
package adds a solver by declaring an entry point, without touching this code."""

from __future__ import annotations

from importlib.metadata import entry_points

from scheduler.core.errors import SolverNotFoundError
from scheduler.core.protocol import Solver

GROUP = "scheduler.solvers"


def available_solvers() -> list[str]:
    """Names of the registered solvers, sorted."""
    return sorted({ep.name for ep in entry_points(group=GROUP)})


def get_solver(name: str) -> Solver:
    """An instance of the solver registered as `name`."""
    matches = [ep for ep in entry_points(group=GROUP) if ep.name == name]
    if not matches:
        known = ", ".join(available_solvers()) or "none"
        raise SolverNotFoundError(f"solver {name!r} is not registered (registered: {known})")
    factory = matches[0].load()
    solver = factory()
    if not isinstance(solver, Solver):
        raise TypeError(
            f"entry point {name!r} does not give a Solver (needs name, capabilities and solve)"
        )
    return solver
