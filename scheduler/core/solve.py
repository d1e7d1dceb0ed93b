"""The one facade: `solve(instance, solver=..., objective=..., ...)` compiles the instance,
runs the registered solver, adds KPIs and checks the schedule with the independent validator."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import Any

from scheduler.core.compile import CompiledInstance, compile_instance
from scheduler.core.errors import UnsupportedFeatureError
from scheduler.core.kpi import compute_kpis
from scheduler.core.model import Instance
from scheduler.core.objective import Objective
from scheduler.core.protocol import SolveConfig, check_supported
from scheduler.core.registry import available_solvers, get_solver
from scheduler.core.result import Progress, Result
from scheduler.core.schedule import Schedule
from scheduler.core.validate import validate

WARM_START_SOLVER = "heuristic"
WARM_START_SHARE = 0.1  # of the time limit spent on the heuristic warm start
WARM_START_MAX_S = 2.0
WARM_START_MAX_RUNS = 8  # parallel heuristic runs when the caller leaves the workers open


class InvalidScheduleError(RuntimeError):
    """A solver returned a schedule that the validator rejects: a bug in that solver."""


def solve(
    instance: Instance | CompiledInstance,
    solver: str = "cpsat",
    objective: str | Objective = "makespan",
    time_limit: float | None = None,
    workers: int | None = None,
    seed: int = 0,
    warm_start: bool | Schedule | None = True,
    on_progress: Callable[[Progress], None] | None = None,
    log: Callable[[str], None] | None = None,
    **options: Any,
) -> Result:
    """Solve `instance` with the solver registered as `solver`; the Result's schedule (if any)
    has passed `scheduler.core.validate` and its KPIs are filled in.

    `warm_start`: a Schedule to hint; True (default) runs the `heuristic` solver first, for a
    slice of the time limit, and hints its best schedule; False or None gives no hint."""
    started = time.perf_counter()
    compiled = instance if isinstance(instance, CompiledInstance) else compile_instance(instance)
    config = SolveConfig(
        objective=Objective.parse(objective),
        time_limit=time_limit,
        workers=workers,
        seed=seed,
        on_progress=on_progress,
        log=log,
        options=dict(options),
    )
    engine = get_solver(solver)
    check_supported(engine, compiled, config)
    if isinstance(warm_start, Schedule):
        config.warm_start = warm_start
    elif warm_start and solver != WARM_START_SOLVER and WARM_START_SOLVER in available_solvers():
        config.warm_start = _heuristic_start(compiled, config)
        if time_limit is not None:
            config.time_limit = max(0.1, time_limit - (time.perf_counter() - started))
    result = engine.solve(compiled, config)
    return finish(compiled, result, started)


def _heuristic_start(compiled: CompiledInstance, config: SolveConfig) -> Schedule | None:
    """The heuristic's best schedule in a small slice of the time budget, or None when it finds
    none or does not support the instance (the exact solver then starts cold). It runs as many
    local searches in parallel as the exact solver will have workers, so no core idles."""
    budget = WARM_START_SHARE * config.time_limit if config.time_limit else WARM_START_MAX_S
    heuristic_config = SolveConfig(
        objective=config.objective,
        time_limit=min(WARM_START_MAX_S, budget),
        workers=config.workers or min(WARM_START_MAX_RUNS, os.cpu_count() or 1),
        seed=config.seed,
        on_progress=config.on_progress,
    )
    try:
        result = get_solver(WARM_START_SOLVER).solve(compiled, heuristic_config)
    except UnsupportedFeatureError as refusal:
        if config.log:
            config.log(f"warm start skipped: {refusal}")
        return None
    if config.log and result.schedule is not None:
        config.log(f"warm start: heuristic objective {result.objective}")
    return result.schedule


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
