"""The disjunctive formulation: integer starts, a binary per feasible mode, and Manne's
sequencing binaries y[i, j, m] ("i before j on machine m") for each pair of operations that can
share machine m in either order, with a big-M per pair from the compiled time windows
(latest end of i - earliest start of j), not one global M. Pairs that the precedences or the
windows order need no binary.

Setups (DESIGN section 11: only between consecutive operations, no triangle inequality
assumed): on a machine where some order needs one, binaries arc[i, j, m] mark "j right after
i" (one path through the machine's operations, linked to the y's), and the setup is placed
right before j. Unavailability windows: a binary per operation and window says before or after
it; after it, the operation's setup must also clear the window. Modes, releases, deadlines and
the horizon are the bounds of the variables.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyomo.environ as pyo

from scheduler.core.compile import CompiledInstance
from solvers.milp.model import MilpModel, add_precedences, modes_on, reachability


def setup_ticks(c: CompiledInstance, mach: int, a: int, b: int) -> int:
    """Setup on machine `mach` when operation a runs right before b (0 without both families)."""
    fa, fb = c.op_family[a], c.op_family[b]
    return int(c.setup[mach, fa, fb]) if fa >= 0 and fb >= 0 else 0


def build_disjunctive(
    c: CompiledInstance, earliest: np.ndarray, latest: np.ndarray, modes: list[list[int]]
) -> MilpModel:
    """Every constraint of the instance but resources, power and carbon caps (refused before)."""
    dur = c.mode_duration
    busy = modes_on(c, modes)
    reach = reachability(c)
    lo = [int(x) for x in earliest]
    hi = [int(x) for x in latest]
    m = pyo.ConcreteModel("milp_disjunctive")
    m.ops = pyo.Set(initialize=range(c.n_ops))
    m.modes = pyo.Set(initialize=[k for ks in modes for k in ks])
    m.use = pyo.Var(m.modes, within=pyo.Binary)
    shortest = [int(min(dur[k] for k in ks)) for ks in modes]
    m.start = pyo.Var(
        m.ops, within=pyo.NonNegativeIntegers, bounds=lambda m, o: (lo[o], hi[o] - shortest[o])
    )
    m.end = pyo.Expression(
        m.ops, rule=lambda m, o: m.start[o] + sum(int(dur[k]) * m.use[k] for k in modes[o])
    )
    m.one_mode = pyo.Constraint(m.ops, rule=lambda m, o: sum(m.use[k] for k in modes[o]) == 1)
    varying = [o for o in range(c.n_ops) if max(dur[k] for k in modes[o]) > shortest[o]]
    m.varying = pyo.Set(initialize=varying)
    m.end_by = pyo.Constraint(m.varying, rule=lambda m, o: m.end[o] <= hi[o])
    add_precedences(m, c)

    always = {
        (o, mach): len(ks) == len(modes[o]) for o in range(c.n_ops) for mach, ks in busy[o].items()
    }
    dmin = {
        (o, mach): int(min(dur[k] for k in ks))
        for o in range(c.n_ops)
        for mach, ks in busy[o].items()
    }

    def on(o: int, mach: int) -> Any:
        return sum(m.use[k] for k in busy[o][mach])

    def away(o: int, mach: int) -> Any:
        return 0 if always[(o, mach)] else 1 - on(o, mach)

    def related(i: int, j: int) -> bool:
        return bool((reach[i] >> j) & 1 or (reach[j] >> i) & 1)

    machine_ops = [
        sorted(o for o in range(c.n_ops) if mach in busy[o]) for mach in range(c.n_machines)
    ]
    ordered, fixed, exclusive = [], [], []
    for mach, ms in enumerate(machine_ops):
        for a, i in enumerate(ms):
            for j in ms[a + 1 :]:
                if related(i, j):
                    continue  # the precedences order them
                ij = lo[i] + dmin[(i, mach)] + dmin[(j, mach)] <= hi[j]
                ji = lo[j] + dmin[(j, mach)] + dmin[(i, mach)] <= hi[i]
                if ij and ji:
                    ordered.append((i, j, mach))
                elif ij or ji:
                    fixed.append((i, j, mach) if ij else (j, i, mach))
                else:
                    exclusive.append((i, j, mach))
    m.pairs = pyo.Set(initialize=ordered, dimen=3)
    m.y = pyo.Var(m.pairs, within=pyo.Binary)

    use = {k: m.use[k] for k in m.modes}  # var data looked up once: indexing costs in bulk
    start_var = [m.start[o] for o in range(c.n_ops)]

    def later(j: int, i: int, mach: int, switch: tuple[int, list[tuple[int, Any]]]) -> Any:
        """start[j] >= end[i] - M * (switch + away(i) + away(j)), M = latest end of i - earliest
        start of j, as one flat linear row (nested expressions build and compile slowly)."""
        big = hi[i] - lo[j]
        const, terms = big * switch[0], [(big * a, v) for a, v in switch[1]]
        terms += [(1, start_var[j]), (-1, start_var[i])] + [
            (-int(dur[k]), use[k]) for k in modes[i]
        ]
        for o in (i, j):
            if not always[(o, mach)]:
                const += big
                terms += [(-big, use[k]) for k in busy[o][mach]]
        return pyo.quicksum(a * v for a, v in terms) + const >= 0

    m.i_first = pyo.Constraint(
        m.pairs, rule=lambda m, i, j, mach: later(j, i, mach, (1, [(-1, m.y[i, j, mach])]))
    )
    m.j_first = pyo.Constraint(
        m.pairs, rule=lambda m, i, j, mach: later(i, j, mach, (0, [(1, m.y[i, j, mach])]))
    )
    m.fixed_pairs = pyo.Set(initialize=fixed, dimen=3)
    m.fixed_order = pyo.Constraint(
        m.fixed_pairs, rule=lambda m, i, j, mach: later(j, i, mach, (0, []))
    )
    m.exclusive_pairs = pyo.Set(initialize=exclusive, dimen=3)
    m.exclusive = pyo.Constraint(
        m.exclusive_pairs, rule=lambda m, i, j, mach: on(i, mach) + on(j, mach) <= 1
    )

    setup_in = _add_setups(m, c, machine_ops, lo, hi, dmin, related, on, set(ordered))
    windows = _add_windows(m, c, busy, lo, hi, setup_in, away)

    def set_schedule(mode: np.ndarray, start: np.ndarray) -> None:
        chosen = set(mode.tolist())
        for k in m.modes:
            m.use[k].set_value(int(k in chosen), skip_validation=True)
        for o in m.ops:
            m.start[o].set_value(int(start[o]), skip_validation=True)
        for i, j, mach in m.pairs:
            m.y[i, j, mach].set_value(int(start[i] <= start[j]), skip_validation=True)
        end = start + dur[mode]
        placed = (c.mode_machine[mode], dur[mode] > 0)
        for (o, mach, ws, _), var in windows.items():
            var.set_value(int(placed[0][o] == mach and placed[1][o] and end[o] > ws))
        if hasattr(m, "arc"):
            for v in (*m.arc.values(), *m.first.values(), *m.last.values()):
                v.set_value(0)
            for mach in m.setup_machines:
                seq = sorted(
                    (o for o in machine_ops[mach] if placed[0][o] == mach and placed[1][o]),
                    key=lambda o: start[o],
                )
                if seq:
                    m.first[seq[0], mach].set_value(1)
                    m.last[seq[-1], mach].set_value(1)
                for i, j in zip(seq, seq[1:], strict=False):
                    if (i, j, mach) in m.arcs:
                        m.arc[i, j, mach].set_value(1)

    energy_cost, carbon = _flat_priced(m, c, modes)
    return MilpModel(m, modes, earliest, latest, set_schedule, energy_cost, carbon)


def _flat_priced(
    m: pyo.ConcreteModel, c: CompiledInstance, modes: list[list[int]]
) -> tuple[Any, Any]:
    """Energy cost and carbon where the profile is constant over the horizon (or absent):
    then they are linear in the modes, and so is the carbon cap; None where it varies."""
    kwh = c.mode_kwh
    energy = sum(float(kwh[k]) * m.use[k] for ks in modes for k in ks if kwh[k])

    def flat(starts: np.ndarray, values: np.ndarray) -> Any:
        if starts.size > 1:
            return None
        return float(values[0]) * energy if starts.size else 0.0

    carbon = flat(c.carbon_start, c.carbon_value)
    if carbon is not None and not isinstance(carbon, float) and not np.isnan(c.carbon_cap_kg):
        m.carbon_cap = pyo.Constraint(expr=carbon <= float(c.carbon_cap_kg))
    return flat(c.tariff_start, c.tariff_value), carbon


def _add_setups(
    m: pyo.ConcreteModel,
    c: CompiledInstance,
    machine_ops: list[list[int]],
    lo: list[int],
    hi: list[int],
    dmin: dict[tuple[int, int], int],
    related: Any,
    on: Any,
    ordered: set[tuple[int, int, int]],
) -> dict[tuple[int, int], tuple[Any, int]]:
    """Immediate-successor arcs on each machine where some order needs a setup; returns
    (op, machine) -> (setup-before-it expression, its largest value)."""
    reach = reachability(c)
    arcs: dict[tuple[int, int, int], int] = {}
    machines = []
    for mach, ms in enumerate(machine_ops):
        if not c.has_setups or len(ms) < 2:
            continue
        possible = {
            (i, j): setup_ticks(c, mach, i, j)
            for i in ms
            for j in ms
            if i != j and not (reach[j] >> i) & 1
        }
        if not any(possible.values()):
            continue
        machines.append(mach)
        for (i, j), ticks in possible.items():
            if lo[i] + dmin[(i, mach)] + ticks + dmin[(j, mach)] <= hi[j]:
                arcs[(i, j, mach)] = ticks
    if not machines:
        return {}
    m.setup_machines = pyo.Set(initialize=machines)
    m.arcs = pyo.Set(initialize=sorted(arcs), dimen=3)
    m.arc = pyo.Var(m.arcs, within=pyo.Binary)
    m.sequenced = pyo.Set(
        initialize=[(o, mach) for mach in machines for o in machine_ops[mach]], dimen=2
    )
    m.first = pyo.Var(m.sequenced, within=pyo.Binary)
    m.last = pyo.Var(m.sequenced, within=pyo.Binary)
    incoming: dict[tuple[int, int], list[int]] = {key: [] for key in m.sequenced}
    outgoing: dict[tuple[int, int], list[int]] = {key: [] for key in m.sequenced}
    for i, j, mach in arcs:
        incoming[(j, mach)].append(i)
        outgoing[(i, mach)].append(j)
    m.arc_in = pyo.Constraint(
        m.sequenced,
        rule=lambda m, o, mach: (
            m.first[o, mach] + sum(m.arc[i, o, mach] for i in incoming[(o, mach)]) == on(o, mach)
        ),
    )
    m.arc_out = pyo.Constraint(
        m.sequenced,
        rule=lambda m, o, mach: (
            m.last[o, mach] + sum(m.arc[o, j, mach] for j in outgoing[(o, mach)]) == on(o, mach)
        ),
    )
    m.one_first = pyo.Constraint(
        m.setup_machines, rule=lambda m, mach: sum(m.first[o, mach] for o in machine_ops[mach]) <= 1
    )
    m.arc_time = pyo.Constraint(
        m.arcs,
        rule=lambda m, i, j, mach: (
            m.start[j]
            >= m.end[i]
            + arcs[(i, j, mach)]
            - (hi[i] + arcs[(i, j, mach)] - lo[j]) * (1 - m.arc[i, j, mach])
        ),
    )
    linked = [a for a in arcs if (min(a[0], a[1]), max(a[0], a[1]), a[2]) in ordered]
    m.linked_arcs = pyo.Set(initialize=linked, dimen=3)
    m.arc_order = pyo.Constraint(
        m.linked_arcs,
        rule=lambda m, i, j, mach: (
            m.arc[i, j, mach] <= (m.y[i, j, mach] if i < j else 1 - m.y[j, i, mach])
        ),
    )
    return {
        (o, mach): (
            sum(arcs[(i, o, mach)] * m.arc[i, o, mach] for i in incoming[(o, mach)]),
            max((arcs[(i, o, mach)] for i in incoming[(o, mach)]), default=0),
        )
        for o, mach in m.sequenced
    }


def _add_windows(
    m: pyo.ConcreteModel,
    c: CompiledInstance,
    busy: list[dict[int, list[int]]],
    lo: list[int],
    hi: list[int],
    setup_in: dict[tuple[int, int], tuple[Any, int]],
    away: Any,
) -> dict[tuple[int, int, int, int], Any]:
    """Per operation, machine and window it could meet: a binary `after` (the operation and
    the setup right before it after the window) or not (the operation ends by its start)."""
    keys = []
    for o in range(c.n_ops):
        for mach in busy[o]:
            setup = setup_in.get((o, mach), (0, 0))[1]
            for i in range(c.unav_ptr[mach], c.unav_ptr[mach + 1]):
                ws, we = int(c.unav_start[i]), int(c.unav_end[i])
                if ws < hi[o] and we > lo[o] - setup:
                    keys.append((o, mach, ws, we))
    m.window_keys = pyo.Set(initialize=keys, dimen=4)
    m.after = pyo.Var(m.window_keys, within=pyo.Binary)

    def before_rule(m: pyo.ConcreteModel, o: int, mach: int, ws: int, we: int) -> Any:
        big = hi[o] - ws
        return m.end[o] <= ws + big * (m.after[o, mach, ws, we] + away(o, mach))

    def after_rule(m: pyo.ConcreteModel, o: int, mach: int, ws: int, we: int) -> Any:
        setup, most = setup_in.get((o, mach), (0, 0))
        big = we - lo[o] + most
        return m.start[o] - setup >= we - big * (1 - m.after[o, mach, ws, we] + away(o, mach))

    m.window_before = pyo.Constraint(m.window_keys, rule=before_rule)
    m.window_after = pyo.Constraint(m.window_keys, rule=after_rule)
    return {key: m.after[key] for key in keys}
