"""Exceptions users see: bad input and solver refusals."""

from __future__ import annotations

from collections.abc import Iterable


class InstanceError(ValueError):
    """A malformed or inconsistent instance; the message names the field and the reason."""


class UnsupportedFeatureError(ValueError):
    """A solver was asked for a feature or objective it does not model (never silently dropped)."""


def refuse_unknown_options(solver: str, options: Iterable[str], known: Iterable[str]) -> None:
    """Raise UnsupportedFeatureError naming the option keys `solver` does not know, and the
    ones it does, so that no option asked for is silently dropped."""
    unknown = sorted(set(options) - set(known))
    if unknown:
        raise UnsupportedFeatureError(
            f"{solver} does not know the option(s) {', '.join(map(repr, unknown))} "
            f"(known: {', '.join(sorted(known))})"
        )


class SolverNotFoundError(KeyError):
    """No solver of that name is registered in the `scheduler.solvers` entry-point group."""

    def __str__(self) -> str:  # KeyError quotes its argument; show the message as written
        return str(self.args[0]) if self.args else ""
