"""The `deviation` term in CP-SAT (`scheduler.core.kpi.stability_kpis` defines it): per
operation the reference plan holds, |start - reference start| as an abs-equality variable, plus
its reference duration when it runs on another machine (read off the mode literals)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from ortools.sat.python import cp_model

from scheduler.core.compile import CompiledInstance, ReferencePlan
from solvers.cpsat.model import SchedulingModel


@dataclass
class DeviationModel:
    """The term's expression (ticks) and the shift variable of each referenced operation."""

    expression: cp_model.LinearExprT
    shift: dict[int, cp_model.IntVar]
    reference: ReferencePlan

    def hints(self, mode: np.ndarray, start: np.ndarray) -> list[tuple[cp_model.IntVar, int]]:
        """Values of the shift variables for the schedule (global mode, start per operation)."""
        return [
            (var, abs(int(start[o]) - int(self.reference.start[o])))
            for o, var in self.shift.items()
            if mode[o] >= 0
        ]


def add_deviation(sm: SchedulingModel, c: CompiledInstance, ref: ReferencePlan) -> DeviationModel:
    """Add the shift variables and return the term's expression."""
    model = sm.model
    terms: list[cp_model.LinearExprT] = []
    shift: dict[int, cp_model.IntVar] = {}
    fixed = 0
    for o in np.flatnonzero(ref.start >= 0).tolist():
        r = int(ref.start[o])
        d = shift[o] = model.new_int_var(0, max(r, int(c.horizon)), f"dev{o}")
        model.add_abs_equality(d, sm.start[o] - r)
        terms.append(d)
        cost = int(ref.change_cost[o])
        if not cost:
            continue
        on_ref = [k for k in sm.modes[o] if c.mode_machine[k] == ref.machine[o]]
        if len(sm.modes[o]) == 1:
            fixed += 0 if on_ref else cost
        else:
            terms.append(cost * (1 - sum(sm.presence[k] for k in on_ref)))
    return DeviationModel(cp_model.LinearExpr.sum(terms) + fixed, shift, ref)
