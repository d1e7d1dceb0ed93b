"""Evaluation of step profiles over tick ranges (pieces, integrals, first tick below a level)
for the validator and the KPIs, straight from `Profile` objects, without unrolling a horizon."""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterator

from scheduler.core.model import Profile


def pieces(profile: Profile, start: int, end: int) -> Iterator[tuple[int, int, float]]:
    """The constant pieces (from, to, value) covering [start, end) in tick order; ticks before
    the first step take the first value, a periodic profile wraps every `period` ticks."""
    starts = [s for s, _ in profile.steps]
    period = profile.period
    base = start - start % period if period else 0
    i = max(bisect_right(starts, start - base) - 1, 0)
    t = start
    while t < end:
        if i + 1 < len(starts):
            stop = min(base + starts[i + 1], end)
        else:
            stop = min(base + period, end) if period else end
        yield t, stop, profile.steps[i][1]
        t = stop
        i += 1
        if period and i == len(starts):
            i, base = 0, base + period


def integral(profile: Profile, start: int, end: int) -> float:
    """Sum of the profile's value over the ticks of [start, end); whole periods are summed at
    once, so a long range costs no more than one period's steps."""
    if end <= start:
        return 0.0
    total = 0.0
    if profile.period:
        full, rest = divmod(end - start, profile.period)
        if full:
            total += full * sum(v * (b - a) for a, b, v in pieces(profile, 0, profile.period))
        end = start + rest
    return total + sum(v * (b - a) for a, b, v in pieces(profile, start, end))


def first_below(profile: Profile, start: int, end: int, level: float) -> int | None:
    """The first tick of [start, end) where the profile is below `level`, or None."""
    if profile.period and end - start > profile.period:
        if min(v for _, v in profile.steps) >= level:
            return None
        end = start + profile.period
    for a, _, v in pieces(profile, start, end):
        if v < level:
            return a
    return None
