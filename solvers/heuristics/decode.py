"""The schedule generation schemes (Numba): decode a priority rule or vector plus a machine/mode
assignment into a schedule that meets every constraint of the model.

- serial: take the eligible op (all predecessors placed) of highest priority and insert it at
  its earliest feasible start (gaps included): active schedules;
- active: Giffler-Thompson: the eligible op finishing first fixes a machine; choose among the
  eligible ops on it that could start before that finish;
- nondelay: choose among the eligible ops that can start earliest;
- append: serial, but each op goes after the last op on its machine (semi-active schedules,
  about twice as fast to decode).

An op's earliest start respects the machine sequence (each setup placed right before its op and
free of windows, on both sides of an inserted op), the machine's unavailability windows, the
resources and the power cap per tick. The search jumps past each conflict (a window, a busy
tick); a jump never skips a feasible start. Priorities are larger-first, ties to the lower op
index. Deadlines and a given horizon bound every end: an op ending past its limit is still placed
and counted as a violation (as is carbon over its cap); a schedule with a violation is never
returned to users."""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from solvers.heuristics.clock import clock
from solvers.heuristics.evaluate import step_integral, violation
from solvers.heuristics.plain import decode_plain, preferred, rank_table
from solvers.heuristics.problem import (
    ABORTED,
    APPEND,
    CLOCK_EVERY,
    FAILED,
    NO_DEADLINE,
    SERIAL,
    STATIC,
    Problem,
    Workspace,
)

ACTIVE, NONDELAY = 1, 2
SCHEMES = {"serial": SERIAL, "append": APPEND, "active": ACTIVE, "nondelay": NONDELAY}

FIFO, SPT, LPT, MWKR, MOPNR, EDD, CR, ATC, ENERGY = range(1, 10)
RULES = {
    "fifo": FIFO,
    "spt": SPT,
    "lpt": LPT,
    "mwkr": MWKR,
    "mopnr": MOPNR,
    "edd": EDD,
    "cr": CR,
    "atc": ATC,
    "energy": ENERGY,  # most work remaining first, power-hungry ops deferred to cheap periods
}


@njit(cache=True)
def priority(
    rule: int,
    ready: int,
    pmin: float,
    work_left: float,
    ops_left: int,
    target: int,
    weight: float,
    atc_scale: float,
    t: int,
) -> float:
    """Priority of an eligible op at time t under a dispatching rule (larger goes first), from
    its ready time and shortest duration and its job's remaining work and ops, target date
    and weight."""
    if rule == FIFO:
        return -float(ready)
    if rule == SPT:
        return -pmin
    if rule == LPT:
        return pmin
    if rule in (MWKR, ENERGY):
        return work_left
    if rule == MOPNR:
        return float(ops_left)
    if rule == EDD:
        return -float(target)
    if rule == CR:
        return -(target - t) / max(work_left, 1.0)
    slack = max(0.0, target - t - work_left)  # ATC
    return weight / max(pmin, 1.0) * math.exp(-slack / atc_scale)


