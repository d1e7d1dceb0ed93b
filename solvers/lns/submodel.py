"""The CP-SAT model of one neighbourhood: the freed operations of a set of machines within a
time window, re-sequenced and re-timed (and moved among those machines) exactly, everything
else frozen at its incumbent machine and start.

On each machine m of the set, the freed ops sit between the last frozen op before the window
(P) and the first after it (N): a setup circuit over the freed ops whose depot stands for P
and N (an arc depot -> o: o follows P with its setup; o -> depot: o precedes N with its setup,
window-free right before N), so the circuits are small. Frozen predecessors and successors
become bounds on starts and ends; frozen ops' power and resource use become fixed background
intervals of the cumulatives; windows are fixed intervals (a freed op's interval reaches back
over its setup where the machine has windows, so no setup meets one)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from ortools.sat.python import cp_model

from solvers.heuristics.problem import Problem

EPS = 1e-7  # slack of the integer rounding of power (safe side: demands up, room down)


@dataclass
class Neighbourhood:
    """The freed ops (sorted), the machines they may use, and the frozen context per
    machine: the op before the window (P) and after it (N), -1 where none."""

    ops: np.ndarray
    machines: np.ndarray
    before: dict[int, int]
    after: dict[int, int]


@dataclass
class SubModel:
    """The model and what a solution is read from."""

    model: cp_model.CpModel
    ops: np.ndarray
    start: dict[int, cp_model.IntVar] = field(default_factory=dict)
    end: dict[int, cp_model.IntVar] = field(default_factory=dict)
    presence: dict[int, cp_model.IntVar] = field(default_factory=dict)  # mode -> literal
    modes: dict[int, list[int]] = field(default_factory=dict)
    hints: list[tuple[cp_model.IntVar, int]] = field(default_factory=list)

    def mode_of(self, o: int, solver: cp_model.CpSolver) -> int:
        ks = self.modes[o]
        if len(ks) == 1:
            return ks[0]
        return next(k for k in ks if solver.boolean_value(self.presence[k]))


def neighbourhood(
    p: Problem, start: np.ndarray, mode: np.ndarray, machines: np.ndarray, a: int, b: int
) -> Neighbourhood:
    """The ops on `machines` starting in [a, b) (ops with a zero-duration mode stay frozen)
    and each machine's frozen neighbours P and N."""
    mach = p.mode_machine[mode]
    dur = p.mode_duration[mode]
    on = np.isin(mach, machines) & (dur > 0)
    zero = np.minimum.reduceat(p.mode_duration, p.mode_ptr[:-1]) == 0
    freed = np.flatnonzero(on & (start >= a) & (start < b) & ~zero)
    before, after = {}, {}
    for m in machines.tolist():
        ops = np.flatnonzero((mach == m) & (dur > 0))
        early = ops[start[ops] < a]
        late = ops[start[ops] >= b]
        before[m] = int(early[np.argmax(start[early])]) if early.size else -1
        after[m] = int(late[np.argmin(start[late])]) if late.size else -1
    return Neighbourhood(freed, np.asarray(machines, dtype=np.int64), before, after)


def _setup(p: Problem, m: int, x: int, y: int) -> int:
    fx, fy = p.op_family[x], p.op_family[y]
    return int(p.setup[m, fx, fy]) if p.has_setups and fx >= 0 and fy >= 0 else 0


def _windows(p: Problem, m: int) -> list[tuple[int, int]]:
    lo, hi = p.unav_ptr[m], p.unav_ptr[m + 1]
    return list(zip(p.unav_start[lo:hi].tolist(), p.unav_end[lo:hi].tolist(), strict=True))


def _hits(windows: list[tuple[int, int]], a: int, b: int) -> bool:
    return any(s < b and a < e for s, e in windows) if b > a else False


