"""Means with 95 % confidence intervals (Student t) and the paired relative change of two
profiles' means, without scipy: t quantiles from a table (df <= 30) and the Cornish-Fisher
expansion about the normal quantile beyond (error below 1e-6 there)."""

from __future__ import annotations

import math

import numpy as np

Z975 = 1.959963984540054
_T975 = (
    12.706204736, 4.302652730, 3.182446305, 2.776445105, 2.570581836, 2.446911851,
    2.364624252, 2.306004135, 2.262157163, 2.228138852, 2.200985160, 2.178812830,
    2.160368656, 2.144786688, 2.131449546, 2.119905299, 2.109815578, 2.100922040,
    2.093024054, 2.085963447, 2.079613845, 2.073873068, 2.068657610, 2.063898562,
    2.059538553, 2.055529439, 2.051830516, 2.048407142, 2.045229642, 2.042272456,
)  # fmt: skip


def t975(df: int) -> float:
    """The 0.975 quantile of Student's t with `df` >= 1 degrees of freedom."""
    if df < 1:
        raise ValueError("degrees of freedom must be >= 1")
    if df <= len(_T975):
        return _T975[df - 1]
    z, n = Z975, float(df)
    return (
        z
        + (z**3 + z) / (4 * n)
        + (5 * z**5 + 16 * z**3 + 3 * z) / (96 * n**2)
        + (3 * z**7 + 19 * z**5 + 17 * z**3 - 15 * z) / (384 * n**3)
        + (79 * z**9 + 776 * z**7 + 1482 * z**5 - 1920 * z**3 - 945 * z) / (92160 * n**4)
    )


def mean_ci(values: np.ndarray) -> tuple[float, float, float]:
    """(mean, low, high): the 95 % t interval of the mean (nan bounds for one value)."""
    x = np.asarray(values, dtype=float)
    mean = float(x.mean())
    if x.size < 2:
        return mean, math.nan, math.nan
    half = t975(x.size - 1) * float(x.std(ddof=1)) / math.sqrt(x.size)
    return mean, mean - half, mean + half


def relative_change(after: np.ndarray, before: np.ndarray) -> tuple[float, float, float]:
    """(change, low, high) of mean(after) / mean(before) - 1 with its 95 % interval, paired by
    replication (delta method on after_r - R before_r, which keeps the common random numbers'
    correlation); nan when the before mean is 0."""
    a, b = np.asarray(after, dtype=float), np.asarray(before, dtype=float)
    mean_b = float(b.mean())
    if mean_b == 0:
        return math.nan, math.nan, math.nan
    ratio = float(a.mean()) / mean_b
    if a.size < 2:
        return ratio - 1, math.nan, math.nan
    residual = a - ratio * b
    half = t975(a.size - 1) * float(residual.std(ddof=1)) / (math.sqrt(a.size) * abs(mean_b))
    return ratio - 1, ratio - 1 - half, ratio - 1 + half
