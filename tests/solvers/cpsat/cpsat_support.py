"""Helpers shared by the cpsat tests: a direct solve, and the re-solve that fixes every
variable to the hint of a schedule (what the hint-completeness tests check)."""

from __future__ import annotations

from scheduler.core.compile import compile_instance
from scheduler.core.model import Instance
from scheduler.core.objective import Objective
from scheduler.core.protocol import SolveConfig
from scheduler.core.result import Result
from solvers.cpsat import CpSatSolver


def solve(instance: Instance, objective: str = "makespan", **config: object) -> Result:
    """cpsat on `instance`, 10 s and 1 worker unless `config` says otherwise."""
    config.setdefault("time_limit", 10.0)
    config.setdefault("workers", 1)
    cfg = SolveConfig(objective=Objective.parse(objective), **config)  # type: ignore[arg-type]
    return CpSatSolver().solve(compile_instance(instance), cfg)


def solve_fixed_to_own_hint(instance: Instance, objective: str) -> tuple[Result, Result] | None:
    """(first, fixed): a solve, then one with every variable fixed to the hint of the first
    schedule; None when the first finds no schedule."""
    first = solve(instance, objective)
    if first.schedule is None:
        return None
    fixed = solve(
        instance,
        objective,
        warm_start=first.schedule,
        options={"cp_sat_parameters": {"fix_variables_to_their_hinted_value": True}},
    )
    return first, fixed
