"""Trade-off curves between two objectives by the epsilon-constraint method: the two extreme
schedules (lexicographic f1>f2 and f2>f1), then f1>f2 with f2 bounded by evenly spaced epsilons
between them; the non-dominated schedules as a frame, and a plot of it.

The bound reaches the solver as `SolveConfig.options["bounds"] = {term: max_value}` (DESIGN
section 11); a solver that cannot honour it refuses it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from scheduler.core.model import Instance
from scheduler.core.result import Result, Status
from scheduler.core.schedule import Schedule
from scheduler.core.solve import DEFAULT_SOLVER, solve
from scheduler.core.terms import TERMS
from scheduler.io.atomic import atomic_write
from scheduler.report.plot import image_format

REL_TOL = 1e-9  # objective values closer than this (relative) count as equal


class ParetoError(RuntimeError):
    """An extreme of the curve has no schedule; `status` is that solve's status
    ("infeasible": the instance has no schedule at all, "unknown": none found in the time)."""

    def __init__(self, message: str, status: Status) -> None:
        super().__init__(message)
        self.status = status


def epsilon_grid(low: float, high: float, count: int) -> list[float]:
    """`count` bounds evenly spaced strictly between `low` and `high`, ascending; none when
    the range is empty."""
    if count <= 0 or not high > low:
        return []
    step = (high - low) / (count + 1)
    return [low + i * step for i in range(1, count + 1)]


def _close(a: float, b: float) -> bool:
    return abs(a - b) <= REL_TOL * max(1.0, abs(a), abs(b))


def non_dominated(points: Sequence[tuple[float, float]]) -> list[int]:
    """Indices of the points (both coordinates minimised) that no other point dominates, in
    input order; of several equal points only the first is kept."""
    keep = []
    for i, (x, y) in enumerate(points):
        dominated = False
        for j, (u, v) in enumerate(points):
            if i == j:
                continue
            no_worse = (u < x or _close(u, x)) and (v < y or _close(v, y))
            equal = _close(u, x) and _close(v, y)
            if no_worse and (not equal or j < i):
                dominated = True
                break
        if not dominated:
            keep.append(i)
    return keep


@dataclass
class _Budget:
    """Seconds left (None: no limit) shared evenly by the solves still to run."""

    seconds: float | None
    solves: int

    def share(self) -> float | None:
        return None if self.seconds is None else self.seconds / max(1, self.solves)

    def spend(self, seconds: float) -> None:
        if self.seconds is not None:
            self.seconds = max(0.0, self.seconds - seconds)
        self.solves -= 1


def _check(objectives: Sequence[str], points: int) -> tuple[str, str]:
    if len(objectives) != 2 or objectives[0] == objectives[1]:
        raise ValueError(f"pareto: expected two different objectives, got {list(objectives)}")
    for term in objectives:
        if term not in TERMS:
            raise ValueError(f"pareto: unknown objective {term!r} (known: {', '.join(TERMS)})")
    if isinstance(points, bool) or not isinstance(points, int) or points < 2:
        raise ValueError(f"pareto: points must be an integer >= 2, got {points!r}")
    return objectives[0], objectives[1]


def pareto(
    instance: Instance,
    objectives: Sequence[str] = ("makespan", "carbon"),
    points: int = 8,
    solver: str = DEFAULT_SOLVER,
    time_limit: float | None = None,
    **kw: Any,
) -> pd.DataFrame:
    """Up to `points` non-dominated schedules trading `objectives[0]` (f1) against
    `objectives[1]` (f2), sorted by f1: columns f1, f2 (the validated KPIs), `status`,
    `epsilon` (the bound on f2, None at the extremes) and `schedule`.

    `time_limit` is the whole budget in seconds, shared evenly by the solves still to run.
    Other keywords go to `scheduler.core.solve.solve`; a `bounds` given there is kept (tightened
    on f2). Each epsilon solve is warm-started from the previous schedule, which fits its
    looser bound, unless `warm_start` is a Schedule (`warm_start=False` only drops the
    facade's heuristic warm start). Setting the `stop` keyword's event ends the running solve
    with its best schedule and runs no more: the curve is what was found by then. Raises
    ParetoError when an extreme has no schedule."""
    f1, f2 = _check(objectives, points)
    user_bounds = dict(kw.pop("bounds", {}) or {})
    budget = _Budget(time_limit, solves=2)

    def run(objective: str, bound: float | None, hint: Schedule | None) -> Result:
        bounds = dict(user_bounds)
        if bound is not None:
            bounds[f2] = min(bound, bounds.get(f2, bound))
        options = dict(kw)
        if bounds:
            options["bounds"] = bounds
        if hint is not None and not isinstance(kw.get("warm_start"), Schedule):
            options["warm_start"] = hint
        share = budget.share()
        result = solve(instance, solver=solver, objective=objective, time_limit=share, **options)
        budget.spend(result.wall_time_s)
        return result

    rows: list[dict[str, Any]] = []

    def record(result: Result, epsilon: float | None) -> Schedule | None:
        if result.schedule is not None:
            rows.append(
                {
                    f1: result.kpis[f1],
                    f2: result.kpis[f2],
                    "status": result.status,
                    "epsilon": epsilon,
                    "schedule": result.schedule,
                }
            )
        return result.schedule

    for objective in (f"{f1}>{f2}", f"{f2}>{f1}"):
        extreme = run(objective, None, None)
        if record(extreme, None) is None:
            raise ParetoError(
                f"pareto: no schedule for the extreme {objective!r} ({extreme.status}"
                f"{': ' + extreme.message if extreme.message else ''})",
                extreme.status,
            )
    high, low = rows[0][f2], rows[1][f2]
    hint = rows[1]["schedule"]
    grid = epsilon_grid(low, high, points - 2)
    budget.solves = len(grid)
    stop = kw.get("stop")
    for epsilon in grid:
        if stop is not None and stop.is_set():
            break
        hint = record(run(f"{f1}>{f2}", epsilon, hint), epsilon) or hint

    kept = non_dominated([(row[f1], row[f2]) for row in rows])
    frame = pd.DataFrame([rows[i] for i in kept], columns=[f1, f2, "status", "epsilon", "schedule"])
    return frame.sort_values([f1, f2], kind="stable").reset_index(drop=True)


def plot_pareto(
    frame: pd.DataFrame, path: str | Path | None = None, title: str | None = None
) -> Figure:
    """The trade-off curve of a `pareto` frame (f1 across, f2 up, as a staircase through the
    points; hollow markers where optimality is not proven); saved atomically when `path` is
    given (the format follows the suffix)."""
    fmt = image_format(path) if path is not None else None
    x_name, y_name = str(frame.columns[0]), str(frame.columns[1])
    fig = Figure(figsize=(6.4, 4.6), layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    ordered = frame.sort_values(x_name)
    ax.step(ordered[x_name], ordered[y_name], where="post", color="0.6", linewidth=1, zorder=1)
    proven = ordered["status"] == "optimal"
    if proven.any():
        ax.scatter(
            ordered.loc[proven, x_name],
            ordered.loc[proven, y_name],
            color="C0",
            zorder=2,
            label="optimal",
        )
    if (~proven).any():
        ax.scatter(
            ordered.loc[~proven, x_name],
            ordered.loc[~proven, y_name],
            facecolors="none",
            edgecolors="C0",
            zorder=2,
            label="best found",
        )
    ax.set_xlabel(x_name)
    ax.set_ylabel(y_name)
    ax.grid(color="0.9", linewidth=0.8)
    ax.set_axisbelow(True)
    ax.legend(loc="upper right")
    ax.set_title(title if title is not None else f"{x_name} vs {y_name}: {len(frame)} schedules")
    if path is not None:
        atomic_write(Path(path), lambda temp: fig.savefig(temp, format=fmt, dpi=120))
    return fig
