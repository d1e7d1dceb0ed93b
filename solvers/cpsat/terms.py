"""Exact values of every objective term (DESIGN section 4 semantics) from a schedule given as
arrays, in real units: what cpsat reports, compares hints by and checks bounds against, free of
the integer scaling and rounding inside the model."""

from __future__ import annotations

import numpy as np

from scheduler.core.compile import CompiledInstance, ReferencePlan
from solvers.profiles import step_integrals


def schedule_terms(
    c: CompiledInstance, mode: np.ndarray, start: np.ndarray, ref: ReferencePlan | None = None
) -> dict[str, float]:
    """Every term of `scheduler.core.terms.TERMS` for the schedule (global mode and start per
    operation), with the semantics of `scheduler.core.kpi.compute_kpis` (every job has operations,
    as the instance checks require); `deviation` only with a reference plan `ref`."""
    duration = c.mode_duration[mode]
    end = start + duration
    completion = np.maximum.reduceat(end, c.job_op_ptr[:-1])
    due = c.job_due >= 0
    tardiness = np.where(due, np.maximum(0, completion - c.job_due), 0)
    hours = c.hours_per_tick
    kwh_per_tick = c.mode_power[mode] * hours

    def profile_sum(starts: np.ndarray, values: np.ndarray) -> float:
        if starts.size == 0:
            return 0.0
        ticks = step_integrals(starts, values, start, end)
        return float(np.dot(kwh_per_tick, ticks))

    machine = c.mode_machine[mode]
    idle = 0.0
    for m in np.flatnonzero(c.machine_idle_power > 0):
        on_m = machine == m
        if on_m.any():
            gaps = int(end[on_m].max() - start[on_m].min() - duration[on_m].sum())
            idle += float(c.machine_idle_power[m]) * max(0, gaps) * hours
    deviation = {}
    if ref is not None:
        held = ref.start >= 0
        moved = np.abs(start - ref.start)[held].sum()
        changed = (ref.change_cost * (machine != ref.machine))[held].sum()
        deviation["deviation"] = float(moved + changed)
    return deviation | {
        "makespan": float(end.max()),
        "weighted_tardiness": float(np.dot(c.job_weight, tardiness)),
        "total_flow_time": float((completion - c.job_release).sum()),
        "energy": float(np.dot(kwh_per_tick, duration)),
        "energy_cost": profile_sum(c.tariff_start, c.tariff_value),
        "carbon": profile_sum(c.carbon_start, c.carbon_value),
        "idle_energy": idle,
    }