def build(
    p: Problem,
    nb: Neighbourhood,
    start: np.ndarray,
    mode: np.ndarray,
    power_scale: int,
    guide: dict[str, float],
    completion_slack: np.ndarray,
) -> SubModel | None:
    """The sub-model of `nb` with the objective `guide` (term -> weight) over the freed ops,
    hinted with the incumbent; None when a freed op has no room (cannot happen from a valid
    incumbent, save for rounding)."""
    model = cp_model.CpModel()
    sm = SubModel(model, nb.ops)
    end_all = start + p.mode_duration[mode]
    freed = set(nb.ops.tolist())
    allowed = set(nb.machines.tolist())
    lo_all, hi_all = [], []
    for o in nb.ops.tolist():
        lo = int(p.op_release[o])
        hi = int(min(p.op_deadline[o], p.span))
        for i in range(p.pred_ptr[o], p.pred_ptr[o + 1]):
            x = int(p.pred_op[i])
            if x not in freed:
                lo = max(lo, int(end_all[x] + p.pred_lag[i]))
        for i in range(p.succ_ptr[o], p.succ_ptr[o + 1]):
            y = int(p.succ_op[i])
            if y not in freed:
                hi = min(hi, int(start[y] - p.succ_lag[i]))
        ks = [
            k
            for k in range(p.mode_ptr[o], p.mode_ptr[o + 1])
            if p.mode_machine[k] in allowed and lo + p.mode_duration[k] <= hi
        ]
        if mode[o] not in ks:
            return None
        sm.modes[o] = ks
        short = int(min(p.mode_duration[k] for k in ks))
        sm.start[o] = model.new_int_var(lo, hi - short, f"s{o}")
        sm.end[o] = model.new_int_var(lo + short, hi, f"e{o}")
        sm.hints += [(sm.start[o], int(start[o])), (sm.end[o], int(end_all[o]))]
        lo_all.append(lo)
        hi_all.append(hi)
    t0, t1 = min(lo_all), max(hi_all)
    intervals: dict[int, cp_model.IntervalVar] = {}
    for o, ks in sm.modes.items():
        for k in ks:
            d = int(p.mode_duration[k])
            if len(ks) == 1:
                intervals[k] = model.new_interval_var(sm.start[o], d, sm.end[o], f"i{k}")
                continue
            lit = sm.presence[k] = model.new_bool_var(f"p{k}")
            sm.hints.append((lit, int(mode[o] == k)))
            intervals[k] = model.new_optional_interval_var(sm.start[o], d, sm.end[o], lit, f"i{k}")
        if len(ks) > 1:
            model.add_exactly_one(sm.presence[k] for k in ks)
            model.add(
                sm.end[o] == sm.start[o] + sum(int(p.mode_duration[k]) * sm.presence[k] for k in ks)
            )
    for o in sm.modes:
        for i in range(p.succ_ptr[o], p.succ_ptr[o + 1]):
            y = int(p.succ_op[i])
            if y in freed:
                model.add(sm.start[y] >= sm.end[o] + int(p.succ_lag[i]))
    for m in nb.machines.tolist():
        _machine(p, sm, m, nb, start, end_all, mode, intervals)
    _cumulatives(p, sm, nb, start, end_all, mode, intervals, power_scale, t0, t1)
    _objective(p, sm, guide, completion_slack)
    return sm


def _literal(sm: SubModel, o: int, ks: list[int]) -> cp_model.IntVar | None:
    """'o runs on this machine' for its modes ks there (None: always)."""
    if len(ks) == len(sm.modes[o]):
        return None
    if len(ks) == 1:
        return sm.presence[ks[0]]
    lit = sm.model.new_bool_var("")
    sm.model.add(lit == sum(sm.presence[k] for k in ks))
    return lit


