"""The right-shift repair: every operation keeps its mode and its place in its machine's
sequence from the old plan and is pushed later just as far as the updated instance requires
(releases, precedences, setups, windows, resources, power cap). No solver; new operations (rush
orders) go last, each in the mode that ends it earliest."""

from __future__ import annotations

import numpy as np

from scheduler.core.compile import CompiledInstance, dense_profile, unroll_profile
from scheduler.core.model import Profile
from scheduler.core.schedule import Schedule

POWER_TOL = 1e-10  # relative slack on the power cap (the validator allows 1e-9)
UNPLANNED = np.iinfo(np.int64).max  # sort key of operations the old plan does not hold


class _Timeline:
    """Resource and power use per tick, grown on demand, and the caps they must stay under."""

    def __init__(self, c: CompiledInstance, length: int) -> None:
        self.c = c
        self.length = 0
        self.used = np.zeros((c.n_resources, 0), dtype=np.int64)
        self.power = np.zeros(0)
        self.cap = np.zeros(0)
        self.grow(length)

    def grow(self, length: int) -> None:
        """Make the arrays cover [0, length)."""
        if length <= self.length:
            return
        length = max(length, 2 * self.length)
        extra = length - self.length
        self.used = np.hstack([self.used, np.zeros((self.c.n_resources, extra), dtype=np.int64)])
        self.power = np.append(self.power, np.zeros(extra))
        cap = self.c.instance.energy.power_cap_kw
        if isinstance(cap, Profile):
            self.cap = dense_profile(*unroll_profile(cap, length), length)
        else:
            self.cap = np.full(length, np.inf if cap is None else float(cap))
        self.length = length

    def conflict(self, k: int, s: int, e: int) -> int:
        """The last tick of [s, e) where mode k would exceed a resource or the power cap, or -1."""
        self.grow(e)
        c = self.c
        last = -1
        demand = c.mode_demand[k]
        for r in np.flatnonzero(demand):
            over = np.flatnonzero(self.used[r, s:e] + demand[r] > c.resource_capacity[r])
            if over.size:
                last = max(last, s + int(over[-1]))
        kw = float(c.mode_power[k])
        if kw > 0:
            cap = self.cap[s:e]
            over = np.flatnonzero(self.power[s:e] + kw > cap + POWER_TOL * np.maximum(1.0, cap))
            if over.size:
                last = max(last, s + int(over[-1]))
        return last

    def add(self, k: int, s: int, e: int) -> None:
        self.grow(e)
        self.used[:, s:e] += self.c.mode_demand[k][:, None]
        self.power[s:e] += self.c.mode_power[k]


def shift_plan(
    c: CompiledInstance, plan: dict[str, tuple[int, int]], kept: frozenset[str]
) -> Schedule | str:
    """The right-shifted schedule of the updated instance `c`: `plan` gives (mode index, old
    start) per operation, `kept` the operations fixed where they are. Returns the reason
    instead when a deadline or the horizon cannot be met this way."""
    n = c.n_ops
    rank = np.empty(n, dtype=np.int64)
    rank[c.topo_order] = np.arange(n)
    key = [
        (plan[c.op_ids[o]][1] if c.op_ids[o] in plan else UNPLANNED, int(rank[o])) for o in range(n)
    ]
    order = sorted(range(n), key=key.__getitem__)
    mode = np.full(n, -1, dtype=np.int64)
    start = np.zeros(n, dtype=np.int64)
    machine_free = np.zeros(c.n_machines, dtype=np.int64)
    last_family = np.full(c.n_machines, -1, dtype=np.int64)
    timeline = _Timeline(c, int(c.horizon) + 1)
    pinned = [o for o in order if c.op_ids[o] in kept]
    for o in pinned:  # kept operations first, exactly where they are
        k = int(c.mode_ptr[o])
        _place(c, timeline, machine_free, last_family, mode, start, o, k, plan[c.op_ids[o]][1])
    for o in order:
        if c.op_ids[o] in kept:
            continue
        ready = int(c.op_release[o])
        for i in range(c.pred_ptr[o], c.pred_ptr[o + 1]):
            p = c.pred_op[i]
            ready = max(ready, int(start[p] + c.mode_duration[mode[p]] + c.pred_lag[i]))
        if c.op_ids[o] in plan:  # never earlier than planned: the floor prepared for it
            ready = max(ready, plan[c.op_ids[o]][1])
            choices = [int(c.mode_ptr[o]) + plan[c.op_ids[o]][0]]
        else:
            choices = list(range(c.mode_ptr[o], c.mode_ptr[o + 1]))
        best = min(
            ((_earliest(c, timeline, machine_free, last_family, o, k, ready), k) for k in choices),
            key=lambda sk: (sk[0] + int(c.mode_duration[sk[1]]), sk[1]),
        )
        s, k = best
        end = s + int(c.mode_duration[k])
        if c.op_hard_deadline[o] >= 0 and end > c.op_hard_deadline[o]:
            return f"right shift: operation {c.op_ids[o]!r} would end at {end}, after its deadline"
        if c.horizon_given and end > c.horizon:
            return f"right shift: operation {c.op_ids[o]!r} would end at {end}, after the horizon"
        _place(c, timeline, machine_free, last_family, mode, start, o, k, s)
    return Schedule.from_arrays(c, mode, start)


def _setup(c: CompiledInstance, m: int, before: int, o: int) -> int:
    family = c.op_family[o]
    return int(c.setup[m, before, family]) if before >= 0 and family >= 0 else 0


def _earliest(
    c: CompiledInstance,
    timeline: _Timeline,
    machine_free: np.ndarray,
    last_family: np.ndarray,
    o: int,
    k: int,
    ready: int,
) -> int:
    """The earliest start >= ready of op o in mode k after the last op on its machine, with its
    setup right before it, free of windows, resources and power cap."""
    d = int(c.mode_duration[k])
    if d == 0:
        return ready  # occupies no machine time (DESIGN section 11)
    m = int(c.mode_machine[k])
    su = _setup(c, m, int(last_family[m]), o)
    s = max(ready, int(machine_free[m]) + su)
    w_start = c.unav_start[c.unav_ptr[m] : c.unav_ptr[m + 1]]
    w_end = c.unav_end[c.unav_ptr[m] : c.unav_ptr[m + 1]]
    while True:
        hit = np.flatnonzero((w_start < s + d) & (w_end > s - su))
        if hit.size:
            s = int(w_end[hit[-1]]) + su
            continue
        tick = timeline.conflict(k, s, s + d)
        if tick < 0:
            return s
        s = tick + 1


def _place(
    c: CompiledInstance,
    timeline: _Timeline,
    machine_free: np.ndarray,
    last_family: np.ndarray,
    mode: np.ndarray,
    start: np.ndarray,
    o: int,
    k: int,
    s: int,
) -> None:
    mode[o], start[o] = k, s
    d = int(c.mode_duration[k])
    if d == 0:
        return
    m = int(c.mode_machine[k])
    machine_free[m] = max(int(machine_free[m]), s + d)
    last_family[m] = c.op_family[o]
    timeline.add(k, s, s + d)
