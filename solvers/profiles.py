"""Sums of an unrolled step profile (tariff, carbon intensity: `CompiledInstance` arrays) over
tick ranges: the one solver-side home of the profile integral, shared by every solver that
prices a schedule (the validator and KPIs keep their own, independent version).

`step_integral` is plain Python that Numba can compile: the heuristic's kernels use it
compiled (`solvers.heuristics.evaluate`), so this module itself loads no JIT compiler."""

from __future__ import annotations

import numpy as np


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


def step_integrals(
    starts: np.ndarray, values: np.ndarray, a: np.ndarray, b: np.ndarray
) -> np.ndarray:
    """The sums of `step_integral` over every range [a[i], b[i]) at once (vectorised through
    the profile's running integral; equal to the piecewise sums up to float rounding)."""
    a, b = np.asarray(a, dtype=np.int64), np.asarray(b, dtype=np.int64)
    if starts.size == 0 or a.size == 0:
        return np.zeros(a.shape)
    last = max(int(starts[-1]), int(a.max()), int(b.max()))
    widths = np.diff(np.append(starts, last))
    running = np.concatenate(([0.0], np.cumsum(values * widths)))

    def integral(x: np.ndarray) -> np.ndarray:
        i = np.maximum(np.searchsorted(starts, x, side="right") - 1, 0)
        return running[i] + values[i] * (x - starts[i])

    return np.where(b > a, integral(b) - integral(a), 0.0)