def _machine(
    p: Problem,
    sm: SubModel,
    m: int,
    nb: Neighbourhood,
    start: np.ndarray,
    end_all: np.ndarray,
    mode: np.ndarray,
    intervals: dict[int, cp_model.IntervalVar],
) -> None:
    """No-overlap, the frozen neighbours P and N and the setup circuit of machine m."""
    model = sm.model
    windows = _windows(p, m)
    prev, nxt = nb.before[m], nb.after[m]
    ops = {o: [k for k in ks if p.mode_machine[k] == m] for o, ks in sm.modes.items()}
    ops = {o: ks for o, ks in ops.items() if ks}
    lits = {o: _literal(sm, o, ks) for o, ks in ops.items()}
    floor = int(end_all[prev]) if prev >= 0 else 0
    ceiling = int(start[nxt]) if nxt >= 0 else None
    extended = p.has_setups and bool(windows)
    setup_in: dict[int, list[tuple[int, cp_model.IntVar]]] = {o: [] for o in ops}
    if p.has_setups and ops:
        node = {o: i + 1 for i, o in enumerate(ops)}
        arcs: list[tuple[int, int, cp_model.LiteralT]] = []
        incumbent = sorted((o for o in ops if p.mode_machine[mode[o]] == m), key=lambda o: start[o])
        chain = [-1, *incumbent, -1]
        used = set(zip(chain[:-1], chain[1:], strict=True))
        for o in ops:
            first, last = model.new_bool_var(""), model.new_bool_var("")
            arcs += [(0, node[o], first), (node[o], 0, last)]
            sm.hints += [(first, int((-1, o) in used)), (last, int((o, -1) in used))]
            if prev >= 0:
                su = _setup(p, m, prev, o)
                model.add(sm.start[o] >= floor + su).only_enforce_if(first)
                setup_in[o].append((su, first))
            if nxt >= 0:
                su = _setup(p, m, o, nxt)
                if _hits(windows, int(start[nxt]) - su, int(start[nxt])):
                    model.add(last == 0)
                else:
                    model.add(sm.end[o] + su <= int(start[nxt])).only_enforce_if(last)
            on = lits[o]
            if on is not None:
                arcs.append((node[o], node[o], ~on))
                sm.hints.append((on, int(p.mode_machine[mode[o]] == m)))
            for x in ops:
                if x == o:
                    continue
                arc = model.new_bool_var("")
                arcs.append((node[o], node[x], arc))
                sm.hints.append((arc, int((o, x) in used)))
                su = _setup(p, m, o, x)
                model.add(sm.start[x] >= sm.end[o] + su).only_enforce_if(arc)
                setup_in[x].append((su, arc))
        if all(lit is not None for lit in lits.values()):
            empty = model.new_bool_var("")
            arcs.append((0, 0, empty))
            sm.hints.append((empty, int(not incumbent)))
            ok = prev < 0 or nxt < 0
            if not ok:
                su = _setup(p, m, prev, nxt)
                gap_ok = floor + su <= int(start[nxt])
                ok = gap_ok and not _hits(windows, int(start[nxt]) - su, int(start[nxt]))
            if not ok:
                model.add(empty == 0)
        model.add_circuit(arcs)
    members = []
    for o, ks in ops.items():
        lit = lits[o]
        if lit is not None:
            model.add(sm.start[o] >= floor).only_enforce_if(lit)
            if ceiling is not None:
                model.add(sm.end[o] <= ceiling).only_enforce_if(lit)
        else:
            model.add(sm.start[o] >= floor)
            if ceiling is not None:
                model.add(sm.end[o] <= ceiling)
        if extended:
            most = int(p.setup[m].max())
            before = model.new_int_var(0, most, "")
            model.add(before == sum(t * x for t, x in setup_in[o] if t > 0))
            x0 = model.new_int_var(-most, int(p.span), "")
            model.add(x0 == sm.start[o] - before)
            span = model.new_int_var(0, int(p.span) + most, "")
            members.append(
                model.new_interval_var(x0, span, sm.end[o], "")
                if lit is None
                else model.new_optional_interval_var(x0, span, sm.end[o], lit, "")
            )
        else:
            members.extend(intervals[k] for k in ks)
    for s, e in windows:
        members.append(model.new_fixed_size_interval_var(s, e - s, ""))
    if len(members) > 1:
        model.add_no_overlap(members)


def _background(
    c_start: np.ndarray, c_end: np.ndarray, amount: np.ndarray, t0: int, t1: int
) -> np.ndarray:
    """Per tick of [t0, t1) the sum of `amount` of the intervals [c_start, c_end) there."""
    diff = np.zeros(t1 - t0 + 1)
    s = np.clip(c_start, t0, t1) - t0
    e = np.clip(c_end, t0, t1) - t0
    keep = e > s
    np.add.at(diff, s[keep], amount[keep])
    np.add.at(diff, e[keep], -amount[keep])
    return np.cumsum(diff)[:-1]


