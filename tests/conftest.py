"""Shared pytest setup: the `--solvers` option and the `solver_name` parameter, so that every
registered solver runs the shared suite (tests/solvers/test_every_solver.py); a new solver gets
it by being registered in the `scheduler.solvers` entry-point group."""

from __future__ import annotations

import importlib.util

import pytest

from scheduler.core.registry import available_solvers
from solvers.heuristics.warmup import first_call_seconds


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--solvers",
        default=None,
        help="comma-separated solver names the shared solver suite runs on (default: every "
        "registered solver; pyjobshop only when PyJobShop is installed)",
    )


def selected_solvers(config: pytest.Config) -> list[str]:
    """The solvers named by --solvers, else every registered one that can run here."""
    registered = available_solvers()
    given = config.getoption("--solvers")
    if given:
        names = [name.strip() for name in given.split(",") if name.strip()]
        unknown = [name for name in names if name not in registered]
        if unknown:
            raise pytest.UsageError(
                f"--solvers: not registered: {', '.join(unknown)} (registered: "
                f"{', '.join(registered)})"
            )
        return names
    return [
        name
        for name in registered
        if name != "pyjobshop" or importlib.util.find_spec("pyjobshop") is not None
    ]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "solver_name" in metafunc.fixturenames:
        metafunc.parametrize("solver_name", selected_solvers(metafunc.config))


@pytest.fixture(scope="session", autouse=True)
def heuristic_kernels() -> None:
    """Load (on a fresh machine: compile and cache) the heuristic's Numba kernels once, before
    any test runs: a solve with a short time limit no longer waits for a first compilation
    (it returns without the heuristic's schedule instead), and the command-line tests in
    subprocesses load the kernels from the cache this writes."""
    first_call_seconds()
