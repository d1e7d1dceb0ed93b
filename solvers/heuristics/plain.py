"""The fast decoder (Numba) for what the local search decodes most: static priorities that are
ranks (a permutation of 0..n-1), the serial or append scheme, no deferral, on a plain instance
(no setups, unavailability windows, resources or power cap). It gives the schedule `decode`
gives, about 1.4x faster on the append scheme: the eligible ops are a bit set over ranks
instead of a heap, and an op's start needs no search for conflicts."""

from __future__ import annotations

import numpy as np
from numba import njit
from numba.cpython.unsafe.numbers import leading_zeros

from solvers.heuristics.evaluate import carbon_violation
from solvers.heuristics.problem import FAILED, Problem, Workspace

ONE = np.uint64(1)


@njit(cache=True)
def rank_table(prio: np.ndarray, rank_op: np.ndarray) -> bool:
    """Whether `prio` is a permutation of 0..n-1; if so, rank_op[r] becomes the op of rank r."""
    n = prio.size
    rank_op[:] = -1
    for o in range(n):
        r = int(prio[o])
        if not 0 <= r < n or r != prio[o] or rank_op[r] >= 0:
            return False
        rank_op[r] = o
    return True


@njit(cache=True)
def preferred(least_energy: bool, e: int, kwh: float, best_e: int, best_kwh: float) -> bool:
    """The machine selection of both decoders: whether a mode ending at e with kwh of energy
    beats the best so far: ending first (ties: less energy), or with `least_energy` using
    least energy (ties: ending first)."""
    if least_energy:
        return kwh < best_kwh or (kwh == best_kwh and e < best_e)
    return e < best_e or (e == best_e and kwh < best_kwh)


@njit(cache=True)
def decode_plain(
    p: Problem,
    w: Workspace,
    append: bool,
    prio: np.ndarray,
    rank_op: np.ndarray,
    assign: np.ndarray,
    least_energy: bool,
) -> float:
    """`decode` of the serial (or `append`) scheme with static priorities `prio` that are
    ranks, `rank_op` their inverse (`rank_table`): same result in w, same return value."""
    free = np.zeros(p.n_machines, dtype=np.int64)  # end of each machine's last op (append)

    def fit(m: int, d: int, t: int) -> int:
        """Earliest start >= t of a d-tick op on machine m: after its last op (append), else
        in the first gap that holds it; -1 past the span."""
        cnt = w.mach_cnt[m]
        if append:
            s = max(t, free[m])
            return s if s + d <= p.span else -1
        lo, hi = 0, cnt  # the first op starting after t
        while lo < hi:
            mid = (lo + hi) >> 1
            if w.start[w.mach_ops[m, mid]] > t:
                hi = mid
            else:
                lo = mid + 1
        for g in range(lo, cnt + 1):
            s = max(t, w.end[w.mach_ops[m, g - 1]]) if g > 0 else t
            limit = p.span if g == cnt else w.start[w.mach_ops[m, g]]
            if s + d <= limit:
                return s
        return -1

    bits = np.zeros(p.n_ops // 64 + 1, dtype=np.uint64)
    w.mach_cnt[:] = 0
    w.start[:] = -1
    w.end[:] = -1
    w.mode[:] = -1
    w.ready[:] = p.op_release
    w.npred[:] = p.pred_ptr[1:] - p.pred_ptr[:-1]
    top = 0
    late = 0.0  # ticks past deadlines and the given horizon
    for o in range(p.n_ops):
        if w.npred[o] == 0:
            r = int(prio[o])
            bits[r >> 6] |= ONE << np.uint64(r & 63)
            top = max(top, r >> 6)
    for step in range(p.n_ops):
        while bits[top] == 0:
            top -= 1
        word = bits[top]
        b = 63 - leading_zeros(word)  # type: ignore[call-arg]
        bits[top] = word ^ (ONE << np.uint64(b))
        o = rank_op[64 * top + b]

        # the assigned mode, else the one finishing first (ties: less energy) or using least
        # energy (ties: finishing first); a zero-duration op takes no machine time
        lo, hi = p.mode_ptr[o], p.mode_ptr[o + 1]
        if assign[o] >= 0:
            lo, hi = assign[o], assign[o] + 1
        t = w.ready[o]
        best_k, best_s, best_e, best_kwh = -1, -1, 0, 0.0
        for k in range(lo, hi):
            d = p.mode_duration[k]
            s = fit(p.mode_machine[k], d, t) if d > 0 else (t if t <= p.span else -1)
            if s < 0:
                continue
            e = s + d
            kwh = p.mode_kwh[k]
            if best_k < 0 or preferred(least_energy, e, kwh, best_e, best_kwh):
                best_k, best_s, best_e, best_kwh = k, s, e, kwh
        if best_k < 0:
            return FAILED

        k, s, e = best_k, best_s, best_e
        if e > s:
            m = p.mode_machine[k]
            pos = w.mach_cnt[m]
            while not append and pos > 0 and w.start[w.mach_ops[m, pos - 1]] > s:
                w.mach_ops[m, pos] = w.mach_ops[m, pos - 1]
                pos -= 1
            w.mach_ops[m, pos] = o
            w.mach_cnt[m] += 1
            free[m] = max(free[m], e)
        w.start[o] = s
        w.end[o] = e
        w.mode[o] = k
        late += max(0, e - p.op_deadline[o])
        w.seq[step] = o
        for i in range(p.succ_ptr[o], p.succ_ptr[o + 1]):
            x = p.succ_op[i]
            w.ready[x] = max(w.ready[x], e + p.succ_lag[i])
            w.npred[x] -= 1
            if w.npred[x] == 0:
                r = int(prio[x])
                bits[r >> 6] |= ONE << np.uint64(r & 63)
                top = max(top, r >> 6)
    return late + carbon_violation(p, w.start, w.mode)