def _cumulative(
    model: cp_model.CpModel,
    room: np.ndarray,
    t0: int,
    items: list[tuple[cp_model.IntervalVar, int]],
) -> None:
    """A cumulative of `items` (interval, demand) under a per-tick integer `room` from t0:
    capacity its maximum, fixed intervals filling the rest."""
    if not items or room.size == 0:
        return
    top = int(room.max())
    filler = top - room
    cuts = np.flatnonzero(np.diff(filler)) + 1
    bounds = np.concatenate(([0], cuts, [room.size]))
    for lo, hi in zip(bounds[:-1], bounds[1:], strict=True):
        if filler[lo] > 0:
            iv = model.new_fixed_size_interval_var(t0 + int(lo), int(hi - lo), "")
            items.append((iv, int(filler[lo])))
    model.add_cumulative([i for i, _ in items], [d for _, d in items], top)


def _cumulatives(
    p: Problem,
    sm: SubModel,
    nb: Neighbourhood,
    start: np.ndarray,
    end_all: np.ndarray,
    mode: np.ndarray,
    intervals: dict[int, cp_model.IntervalVar],
    scale: int,
    t0: int,
    t1: int,
) -> None:
    """The power cap and the resources over [t0, t1), the frozen ops as background."""
    frozen = np.ones(p.n_ops, dtype=bool)
    frozen[nb.ops] = False
    fs, fe, fk = start[frozen], end_all[frozen], mode[frozen]
    if p.has_cap:
        used = _background(fs, fe, p.mode_power[fk], t0, t1)
        room = np.floor((p.cap_tick[t0:t1] - used) * scale + EPS).astype(np.int64)
        items = [
            (intervals[k], math.ceil(p.mode_power[k] * scale - EPS))
            for ks in sm.modes.values()
            for k in ks
            if p.mode_power[k] > 0
        ]
        _cumulative(sm.model, np.maximum(room, 0), t0, items)
    for r in range(p.n_res):
        used = _background(fs, fe, p.mode_demand[fk, r].astype(np.float64), t0, t1)
        room = (p.res_capacity[r] - used).astype(np.int64)
        items = [
            (intervals[k], int(p.mode_demand[k, r]))
            for ks in sm.modes.values()
            for k in ks
            if p.mode_demand[k, r] > 0
        ]
        _cumulative(sm.model, np.maximum(room, 0), t0, items)


def _objective(
    p: Problem, sm: SubModel, guide: dict[str, float], completion_slack: np.ndarray
) -> None:
    """Minimise the guide over the freed ops: their ends and latest end (compactness, for the
    time terms),
    weighted tardiness of their jobs as the incumbent's tail after each op would carry it,
    and energy (mode kWh, for every energy term)."""
    terms = []
    ends = sum(sm.end[o] for o in sm.modes)
    time_weight = guide.get("makespan", 0.0) + guide.get("total_flow_time", 0.0)
    if time_weight > 0:
        terms.append(max(1, round(100 * time_weight)) * ends)
    if guide.get("makespan", 0.0) > 0:  # the part's own makespan, weighted like all its ends
        last = sm.model.new_int_var(0, int(p.span), "")
        sm.model.add_max_equality(last, list(sm.end.values()))
        terms.append(max(1, round(100 * guide["makespan"])) * len(sm.end) * last)
    if guide.get("weighted_tardiness", 0.0) > 0:
        w = guide["weighted_tardiness"]
        for o in sm.modes:
            j = p.op_job[o]
            if p.job_due[j] < 0:
                continue
            late = sm.model.new_int_var(0, int(p.span) * 2, "")
            sm.model.add(late >= sm.end[o] + int(completion_slack[o]) - int(p.job_due[j]))
            terms.append(max(1, round(100 * w * p.job_weight[j])) * late)
        terms.append(ends)
    energy = sum(guide.get(t, 0.0) for t in ("energy", "energy_cost", "carbon", "idle_energy"))
    if energy > 0:
        kwh = [
            (round(1000 * energy * p.mode_kwh[k]), sm.presence[k])
            for ks in sm.modes.values()
            for k in ks
            if len(ks) > 1
        ]
        if kwh:
            terms.append(sum(c * x for c, x in kwh))
        terms.append(ends)
    sm.model.minimize(sum(terms) if terms else ends)
