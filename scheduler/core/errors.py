"""Exceptions users see: bad input and solver refusals."""

from __future__ import annotations


class InstanceError(ValueError):
    """A malformed or inconsistent instance; the message names the field and the reason."""


class UnsupportedFeatureError(ValueError):
    """A solver was asked for a feature or objective it does not model (never silently dropped)."""


class SolverNotFoundError(KeyError):
    """No solver of that name is registered in the `scheduler.solvers` entry-point group."""

    def __str__(self) -> str:  # KeyError quotes its argument; show the message as written
        return str(self.args[0]) if self.args else ""
