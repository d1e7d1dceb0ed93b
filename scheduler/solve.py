"""The one facade: `solve(instance, solver=..., objective=..., ...)` compiles the instance,
runs the registered solver, adds KPIs and checks the schedule with the independent validator."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from scheduler.compile import CompiledInstance, compile_instance
from scheduler.kpi import compute_kpis
from scheduler.model import Instance
from scheduler.objective import Objective
from scheduler.registry import get_solver
from scheduler.result import Progress, Result, SolveConfig
from scheduler.schedule import Schedule
from scheduler.validate import validate


class InvalidScheduleError(RuntimeError):
    """A solver returned a schedule that the validator rejects: a bug in that solver."""


def solve(
    instance: Instance | CompiledInstance,
    solver: str = "cpsat",
    objective: str | Objective = "makespan",
    time_limit: float | None = None,
    workers: int | None = None,
    seed: int = 0,
    warm_start: Schedule | None = None,
    on_progress: Callable[[Progress], None] | None = None,
    log: Callable[[str], None] | None = None,
    **options: Any,
) -> Result:
    """Solve `instance` with the solver registered as `solver`; the Result's schedule (if any)
    has passed `scheduler.validate` and its KPIs are filled in."""
    started = time.perf_counter()
    compiled = instance if isinstance(instance, CompiledInstance) else compile_instance(instance)
    config = SolveConfig(
        objective=Objective.parse(objective),
        time_limit=time_limit,
        workers=workers,
        seed=seed,
        warm_start=warm_start,
        on_progress=on_progress,
        log=log,
        options=dict(options),
    )
    result = get_solver(solver).solve(compiled, config)
    return finish(compiled, result, started)


def finish(compiled: CompiledInstance, result: Result, started: float) -> Result:
    """Check the schedule independently, fill the KPIs and the wall time."""
    if result.schedule is not None:
        violations = validate(compiled.instance, result.schedule)
        if violations:
            shown = "; ".join(str(v) for v in violations[:5])
            raise InvalidScheduleError(
                f"solver {result.solver!r} returned an invalid schedule "
                f"({len(violations)} violations): {shown}"
            )
        result.kpis = compute_kpis(compiled.instance, result.schedule)
    result.wall_time_s = time.perf_counter() - started
    return result
