"""The solver registry: entry points listed, unknown names refused."""

from __future__ import annotations

import pytest

from scheduler.core.errors import SolverNotFoundError
from scheduler.core.registry import available_solvers, get_solver


def test_registry_lists_and_refuses() -> None:
    assert "cpsat" in available_solvers()
    assert get_solver("cpsat").name == "cpsat"
    with pytest.raises(SolverNotFoundError, match="not registered"):
        get_solver("no-such-solver")
