"""A pure-Python twin of the Numba decoder, for tests only: the same schedule generation
schemes, rules, machine selection and energy-aware deferral, written plainly over Python lists
(heap-free selection, per-tick capacity scan) so a test can check that the kernel computes
exactly what the algorithm says. Users never reach this path."""

from __future__ import annotations

import math
from bisect import bisect_right
from dataclasses import dataclass

import numpy as np

from solvers.heuristics.decode import (
    ACTIVE,
    APPEND,
    ATC,
    CR,
    EDD,
    ENERGY,
    FAILED,
    FIFO,
    LPT,
    MOPNR,
    MWKR,
    NONDELAY,
    SERIAL,
    SPT,
    STATIC,
)
from solvers.heuristics.problem import CARBON_TOL, POWER_TOL, Problem


@dataclass
class Decoded:
    """What a decode produced: start, global mode and placement order per op, and the
    violation (0: every hard limit met; inf: some op found no start in the span)."""

    start: list[int]
    mode: list[int]
    seq: list[int]
    violation: float


def _integral(starts: list[int], values: list[float], a: int, b: int) -> float:
    """Sum of an unrolled step profile over [a, b), piece by piece, the last value holding
    past the end."""
    if not starts or b <= a:
        return 0.0
    i, total, t = bisect_right(starts, a) - 1, 0.0, a
    while t < b:
        stop = b if i + 1 >= len(starts) else min(b, starts[i + 1])
        total += values[i] * (stop - t)
        t, i = stop, i + 1
    return total


