"""A serial list schedule used as CP-SAT's first solution when no complete warm start is given:
CP-SAT struggles to find a first solution through optional setup circuits and the exact energy
cost pieces on its own, and with a complete hint its neighbourhood search starts improving right
after presolve. It respects every constraint but the carbon cap (and objective bounds); the
power cap in the model's own integer units, so the hint is feasible for the model."""

from __future__ import annotations

import bisect
import heapq

import numpy as np

from scheduler.core.compile import CompiledInstance
from solvers.cpsat.energy_blocks import power_scale, power_units
from solvers.profiles import step_integral
from solvers.stopping import NO_DEADLINE, SetupClock

CANDIDATES = 16  # ready operations compared at each step (the earliest-ready ones)
CARBON_SLACKS = (1.5, 2.0, 3.0, 5.0)  # later completions accepted for less carbon (x earliest)
CLEAN_TRIES = 3  # later, cleaner carbon steps tried as starts
CLEAN_LOOKAHEAD = 4096  # steps searched for them (work by steps, not by the horizon)
MAX_TICK = np.iinfo(np.int64).max
CLOCK_EVERY = 64  # placements between looks at the clock


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
        self.horizon = c.horizon
        capped = c.power_cap_start.size > 0
        demand, caps = power_units(c, power_scale(c)) if capped else ([], [])
        self.power = demand if capped else [0] * len(self.machine)
        self.cap_start = c.power_cap_start.tolist()
        self.cap = caps
        # the placed operations' power draw as a step profile, load[i] over [times[i],
        # times[i + 1]), ending in a sentinel step at MAX_TICK
        self.times: list[int] = [-1, MAX_TICK]
        self.load: list[int] = [0, 0]

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
                later = self.power_conflict(k, t, t + duration)
            if later is None or later > self.horizon:
                return t if later is None else later
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

    def power_conflict(self, k: int, lo: int, hi: int) -> int | None:
        """None if mode k's power fits under the cap over [lo, hi) beside the placed users,
        else the first tick after the first overload at which it fits again (every start
        before it would begin on an overloaded tick; beyond the horizon when none comes). A
        walk over the load profile's and the cap's steps from lo (the cap's steps start at 0
        and rise strictly): a scan of the overlapping operations at each tick made the list
        schedule of a capped 20,000-operation plant take 9.3 s instead of 1.8 s."""
        demand = self.power[k]
        if not demand:
            return None
        times, load = self.times, self.load
        i = bisect.bisect_right(times, lo) - 1
        if len(self.cap) == 1:  # a constant cap: the load's steps alone
            room = self.cap[0] - demand
            if room < 0:
                return self.horizon + 1
            while times[i] < hi:
                if load[i] > room:
                    while load[i] > room:  # (the sentinel step has no load)
                        i += 1
                    return times[i]
                i += 1
            return None
        steps, cap = self.cap_start, self.cap
        c = bisect.bisect_right(steps, lo) - 1
        tick, over = lo, False
        while tick < hi or over:
            fits = demand + load[i] <= cap[c]
            if over and fits:
                return tick
            over = over or not fits
            next_cap = steps[c + 1] if c + 1 < len(steps) else MAX_TICK
            tick = min(times[i + 1], next_cap)
            if tick == MAX_TICK:
                return self.horizon + 1 if over else None
            i += tick == times[i + 1]
            c += tick == next_cap
        return None

    def _step_at(self, tick: int) -> int:
        """The index of the load profile's step starting at `tick` (split off if needed)."""
        i = bisect.bisect_right(self.times, tick) - 1
        if self.times[i] != tick:
            i += 1
            self.times.insert(i, tick)
            self.load.insert(i, self.load[i - 1])
        return i

    def place(self, o: int, k: int, t: int) -> None:
        """Append operation o in mode k at t on its machine (its resource use and its power
        draw added to the load profile)."""
        end = t + self.duration[k]
        if end == t:
            return
        self.last[self.machine[k]] = (o, end)
        if any(self.demand[k]):
            bisect.insort(self.users, (end, t, k))
        if self.power[k]:
            a, b = self._step_at(t), self._step_at(end)
            for i in range(a, b):
                self.load[i] += self.power[k]


class _Carbon:
    """Processing carbon of a mode at a start (the profile's step integral: memory by steps,
    not by ticks), and cleaner start times."""

    def __init__(self, c: CompiledInstance) -> None:
        self.starts, self.intensity = c.carbon_start, c.carbon_value
        self.kwh_per_tick = (c.mode_power * c.hours_per_tick).tolist()
        self.duration = c.mode_duration.tolist()

    def of(self, k: int, t: int) -> float:
        """kg CO2 of mode k started at t (inside the horizon)."""
        area = step_integral(self.starts, self.intensity, t, t + self.duration[k])
        return self.kwh_per_tick[k] * area

    def cleaner_starts(self, t: int) -> list[int]:
        """The first CLEAN_TRIES step starts after t (among the next CLEAN_LOOKAHEAD steps)
        whose intensity is below the one at t."""
        i = int(np.searchsorted(self.starts, t, side="right")) - 1
        later = self.intensity[i + 1 : i + 1 + CLEAN_LOOKAHEAD]
        cleaner = np.flatnonzero(later < self.intensity[i])[:CLEAN_TRIES]
        return self.starts[i + 1 + cleaner].tolist()


