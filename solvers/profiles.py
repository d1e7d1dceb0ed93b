"""Sums of an unrolled step profile (tariff, carbon intensity: `CompiledInstance` arrays) over
tick ranges: the one solver-side home of the profile integral, shared by every solver that
prices a schedule (the validator and KPIs keep their own, independent version)."""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True)
def step_integral(starts: np.ndarray, values: np.ndarray, a: int, b: int) -> float:
    """Sum of an unrolled step profile over the ticks of [a, b) (0 for an empty profile); the
    last value holds past the unrolled range. Summed piece by piece, so a window and its
    shift by whole periods give bitwise equal sums (ties between days stay ties)."""
    if starts.size == 0 or b <= a:
        return 0.0
    i = np.searchsorted(starts, a, side="right") - 1
    total = 0.0
    t = a
    while t < b:
        stop = b if i + 1 >= starts.size else min(b, starts[i + 1])
        total += values[i] * (stop - t)
        t = stop
        i += 1
    return total


@njit(cache=True)
def step_integrals(
    starts: np.ndarray, values: np.ndarray, a: np.ndarray, b: np.ndarray
) -> np.ndarray:
    """`step_integral` over each range [a[i], b[i])."""
    out = np.zeros(a.size)
    for i in range(a.size):
        out[i] = step_integral(starts, values, a[i], b[i])
    return out