class _Decoder:
    """One decode over plain lists copied from the Problem."""

    def __init__(self, p: Problem, append: bool, least_energy: bool, defer: list[bool]):
        self.p = p
        self.append = append
        self.least_energy = least_energy
        self.defer = defer
        self.a = {name: getattr(p, name) for name in p._fields}
        for name, value in self.a.items():
            if isinstance(value, np.ndarray):
                self.a[name] = value.tolist()
        a = self.a
        n = p.n_ops
        self.start = [-1] * n
        self.end = [-1] * n
        self.mode = [-1] * n
        self.ready = list(a["op_release"])
        self.machine_ops: list[list[int]] = [[] for _ in range(p.n_machines)]
        self.machine_starts: list[list[int]] = [[] for _ in range(p.n_machines)]
        self.windows = [
            list(zip(a["unav_start"][lo:hi], a["unav_end"][lo:hi], strict=True))
            for lo, hi in zip(a["unav_ptr"], a["unav_ptr"][1:], strict=False)
        ]
        self.res_left = [[a["res_capacity"][r]] * p.span for r in range(p.n_res)]
        self.power_left = list(a["cap_tick"])
        self.latest_end = 0
        self.work_left = list(a["job_work"])
        self.ops_left = [a["job_op_ptr"][j + 1] - a["job_op_ptr"][j] for j in range(p.n_jobs)]

    # -- the machine ------------------------------------------------------------------------
    def setup(self, m: int, before: int, after: int) -> int:
        if before < 0 or after < 0:
            return 0
        return int(self.a["setup"][m][before][after])

    def first_window(self, m: int, lo: int, hi: int) -> tuple[int, int] | None:
        """The first window of machine m meeting [lo, hi)."""
        if hi <= lo:
            return None
        for ws, we in self.windows[m]:
            if we > lo:
                return (ws, we) if ws < hi else None
        return None

    def machine_fit(self, o: int, m: int, d: int, t: int) -> int:
        fam = self.a["op_family"][o]
        ops = self.machine_ops[m]
        first = len(ops) if self.append else bisect_right(self.machine_starts[m], t)
        for g in range(first, len(ops) + 1):
            s, before, limit = t, 0, self.p.span
            if g > 0:
                prev = ops[g - 1]
                before = self.setup(m, self.a["op_family"][prev], fam)
                s = max(s, self.end[prev] + before)
            if g < len(ops):
                nxt = ops[g]
                after = self.setup(m, fam, self.a["op_family"][nxt])
                if after > 0 and self.first_window(m, self.start[nxt] - after, self.start[nxt]):
                    continue
                limit = min(limit, self.start[nxt] - after)
            while s + d <= limit:
                hit = self.first_window(m, s, s + d)
                if hit is None and before > 0:
                    hit = self.first_window(m, s - before, s)
                    if hit is not None:
                        s = hit[1] + before
                        continue
                if hit is not None:
                    s = hit[1]
                    continue
                return s
        return -1

    # -- capacities ---------------------------------------------------------------------------
    def conflict(self, k: int, t: int, d: int) -> int:
        """The latest tick of [t, t+d) where a resource or the power cap is short, or -1."""
        demand = self.a["mode_demand"][k]
        kw = self.a["mode_power"][k]
        if not any(demand) and not (self.p.has_cap and kw > 0):
            return -1
        for u in range(t + d - 1, t - 1, -1):
            if any(q > 0 and self.res_left[r][u] < q for r, q in enumerate(demand)):
                return u
            tolerance = POWER_TOL * max(1.0, self.a["cap_tick"][u]) if self.p.has_cap else 0.0
            if self.p.has_cap and kw > 0 and self.power_left[u] + tolerance < kw:
                return u
        return -1

    def earliest(self, o: int, k: int, t: int) -> int:
        m, d = self.a["mode_machine"][k], self.a["mode_duration"][k]
        if d == 0:  # no machine time, resources or power
            return t if t <= self.p.span else -1
        while t + d <= self.p.span:
            t = self.machine_fit(o, m, d, t)
            if t < 0:
                return -1
            u = self.conflict(k, t, d)
            if u < 0:
                return t
            t = u + 1
        return -1

    # -- energy-aware deferral ----------------------------------------------------------------
    def price(self, k: int, s: int) -> float:
        a = self.a
        e = s + a["mode_duration"][k]
        total = 0.0
        if self.p.price_tariff > 0:
            area = _integral(a["tariff_start"], a["tariff_value"], s, e)
            total += self.p.price_tariff * area
        if self.p.price_carbon > 0:
            area = _integral(a["carbon_start"], a["carbon_value"], s, e)
            total += self.p.price_carbon * area
        return a["mode_power"][k] * self.p.hours_per_tick * total

    def latest_deferred_start(self, o: int, k: int) -> int:
        a = self.a
        j, d = a["op_job"][o], a["mode_duration"][k]
        if a["job_due"][j] >= 0:
            lst = a["job_due"][j] - a["op_tail"][o]
        elif a["job_deadline"][j] >= 0:
            lst = a["job_deadline"][j] - a["op_tail"][o]
        elif self.p.defer_to_horizon:
            lst = self.p.horizon - a["op_tail"][o]
        else:
            lst = self.latest_end - d
        return min(lst, a["op_deadline"][o] - d)

    def place_mode(self, o: int, k: int) -> int:
        s0 = self.earliest(o, k, self.ready[o])
        kw = self.a["mode_power"][k]
        if s0 < 0 or not self.defer[o] or kw <= 0 or kw < self.p.hungry_kw:
            return s0
        lst = self.latest_deferred_start(o, k)
        if lst <= s0:
            return s0
        d = self.a["mode_duration"][k]
        steps: list[int] = []
        if self.p.price_tariff > 0:
            steps += self.a["tariff_start"]
        if self.p.price_carbon > 0:
            steps += self.a["carbon_start"]
        candidates = {c for b in steps for c in (b - d, b) if s0 < c <= lst} | {lst}
        best = (self.price(k, s0), s0)
        for c in candidates:
            f = self.earliest(o, k, c)
            if 0 <= f <= lst:
                best = min(best, (self.price(k, f), f))
        return best[1]

    def place_op(self, o: int, fixed: int) -> tuple[int, int]:
        a = self.a
        modes = [fixed] if fixed >= 0 else range(a["mode_ptr"][o], a["mode_ptr"][o + 1])
        best: tuple[float, float, int, int] | None = None
        for k in modes:
            s = self.place_mode(o, k)
            if s < 0:
                continue
            e, kwh = s + a["mode_duration"][k], a["mode_kwh"][k]
            key = (kwh, e, k, s) if self.least_energy else (e, kwh, k, s)
            if best is None or key[:2] < best[:2]:
                best = key
        return (-1, -1) if best is None else (best[2], best[3])

    def commit(self, o: int, k: int, s: int) -> None:
        a = self.a
        m, e = a["mode_machine"][k], s + a["mode_duration"][k]
        if e > s:
            position = bisect_right(self.machine_starts[m], s)
            self.machine_ops[m].insert(position, o)
            self.machine_starts[m].insert(position, s)
        self.start[o], self.end[o], self.mode[o] = s, e, k
        for r, q in enumerate(a["mode_demand"][k]):
            for u in range(s, e):
                self.res_left[r][u] -= q
        if self.p.has_cap and a["mode_power"][k] > 0:
            for u in range(s, e):
                self.power_left[u] -= a["mode_power"][k]
        self.latest_end = max(self.latest_end, e)
        j = a["op_job"][o]
        self.work_left[j] -= a["op_pmin"][o]
        self.ops_left[j] -= 1

    def key(self, rule: int, prio: list[float], o: int, t: int) -> float:
        """The rule's priority of eligible op o at time t (larger first)."""
        if rule == STATIC:
            return prio[o]
        a, j = self.a, self.a["op_job"][o]
        pmin, work, target = a["op_pmin"][o], self.work_left[j], a["job_target"][j]
        if rule == FIFO:
            return -float(self.ready[o])
        if rule in (SPT, LPT):
            return -pmin if rule == SPT else pmin
        if rule in (MWKR, ENERGY):
            return work
        if rule == MOPNR:
            return float(self.ops_left[j])
        if rule == EDD:
            return -float(target)
        if rule == CR:
            return -(target - t) / max(work, 1.0)
        assert rule == ATC
        slack = max(0.0, target - t - work)
        return a["job_weight"][j] / max(pmin, 1.0) * math.exp(-slack / self.p.atc_scale)

    def violation(self) -> float:
        a = self.a
        total = 0.0
        for o in range(self.p.n_ops):
            total += max(0, self.end[o] - a["op_deadline"][o])
        if not math.isnan(self.p.carbon_cap):
            carbon = 0.0
            if a["carbon_start"]:
                for o in range(self.p.n_ops):
                    k = self.mode[o]
                    if k >= 0 and a["mode_power"][k] > 0:
                        s, e = self.start[o], self.start[o] + a["mode_duration"][k]
                        area = _integral(a["carbon_start"], a["carbon_value"], s, e)
                        carbon += a["mode_power"][k] * self.p.hours_per_tick * area
            excess = carbon - self.p.carbon_cap
            if excess > CARBON_TOL * max(1.0, self.p.carbon_cap):
                total += excess / max(self.p.carbon_cap, 1e-9) * self.p.horizon
        return total


