"""Objective levels and bounds as exact integer linear functions (weights scaled by a power of
ten, energy terms counted in their model units), their CP-SAT expressions and hints."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from fractions import Fraction

import numpy as np
from ortools.sat.python import cp_model

from scheduler.core.compile import CompiledInstance
from scheduler.core.errors import UnsupportedFeatureError
from scheduler.core.objective import Objective
from scheduler.core.terms import ENERGY_TERMS, TERMS
from solvers.cpsat.energy_blocks import exact

MAX_DECIMALS = 6  # weights are scaled by at most 10**6 to become integers
TOLERANCE = 1e-9
MAX_COMMON_UNIT = 10**12  # largest lcm of energy term units combined in one level
BOUND_TOL = Fraction(1, 10**9)  # relative tolerance of the `bounds` option


@dataclass(frozen=True)
class IntegerLevel:
    """One level as integers: value = (makespan * Cmax + flow * sum_j (C_j - r_j)
    + sum_j tardiness[j] * T_j + deviation * D + sum_t coefficient_t * X_t) / scale,
    T_j = max(0, C_j - due_j), D the deviation term (solvers.cpsat.deviation), X_t the energy
    term t in model units (`energy` holds the (t, coefficient_t) pairs)."""

    scale: int
    makespan: int
    flow: int
    tardiness: tuple[int, ...]  # per job, 0 for jobs without a due date
    deviation: int = 0
    energy: tuple[tuple[str, int], ...] = ()
    weights: tuple[tuple[str, float], ...] = ()  # the level as given: (term, weight)

    def real(self, value: float) -> float:
        """A scaled value (or bound) in the objective's own units."""
        return value / self.scale

    def value(self, terms: dict[str, float]) -> float:
        """The level's exact value from the schedule's term values (`schedule_terms`)."""
        return float(sum(w * terms[t] for t, w in self.weights))


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


def integer_level(
    c: CompiledInstance, level: tuple[tuple[str, float], ...], units: dict[str, int], where: str
) -> IntegerLevel:
    """One weighted sum as an IntegerLevel; `units` are the model units per real unit of each
    energy term (solvers.cpsat.energy_model.term_units)."""
    weight = dict(level)
    w_tard = weight.get("weighted_tardiness", 0.0)
    per_job = [
        w_tard * float(c.job_weight[j]) if c.job_due[j] >= 0 else 0.0 for j in range(c.n_jobs)
    ]
    energy = [t for t in TERMS if t in ENERGY_TERMS and weight.get(t, 0.0)]
    coefficients = [
        weight.get("makespan", 0.0),
        weight.get("total_flow_time", 0.0),
        weight.get("deviation", 0.0),
        *per_job,
        *(weight[t] for t in energy),
    ]
    decimal = _scale(coefficients, f"{where} ({weight}) and job weights")
    common = math.lcm(1, *(units[t] for t in energy))
    if common > MAX_COMMON_UNIT:
        raise UnsupportedFeatureError(
            f"cpsat cannot weigh the energy terms of {where} exactly together: the lcm of "
            f"their model units is {common} (more than {MAX_COMMON_UNIT})"
        )
    return IntegerLevel(
        scale=decimal * common,
        makespan=round(coefficients[0] * decimal) * common,
        flow=round(coefficients[1] * decimal) * common,
        deviation=round(coefficients[2] * decimal) * common,
        tardiness=tuple(round(w * decimal) * common for w in per_job),
        energy=tuple((t, round(weight[t] * decimal) * (common // units[t])) for t in energy),
        weights=tuple(level),
    )


def integer_levels(
    c: CompiledInstance, objective: Objective, units: dict[str, int]
) -> list[IntegerLevel]:
    """Every level of `objective` as an IntegerLevel."""
    return [
        integer_level(c, level, units, f"objective level {i}")
        for i, level in enumerate(objective.levels)
    ]


def bound_limit(bound: float) -> Fraction:
    """The largest value a term bounded by `bound` may take: the bound plus BOUND_TOL relative
    (at least absolute), so that a bound read off a schedule's float KPI admits that schedule
    (the validator's tolerance on caps, likewise)."""
    value = exact(bound)
    return value + BOUND_TOL * max(Fraction(1), abs(value))


def integer_bounds(
    c: CompiledInstance, bounds: dict[str, float], units: dict[str, int]
) -> list[tuple[IntegerLevel, int]]:
    """Each bound {term: max value} as (level of that term alone, largest integer value): the
    term is <= `bound_limit(bound)` exactly when its scaled expression is <= floor(limit x
    scale) (an integer term such as makespan: <= the floor of the bound)."""
    out = []
    for term, bound in sorted(bounds.items()):
        level = integer_level(c, ((term, 1.0),), units, f"the bound on {term}")
        out.append((level, math.floor(bound_limit(bound) * level.scale)))
    return out


@dataclass
class ObjectiveVariables:
    """Makespan, job completions and tardiness variables, made only where a level needs them,
    and the energy terms' expressions (solvers.cpsat.energy_model)."""

    makespan: cp_model.IntVar | None = None
    completion: dict[int, cp_model.IntVar] = field(default_factory=dict)
    tardiness: dict[int, cp_model.IntVar] = field(default_factory=dict)
    energy: dict[str, cp_model.LinearExprT] = field(default_factory=dict)  # in model units
    deviation: cp_model.LinearExprT | None = None  # solvers.cpsat.deviation


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
    terms += [coefficient * ov.energy[t] for t, coefficient in level.energy if coefficient]
    if level.deviation and ov.deviation is not None:
        terms.append(level.deviation * ov.deviation)
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
