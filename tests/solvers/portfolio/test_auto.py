"""The default solve (`auto`): the portfolio of the heuristic and CP-SAT."""

from __future__ import annotations

import sys
import time

import pytest
from paths import INSTANCES

import scheduler
import solvers.cpsat.options
from scheduler.core import compile as compile_module
from scheduler.core.model import Instance, Job, Machine, Mode, Operation
from scheduler.core.solve import DEFAULT_SOLVER
from scheduler.io import load
from solvers.portfolio import AutoSolver


def _setup_plant() -> Instance:
    """Six jobs of two ops on two machines with family changeovers."""
    jobs = tuple(
        Job(
            f"J{j}",
            (
                Operation(f"J{j}-0", (Mode("M0", 2 + j % 3), Mode("M1", 3)), family="ab"[j % 2]),
                Operation(f"J{j}-1", (Mode("M1", 1 + j % 2),), family="ab"[(j + 1) % 2]),
            ),
        )
        for j in range(6)
    )
    setups = {m: {"a": {"b": 2}, "b": {"a": 3}} for m in ("M0", "M1")}
    return Instance((Machine("M0"), Machine("M1")), jobs, setup_times=setups)


def test_auto_is_the_default_of_the_facade_and_the_command_line() -> None:
    assert DEFAULT_SOLVER == "auto"
    result = scheduler.solve(load(INSTANCES / "jssp" / "ft06.txt"), time_limit=20, workers=2)
    assert result.solver == "auto"
    assert result.status == "optimal" and result.objective == 55 == result.bound


def test_a_refused_part_falls_back_to_the_other(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(solvers.cpsat.options, "MAX_SETUP_ARCS", 1)
    logged: list[str] = []
    instance = _setup_plant()
    result = scheduler.solve(instance, time_limit=3, workers=1, log=logged.append)
    assert result.schedule is not None and result.status in ("feasible", "optimal")
    assert "cpsat refused the instance" in result.message
    assert any("cpsat refused the instance" in line for line in logged)
    assert scheduler.validate(instance, result.schedule) == []


def test_the_default_is_no_worse_than_the_heuristics_start() -> None:
    instance = load(INSTANCES / "fjsp" / "brandimarte" / "mk03.fjs")
    start = scheduler.solve(instance, solver="heuristic", local_search=False, workers=1)
    result = scheduler.solve(instance, time_limit=4, workers=2)
    assert result.objective is not None and start.objective is not None
    assert result.objective <= start.objective
    assert result.bound is not None and result.bound <= result.objective


def test_the_instance_is_compiled_once_per_solve(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    real = compile_module.compile_instance

    def counting(instance: Instance) -> object:
        calls.append(instance.name)
        return real(instance)

    for module in list(sys.modules.values()):
        if getattr(module, "__dict__", {}).get("compile_instance") is real:
            monkeypatch.setattr(module, "compile_instance", counting)
    instance = load(INSTANCES / "jssp" / "la01.txt")
    for solver in ("auto", "cpsat", "heuristic"):
        calls.clear()
        scheduler.solve(instance, solver=solver, time_limit=2, workers=1)
        assert calls == [instance.name], solver


def test_the_time_limit_holds_and_the_best_bound_is_reported() -> None:
    instance = load(INSTANCES / "jssp" / "ta41.txt")
    started = time.perf_counter()
    result = scheduler.solve(instance, time_limit=3, workers=2)
    assert time.perf_counter() - started <= 3 + 1.0
    assert result.status == "feasible" and result.bound is not None
    assert result.bound >= instance_bound(instance)


def instance_bound(instance: Instance) -> float:
    return float(scheduler.compile_instance(instance).lower_bound)


def test_a_schedule_at_the_lower_bound_ends_the_search_early() -> None:
    """One machine, one mode each: every order has the same energy, so the bound is met."""
    jobs = tuple(Job(f"J{j}", (Operation(f"J{j}-0", (Mode("M", 3, 2.0),)),)) for j in range(4))
    instance = Instance((Machine("M"),), jobs)
    for solver in ("heuristic", "auto"):
        started = time.perf_counter()
        result = scheduler.solve(instance, solver=solver, objective="energy", time_limit=60)
        assert result.status == "optimal" and result.objective == result.bound
        assert time.perf_counter() - started < 30, solver


def test_auto_declares_everything_its_parts_model() -> None:
    caps = AutoSolver.capabilities
    assert "setups" in caps.features and "carbon" in caps.terms and caps.lexicographic
