"""CP-SAT building blocks for the energy features: the power cap, the exact time-dependent cost
(or carbon) of one mode, the carbon cap and idle energy. They read only the compiled arrays.

Integer scaling. CP-SAT works in integers, so every real quantity has a `scale` (units per kW,
per kWh, per currency unit or per kg) chosen by `power_scale` / `quantity_scale`: the smallest
integer making the given decimal numbers exact (the lcm of their decimal denominators), at most
`MAX_SCALE`. Where no such scale exists the rounding always goes the safe way: power demands are
rounded up and the cap down, a mode's cost or carbon is rounded up (to the next 1/scale), so the
model never accepts a schedule the validator rejects.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from fractions import Fraction
from typing import Literal

import numpy as np
from ortools.sat.python import cp_model

from scheduler.core.compile import CompiledInstance
from scheduler.core.errors import UnsupportedFeatureError

MAX_SCALE = 10**6  # largest scale (and largest grid denominator) ever chosen
MAX_MAGNITUDE = 2**52  # bound on any scaled coefficient x value, far from int64 overflow
PERIOD_CANDIDATES = 256  # step changes tried as the end of a profile's first period


def exact(value: float) -> Fraction:
    """The decimal number a float was written as (0.1 -> 1/10, not the binary expansion)."""
    return Fraction(repr(float(value)))


def _lcm_denominator(values: Iterable[Fraction]) -> int:
    """The least common multiple of the denominators (1 for no values)."""
    return math.lcm(1, *(v.denominator for v in values))


def _bounded_scale(needed: int, largest: float) -> int:
    """`needed` when at most MAX_SCALE and `largest * needed` fits, else the largest power of
    ten that keeps `largest * scale` below MAX_MAGNITUDE (rounding then applies)."""
    limit = MAX_MAGNITUDE / max(largest, 1e-300)
    if needed <= MAX_SCALE and needed <= limit:
        return needed
    scale = MAX_SCALE
    while scale > 1 and scale > limit:
        scale //= 10
    return scale


def power_scale(compiled: CompiledInstance) -> int:
    """Integer units per kW that make every mode power and cap value exact when possible."""
    values = [exact(p) for p in np.unique(compiled.mode_power)] + [
        exact(v) for v in np.unique(compiled.power_cap_value)
    ]
    largest = float(np.sum(compiled.mode_power)) + float(
        np.max(compiled.power_cap_value, initial=0.0)
    )
    return _bounded_scale(_lcm_denominator(values), largest)


def quantity_scale(compiled: CompiledInstance, values: np.ndarray | None = None) -> int:
    """Integer units per kWh (`values` None: every mode's and machine idle power's per-tick
    energy is exact) or per currency unit / kg (`values` the tariff or carbon profile values:
    every mode's per-tick cost or carbon is exact), when possible."""
    hours = exact(compiled.time_unit_minutes) / 60
    powers = {exact(p) for p in compiled.mode_power if p > 0}
    factors = {exact(v) for v in np.unique(values)} if values is not None else {Fraction(1)}
    if values is None:
        powers |= {exact(p) for p in compiled.machine_idle_power if p > 0}
    per_tick = [p * hours * f for p in powers for f in factors]
    peak = float(np.max(np.abs(values), initial=0.0)) if values is not None else 1.0
    work = float(np.dot(compiled.mode_power, compiled.mode_duration)) + float(
        np.sum(compiled.machine_idle_power) * compiled.horizon
    )
    return _bounded_scale(_lcm_denominator(per_tick), work * float(hours) * peak)


def power_units(compiled: CompiledInstance, scale: int) -> tuple[list[int], list[int]]:
    """The power cap's integer view at `scale`: each mode's demand ceil(kW x scale) and each
    cap step's capacity floor(kW x scale), rounded the safe way."""
    demands = [math.ceil(exact(p) * scale) for p in compiled.mode_power]
    floors = {v: math.floor(exact(v) * scale) for v in np.unique(compiled.power_cap_value)}
    caps = [floors[v] for v in compiled.power_cap_value]
    return demands, caps


def add_power_cap(
    model: cp_model.CpModel,
    compiled: CompiledInstance,
    intervals_by_mode: dict[int, cp_model.IntervalVar],
    scale: int,
) -> None:
    """At every tick the summed power of the modes in process is at most the cap: one
    cumulative over the mode intervals (demand ceil(kW x scale)) with capacity the highest cap
    (floor(kW x scale)); a step cap is exact through fixed blocking intervals that take up
    (highest - cap) over each of its lower steps. Nothing is added without a cap."""
    if compiled.power_cap_start.size == 0:
        return
    demand, caps = power_units(compiled, scale)
    capacity = max(caps)
    users = [k for k in intervals_by_mode if compiled.mode_power[k] > 0]
    intervals = [intervals_by_mode[k] for k in users]
    demands = [demand[k] for k in users]
    bounds = [*compiled.power_cap_start.tolist(), compiled.horizon]
    for i, cap in enumerate(caps):
        begin, finish = int(bounds[i]), int(bounds[i + 1])
        if cap < capacity and finish > begin:
            intervals.append(model.new_fixed_size_interval_var(begin, finish - begin, f"cap{i}"))
            demands.append(capacity - cap)
    if users:
        model.add_cumulative(intervals, demands, capacity)


@dataclass(frozen=True)
class _Steps:
    """An integer step function on [0, length): `starts` (from 0) and `values`; with `periodic`
    it repeats every `length` ticks, else it is read only inside [0, length]."""

    starts: list[int]
    values: list[int]
    length: int
    periodic: bool

    def prefix(self, x: int) -> int:
        """Sum of the values over the ticks [0, x)."""
        if self.periodic:
            whole, x = divmod(x, self.length)
            return whole * self._within(self.length) + self._within(x)
        return self._within(x)

    def _within(self, x: int) -> int:
        total = 0
        for i, begin in enumerate(self.starts):
            if begin >= x:
                break
            finish = self.starts[i + 1] if i + 1 < len(self.starts) else self.length
            total += self.values[i] * (min(finish, x) - begin)
        return total

    def changes(self) -> list[int]:
        """Ticks in [0, length) where the value differs from the tick before (0 included)."""
        return [0, *self.starts[1:]]


def profile_period(starts: np.ndarray, values: np.ndarray, horizon: int) -> int | None:
    """The smallest p with profile(t + p) == profile(t) for every t in [0, horizon - p), for an
    unrolled step profile with at least two steps; None when it does not repeat, or not within
    its first PERIOD_CANDIDATES steps (each candidate costs a pass over the steps)."""
    changes = starts[1:]

    def at(t: np.ndarray) -> np.ndarray:
        return values[np.searchsorted(starts, t, side="right") - 1]

    for later in changes[1:PERIOD_CANDIDATES]:
        p = int(later - changes[0])
        after = changes[changes > p]
        if (
            np.array_equal(after - p, changes[changes < horizon - p])
            and at(np.array([p]))[0] == values[0]
            and np.array_equal(at(after), at(after - p))
        ):
            return p
    return None


@dataclass(frozen=True)
class _Segment:
    """On [first, last] the window sum is value + slope * (x - first)."""

    first: int
    last: int
    value: int
    slope: int

    def extremes(self) -> tuple[int, int]:
        end_value = self.value + self.slope * (self.last - self.first)
        return min(self.value, end_value), max(self.value, end_value)


def _segments(steps: _Steps, duration: int, lo: int, hi: int) -> list[_Segment]:
    """The window sum W(x) = sum of the steps over [x, x + duration) for x in [lo, hi], as few
    linear pieces as a greedy pass finds. The increment W(x + 1) - W(x) = u(x + duration) - u(x)
    changes only where x + 1 or x + 1 + duration meets a step change, so it is constant on runs
    between those marks; consecutive points joined by equal increments share a line, and the
    increment between two pieces is a jump that needs no line."""
    marks = set()
    for c in steps.changes():
        for point in (c, c - duration):
            if steps.periodic:
                point %= steps.length
            if lo < point <= hi:
                marks.add(point)
    cuts = [lo, *sorted(marks), hi + 1]

    def window(x: int) -> int:
        return steps.prefix(x + duration) - steps.prefix(x)

    runs: list[list[int]] = []  # [increment, count] of the transitions x -> x + 1, x < hi
    for first, after in zip(cuts, cuts[1:], strict=False):
        count = min(after, hi) - first
        if count <= 0:
            continue
        increment = window(first + 1) - window(first)
        if runs and runs[-1][0] == increment:
            runs[-1][1] += count
        else:
            runs.append([increment, count])

    pieces: list[_Segment] = []
    x, value = lo, window(lo)
    while True:
        if not runs:
            pieces.append(_Segment(x, x, value, 0))
            return pieces
        increment, count = runs.pop(0)
        pieces.append(_Segment(x, x + count, value, increment))
        x, value = x + count, value + increment * count
        if not runs:
            return pieces
        runs[0][1] -= 1  # the jump to the next piece's first point
        x, value = x + 1, value + runs[0][0]
        if runs[0][1] == 0:
            runs.pop(0)


@dataclass(frozen=True)
class ProfileCost:
    """What `add_profile_cost` made for one mode: `cost` (ceil(scale x cost), 0 when the mode is
    not used) and the auxiliary variables, so that a schedule can hint every one of them."""

    cost: cp_model.IntVar
    pieces: tuple[_Segment, ...] = ()
    literals: tuple[cp_model.IntVar, ...] = ()  # one per piece; none for a single piece
    denominator: int = 1
    period: int | None = None  # start = period x day + offset when set
    day: cp_model.IntVar | None = None
    offset: cp_model.IntVar | None = None

    def hints(self, start: int, used: bool) -> list[tuple[cp_model.IntVar, int]]:
        """(variable, value) for the mode's operation starting at `start`, the mode `used` or
        not; nothing for a constant cost."""
        if not self.pieces:
            return []
        out: list[tuple[cp_model.IntVar, int]] = []
        position = start
        if self.period is not None and self.day is not None and self.offset is not None:
            day, position = divmod(start, self.period)
            out += [(self.day, day), (self.offset, position)]
        chosen = next((p for p in self.pieces if p.first <= position <= p.last), None)
        out += [
            (lit, int(used and p is chosen))
            for p, lit in zip(self.pieces, self.literals, strict=False)
        ]
        if not used:
            return [*out, (self.cost, 0)]
        if chosen is None:
            return out
        value = chosen.value + chosen.slope * (position - chosen.first)
        return [*out, (self.cost, -((-value) // self.denominator))]


def _grid(per_tick: list[Fraction], duration: int) -> tuple[int, list[int]]:
    """(D, u): integer per-step values u = ceil(D x per_tick) with D the exact common
    denominator when its magnitude allows, else the largest power of ten up to MAX_SCALE
    that does (u then rounds up, by less than 1/D per tick)."""
    peak = max((abs(v) for v in per_tick), default=Fraction(0))
    largest = float(peak) * duration + 1.0
    exact_d = _lcm_denominator(per_tick)
    if exact_d * largest <= MAX_MAGNITUDE:
        denominator = exact_d
    else:
        denominator = MAX_SCALE
        while denominator > 1 and denominator * largest > MAX_MAGNITUDE:
            denominator //= 10
        if denominator * largest > MAX_MAGNITUDE:
            raise UnsupportedFeatureError(
                f"cpsat: the cost or carbon of a mode ({largest:.3g} per unit) is too large for "
                "CP-SAT's 64-bit integers; use a coarser tick or smaller prices"
            )
    return denominator, [math.ceil(v * denominator) for v in per_tick]


def _start_domain(
    compiled: CompiledInstance, mode: int, start_var: cp_model.IntVar, latest_end: int | None
) -> tuple[int, int]:
    """[lo, hi]: the starts the mode can take (variable domain, head, deadline, latest end)."""
    o = int(compiled.mode_op[mode])
    duration = int(compiled.mode_duration[mode])
    bounds = list(start_var.proto.domain)  # (the proto field ignores negative indices)
    lo = max(int(bounds[0]), int(compiled.head[o]))
    hi = min(int(bounds[-1]), int(compiled.op_deadline[o]) - duration)
    if latest_end is not None:
        hi = min(hi, latest_end - duration)
    return lo, hi


def add_profile_cost(
    model: cp_model.CpModel,
    compiled: CompiledInstance,
    mode: int,
    start_var: cp_model.IntVar,
    presence_lit: cp_model.IntVar | None,
    starts: np.ndarray,
    values: np.ndarray,
    scale: int,
    latest_end: int | None = None,
    period: int | None | Literal["find"] = "find",
) -> ProfileCost:
    """`.cost`: an integer variable equal to ceil(scale x cost) of running `mode` from
    `start_var`, cost
    = power x tu/60 x sum over its ticks of the step profile (`starts`, `values`: unrolled
    tariff or carbon), and 0 when `presence_lit` is false (None: the mode is always used).

    Exact for every start: the window sum is piecewise linear in the start (pieces cut where the
    start or the end meets a step change); one literal per piece (exactly one when present)
    places the start in it and fixes the cost to that piece's line. A periodic profile whose
    period is shorter than the start domain is decomposed as start = period x q + r, with the
    pieces over r alone (a week of a daily profile costs a day's pieces). A piece of a single
    line (constant profile) needs no literal. The start is also kept within [lo, hi] (head,
    deadline, `latest_end`) when present. `period`: what `profile_period` gives for the
    profile, found here unless given (one call then serves every mode of the model).

    Search: the piece literals tie the start to times of day, which slows CP-SAT's search for a
    first schedule from scratch on large instances (ta01-energy-week, 2 workers: none in 30 s);
    hint a complete schedule, these variables included (`ProfileCost.hints`), and CP-SAT has
    it as its first solution right after presolve (about 3 s there)."""
    duration = int(compiled.mode_duration[mode])
    power = float(compiled.mode_power[mode])
    if power == 0 or starts.size == 0:
        return ProfileCost(model.new_constant(0))
    lo, hi = _start_domain(compiled, mode, start_var, latest_end)
    if lo > hi:
        if presence_lit is None:
            model.add_bool_or([])  # a mandatory mode with no feasible start: infeasible
        else:
            model.add(presence_lit == 0)
        return ProfileCost(model.new_constant(0))

    coefficient = Fraction(scale) * exact(power) * exact(compiled.time_unit_minutes) / 60
    horizon = compiled.horizon
    if period == "find":
        period = profile_period(starts, values, horizon) if starts.size > 1 else None
    periodic = period is not None and hi - lo + 1 > period
    if periodic and period is not None:
        keep = starts < period
        step_starts, step_values = starts[keep].tolist(), values[keep].tolist()
        length = period
    else:  # the steps that meet [lo, hi + duration), the first one from 0 (sums agree there)
        first = max(0, int(np.searchsorted(starts, lo, side="right")) - 1)
        last = max(first + 1, int(np.searchsorted(starts, hi + duration, side="left")))
        step_starts = [0, *starts[first + 1 : last].tolist()]
        step_values, length = values[first:last].tolist(), horizon
    denominator, units = _grid([coefficient * exact(v) for v in step_values], duration)
    steps = _Steps(step_starts, units, length, periodic)

    position = start_var
    day = offset = None
    if periodic and period is not None:
        bounds = list(start_var.proto.domain)
        low, high = int(bounds[0]), int(bounds[-1])
        day = model.new_int_var(low // period, high // period, f"q{mode}")
        offset = model.new_int_var(0, period - 1, f"r{mode}")
        model.add(start_var == period * day + offset)
        position = offset
        pieces = _segments(steps, duration, 0, period - 1)
    else:
        pieces = _segments(steps, duration, lo, hi)

    def rounded(x: int) -> int:
        return -((-x) // denominator)  # ceil(x / denominator)

    low_cost = min(0, *(rounded(p.extremes()[0]) for p in pieces))
    high_cost = max(0, *(rounded(p.extremes()[1]) for p in pieces))
    cost = model.new_int_var(low_cost, high_cost, f"cost{mode}")
    enforce = [] if presence_lit is None else [presence_lit]
    if presence_lit is not None:
        model.add(cost == 0).only_enforce_if(~presence_lit)
        # the least cost when present: the LP's bound (sums over the piece literals would give
        # a tighter one, but they slow the search for first schedules a lot)
        model.add(cost >= min(rounded(p.extremes()[0]) for p in pieces) * presence_lit)
    model.add(start_var >= lo).only_enforce_if(enforce)
    model.add(start_var <= hi).only_enforce_if(enforce)

    if len(pieces) == 1:
        lits: list[cp_model.IntVar | None] = [presence_lit]
    else:
        lits = [model.new_bool_var(f"seg{mode}_{i}") for i in range(len(pieces))]
        model.add(cp_model.LinearExpr.sum(lits) == (1 if presence_lit is None else presence_lit))
        # the start lies in the chosen piece; a start outside a piece rules its literal out
        for piece, lit in zip(pieces, lits, strict=True):
            model.add(position >= piece.first).only_enforce_if(lit)
            model.add(position <= piece.last).only_enforce_if(lit)
    for piece, lit in zip(pieces, lits, strict=True):
        # denominator x cost - slope x position in [base, base + denominator - 1] <=> cost is
        # the ceiling of (value + slope x (position - first)) / denominator
        base = piece.value - piece.slope * piece.first
        line = model.add_linear_constraint(
            denominator * cost - piece.slope * position, base, base + denominator - 1
        )
        if lit is not None:
            line.only_enforce_if(lit)
    own = tuple(lit for lit in lits if lit is not None) if len(pieces) > 1 else ()
    return ProfileCost(
        cost, tuple(pieces), own, denominator, period if periodic else None, day, offset
    )


def add_carbon_cap(
    model: cp_model.CpModel,
    compiled: CompiledInstance,
    carbon_vars: Iterable[cp_model.IntVar],
    scale: int,
) -> None:
    """Total carbon (the `add_profile_cost` variables of the carbon profile, in 1/scale kg) at
    most floor(cap x scale); nothing without a cap."""
    if math.isnan(compiled.carbon_cap_kg):
        return
    model.add(
        cp_model.LinearExpr.sum(list(carbon_vars))
        <= math.floor(exact(compiled.carbon_cap_kg) * scale)
    )


@dataclass(frozen=True)
class IdleEnergy:
    """What `add_idle_energy` made: `expression` (idle energy in 1/scale kWh, to minimise) and
    per machine its (first start, last end, idle ticks) variables, for hints."""

    expression: cp_model.LinearExprT
    machines: dict[int, tuple[cp_model.IntVar, cp_model.IntVar, cp_model.IntVar]]

    def hints(
        self, compiled: CompiledInstance, mode: np.ndarray, start: np.ndarray
    ) -> list[tuple[cp_model.IntVar, int]]:
        """(variable, value) for the schedule (global mode, start per operation): the span of
        each machine's operations and its idle ticks; 0 for a machine that runs nothing."""
        out: list[tuple[cp_model.IntVar, int]] = []
        end = start + compiled.mode_duration[mode]
        machine = compiled.mode_machine[mode]
        for m, (first, last, idle) in self.machines.items():
            on_m = machine == m
            if not on_m.any():
                out += [(first, 0), (last, 0), (idle, 0)]
                continue
            lo, hi = int(start[on_m].min()), int(end[on_m].max())
            busy = int((end[on_m] - start[on_m]).sum())
            out += [(first, lo), (last, hi), (idle, max(0, hi - lo - busy))]
        return out


def add_idle_energy(
    model: cp_model.CpModel,
    compiled: CompiledInstance,
    intervals_by_mode: dict[int, cp_model.IntervalVar],
    scale: int,
) -> IdleEnergy:
    """Idle energy in 1/scale kWh (`.expression`), per machine with idle power: ceil(scale x
    idle kW x tu/60) x idle ticks, idle ticks >= (last end - first start) - processing ticks of
    the modes it runs. The expression is at least the true idle energy and can equal it, so
    minimising it or bounding it from above is exact; never bound it from below. Assumes the
    machines' no-overlap (no negative idle). Zero for machines that run nothing."""
    hours = exact(compiled.time_unit_minutes) / 60
    terms: list[cp_model.LinearExprT] = []
    spans: dict[int, tuple[cp_model.IntVar, cp_model.IntVar, cp_model.IntVar]] = {}
    for m in range(compiled.n_machines):
        idle_kw = float(compiled.machine_idle_power[m])
        on_m = [k for k in intervals_by_mode if compiled.mode_machine[k] == m]
        if idle_kw <= 0 or not on_m:
            continue
        horizon = compiled.horizon
        first = model.new_int_var(0, horizon, f"first{m}")
        last = model.new_int_var(0, horizon, f"last{m}")
        idle = model.new_int_var(0, horizon, f"idle{m}")
        busy: list[cp_model.LinearExprT] = []
        for k in on_m:
            interval = intervals_by_mode[k]
            present = interval.presence_literals()
            model.add(first <= interval.start_expr()).only_enforce_if(present)
            model.add(last >= interval.end_expr()).only_enforce_if(present)
            duration = int(compiled.mode_duration[k])
            busy.append(duration * present[0] if present else duration)
        model.add(last >= first)
        model.add(idle >= last - first - cp_model.LinearExpr.sum(busy))
        terms.append(math.ceil(scale * exact(idle_kw) * hours) * idle)
        spans[m] = (first, last, idle)
    return IdleEnergy(cp_model.LinearExpr.sum(terms), spans)
