"""`reschedule`: re-plan a running schedule at tick `at` after disruption events, by the
right-shift policy (no solver) or by re-optimising what is left with any registered solver,
warm-started from the right-shifted plan."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Literal

from scheduler.core.compile import compile_instance
from scheduler.core.kpi import compute_kpis
from scheduler.core.model import Instance
from scheduler.core.objective import Objective
from scheduler.core.result import Progress, Result, close_trajectory
from scheduler.core.schedule import Schedule
from scheduler.core.solve import DEFAULT_SOLVER, solve
from scheduler.core.validate import validate
from scheduler.replan.right_shift import shift_plan
from scheduler.replan.update import update_instance

Policy = Literal["right_shift", "reoptimize"]
POLICIES: tuple[str, ...] = ("right_shift", "reoptimize")
MIN_SOLVE_S = 0.1  # the solver's share when the right shift used up the time limit


@dataclass(frozen=True)
class Replan:
    """A re-plan: the updated `instance` (a normal instance, e.g. for `write_json`), the
    `result` for it (its schedule valid for `instance`; its KPIs include the stability ones
    against the old plan), the operations `kept` frozen, and the right-shifted old plan
    `shifted` (the reoptimising solver's warm start; None when a right shift cannot meet
    the deadlines or caps)."""

    instance: Instance
    result: Result
    kept: frozenset[str]
    shifted: Schedule | None

    @property
    def schedule(self) -> Schedule | None:
        return self.result.schedule


def reschedule(
    instance: Instance,
    schedule: Schedule,
    at: int,
    events: Iterable[object] = (),
    solver: str = DEFAULT_SOLVER,
    objective: str | Objective = "makespan",
    stability: float | None = None,
    policy: Policy = "reoptimize",
    time_limit: float | None = None,
    workers: int | None = None,
    seed: int = 0,
    on_progress: Callable[[Progress], None] | None = None,
    log: Callable[[str], None] | None = None,
    stop: threading.Event | None = None,
    **options: Any,
) -> Replan:
    """Re-plan `schedule` (a valid schedule of `instance`) at tick `at` after `events` (event
    objects or their JSON, `scheduler.replan.events`). What ended by `at` is kept exactly, an
    operation running at `at` keeps its machine, mode and start unless an event stops it.
    `policy` "right_shift" pushes the old plan later; "reoptimize" solves the rest with
    `solver` within `time_limit`, warm-started from the right shift. `stability` adds the
    `deviation` term (shift from the old plan) to the objective's first level with that
    weight. Setting `stop` (another thread, a signal handler) ends the solve early with the
    best schedule found so far. Bad events or arguments raise InstanceError (ValueError for
    the policy)."""
    started = time.perf_counter()
    if policy not in POLICIES:
        raise ValueError(f"policy: expected one of {', '.join(POLICIES)}, got {policy!r}")
    goal = with_stability(Objective.parse(objective), stability)
    update = update_instance(instance, schedule, at, events)
    compiled = compile_instance(update.instance)
    shifted = shift_plan(compiled, update.plan, update.kept)
    if isinstance(shifted, Schedule) and validate(update.instance, shifted):
        shifted = f"right shift breaks a rule: {validate(update.instance, shifted)[0]}"
    warm = shifted if isinstance(shifted, Schedule) else None
    if policy == "right_shift":
        result = _right_shift_result(update.instance, warm, schedule, goal, started)
        if isinstance(shifted, str):
            result.message = shifted
    else:
        limit = None
        if time_limit is not None:
            limit = max(MIN_SOLVE_S, time_limit - (time.perf_counter() - started))
        result = solve(
            compiled,
            solver=solver,
            objective=goal,
            time_limit=limit,
            workers=workers,
            seed=seed,
            warm_start=warm if warm is not None else True,
            reference=schedule,
            on_progress=on_progress,
            log=log,
            stop=stop,
            **options,
        )
        result.wall_time_s = time.perf_counter() - started
    return Replan(update.instance, result, update.kept, warm)


def with_stability(objective: Objective, weight: float | None) -> Objective:
    """The objective with `deviation` at `weight` added to its first level."""
    if weight is None:
        return objective
    if isinstance(weight, bool) or not isinstance(weight, (int, float)) or not weight >= 0:
        raise ValueError(f"stability: expected a weight >= 0, got {weight!r}")
    if "deviation" in objective.terms:
        raise ValueError("stability: the objective already names the deviation term")
    first = (*objective.levels[0], ("deviation", float(weight)))
    return Objective((first, *objective.levels[1:]))


def _right_shift_result(
    instance: Instance,
    shifted: Schedule | None,
    reference: Schedule,
    objective: Objective,
    started: float,
) -> Result:
    """The right-shift plan as a Result (status feasible, or unknown when there is none)."""
    elapsed = time.perf_counter() - started
    if shifted is None:
        return Result("unknown", "right_shift", wall_time_s=elapsed)
    kpis = compute_kpis(instance, shifted, reference)
    values = [objective.value(kpis, i) for i in range(len(objective.levels))]
    result = Result(
        "feasible",
        "right_shift",
        schedule=shifted,
        objective=values[0],
        wall_time_s=elapsed,
        kpis=kpis,
        objectives=values,
        message="the old plan right-shifted",
    )
    close_trajectory(result.trajectory, elapsed, values[0], None)
    return result
