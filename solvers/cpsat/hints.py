"""CP-SAT hints: a complete one (every variable, circuit arcs and energy pieces included)
derived from a warm-start schedule, and the re-hint of a previous solution between
lexicographic levels."""

from __future__ import annotations

import numpy as np
from ortools.sat.python import cp_model

from scheduler.core.compile import CompiledInstance
from solvers.cpsat.energy_model import EnergyModel
from solvers.cpsat.model import DEPOT, SchedulingModel, setup_ticks
from solvers.cpsat.objectives import ObjectiveVariables, objective_hints


def schedule_hints(
    sm: SchedulingModel,
    ov: ObjectiveVariables,
    em: EnergyModel,
    c: CompiledInstance,
    mode: np.ndarray,
    start: np.ndarray,
) -> list[tuple[cp_model.IntVar, int]]:
    """(variable, value) pairs for the schedule given as global mode and start per operation
    (-1 where missing: then only the given operations' starts, ends and modes are hinted)."""
    known = [o for o in range(c.n_ops) if mode[o] >= 0]
    end = np.where(mode >= 0, start + c.mode_duration[np.maximum(mode, 0)], -1)
    hints = [(sm.start[o], int(start[o])) for o in known]
    hints += [(sm.end[o], int(end[o])) for o in known]
    hints += [
        (p, int(mode[c.mode_op[k]] == k)) for k, p in sm.presence.items() if mode[c.mode_op[k]] >= 0
    ]
    if len(known) < c.n_ops:
        return hints
    machine = c.mode_machine[mode]
    hints += [(lit, int(machine[o] == m)) for (o, m), lit in sm.on_machine.items()]
    setup_before: dict[int, int] = {}
    for m, seq in sm.sequences.items():
        order = sorted(np.flatnonzero(machine == m).tolist(), key=lambda o: int(start[o]))
        chosen = set(zip([DEPOT, *order], [*order, DEPOT], strict=True))
        hints += [(lit, int(arc in chosen)) for arc, lit in seq.arcs.items()]
        if seq.empty is not None:
            hints.append((seq.empty, int(not order)))
        for a, b in zip(order, order[1:], strict=False):
            setup_before[b] = setup_ticks(c, m, a, b)
    for o, su in sm.setup_in.items():
        ticks = setup_before.get(o, 0) if (o, int(machine[o])) in sm.extended else 0
        x = int(start[o]) - ticks
        hints += [(su, ticks), (sm.setup_start[o], x), (sm.setup_span[o], int(end[o]) - x)]
    return hints + objective_hints(ov, c, mode, start) + em.hints(c, mode, start)


def set_hints(model: cp_model.CpModel, hints: list[tuple[cp_model.IntVar, int]]) -> None:
    """Replace the model's hint by `hints`."""
    model.clear_hints()
    for var, value in hints:
        model.add_hint(var, value)


def hint_solution(model: cp_model.CpModel, solver: cp_model.CpSolver) -> None:
    """Replace the model's hint by the solver's last solution (all variables)."""
    values = list(solver.response_proto.solution)
    model.clear_hints()
    model.proto.solution_hint.vars.extend(range(len(values)))
    model.proto.solution_hint.values.extend(values)
