"""Infeasibility that a glance at the compiled instance proves, before any search: an
operation that draws more than the power cap allows at any tick in every mode, and a carbon
cap below a lower bound on the carbon every schedule emits. Each check is linear in the size
of the instance, so `scheduler.solve` runs them first and answers `infeasible` with the reason
instead of spending the time limit (and ending `unknown` on a loaded machine)."""

from __future__ import annotations

import math

import numpy as np

from scheduler.core.compile import CompiledInstance

REL_TOL = 1e-9  # the validator's tolerance on caps


def _fits(value: float | np.ndarray, cap: float) -> bool | np.ndarray:
    """`value` (a number or an array) within `cap` by the validator's tolerance."""
    return value <= cap + REL_TOL * max(1.0, abs(cap))


def power_reason(c: CompiledInstance) -> str | None:
    """An operation whose every mode (of at least one tick) draws more than the highest
    power cap of the profile, as `scheduler.report.explain` words it; None otherwise."""
    if c.power_cap_start.size == 0 or c.n_ops == 0:
        return None
    highest = float(c.power_cap_value.max())
    over = (c.mode_duration > 0) & ~_fits(c.mode_power, highest)  # every op has a mode
    blocked = np.flatnonzero(np.logical_and.reduceat(over, c.mode_ptr[:-1]))
    if blocked.size == 0:
        return None
    o = int(blocked[0])
    drawing = c.mode_power[c.mode_ptr[o] : c.mode_ptr[o + 1]]
    same = bool(np.all(drawing == drawing[0]))
    draw = f"{drawing[0]:g} kW" if same else f"at least {drawing.min():g} kW"
    cap = "cap" if c.power_cap_start.size == 1 else "highest cap of the profile"
    return f"operation {c.op_ids[o]} draws {draw} in every mode, above the {highest:g} kW {cap}"


def least_carbon_bound(c: CompiledInstance) -> float:
    """A lower bound on the processing carbon of any schedule (kg): every operation in its
    mode of least energy at the lowest carbon intensity of the profile."""
    if c.carbon_start.size == 0:
        return 0.0
    least = np.minimum.reduceat(c.mode_kwh, c.mode_ptr[:-1]) if c.n_ops else np.zeros(0)
    return float(least.sum()) * float(c.carbon_value.min())


def carbon_reason(c: CompiledInstance) -> str | None:
    """A carbon cap below `least_carbon_bound`; None otherwise."""
    if math.isnan(c.carbon_cap_kg):
        return None
    floor = least_carbon_bound(c)
    if _fits(floor, c.carbon_cap_kg):
        return None
    return (
        f"carbon cap {c.carbon_cap_kg:g} kg is below {floor:.6g} kg, the least the operations "
        "emit even each in its leanest mode at the lowest carbon intensity"
    )


def infeasibility(c: CompiledInstance) -> str | None:
    """The first reason found why `c` has no feasible schedule, or None when these checks
    prove nothing (the solver decides)."""
    return power_reason(c) or carbon_reason(c)
