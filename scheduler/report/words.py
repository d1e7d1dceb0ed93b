"""Results in a planner's words, shared by the command line and the HTML report: status
(`best found in 10 s, at most 4.1 % above the optimum`), spans in ticks with their clock length,
instants on the clock, and each objective level by name with its unit."""

from __future__ import annotations

from scheduler.core.clock import to_datetime
from scheduler.core.model import Instance
from scheduler.core.objective import Objective
from scheduler.core.result import Result
from scheduler.core.terms import TERM


def number(value: float | None) -> str:
    if value is None:
        return "-"
    return str(int(value)) if float(value).is_integer() else f"{value:.6g}"


def status_words(result: Result) -> str:
    """The status for a planner: `optimal`, `best found in 10 s, at most 4.1 % above the
    optimum`, `no schedule found in 10 s` or `infeasible: <reason>`."""
    took = seconds(result.wall_time_s)
    if result.status == "optimal":
        return f"optimal (proven in {took})"
    if result.status == "infeasible":
        return f"infeasible: {result.message}" if result.message else "infeasible (proven)"
    if result.schedule is None:
        return f"no schedule found in {took}"
    objective, bound = result.objective, result.bound
    if objective is None or bound is None or bound <= 0 or objective < bound:
        return f"best found in {took}, no lower bound to say how far from the optimum"
    return (
        f"best found in {took}, at most {100 * (objective - bound) / bound:.1f} % above the optimum"
    )


def seconds(value: float) -> str:
    return f"{value:.1f} s" if value < 10 else f"{value:.0f} s"


def span(ticks: float, instance: Instance) -> str:
    """`230 ticks (3 h 50 min)`: ticks with their length on the clock."""
    minutes = ticks * instance.time_unit_minutes
    days, rest = divmod(round(minutes), 1440)
    hours, mins = divmod(rest, 60)
    parts = [f"{days} d"] * bool(days) + [f"{hours} h"] * bool(hours) + [f"{mins} min"] * bool(mins)
    return f"{number(ticks)} ticks ({' '.join(parts) or '0 min'})"


def when(instance: Instance, tick: int) -> str:
    """`2026-12-01 06:00` (with its UTC offset when the start has one), or `tick 120`."""
    if instance.start is None:
        return f"tick {tick}"
    moment = to_datetime(instance.start, instance.time_unit_minutes, tick)
    return moment.isoformat(sep=" ", timespec="minutes")


def level_lines(result: Result, objective: Objective) -> list[str]:
    """One line per objective level: its name, value and unit (the first level is the
    Result's `.objective`)."""
    values = result.objectives or ([result.objective] if result.objective is not None else [])
    lines = []
    for i, level in enumerate(objective.levels):
        name = str(Objective((level,)))
        unit = TERM[level[0][0]].unit if len(level) == 1 else "weighted sum"
        value = number(values[i]) if i < len(values) else "-"
        tag = f"level {i + 1}: " if len(objective.levels) > 1 else ""
        lines.append(f"{tag}{name} {value} {unit}")
    return lines
