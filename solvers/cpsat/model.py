"""The CP-SAT model of a compiled instance: start/end variables, optional mode intervals,
machine no-overlap with unavailability windows, setup circuits, precedences and resources.

Setups (DESIGN section 11) are placed immediately before the next operation: on a machine with
setups, a circuit literal per possible "a right before b" arc fixes `start[b] >= end[a] +
setup`. Where the machine also has windows, the operation's no-overlap interval is extended to
[start - setup_in, end), `setup_in` being the sum of setup x literal over its incoming arcs on
the machines where it is extended (one arc is true where it runs, none elsewhere), so that
neither the operation nor its setup meets a window.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from ortools.sat.python import cp_model

from scheduler.core.compile import CompiledInstance
from solvers.stopping import NO_DEADLINE, SetupClock

DEPOT = -1  # the machine's start/end node in a setup circuit
CLOCK_EVERY = 1024  # operations between looks at the clock while building


@dataclass
class Sequence:
    """The setup circuit of one machine: arc literals keyed (before, after) with DEPOT for
    first/last; `empty` is the depot's self-loop, true when no operation runs there."""

    machine: int
    arcs: dict[tuple[int, int], cp_model.IntVar] = field(default_factory=dict)
    empty: cp_model.IntVar | None = None


@dataclass
class SchedulingModel:
    """The CP-SAT model and the variables a solution and a hint are read from or written to."""

    model: cp_model.CpModel
    start: list[cp_model.IntVar]
    end: list[cp_model.IntVar]
    modes: list[list[int]]  # feasible global mode indices per operation
    presence: dict[int, cp_model.IntVar]  # mode -> literal, ops with several feasible modes
    intervals: dict[int, cp_model.IntervalVar] = field(default_factory=dict)  # per mode
    on_machine: dict[tuple[int, int], cp_model.IntVar] = field(default_factory=dict)
    sequences: dict[int, Sequence] = field(default_factory=dict)
    extended: set[tuple[int, int]] = field(default_factory=set)  # (op, machine)
    setup_in: dict[int, cp_model.IntVar] = field(default_factory=dict)
    setup_arcs: dict[int, list[tuple[int, cp_model.IntVar]]] = field(default_factory=dict)
    setup_start: dict[int, cp_model.IntVar] = field(default_factory=dict)
    setup_span: dict[int, cp_model.IntVar] = field(default_factory=dict)

    def mode_of(self, o: int, solver: cp_model.CpSolver) -> int:
        """The global mode index chosen for operation o in the solver's solution."""
        if len(self.modes[o]) == 1:
            return self.modes[o][0]
        return next(k for k in self.modes[o] if solver.boolean_value(self.presence[k]))


def setup_ticks(c: CompiledInstance, m: int, a: int, b: int) -> int:
    """Setup on machine m when operation a runs right before b (0 without both families)."""
    fa, fb = c.op_family[a], c.op_family[b]
    return int(c.setup[m, fa, fb]) if fa >= 0 and fb >= 0 else 0