def _cleanest(
    plan: _Plan,
    carbon: _Carbon,
    o: int,
    choice: tuple[int, int],
    modes: list[int],
    ready: int,
    latest_end: int,
    slack: float,
) -> tuple[int, int]:
    """(mode, start) of operation o emitting least carbon among its modes started at their
    earliest fit from `ready` or from a cleaner step, ending within `slack` times the earliest
    completion time (from `ready`) of `choice`, the (mode, start) that ends first."""
    k, t = choice
    limit = min(latest_end, ready + slack * (t + plan.duration[k] - ready))
    best = (carbon.of(k, t), t + plan.duration[k], k, t)
    for option in modes:
        for at in [ready, *carbon.cleaner_starts(ready)]:
            start = plan.earliest_start(o, option, at)
            end = start + plan.duration[option]
            if end <= limit:
                best = min(best, (carbon.of(option, start), end, option, start))
    return best[2], best[3]


def greedy_schedule(
    c: CompiledInstance,
    modes: list[list[int]],
    latest: np.ndarray,
    clock: SetupClock = NO_DEADLINE,
) -> tuple[np.ndarray, np.ndarray] | None:
    """(mode, start) per operation of the list schedule `_list_schedule`; with a carbon cap
    (and a carbon profile) the first of ever more carbon-aware variants (slack 1, then
    CARBON_SLACKS) that meets the cap, else the one emitting least; None when no variant
    ends every operation by its latest end. Raises OutOfTime when `clock` runs out first."""
    capped = not np.isnan(c.carbon_cap_kg) and c.carbon_start.size > 0
    carbon = _Carbon(c) if capped else None
    best = _list_schedule(c, modes, latest, carbon, 1.0, clock)
    for slack in CARBON_SLACKS if capped else ():
        if best is not None and best[2] <= c.carbon_cap_kg:
            break
        found = _list_schedule(c, modes, latest, carbon, slack, clock)
        if found is not None and (best is None or found[2] < best[2]):
            best = found
    return None if best is None else best[:2]


def _list_schedule(
    c: CompiledInstance,
    modes: list[list[int]],
    latest: np.ndarray,
    carbon: _Carbon | None,
    slack: float,
    clock: SetupClock,
) -> tuple[np.ndarray, np.ndarray, float] | None:
    """(mode, start, carbon kg) by earliest completion: at each step, of the CANDIDATES
    operations ready first (releases, placed predecessors and lags), the operation that ends
    first is appended on its machine with the setup right before, outside windows, within
    resource capacity and the power cap; in the mode that ends first, or with `carbon` the
    cleanest within `slack` (`_cleanest`). None when an operation cannot end by its latest
    end. The carbon is 0 without `carbon`."""
    plan = _Plan(c)
    mode = np.full(c.n_ops, -1, dtype=np.int64)
    start = np.full(c.n_ops, -1, dtype=np.int64)
    ready = c.op_release.tolist()
    waiting = np.diff(c.pred_ptr).tolist()
    latest_end = latest.tolist()
    queue = [(ready[o], o) for o in range(c.n_ops) if waiting[o] == 0]  # a heap: ready first
    heapq.heapify(queue)
    emitted = 0.0
    placed = 0
    while queue:
        placed += 1
        if placed % CLOCK_EVERY == 0:
            clock.check()
        firsts = [heapq.heappop(queue) for _ in range(min(CANDIDATES, len(queue)))]
        best = None
        for _, o in firsts:
            for k in modes[o]:
                t = plan.earliest_start(o, k, ready[o])
                end = t + plan.duration[k]
                if end <= latest_end[o] and (best is None or (end, t) < best[:2]):
                    best = (end, t, k, o)
        if best is None:
            return None
        end, t, k, o = best
        if carbon is not None:
            k, t = _cleanest(plan, carbon, o, (k, t), modes[o], ready[o], latest_end[o], slack)
            end = t + plan.duration[k]
            emitted += carbon.of(k, t)
        for item in firsts:
            if item[1] != o:
                heapq.heappush(queue, item)
        mode[o], start[o] = k, t
        plan.place(o, k, t)
        for i in range(c.succ_ptr[o], c.succ_ptr[o + 1]):
            s = int(c.succ_op[i])
            ready[s] = max(ready[s], end + int(c.succ_lag[i]))
            waiting[s] -= 1
            if waiting[s] == 0:
                heapq.heappush(queue, (ready[s], s))
    return mode, start, emitted
