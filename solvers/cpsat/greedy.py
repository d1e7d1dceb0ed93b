"""A serial list schedule used as CP-SAT's first solution when no complete warm start is given:
CP-SAT struggles to find a first solution through optional setup circuits on its own, and with
a complete hint its neighbourhood search starts improving right after presolve."""

from __future__ import annotations

import bisect

import numpy as np

from scheduler.compile import CompiledInstance

CANDIDATES = 16  # ready operations compared at each step (the earliest-ready ones)
MAX_TICK = np.iinfo(np.int64).max


class _Plan:
    """The compiled arrays as Python lists (fast scalar access) and the partial schedule."""

    def __init__(self, c: CompiledInstance) -> None:
        self.machine = c.mode_machine.tolist()
        self.duration = c.mode_duration.tolist()
        self.demand = [tuple(row) for row in c.mode_demand.tolist()]
        self.capacity = c.resource_capacity.tolist()
        self.family = c.op_family.tolist()
        self.setup = c.setup
        self.windows = [
            list(zip(c.unav_start[a:b].tolist(), c.unav_end[a:b].tolist(), strict=True))
            for a, b in zip(c.unav_ptr[:-1], c.unav_ptr[1:], strict=True)
        ]
        self.last: dict[int, tuple[int, int]] = {}  # machine -> (operation, end)
        self.users: list[tuple[int, int, int]] = []  # (end, start, mode) of resource users

    def setup_before(self, m: int, o: int) -> int:
        """Setup on machine m between its last placed operation and o (0 if none)."""
        if m not in self.last:
            return 0
        fa, fb = self.family[self.last[m][0]], self.family[o]
        return int(self.setup[m, fa, fb]) if fa >= 0 and fb >= 0 else 0

    def earliest_start(self, o: int, k: int, ready: int) -> int:
        """The earliest start >= ready of operation o in mode k after its machine's last
        operation plus setup, with [start - setup, end) free of windows, resources fitting."""
        m, duration = self.machine[k], self.duration[k]
        if duration == 0:  # occupies no machine time (DESIGN section 11)
            return ready
        setup = self.setup_before(m, o)
        t = max(ready, self.last[m][1] + setup) if m in self.last else ready
        while True:
            hit = next((e for s, e in self.windows[m] if s < t + duration and t - setup < e), None)
            if hit is not None:
                t = hit + setup
                continue
            later = self.resource_conflict(k, t, t + duration)
            if later is None:
                return t
            t = later

    def resource_conflict(self, k: int, lo: int, hi: int) -> int | None:
        """None if mode k's demand fits in [lo, hi) beside the placed users, else the next
        tick at which an overlapping user ends (the earliest start worth trying next)."""
        demand = self.demand[k]
        if not any(demand):
            return None
        first = bisect.bisect_right(self.users, (lo, MAX_TICK, MAX_TICK))  # users ending after lo
        overlapping = [(s, e, j) for e, s, j in self.users[first:] if s < hi]
        for tick in sorted({lo} | {s for s, _, _ in overlapping if s > lo}):
            active = [(e, j) for s, e, j in overlapping if s <= tick < e]
            for r, cap in enumerate(self.capacity):
                if demand[r] + sum(self.demand[j][r] for _, j in active) > cap:
                    return min(e for e, _ in active)
        return None

    def place(self, o: int, k: int, t: int) -> None:
        """Append operation o in mode k at t on its machine."""
        end = t + self.duration[k]
        if end == t:
            return
        self.last[self.machine[k]] = (o, end)
        if any(self.demand[k]):
            bisect.insort(self.users, (end, t, k))


def greedy_schedule(
    c: CompiledInstance, modes: list[list[int]], latest: np.ndarray
) -> tuple[np.ndarray, np.ndarray] | None:
    """(mode, start) per operation by earliest completion: at each step, of the CANDIDATES
    operations ready first (releases, placed predecessors and lags), the operation and mode
    that end first are appended on their machine with the setup right before, outside windows
    and within resource capacity; None when an operation cannot end by its latest end."""
    plan = _Plan(c)
    mode = np.full(c.n_ops, -1, dtype=np.int64)
    start = np.full(c.n_ops, -1, dtype=np.int64)
    ready = c.op_release.tolist()
    waiting = np.diff(c.pred_ptr).tolist()
    latest_end = latest.tolist()
    candidates = [o for o in range(c.n_ops) if waiting[o] == 0]
    while candidates:
        candidates.sort(key=lambda o: ready[o])
        best = None
        for o in candidates[:CANDIDATES]:
            for k in modes[o]:
                t = plan.earliest_start(o, k, ready[o])
                end = t + plan.duration[k]
                if end <= latest_end[o] and (best is None or (end, t) < best[:2]):
                    best = (end, t, k, o)
        if best is None:
            return None
        end, t, k, o = best
        candidates.remove(o)
        mode[o], start[o] = k, t
        plan.place(o, k, t)
        for i in range(c.succ_ptr[o], c.succ_ptr[o + 1]):
            s = int(c.succ_op[i])
            ready[s] = max(ready[s], end + int(c.succ_lag[i]))
            waiting[s] -= 1
            if waiting[s] == 0:
                candidates.append(s)
    return mode, start