def time_windows(
    c: CompiledInstance, makespan_limit: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Earliest start (releases, precedences) and latest end (deadline, horizon, a bound on the
    makespan, and the minimal work and lags of every successor) of each operation."""
    latest = c.op_deadline.copy()
    if makespan_limit is not None:
        latest = np.minimum(latest, makespan_limit)
    for o in c.topo_order[::-1]:
        for i in range(c.succ_ptr[o], c.succ_ptr[o + 1]):
            s = c.succ_op[i]
            latest[o] = min(latest[o], latest[s] - c.min_duration[s] - c.succ_lag[i])
    return c.head.copy(), latest


def infeasibility(c: CompiledInstance, earliest: np.ndarray, latest: np.ndarray) -> str | None:
    """Why the time windows alone make the instance infeasible, or None."""
    for o in range(c.n_ops):
        if earliest[o] + c.min_duration[o] > latest[o]:
            return (
                f"operation {c.op_ids[o]!r} cannot start before {earliest[o]} yet must end by "
                f"{latest[o]} (deadlines, horizon or makespan bound, and its successors)"
            )
    return None


def feasible_modes(
    c: CompiledInstance, earliest: np.ndarray, latest: np.ndarray
) -> list[list[int]]:
    """Per operation the global indices of the modes that fit between its time bounds."""
    return [
        [
            k
            for k in range(c.mode_ptr[o], c.mode_ptr[o + 1])
            if earliest[o] + c.mode_duration[k] <= latest[o]
        ]
        for o in range(c.n_ops)
    ]


def build_model(
    c: CompiledInstance,
    earliest: np.ndarray,
    latest: np.ndarray,
    modes: list[list[int]],
    clock: SetupClock = NO_DEADLINE,
) -> SchedulingModel:
    """Every constraint of the instance as a CP-SAT model (no objective yet), over each
    operation's `feasible_modes`. Raises OutOfTime when `clock` runs out first (the model of a
    large plant takes seconds)."""
    model = cp_model.CpModel()
    dur = c.mode_duration
    start, end = [], []
    for o in range(c.n_ops):
        if o % CLOCK_EVERY == 0:
            clock.check()
        shortest = int(min(dur[k] for k in modes[o]))
        lo, hi = int(earliest[o]), int(latest[o])
        start.append(model.new_int_var(lo, hi - shortest, f"s{o}"))
        end.append(model.new_int_var(lo + shortest, hi, f"e{o}"))
    sm = SchedulingModel(model, start, end, modes, presence={})

    intervals = sm.intervals
    for o in range(c.n_ops):
        if len(modes[o]) == 1:
            k = modes[o][0]
            intervals[k] = model.new_interval_var(start[o], int(dur[k]), end[o], f"i{k}")
            continue
        for k in modes[o]:
            p = sm.presence[k] = model.new_bool_var(f"p{k}")
            intervals[k] = model.new_optional_interval_var(
                start[o], int(dur[k]), end[o], p, f"i{k}"
            )
        model.add_exactly_one(sm.presence[k] for k in modes[o])
        model.add(end[o] == start[o] + sum(int(dur[k]) * sm.presence[k] for k in modes[o]))

    for a in range(c.n_ops):
        for i in range(c.succ_ptr[a], c.succ_ptr[a + 1]):
            model.add(start[c.succ_op[i]] >= end[a] + int(c.succ_lag[i]))

    reach = _reachability(c) if c.has_setups else []
    for m, ops in enumerate(_busy_by_machine(sm, c)):
        clock.check()
        _add_machine(sm, c, m, ops, earliest, latest, intervals, reach)
    for o, su in sm.setup_in.items():
        model.add(su == cp_model.LinearExpr.sum([t * lit for t, lit in sm.setup_arcs.get(o, [])]))
    _add_resources(sm, c, intervals)
    return sm


def _reachability(c: CompiledInstance) -> list[int]:
    """Per operation a bitset of its transitive successors."""
    reach = [0] * c.n_ops
    for o in c.topo_order[::-1]:
        for s in c.succ_op[c.succ_ptr[o] : c.succ_ptr[o + 1]]:
            reach[o] |= reach[s] | (1 << int(s))
    return reach


def _busy_by_machine(sm: SchedulingModel, c: CompiledInstance) -> list[dict[int, list[int]]]:
    """Per machine, {operation: its feasible modes that occupy the machine}, in operation order
    (zero-duration modes occupy nothing)."""
    by_machine: list[dict[int, list[int]]] = [{} for _ in range(c.n_machines)]
    for o, ks in enumerate(sm.modes):
        for k in ks:
            if c.mode_duration[k] > 0:
                by_machine[int(c.mode_machine[k])].setdefault(o, []).append(k)
    return by_machine


def _busy_modes(sm: SchedulingModel, c: CompiledInstance, o: int, m: int) -> list[int]:
    """The feasible modes of o that occupy machine m (zero-duration modes occupy nothing)."""
    return [k for k in sm.modes[o] if c.mode_machine[k] == m and c.mode_duration[k] > 0]


def _machine_literal(
    sm: SchedulingModel, c: CompiledInstance, o: int, m: int
) -> cp_model.IntVar | None:
    """The literal "operation o occupies machine m", None when it always does."""
    on_m = _busy_modes(sm, c, o, m)
    if len(on_m) == len(sm.modes[o]):
        return None
    if len(on_m) == 1:
        return sm.presence[on_m[0]]
    if (o, m) not in sm.on_machine:
        lit = sm.on_machine[(o, m)] = sm.model.new_bool_var(f"on{o}_{m}")
        sm.model.add(lit == sum(sm.presence[k] for k in on_m))
    return sm.on_machine[(o, m)]


def _setup_arcs(
    c: CompiledInstance,
    m: int,
    ops: dict[int, list[int]],
    earliest: np.ndarray,
    latest: np.ndarray,
    reach: list[int],
) -> tuple[dict[tuple[int, int], int], bool]:
    """Possible "a right before b" arcs on machine m with their setup (none from a transitive
    successor to its predecessor, none that the time windows rule out), and whether any order
    that precedences allow needs a setup (then the machine needs its circuit)."""
    shortest = {o: int(min(c.mode_duration[k] for k in ks)) for o, ks in ops.items()}
    arcs = {}
    needed = False
    for a in ops:
        for b in ops:
            if a == b or (reach[b] >> a) & 1:
                continue
            ticks = setup_ticks(c, m, a, b)
            needed = needed or ticks > 0
            if earliest[a] + shortest[a] + ticks + shortest[b] <= latest[b]:
                arcs[(a, b)] = ticks
    return arcs, needed


def _add_machine(
    sm: SchedulingModel,
    c: CompiledInstance,
    m: int,
    ops: dict[int, list[int]],
    earliest: np.ndarray,
    latest: np.ndarray,
    intervals: dict[int, cp_model.IntervalVar],
    reach: list[int],
) -> None:
    """No-overlap of the machine's operations `ops` ({operation: its modes on m}) and windows,
    and its setup circuit if needed."""
    if not ops:
        return
    last_end = int(max(latest[o] for o in ops))
    windows = [
        (int(s), int(e))
        for s, e in zip(
            c.unav_start[c.unav_ptr[m] : c.unav_ptr[m + 1]],
            c.unav_end[c.unav_ptr[m] : c.unav_ptr[m + 1]],
            strict=True,
        )
        if s < last_end
    ]
    arcs, with_setups = (
        _setup_arcs(c, m, ops, earliest, latest, reach)
        if c.has_setups and len(ops) > 1
        else ({}, False)
    )
    if with_setups and windows:
        for o in {b for (_, b), ticks in arcs.items() if ticks > 0}:
            sm.extended.add((o, m))
            _setup_variables(sm, c, o, earliest, latest)

    members: list[cp_model.IntervalVar] = []
    for o, ks in ops.items():
        if (o, m) in sm.extended:
            lit = _machine_literal(sm, c, o, m)
            x, span, e = sm.setup_start[o], sm.setup_span[o], sm.end[o]
            members.append(
                sm.model.new_interval_var(x, span, e, f"x{o}_{m}")
                if lit is None
                else sm.model.new_optional_interval_var(x, span, e, lit, f"x{o}_{m}")
            )
        else:
            members.extend(intervals[k] for k in ks)
    members.extend(sm.model.new_fixed_size_interval_var(s, e - s, f"w{m}_{s}") for s, e in windows)
    if len(members) > 1:
        sm.model.add_no_overlap(members)
    if with_setups:
        _add_circuit(sm, c, m, list(ops), arcs)


def _setup_variables(
    sm: SchedulingModel, c: CompiledInstance, o: int, earliest: np.ndarray, latest: np.ndarray
) -> None:
    """setup_in (ticks of setup right before o), setup_start = start - setup_in and the span
    [setup_start, end) of the extended interval; made once per operation."""
    if o in sm.setup_in:
        return
    most = int(c.setup.max())
    model = sm.model
    longest = int(max(c.mode_duration[k] for k in sm.modes[o]))
    su = sm.setup_in[o] = model.new_int_var(0, most, f"su{o}")
    x = sm.setup_start[o] = model.new_int_var(int(earliest[o]) - most, int(latest[o]) - 1, f"ss{o}")
    sm.setup_span[o] = model.new_int_var(1, longest + most, f"sp{o}")
    model.add(x == sm.start[o] - su)


def _add_circuit(
    sm: SchedulingModel,
    c: CompiledInstance,
    m: int,
    ops: list[int],
    arcs: dict[tuple[int, int], int],
) -> None:
    """The machine's sequence as a circuit through a depot node: each arc literal enforces the
    setup gap (and feeds setup_in where the interval is extended)."""
    model = sm.model
    node = {o: i + 1 for i, o in enumerate(ops)}
    seq = sm.sequences[m] = Sequence(m)
    circuit: list[tuple[int, int, cp_model.LiteralT]] = []
    optional = []
    for o in ops:
        first = seq.arcs[(DEPOT, o)] = model.new_bool_var(f"f{m}_{o}")
        last = seq.arcs[(o, DEPOT)] = model.new_bool_var(f"l{m}_{o}")
        circuit += [(0, node[o], first), (node[o], 0, last)]
        lit = _machine_literal(sm, c, o, m)
        if lit is not None:
            circuit.append((node[o], node[o], ~lit))
            optional.append(lit)
    for (a, b), ticks in arcs.items():
        lit = seq.arcs[(a, b)] = model.new_bool_var(f"a{m}_{a}_{b}")
        circuit.append((node[a], node[b], lit))
        model.add(sm.start[b] >= sm.end[a] + ticks).only_enforce_if(lit)
        if (b, m) in sm.extended and ticks > 0:
            sm.setup_arcs.setdefault(b, []).append((ticks, lit))
    if len(optional) == len(ops):
        seq.empty = model.new_bool_var(f"empty{m}")
        circuit.append((0, 0, seq.empty))
        for lit in optional:
            model.add_implication(seq.empty, ~lit)
    model.add_circuit(circuit)


def _add_resources(
    sm: SchedulingModel, c: CompiledInstance, intervals: dict[int, cp_model.IntervalVar]
) -> None:
    """A cumulative per resource over the mode intervals that demand it, where it can bind."""
    for r in range(c.n_resources):
        capacity = int(c.resource_capacity[r])
        peak = sum(max(int(c.mode_demand[k, r]) for k in ks) for ks in sm.modes)
        if peak <= capacity:
            continue
        users = [k for ks in sm.modes for k in ks if c.mode_demand[k, r] > 0]
        sm.model.add_cumulative(
            [intervals[k] for k in users], [int(c.mode_demand[k, r]) for k in users], capacity
        )
