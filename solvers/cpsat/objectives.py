"""Objective levels as exact integer linear functions (weights scaled by a power of ten), their
CP-SAT expressions, and their values computed from a schedule's arrays."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
from ortools.sat.python import cp_model

from scheduler.compile import CompiledInstance
from scheduler.errors import UnsupportedFeatureError
from scheduler.objective import Objective

MAX_DECIMALS = 6  # weights are scaled by at most 10**6 to become integers
TOLERANCE = 1e-9


@dataclass(frozen=True)
class IntegerLevel:
    """One level as integers: value = (makespan * Cmax + flow * sum_j (C_j - r_j)
    + sum_j tardiness[j] * T_j) / scale, T_j = max(0, C_j - due_j)."""

    scale: int
    makespan: int
    flow: int
    tardiness: tuple[int, ...]  # per job, 0 for jobs without a due date

    def real(self, value: float) -> float:
        """A scaled value (or bound) in the objective's own units."""
        return value / self.scale


def _scale(weights: Iterable[float], where: str) -> int:
    """The smallest power of ten (up to 10**6) turning every weight into an integer exactly."""
    values = list(weights)
    for decimals in range(MAX_DECIMALS + 1):
        scale = 10**decimals
        if all(
            abs(w * scale - round(w * scale)) <= TOLERANCE * max(1.0, w * scale) for w in values
        ):
            return scale
    raise UnsupportedFeatureError(
        f"cpsat needs integer objective coefficients: the weights of {where} do not become "
        f"integers when multiplied by 10**{MAX_DECIMALS}"
    )


def integer_levels(c: CompiledInstance, objective: Objective) -> list[IntegerLevel]:
    """Every level of `objective` (non-energy terms only) as an IntegerLevel."""
    levels = []
    for i, level in enumerate(objective.levels):
        weight = dict(level)
        w_tard = weight.get("weighted_tardiness", 0.0)
        per_job = [
            w_tard * float(c.job_weight[j]) if c.job_due[j] >= 0 else 0.0 for j in range(c.n_jobs)
        ]
        coefficients = [weight.get("makespan", 0.0), weight.get("total_flow_time", 0.0), *per_job]
        scale = _scale(coefficients, f"objective level {i} ({dict(level)}) and job weights")
        levels.append(
            IntegerLevel(
                scale=scale,
                makespan=round(coefficients[0] * scale),
                flow=round(coefficients[1] * scale),
                tardiness=tuple(round(w * scale) for w in per_job),
            )
        )
    return levels


def evaluate(
    c: CompiledInstance, levels: list[IntegerLevel], mode: np.ndarray, start: np.ndarray
) -> list[int]:
    """The scaled integer value of every level for the schedule (mode, start) per operation."""
    end = start + c.mode_duration[mode]
    completion = np.maximum.reduceat(end, c.job_op_ptr[:-1])
    tardiness = np.where(c.job_due >= 0, np.maximum(0, completion - c.job_due), 0)
    flow = int((completion - c.job_release).sum())
    return [
        level.makespan * int(end.max())
        + level.flow * flow
        + int(np.dot(np.array(level.tardiness, dtype=np.int64), tardiness))
        for level in levels
    ]


@dataclass
class ObjectiveVariables:
    """Makespan, job completions and tardiness variables, made only where a level needs them."""

    makespan: cp_model.IntVar | None = None
    completion: dict[int, cp_model.IntVar] = field(default_factory=dict)
    tardiness: dict[int, cp_model.IntVar] = field(default_factory=dict)


def add_objective_variables(
    model: cp_model.CpModel,
    end: list[cp_model.IntVar],
    c: CompiledInstance,
    levels: list[IntegerLevel],
) -> ObjectiveVariables:
    """Exact (max-equality) variables for the terms any level uses."""
    ov = ObjectiveVariables()
    if any(level.makespan for level in levels):
        sinks = [o for o in range(c.n_ops) if c.succ_ptr[o] == c.succ_ptr[o + 1]]
        ov.makespan = model.new_int_var(0, c.horizon, "makespan")
        model.add_max_equality(ov.makespan, [end[o] for o in sinks])
    wants_flow = any(level.flow for level in levels)
    for j in range(c.n_jobs):
        tardy = any(level.tardiness[j] for level in levels)
        if not (wants_flow or tardy):
            continue
        cj = ov.completion[j] = model.new_int_var(0, c.horizon, f"C{j}")
        model.add_max_equality(cj, [end[o] for o in c.job_last_ops(j)])
        if tardy:
            tj = ov.tardiness[j] = model.new_int_var(0, c.horizon, f"T{j}")
            model.add_max_equality(tj, [cj - int(c.job_due[j]), 0])
    return ov


def level_expression(
    ov: ObjectiveVariables, c: CompiledInstance, level: IntegerLevel
) -> cp_model.LinearExprT:
    """The scaled integer expression CP-SAT minimises for one level."""
    terms: list[cp_model.LinearExprT] = []
    if level.makespan and ov.makespan is not None:
        terms.append(level.makespan * ov.makespan)
    if level.flow:
        terms += [level.flow * (ov.completion[j] - int(c.job_release[j])) for j in range(c.n_jobs)]
    terms += [level.tardiness[j] * ov.tardiness[j] for j in ov.tardiness if level.tardiness[j]]
    return cp_model.LinearExpr.sum(terms)


def objective_hints(
    ov: ObjectiveVariables, c: CompiledInstance, mode: np.ndarray, start: np.ndarray
) -> list[tuple[cp_model.IntVar, int]]:
    """Values of the objective variables for the schedule (mode, start)."""
    end = start + c.mode_duration[mode]
    completion = np.maximum.reduceat(end, c.job_op_ptr[:-1])
    hints = [(ov.completion[j], int(completion[j])) for j in ov.completion]
    hints += [(ov.tardiness[j], max(0, int(completion[j] - c.job_due[j]))) for j in ov.tardiness]
    if ov.makespan is not None:
        hints.append((ov.makespan, int(end.max())))
    return hints
