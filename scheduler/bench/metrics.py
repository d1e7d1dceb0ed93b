"""What one benchmark run measures from its anytime curve: gaps to the best-known value and to
the lower bound, time to the first and to the best schedule, time to reach the best-known
value, and the gap at fixed checkpoints (1/5/10/30/60 s) read off the same curve."""

from __future__ import annotations

from typing import Any

from scheduler.bench.suites import Reference

# (seconds since the solve call, objective or None, bound or None)
Point = tuple[float, float | None, float | None]
DEFAULT_CHECKPOINTS = (1.0, 5.0, 10.0, 30.0, 60.0)
TOLERANCE = 1e-9


def relative_to(value: float | None, reference: float | None) -> float | None:
    """(value - reference) / |reference|: 0 at the reference, positive when worse
    (minimisation); None when either is unknown or the reference is 0 and value is not."""
    if value is None or reference is None:
        return None
    if abs(value - reference) <= TOLERANCE:
        return 0.0
    if reference == 0:
        return None
    return (value - reference) / abs(reference)


def checkpoint_column(seconds: float) -> str:
    """CSV column of the gap to the best-known value at a checkpoint, e.g. `gap_bks_at_5s`."""
    return f"gap_bks_at_{seconds:g}s"


def objective_at(curve: list[Point], seconds: float) -> float | None:
    """The best objective found by `seconds` (None before the first schedule)."""
    best = None
    for t, objective, _ in curve:
        if t > seconds:
            break
        if objective is not None and (best is None or objective < best):
            best = objective
    return best


def first_time(curve: list[Point], reached: float | None) -> float | None:
    """The first time the objective was at or below `reached` (None if never)."""
    if reached is None:
        return None
    for t, objective, _ in curve:
        if objective is not None and objective <= reached + TOLERANCE:
            return t
    return None


def measure(
    curve: list[Point],
    objective: float | None,
    reference: Reference | None,
    time_limit: float,
    checkpoints: tuple[float, ...] = DEFAULT_CHECKPOINTS,
) -> dict[str, Any]:
    """The per-run metric columns. Checkpoints beyond the time limit stay empty; one at the
    time limit reads the final objective (the run's own overhead may end a little later)."""
    best_known = reference.best_known if reference else None
    lower_bound = reference.lower_bound if reference else None
    first = next((t for t, value, _ in curve if value is not None), None)
    row: dict[str, Any] = {
        "gap_bks": relative_to(objective, best_known),
        "gap_lb": relative_to(objective, lower_bound),
        "time_to_first_s": first,
        "time_to_best_s": first_time(curve, objective),
        "time_to_bks_s": first_time(curve, best_known),
    }
    for seconds in checkpoints:
        if seconds > time_limit + TOLERANCE:
            row[checkpoint_column(seconds)] = None
            continue
        value = objective if seconds >= time_limit - TOLERANCE else objective_at(curve, seconds)
        row[checkpoint_column(seconds)] = relative_to(value, best_known)
    return row