def decode(
    p: Problem,
    scheme: int,
    rule: int,
    prio: np.ndarray,
    assign: np.ndarray,
    least_energy: bool,
    defer: np.ndarray,
) -> Decoded:
    """Decode like `solvers.heuristics.decode.decode`, in plain Python."""
    dec = _Decoder(p, scheme == APPEND, least_energy, defer.tolist())
    a = dec.a
    prio_list, assign_list = prio.tolist(), assign.tolist()
    npred = [a["pred_ptr"][o + 1] - a["pred_ptr"][o] for o in range(p.n_ops)]
    eligible = [o for o in range(p.n_ops) if npred[o] == 0]
    seq: list[int] = []
    while eligible:
        placements = {}
        if scheme in (SERIAL, APPEND):
            chosen = max(eligible, key=lambda o: (dec.key(rule, prio_list, o, dec.ready[o]), -o))
            placements[chosen] = dec.place_op(chosen, assign_list[chosen])
        else:
            for o in eligible:
                placements[o] = dec.place_op(o, assign_list[o])
            if any(k < 0 for k, _ in placements.values()):
                return Decoded(dec.start, dec.mode, seq, FAILED)
            finish = {o: s + a["mode_duration"][k] for o, (k, s) in placements.items()}
            if scheme == NONDELAY:
                first = min(s for _, s in placements.values())
                pool = [o for o in eligible if placements[o][1] == first]
            else:
                assert scheme == ACTIVE
                lead = min(eligible, key=lambda o: (finish[o], o))
                machine = a["mode_machine"][placements[lead][0]]
                pool = [
                    o
                    for o in eligible
                    if o == lead
                    or (
                        a["mode_machine"][placements[o][0]] == machine
                        and placements[o][1] < finish[lead]
                    )
                ]
            chosen = max(pool, key=lambda o: (dec.key(rule, prio_list, o, placements[o][1]), -o))
        k, s = placements[chosen]
        if k < 0:
            return Decoded(dec.start, dec.mode, seq, FAILED)
        eligible.remove(chosen)
        dec.commit(chosen, k, s)
        seq.append(chosen)
        for i in range(a["succ_ptr"][chosen], a["succ_ptr"][chosen + 1]):
            x = a["succ_op"][i]
            dec.ready[x] = max(dec.ready[x], dec.end[chosen] + a["succ_lag"][i])
            npred[x] -= 1
            if npred[x] == 0:
                eligible.append(x)
    return Decoded(dec.start, dec.mode, seq, dec.violation())
