"""Double justification (Numba): shift every operation of a schedule as late as it can go
within the makespan, then as early as it can go, machine sequences and modes kept.

Valls, Ballestin and Quintanilla (2005), "Justification and RCPSP: a technique that pays":
right-justifying in decreasing order of end, then left-justifying in increasing order of
the right-justified starts, never lengthens a schedule (each op ends no later than before, an
induction over the order) and regroups the draws on shared capacities, here the power cap and
the resources, which a list scheduler hands out greedily. Windows, setups, lags and deadlines
are kept as the decoders keep them."""

from __future__ import annotations

import numpy as np
from numba import njit

from scheduler.core.objective import Objective
from solvers.heuristics.clock import clock
from solvers.heuristics.evaluate import violation
from solvers.heuristics.problem import ABORTED, CLOCK_EVERY, NO_DEADLINE, Problem

UNCHANGED = -2.0  # what `justify` returns when it leaves the schedule as it was
ROUNDS = 10  # double justifications of one schedule at most (they stop once one gains nothing)
JOB_TERMS = {"weighted_tardiness", "total_flow_time", "deviation"}  # terms a job's end moves


@njit(cache=True, nogil=True)
def _by(first: np.ndarray, then: np.ndarray) -> np.ndarray:
    """Indices sorting by `first`, ties by `then`, then by index."""
    order = np.argsort(then, kind="mergesort")
    return order[np.argsort(first[order], kind="mergesort")]


@njit(cache=True, nogil=True)
def justify(
    p: Problem,
    start: np.ndarray,
    end: np.ndarray,
    mode: np.ndarray,
    job_late: np.ndarray,
    rounds: int,
    deadline: float,
    strict: bool,
) -> float:
    """Double-justify the complete schedule in `start`/`end`/`mode` in place, up to `rounds`
    times while it gets shorter (not `strict`: the first round also when no longer, for a
    schedule a move has changed, whose passes rebuild it feasible); no op of job j is pushed to
    end past `job_late[j]` (at least the job's end: what the objective lets it reach).
    Returns the violation, UNCHANGED when no round shortened it (or an order it relies on
    broke), or ABORTED once the clock passes `deadline`."""
    n = p.n_ops
    fam = p.op_family
    dur = np.empty(n, dtype=np.int64)
    mach = np.full(n, -1, dtype=np.int64)
    for o in range(n):
        if mode[o] < 0 or start[o] < 0:
            return UNCHANGED
        dur[o] = p.mode_duration[mode[o]]
        if dur[o] > 0:
            mach[o] = p.mode_machine[mode[o]]
    # machine sequences, fixed: the op before and after each op on its machine
    mprev = np.full(n, -1, dtype=np.int64)
    mnext = np.full(n, -1, dtype=np.int64)
    last = np.full(p.n_machines, -1, dtype=np.int64)
    for o in np.argsort(start, kind="mergesort"):
        m = mach[o]
        if m >= 0:
            if last[m] >= 0:
                mprev[o] = last[m]
                mnext[last[m]] = o
            last[m] = o
    makespan = 0
    for o in range(n):
        makespan = max(makespan, end[o])
    if makespan > p.span:  # (a move may have stretched an op past the time lines)
        return UNCHANGED
    span = makespan  # the time lines: no pass places an op past the makespan
    pw = np.empty(span, dtype=np.float64)  # power left per tick
    rr = np.empty((p.n_res, span), dtype=np.int64)  # resource capacity left per tick
    tol = p.cap_tol[:span] if p.has_cap else np.zeros(span)
    bs = np.empty(n, dtype=np.int64)
    done = np.zeros(n, dtype=np.bool_)

    def setup(o: int, x: int) -> int:
        """The changeover from op o to op x on x's machine (0 if o is none)."""
        if o < 0 or not p.has_setups:
            return 0
        return p.setup[mach[x], fam[o], fam[x]]

    # window_hit repeats the decoders' closure on purpose (see `batching.batch_decode`)
    def window_hit(m: int, a: int, b: int) -> int:
        lo = p.unav_ptr[m]
        hi = p.unav_ptr[m + 1]
        if lo == hi or b <= a:
            return -1
        k = lo + np.searchsorted(p.unav_end[lo:hi], a, side="right")
        if k < hi and p.unav_start[k] < b:
            return k
        return -1

    def conflict(k: int, t: int, d: int, latest: bool) -> int:
        """The earliest (or `latest`) tick of [t, t+d) where the power cap or a resource
        cannot take mode k, or -1."""
        kw = p.mode_power[k]
        for i in range(d):
            u = t + d - 1 - i if latest else t + i
            if p.has_cap and kw > 0 and pw[u] + tol[u] < kw:
                return u
            for r in range(p.n_res):
                if rr[r, u] < p.mode_demand[k, r]:
                    return u
        return -1

    def reset() -> None:
        for u in range(span):
            pw[u] = p.cap_tick[u] if p.has_cap else 0.0
        for r in range(p.n_res):
            rr[r, :] = p.res_capacity[r]
        done[:] = False

    def take(k: int, s: int, d: int) -> None:
        for u in range(s, s + d):
            pw[u] -= p.mode_power[k]
            for r in range(p.n_res):
                rr[r, u] -= p.mode_demand[k, r]

    result = UNCHANGED
    for _ in range(rounds):
        # right: in decreasing order of end, each op at its latest start
        reset()
        order = _by(-end, -start)
        for i in range(n):
            if i % CLOCK_EVERY == 0 and deadline < NO_DEADLINE and clock() > deadline:
                return ABORTED
            o = order[i]
            k, d, m = mode[o], dur[o], mach[o]
            late = min(makespan, job_late[p.op_job[o]], p.op_deadline[o])
            for j in range(p.succ_ptr[o], p.succ_ptr[o + 1]):
                x = p.succ_op[j]
                if not done[x]:
                    return result
                late = min(late, bs[x] - p.succ_lag[j])
            if m >= 0 and mnext[o] >= 0:
                x = mnext[o]
                if not done[x]:
                    return result
                late = min(late, bs[x] - setup(o, x))
            su = setup(mprev[o], o) if m >= 0 else 0
            s = late - d
            while s >= p.op_release[o]:
                if m >= 0:
                    h = window_hit(m, s - su, s + d)
                    if h >= 0:
                        s = p.unav_start[h] - d
                        continue
                u = conflict(k, s, d, False)
                if u < 0:
                    break
                s = u - d
            if s < p.op_release[o]:
                return result
            bs[o] = s
            done[o] = True
            take(k, s, d)
        # left: in increasing order of the right-justified start, each op at its earliest
        reset()
        order = _by(bs, bs + dur)
        new_start = np.empty(n, dtype=np.int64)
        longest = 0
        for i in range(n):
            if i % CLOCK_EVERY == 0 and deadline < NO_DEADLINE and clock() > deadline:
                return ABORTED
            o = order[i]
            k, d, m = mode[o], dur[o], mach[o]
            t = p.op_release[o]
            for j in range(p.pred_ptr[o], p.pred_ptr[o + 1]):
                x = p.pred_op[j]
                if not done[x]:
                    return result
                t = max(t, new_start[x] + dur[x] + p.pred_lag[j])
            su = 0
            if m >= 0 and mprev[o] >= 0:
                x = mprev[o]
                if not done[x]:
                    return result
                su = setup(x, o)
                t = max(t, new_start[x] + dur[x] + su)
            while t + d <= span:
                if m >= 0:
                    h = window_hit(m, t - su, t + d)
                    if h >= 0:
                        t = p.unav_end[h] + su
                        continue
                u = conflict(k, t, d, True)
                if u < 0:
                    break
                t = u + 1
            if t + d > span:
                return result
            new_start[o] = t
            done[o] = True
            take(k, t, d)
            longest = max(longest, t + d)
        if longest > makespan or (longest == makespan and (strict or result != UNCHANGED)):
            break
        makespan = longest
        for o in range(n):
            start[o] = new_start[o]
            end[o] = new_start[o] + dur[o]
        result = violation(p, start, end, mode)
    return result


