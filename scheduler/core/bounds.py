"""Lower bounds on every objective term, valid for any schedule of the instance, from the
compiled arrays alone: a solve that reaches the bound of every level is proven optimal, and a
gap against them means something even when no exact solver ran."""

from __future__ import annotations

import numpy as np

from scheduler.core.compile import CompiledInstance
from scheduler.core.objective import Objective
from scheduler.core.terms import TERMS


def term_lower_bounds(c: CompiledInstance) -> dict[str, float]:
    """Each term's lower bound: the makespan bound of the compiled instance; tardiness and
    flow time from each job's earliest completion (heads and shortest durations); energy,
    cost and carbon from each operation's least-energy mode at the lowest price or intensity
    anywhere in the horizon; idle energy 0."""
    earliest_end = c.head + c.min_duration
    completion = (
        np.maximum.reduceat(earliest_end, c.job_op_ptr[:-1]) if c.n_ops else np.zeros(0)
    )
    due = c.job_due >= 0
    tardiness = np.where(due, np.maximum(0, completion - c.job_due), 0)
    kwh = c.mode_power * c.mode_duration * (c.time_unit_minutes / 60.0)

    def least(price: np.ndarray) -> float:
        """Sum over ops of the least kWh x price over its modes, at the lowest price."""
        if price.size == 0:
            return 0.0
        low = float(price.min())
        return float(np.minimum.reduceat(kwh * low, c.mode_ptr[:-1]).sum()) if c.n_ops else 0.0

    bounds = {
        "makespan": float(c.lower_bound),
        "weighted_tardiness": float(np.dot(c.job_weight, tardiness)),
        "total_flow_time": float((completion - c.job_release).sum()),
        "energy": float(np.minimum.reduceat(kwh, c.mode_ptr[:-1]).sum()) if c.n_ops else 0.0,
        "energy_cost": least(c.tariff_value),
        "carbon": least(c.carbon_value),
        "idle_energy": 0.0,
    }
    return {t: bounds.get(t, 0.0) for t in TERMS}


def level_bounds(c: CompiledInstance, objective: Objective) -> list[float]:
    """A lower bound on each level of `objective` (weights are >= 0, so the weighted sum of
    the term bounds bounds the level)."""
    terms = term_lower_bounds(c)
    return [sum(w * terms[t] for t, w in level) for level in objective.levels]
