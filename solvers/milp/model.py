"""What both formulations hand on: the Pyomo model with `start[o]`, `end[o]` and the mode
choice `use[k]` (variables or expressions), the exact energy-cost and carbon expressions where
the formulation has them, how to write a schedule into its variables (the MIP start) and
read one back, and the precedence constraints both formulations add."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyomo.environ as pyo

from scheduler.core.compile import CompiledInstance


@dataclass
class MilpModel:
    """A built formulation. `modes[o]` are the feasible global modes of operation o; `earliest`
    and `latest` its start and end windows; `energy_cost`/`carbon` are None where the
    formulation cannot express them exactly; `set_schedule(mode, start)` sets every variable of
    the formulation to a schedule (for the MIP start)."""

    model: pyo.ConcreteModel
    modes: list[list[int]]
    earliest: np.ndarray
    latest: np.ndarray
    set_schedule: Callable[[np.ndarray, np.ndarray], None]
    energy_cost: Any = None
    carbon: Any = None


def reachability(c: CompiledInstance) -> list[int]:
    """Per operation a bitset of its transitive successors in the precedence graph."""
    reach = [0] * c.n_ops
    for o in c.topo_order[::-1]:
        for s in c.succ_op[c.succ_ptr[o] : c.succ_ptr[o + 1]]:
            reach[o] |= reach[s] | (1 << int(s))
    return reach


def add_precedences(m: pyo.ConcreteModel, c: CompiledInstance) -> None:
    """The precedence constraints start[b] >= end[a] + lag of every arc (a, b, lag), on the
    model's `start` and `end` (variables or expressions): the same in both formulations."""
    arcs = [
        (o, int(c.succ_op[i]), int(c.succ_lag[i]))
        for o in range(c.n_ops)
        for i in range(c.succ_ptr[o], c.succ_ptr[o + 1])
    ]
    m.precedences = pyo.Set(initialize=arcs, dimen=3)
    m.precedence = pyo.Constraint(
        m.precedences, rule=lambda m, a, b, lag: m.start[b] >= m.end[a] + lag
    )


def read_schedule(mm: MilpModel, c: CompiledInstance) -> tuple[np.ndarray, np.ndarray]:
    """(global mode, start) per operation from the values loaded into the model."""
    m = mm.model
    mode = np.array([max(ks, key=lambda k: pyo.value(m.use[k])) for ks in mm.modes], dtype=np.int64)
    start = np.array([round(pyo.value(m.start[o])) for o in range(c.n_ops)], dtype=np.int64)
    return mode, start


def modes_on(c: CompiledInstance, modes: list[list[int]]) -> list[dict[int, list[int]]]:
    """Per operation: machine -> its feasible modes that occupy that machine (duration > 0;
    a zero-duration mode occupies nothing, DESIGN section 11)."""
    out: list[dict[int, list[int]]] = []
    for ks in modes:
        busy: dict[int, list[int]] = {}
        for k in ks:
            if c.mode_duration[k] > 0:
                busy.setdefault(int(c.mode_machine[k]), []).append(k)
        out.append(busy)
    return out


@dataclass
class Outcome:
    """What a backend's level loop found: each level's status, level 0's bound, whether the
    final solution is loaded into the model's variables, and whether Ctrl-C stopped it."""

    statuses: list[str]
    bound: float | None = None
    found: bool = False
    interrupted: bool = False
