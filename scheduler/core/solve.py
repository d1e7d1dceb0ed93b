"""The one facade: `solve(instance, solver=..., objective=..., ...)` compiles the instance,
runs the registered solver, adds KPIs and checks the schedule with the independent validator."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from typing import Any

from scheduler.core.compile import CompiledInstance, compile_instance
from scheduler.core.errors import UnsupportedFeatureError
from scheduler.core.highs import silence_banner
from scheduler.core.kpi import compute_kpis
from scheduler.core.model import Instance
from scheduler.core.objective import Objective
from scheduler.core.presolve import infeasibility
from scheduler.core.protocol import SolveConfig, check_supported
from scheduler.core.registry import available_solvers, get_solver
from scheduler.core.relaxation import relaxes
from scheduler.core.result import Progress, Result
from scheduler.core.schedule import Schedule
from scheduler.core.validate import validate

DEFAULT_SOLVER = "auto"  # the portfolio (solvers.portfolio): the best of the heuristic and CP-SAT
WARM_START_SOLVER = "heuristic"
STARTS_ITSELF = frozenset({"heuristic", "auto"})  # solvers the facade gives no warm start
FINISH_S_PER_OP = 3e-5  # time kept back from the solver for validation and KPIs, per operation
WARM_START_SHARE = 0.1  # of the time limit spent on the heuristic warm start
WARM_START_MAX_S = 2.0
WARM_START_MAX_RUNS = 8  # parallel heuristic runs when the caller leaves the workers open


class InvalidScheduleError(RuntimeError):
    """A solver returned a schedule that the validator rejects: a bug in that solver."""


def solve(
    instance: Instance | CompiledInstance,
    solver: str = DEFAULT_SOLVER,
    objective: str | Objective = "makespan",
    time_limit: float | None = None,
    workers: int | None = None,
    seed: int = 0,
    warm_start: bool | Schedule | None = True,
    reference: Schedule | None = None,
    on_progress: Callable[[Progress], None] | None = None,
    log: Callable[[str], None] | None = None,
    stop: threading.Event | None = None,
    **options: Any,
) -> Result:
    """Solve `instance` with the solver registered as `solver`; the Result's schedule (if any)
    has passed `scheduler.core.validate` and its KPIs are filled in.

    `time_limit` covers the whole call: compiling, the warm start, the solve and the checks.
    `warm_start`: a Schedule to hint; True (default) runs the `heuristic` solver first, for a
    slice of the time limit, and hints its best schedule (not for `heuristic` and `auto`, which
    start themselves); False or None gives no hint. Setting `stop` (from another thread or a
    signal handler) ends the solve early with the best schedule found so far.
    `reference`: the plan the `deviation` term measures from; with it the KPIs include the
    stability ones (`scheduler.core.kpi.stability_kpis`)."""
    started = time.perf_counter()
    compiled = instance if isinstance(instance, CompiledInstance) else compile_instance(instance)
    config = SolveConfig(
        objective=Objective.parse(objective),
        time_limit=time_limit,
        workers=workers,
        seed=seed,
        reference=reference,
        on_progress=on_progress,
        log=log,
        options=dict(options),
        stop=stop or threading.Event(),
    )
    engine = get_solver(solver)
    check_supported(engine, compiled, config)
    if relaxes(compiled):  # the load relaxation runs HiGHS in a solver thread
        silence_banner()
    reason = infeasibility(compiled)
    if reason is not None:  # proven before any search: no time limit can change it
        return finish(compiled, Result("infeasible", engine.name, message=reason), started)
    if isinstance(warm_start, Schedule):
        config.warm_start = warm_start
    elif warm_start and solver not in STARTS_ITSELF and WARM_START_SOLVER in available_solvers():
        config.time_limit = _left(time_limit, started, compiled)
        config.warm_start = _heuristic_start(compiled, config)
    config.time_limit = _left(time_limit, started, compiled)
    config.reserve_s = _reserve(time_limit, started, compiled)
    result = engine.solve(compiled, config)
    return finish(compiled, result, started, reference)


def _left(time_limit: float | None, started: float, compiled: CompiledInstance) -> float | None:
    """The solver's share of what is left of `time_limit`: less the time spent since
    `started` and the time kept back for checking the schedule afterwards."""
    if time_limit is None:
        return None
    left = time_limit - (time.perf_counter() - started)
    return max(0.0, left - _reserve(time_limit, started, compiled))


def _reserve(time_limit: float | None, started: float, compiled: CompiledInstance) -> float:
    """The seconds of what is left of `time_limit` (since `started`) kept back for checking
    the schedule: FINISH_S_PER_OP per operation, at most half the limit (0 without one)."""
    if time_limit is None:
        return 0.0
    left = max(0.0, time_limit - (time.perf_counter() - started))
    return min(left, 0.5 * time_limit, FINISH_S_PER_OP * compiled.n_ops)


def _heuristic_start(compiled: CompiledInstance, config: SolveConfig) -> Schedule | None:
    """The heuristic's best schedule in a small slice of the time budget, or None when it finds
    none or does not support the instance (the exact solver then starts cold). It runs as many
    local searches in parallel as the exact solver will have workers, so no core idles."""
    limit = config.time_limit
    budget = WARM_START_MAX_S if limit is None else WARM_START_SHARE * limit
    heuristic_config = SolveConfig(
        objective=config.objective,
        time_limit=min(WARM_START_MAX_S, budget),
        workers=config.workers or min(WARM_START_MAX_RUNS, os.cpu_count() or 1),
        seed=config.seed,
        reference=config.reference,
        on_progress=config.on_progress,
        stop=config.stop,
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


def finish(
    compiled: CompiledInstance,
    result: Result,
    started: float,
    reference: Schedule | None = None,
) -> Result:
    """Check the schedule independently, fill the KPIs (the stability ones against
    `reference` too) and the wall time."""
    if result.schedule is not None:
        violations = validate(compiled.instance, result.schedule)
        if violations:
            shown = "; ".join(str(v) for v in violations[:5])
            raise InvalidScheduleError(
                f"solver {result.solver!r} returned an invalid schedule "
                f"({len(violations)} violations): {shown}"
            )
        result.kpis = compute_kpis(compiled.instance, result.schedule, reference)
    result.wall_time_s = time.perf_counter() - started
    return result