def justifies(p: Problem) -> bool:
    """Whether justification can move a schedule: only shared capacities (the power cap,
    resources) let an op start earlier with its machine's sequence kept."""
    return p.has_cap or p.n_res > 0


def job_latest_ends(p: Problem, objective: Objective, end: np.ndarray) -> np.ndarray:
    """Per job, how late the right pass may push its ops without the objective getting worse
    through them: the makespan when it counts alone among the job terms, else the job's end
    (or its due date, if later, under weighted tardiness)."""
    done = np.maximum.reduceat(end, p.job_op_ptr[:-1])
    terms = {t for level in objective.levels for t, _ in level}
    if not terms & JOB_TERMS:
        return np.full(p.n_jobs, int(end.max()), dtype=np.int64)
    if "weighted_tardiness" in terms and "total_flow_time" not in terms:
        done = np.maximum(done, p.job_due)
    return done.astype(np.int64)


def justified(
    p: Problem,
    objective: Objective,
    start: np.ndarray,
    end: np.ndarray,
    mode: np.ndarray,
    deadline: float,
    strict: bool = True,
) -> tuple[np.ndarray, float] | None:
    """The double justification of a complete schedule, on copies: (start, violation), or
    None when it did not get shorter (`strict`; else: came out longer, or could not be
    rebuilt) or the clock passed `deadline`."""
    start, end = start.copy(), end.copy()
    late = job_latest_ends(p, objective, end)
    viol = justify(p, start, end, mode, late, ROUNDS, deadline, strict)
    if viol < 0:
        return None
    return start, viol