@njit(cache=True)
def decode(
    p: Problem,
    w: Workspace,
    scheme: int,
    rule: int,
    prio: np.ndarray,
    assign: np.ndarray,
    least_energy: bool,
    defer: np.ndarray,
    deadline: float,
) -> float:
    """Build a schedule in w.start/w.mode/w.end (placement order in w.seq); `assign[o]` >= 0
    fixes op o's global mode, -1 lets the machine selection choose (earliest finish, or
    `least_energy`); where `defer[o]`, a power-hungry op o is delayed into cheaper periods
    within its slack.
    Returns the violation (0: every hard limit met; FAILED: an op found no start in the span),
    or ABORTED once the clock passes `deadline` (a perf_counter reading, NO_DEADLINE for none;
    looked at every CLOCK_EVERY placements).

    It is deliberately one function, for speed: it is the local search's inner loop, and its
    helpers are closures that Numba inlines with no reference counting, whereas passing the
    two array tuples to separate functions costs about a microsecond per call. Its parts, in
    order (each marked `# -- part: ...`):
    1. fast path: static ranks (the local search's) on a plain instance go to the decoder of
       `plain`, which gives the same schedule;
    2. placement: setups, windows, machine gaps, resources and power cap -> earliest start;
    3. energy deferral: a power-hungry op's cheapest start within its slack;
    4. mode choice: the mode (and start) of an op;
    5. eligible ops: the heap or list of ops whose predecessors are all placed, commit, take;
    6. reset of the workspace;
    7. main loop: take and place ops, commit one, drop placements a commit made stale;
    8. the violation of the finished schedule."""

    # -- part: fast path
    serial = scheme == SERIAL or scheme == APPEND  # take the op first, then place it
    if p.plain and serial and rule == STATIC and not defer.any() and rank_table(prio, w.rank_op):
        return decode_plain(p, w, scheme == APPEND, prio, w.rank_op, assign, least_energy)

    # -- part: placement
    def setup(m: int, before: int, after: int) -> int:
        """Setup on machine m from family `before` to `after` (-1: no family, no setup)."""
        if before < 0 or after < 0:
            return 0
        return p.setup[m, before, after]

    def window_hit(m: int, a: int, b: int) -> int:
        """Index of the first unavailability window of machine m meeting [a, b), or -1."""
        lo = p.unav_ptr[m]
        hi = p.unav_ptr[m + 1]
        if lo == hi or b <= a:
            return -1
        k = lo + np.searchsorted(p.unav_end[lo:hi], a, side="right")
        if k < hi and p.unav_start[k] < b:
            return k
        return -1

    def machine_fit(o: int, m: int, d: int, t: int) -> int:
        """Earliest start >= t of op o (duration d) in a gap of machine m, setups from the op
        before and to the op after placed right before their ops, window-free; -1 if none."""
        fam = p.op_family[o] if p.has_setups else -1  # -1: no setup to or from o
        windows = p.unav_ptr[m] < p.unav_ptr[m + 1]
        cnt = w.mach_cnt[m]
        lo, hi = 0, cnt  # the first gap that can hold a start >= t
        if scheme == APPEND:
            lo = cnt
        while lo < hi:
            mid = (lo + hi) // 2
            if w.start[w.mach_ops[m, mid]] > t:
                hi = mid
            else:
                lo = mid + 1
        for g in range(lo, cnt + 1):
            s = t
            before = 0
            if g > 0:
                prev = w.mach_ops[m, g - 1]
                before = setup(m, p.op_family[prev], fam)
                s = max(s, w.end[prev] + before)
            limit = p.span
            if g < cnt:
                nxt = w.mach_ops[m, g]
                after = setup(m, fam, p.op_family[nxt])
                if after > 0 and window_hit(m, w.start[nxt] - after, w.start[nxt]) >= 0:
                    continue
                limit = min(limit, w.start[nxt] - after)
            while s + d <= limit:
                if windows:
                    k = window_hit(m, s, s + d)
                    if k >= 0:
                        s = p.unav_end[k]
                        continue
                    if before > 0:
                        k = window_hit(m, s - before, s)
                        if k >= 0:
                            s = p.unav_end[k] + before
                            continue
                return s
        return -1

    def capacity_conflict(k: int, t: int, d: int) -> int:
        """The latest tick of [t, t+d) where a resource or the power cap cannot take mode k's
        demand, or -1."""
        worst = -1
        for r in range(p.n_res):
            q = p.mode_demand[k, r]
            if q > 0:
                for u in range(t + d - 1, max(t, worst + 1) - 1, -1):
                    if w.res_rem[r, u] < q:
                        worst = u
                        break
        kw = p.mode_power[k]
        if p.has_cap and kw > 0:
            for u in range(t + d - 1, max(t, worst + 1) - 1, -1):
                if w.pow_rem[u] + p.cap_tol[u] < kw:
                    worst = u
                    break
        return worst

    def earliest(o: int, k: int, t: int) -> int:
        """Earliest start >= t of op o in mode k meeting every constraint, or -1. A zero-
        duration op occupies no machine time, resource or power (DESIGN section 11)."""
        m = p.mode_machine[k]
        d = p.mode_duration[k]
        if d == 0:
            return t if t <= p.span else -1
        while t + d <= p.span:
            t = machine_fit(o, m, d, t)
            if t < 0:
                return -1
            u = capacity_conflict(k, t, d)
            if u < 0:
                return t
            t = u + 1
        return -1

    # -- part: energy deferral
    def price(k: int, s: int) -> float:
        """Tariff and carbon of mode k started at s, weighted as the energy rule prices them."""
        e = s + p.mode_duration[k]
        total = 0.0
        if p.price_tariff > 0:
            area = step_integral(p.tariff_start, p.tariff_value, s, e)
            total += p.price_tariff * area
        if p.price_carbon > 0:
            area = step_integral(p.carbon_start, p.carbon_value, s, e)
            total += p.price_carbon * area
        return p.mode_power[k] * p.hours_per_tick * total

    def latest_deferred_start(o: int, k: int) -> int:
        """How late op o in mode k may be deferred: its job's due date, else its deadline,
        else (when the first objective level has no time term) the given horizon, less the
        shortest remaining path; else the latest end so far less d."""
        j = p.op_job[o]
        d = p.mode_duration[k]
        if p.job_due[j] >= 0:
            lst = p.job_due[j] - p.op_tail[o]
        elif p.job_deadline[j] >= 0:
            lst = p.job_deadline[j] - p.op_tail[o]
        elif p.defer_to_horizon:
            lst = p.horizon - p.op_tail[o]
        else:
            lst = w.state[2] - d
        return min(lst, p.op_deadline[o] - d)

    def next_candidate(
        d: int, s0: int, lst: int, src: int, i: int, half: int
    ) -> tuple[int, int, int, int]:
        """The next deferred start in (s0, lst] and the advanced cursor (src 1: tariff steps,
        2: carbon steps, 3: lst itself; i: step index; half 0: end at step start b, 1: start
        at b); -1 when none is left. The price of a start is linear between these points."""
        while src <= 2:
            starts = p.tariff_start if src == 1 else p.carbon_start
            weight = p.price_tariff if src == 1 else p.price_carbon
            if weight > 0 and i < starts.size and starts[i] <= lst + d:
                b = starts[i]
                if half == 0:
                    half = 1
                    if s0 < b - d <= lst:
                        return b - d, src, i, half
                else:
                    half = 0
                    i += 1
                    if s0 < b <= lst:
                        return b, src, i, half
            else:
                src += 1
                half = 0
                i = int(np.searchsorted(p.carbon_start, s0, side="right")) if src == 2 else 0
        if src == 3:
            return lst, 4, i, half
        return -1, src, i, half

    def place_mode(o: int, k: int) -> int:
        """Start of op o in mode k: the earliest feasible one, or when deferring a power-hungry
        op the cheapest (then earliest) of the earliest feasible starts from its earliest
        start and from each price step start b or b - d, up to its latest deferred start."""
        kw = p.mode_power[k]
        lst = -1
        if defer[o] and kw > 0 and kw >= p.hungry_kw:
            lst = latest_deferred_start(o, k)
        d = p.mode_duration[k]
        c = w.ready[o]
        s0, best_s, best_c = -1, -1, 0.0
        src, i, half = 1, 0, 0
        while c >= 0:
            s = earliest(o, k, c)
            if s0 < 0:  # the first candidate: the earliest start, where deferral begins
                if s < 0 or lst <= s:
                    return s
                s0 = s
                i = int(np.searchsorted(p.tariff_start, s0, side="right"))
            if 0 <= s <= lst:
                cost = price(k, s)
                if best_s < 0 or cost < best_c or (cost == best_c and s < best_s):
                    best_s, best_c = s, cost
            c, src, i, half = next_candidate(d, s0, lst, src, i, half)
        return best_s

    # -- part: mode choice
    def place_op(o: int) -> tuple[int, int]:
        """(mode, start) of op o: its assigned mode, else the mode finishing first (ties: less
        energy) or using least energy (ties: finishing first), after the least price at its
        start when `p.mode_by_price`; (-1, -1) if none fits."""
        lo, hi = p.mode_ptr[o], p.mode_ptr[o + 1]
        if assign[o] >= 0:
            lo, hi = assign[o], assign[o] + 1
        best_k, best_s, best_e, best_kwh, best_c = -1, -1, 0, 0.0, 0.0
        for k in range(lo, hi):
            s = place_mode(o, k)
            if s < 0:
                continue
            e = s + p.mode_duration[k]
            kwh = p.mode_kwh[k]
            cost = price(k, s) if p.mode_by_price else 0.0
            if (
                best_k < 0
                or cost < best_c
                or (cost == best_c and preferred(least_energy, e, kwh, best_e, best_kwh))
            ):
                best_k, best_s, best_e, best_kwh, best_c = k, s, e, kwh, cost
        return best_k, best_s

    # -- part: eligible ops
    use_heap = serial and rule == STATIC  # the search's case: a binary heap

    def before(key_a: float, a: int, key_b: float, b: int) -> bool:
        """Whether op a (priority key_a) goes before op b: larger key, then lower index."""
        return key_a > key_b or (key_a == key_b and a < b)

    def add(o: int) -> None:
        """Make op o eligible (with no placement yet): sift it up the heap, or append it."""
        w.cand_mode[o] = -1
        i = w.state[1]
        w.state[1] += 1
        if use_heap:
            key = prio[o]
            while i > 0:
                up = (i - 1) >> 1
                if not before(key, o, w.heap_key[up], w.elig[up]):
                    break
                w.heap_key[i] = w.heap_key[up]
                w.elig[i] = w.elig[up]
                i = up
            w.heap_key[i] = key
        w.elig[i] = o

    def pop_heap() -> int:
        """Remove and return the heap's top op."""
        top = w.elig[0]
        w.state[1] -= 1
        n = w.state[1]
        key, o = w.heap_key[n], w.elig[n]
        i = 0
        while 2 * i + 1 < n:
            c = 2 * i + 1
            if c + 1 < n and before(w.heap_key[c + 1], w.elig[c + 1], w.heap_key[c], w.elig[c]):
                c += 1
            if not before(w.heap_key[c], w.elig[c], key, o):
                break
            w.heap_key[i] = w.heap_key[c]
            w.elig[i] = w.elig[c]
            i = c
        w.heap_key[i] = key
        w.elig[i] = o
        return top

    def commit(o: int, k: int, s: int) -> None:
        """Place op o in mode k at s: machine sequence (unless it takes no time), time lines,
        job counters, successors."""
        m = p.mode_machine[k]
        e = s + p.mode_duration[k]
        if e > s:
            pos = w.mach_cnt[m]
            while pos > 0 and w.start[w.mach_ops[m, pos - 1]] > s:
                w.mach_ops[m, pos] = w.mach_ops[m, pos - 1]
                pos -= 1
            w.mach_ops[m, pos] = o
            w.mach_cnt[m] += 1
        w.start[o] = s
        w.end[o] = e
        w.mode[o] = k
        for r in range(p.n_res):
            q = p.mode_demand[k, r]
            if q > 0:
                w.res_rem[r, s:e] -= q
        if p.has_cap and p.mode_power[k] > 0:
            w.pow_rem[s:e] -= p.mode_power[k]
        w.state[0] = max(w.state[0], e)
        w.state[2] = max(w.state[2], e)
        j = p.op_job[o]
        w.job_work_left[j] -= p.op_pmin[o]
        w.job_ops_left[j] -= 1
        for i in range(p.succ_ptr[o], p.succ_ptr[o + 1]):
            x = p.succ_op[i]
            w.ready[x] = max(w.ready[x], e + p.succ_lag[i])
            w.npred[x] -= 1
            if w.npred[x] == 0:
                add(x)

    def take() -> int:
        """Remove and return the op to place next. Serial: the highest priority at its ready
        time. Otherwise (placements in w.cand_*): among the ops starting first (non-delay),
        or the op finishing first and those on its machine that start before it ends."""
        if use_heap:
            return pop_heap()
        n_elig = w.state[1]
        m, first_t, first_o = -1, 0, -1
        if not serial:
            for i in range(n_elig):
                o = w.elig[i]
                t = w.cand_start[o]
                if scheme == ACTIVE:
                    t += p.mode_duration[w.cand_mode[o]]
                if first_o < 0 or t < first_t or (t == first_t and o < first_o):
                    first_o, first_t = o, t
            m = p.mode_machine[w.cand_mode[first_o]]
        best_i, best_key = -1, 0.0
        for i in range(n_elig):
            o = w.elig[i]
            if serial:
                t = w.ready[o]
            else:
                t = w.cand_start[o]
                if scheme == NONDELAY and t != first_t:
                    continue
                # active: the first to finish, and ops on its machine starting before that
                off = p.mode_machine[w.cand_mode[o]] != m or t >= first_t
                if scheme == ACTIVE and o != first_o and off:
                    continue
            if rule == STATIC:
                key = prio[o]
            else:
                j = p.op_job[o]
                key = priority(
                    rule,
                    w.ready[o],
                    p.op_pmin[o],
                    w.job_work_left[j],
                    w.job_ops_left[j],
                    p.job_target[j],
                    p.job_weight[j],
                    p.atc_scale,
                    t,
                )
            if best_i < 0 or before(key, o, best_key, w.elig[best_i]):
                best_i, best_key = i, key
        o = w.elig[best_i]
        w.state[1] -= 1
        w.elig[best_i] = w.elig[w.state[1]]
        return o

    # -- part: reset (time lines are restored only where the last decode used them)
    used = w.state[0]
    for r in range(p.n_res):
        w.res_rem[r, :used] = p.res_capacity[r]
    if p.has_cap:
        w.pow_rem[:used] = p.cap_tick[:used]
    w.state[:] = 0
    w.mach_cnt[:] = 0
    for o in range(p.n_ops):
        w.start[o] = -1
        w.end[o] = -1
        w.mode[o] = -1
        w.ready[o] = p.op_release[o]
        w.npred[o] = p.pred_ptr[o + 1] - p.pred_ptr[o]
        if w.npred[o] == 0:
            add(o)
    w.job_work_left[:] = p.job_work
    for j in range(p.n_jobs):
        w.job_ops_left[j] = p.job_op_ptr[j + 1] - p.job_op_ptr[j]

    # -- part: main loop
    # active and non-delay keep each eligible op's placement until a commit may change it: one
    # on a machine it can use (setups may even make it earlier), one overlapping it in time
    # when resources or a power cap couple ops, any commit when deferring (which reads the
    # latest end)
    capacities = p.n_res > 0 or p.has_cap
    deferring = defer.any()
    places = 0
    for step in range(p.n_ops):
        # serial takes the op then places it; the others place the eligible ops, then take
        o = -1
        for phase in range(2):
            if (phase == 0) == serial:
                o = take()
                continue
            for c in range(1 if serial else w.state[1]):
                x = o if serial else w.elig[c]
                if w.cand_mode[x] >= 0:
                    continue
                places += 1
                if places % CLOCK_EVERY == 0 and deadline < NO_DEADLINE and clock() > deadline:
                    return ABORTED
                k, s = place_op(x)
                if k < 0:
                    return FAILED
                w.cand_mode[x] = k
                w.cand_start[x] = s
        m = p.mode_machine[w.cand_mode[o]]
        commit(o, w.cand_mode[o], w.cand_start[o])
        w.seq[step] = o
        for c in range(0 if serial else w.state[1]):
            x = w.elig[c]
            kx = w.cand_mode[x]
            if kx < 0:
                continue
            stale = deferring or (
                capacities
                and w.cand_start[x] < w.end[o]
                and w.start[o] < w.cand_start[x] + p.mode_duration[kx]
            )
            for k in range(p.mode_ptr[x], p.mode_ptr[x + 1]):
                stale = stale or p.mode_machine[k] == m
            if stale:
                w.cand_mode[x] = -1
    # -- part: violation
    return violation(p, w.start, w.end, w.mode)
