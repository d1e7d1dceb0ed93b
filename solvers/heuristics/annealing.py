"""Simulated annealing over the priority vector and the mode assignment (Numba), for any
objective: each move is evaluated by a full decode (serial or append scheme, alternating at
restarts).

Moves: put an op of a critical chain just ahead of its machine predecessor when that one binds
it (the critical-block move of job-shop tabu searches, in priority space); shift an op a few
priority ranks; change an op's mode (or hand it back to the machine selection); switch the
energy-aware deferral of a power-hungry op on or off.
The state lives in a `SearchState` so the search runs in short chunks between which Python
reads the clock, records progress and sets the temperature."""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from numba import njit

from solvers.heuristics.decode import APPEND, FAILED, SERIAL, STATIC, decode
from solvers.heuristics.evaluate import N_TERMS, relative_delta, score
from solvers.heuristics.plain import decode_plain
from solvers.heuristics.problem import NO_DEADLINE, Problem, Workspace

U64 = np.uint64
MODE_MOVE_SHARE = 0.2  # of moves, when some op has several modes
DEFER_MOVE_SHARE = 0.1  # of moves, when some op is power-hungry under a price
CRITICAL_MOVE_SHARE = 0.8  # of the priority moves


class SearchState(NamedTuple):
    """What one annealing run optimises, its current and best solution, its random stream."""

    levels: np.ndarray  # objective levels x terms weights (problem.level_matrix)
    caps: np.ndarray  # upper bounds on the terms (problem.term_caps)
    prio: np.ndarray  # a permutation of 0..n-1 as floats: larger goes first
    rank_op: np.ndarray  # the op holding each priority value
    assign: np.ndarray  # fixed global mode per op, -1: left to the machine selection
    defer: np.ndarray  # bool per op: deferred into cheaper periods (decode's `defer`)
    start: np.ndarray  # the current schedule
    mode: np.ndarray
    mpred: np.ndarray  # the op before each op on its machine, -1 for the first
    viol: np.ndarray  # [1]
    vals: np.ndarray  # [n_levels]
    best_prio: np.ndarray
    best_assign: np.ndarray
    best_defer: np.ndarray
    best_start: np.ndarray
    best_mode: np.ndarray
    best_viol: np.ndarray
    best_vals: np.ndarray
    new_vals: np.ndarray
    term_buf: np.ndarray  # [N_TERMS]
    chain: np.ndarray  # scratch: ops of a critical chain bound by their machine predecessor
    stack: np.ndarray  # scratch of the critical move
    saved_prio: np.ndarray  # priorities before the move being tried
    saved_rank: np.ndarray
    multi: np.ndarray  # ops with several modes
    hungry: np.ndarray  # ops whose deferral may be switched
    rng: np.ndarray  # [1] uint64 xorshift state
    counters: np.ndarray  # [0] moves since the best improved, [1] moves done
    scheme: np.ndarray  # [1] the decoding scheme in use: SERIAL or APPEND


def make_state(
    p: Problem,
    levels: np.ndarray,
    caps: np.ndarray,
    seq: np.ndarray,
    assign: np.ndarray,
    defer: np.ndarray,
    seed: int,
) -> SearchState:
    """A state whose priorities replay the placement order `seq` (first placed = highest)."""
    n = p.n_ops
    n_levels = levels.shape[0]
    prio = np.zeros(n, dtype=np.float64)
    prio[seq] = np.arange(n - 1, -1, -1, dtype=np.float64)
    n_modes = np.diff(p.mode_ptr)
    return SearchState(
        levels=levels,
        caps=caps,
        prio=prio,
        rank_op=np.ascontiguousarray(seq[::-1], dtype=np.int64),
        assign=np.array(assign, dtype=np.int64),  # (copies: the search changes them)
        defer=np.array(defer, dtype=np.bool_),
        start=np.zeros(n, dtype=np.int64),
        mode=np.zeros(n, dtype=np.int64),
        mpred=np.full(n, -1, dtype=np.int64),
        viol=np.full(1, np.inf),
        vals=np.zeros(n_levels),
        best_prio=prio.copy(),
        best_assign=np.array(assign, dtype=np.int64),
        best_defer=np.array(defer, dtype=np.bool_),
        best_start=np.zeros(n, dtype=np.int64),
        best_mode=np.zeros(n, dtype=np.int64),
        best_viol=np.full(1, np.inf),
        best_vals=np.zeros(n_levels),
        new_vals=np.zeros(n_levels),
        term_buf=np.zeros(N_TERMS),
        chain=np.zeros(n, dtype=np.int64),
        stack=np.zeros(n, dtype=np.int64),
        saved_prio=prio.copy(),
        saved_rank=np.ascontiguousarray(seq[::-1], dtype=np.int64),
        multi=np.ascontiguousarray(np.flatnonzero(n_modes > 1), dtype=np.int64),
        hungry=np.ascontiguousarray(np.flatnonzero(p.op_hungry), dtype=np.int64),
        rng=np.array([(seed * 0x9E3779B97F4A7C15 + 0x632BE59BD9B4E019) % 2**64 or 1], dtype=U64),
        counters=np.zeros(2, dtype=np.int64),
        scheme=np.full(1, SERIAL, dtype=np.int64),
    )


@njit(cache=True)
def _uniform(rng: np.ndarray) -> float:
    """A uniform float in [0, 1) from the xorshift64* stream in rng[0]."""
    x = rng[0]
    x ^= x >> U64(12)
    x ^= x << U64(25)
    x ^= x >> U64(27)
    rng[0] = x
    return float((x * U64(2685821657736338717)) >> U64(11)) * (1.0 / 9007199254740992.0)


@njit(cache=True)
def _below(rng: np.ndarray, n: int) -> int:
    """A uniform integer in [0, n)."""
    return min(int(_uniform(rng) * n), n - 1)


@njit(cache=True)
def _move(prio: np.ndarray, rank_op: np.ndarray, a: int, to: int) -> None:
    """Give op a the priority rank `to`, shifting the ops ranked in between by one."""
    r = int(prio[a])
    step = 1 if to > r else -1
    while r != to:
        x = rank_op[r + step]
        rank_op[r] = x
        prio[x] = r
        r += step
    rank_op[to] = a
    prio[a] = to


@njit(cache=True)
def _pull_ahead(p: Problem, st: SearchState, a: int, to: int) -> None:
    """Rank op a at `to` (just ahead of the op holding it), and each of its ancestors ranked
    below it just ahead of it, so that a can actually be placed that early."""
    _move(st.prio, st.rank_op, a, to)
    st.stack[0] = a
    top = 1
    while top > 0:
        top -= 1
        x = st.stack[top]
        for i in range(p.pred_ptr[x], p.pred_ptr[x + 1]):
            y = p.pred_op[i]
            if st.prio[y] < st.prio[x]:
                _move(st.prio, st.rank_op, y, int(st.prio[x]))
                if top < st.stack.size:  # an ancestor pulled twice is followed once
                    st.stack[top] = y
                    top += 1


@njit(cache=True)
def _adopt(p: Problem, w: Workspace, st: SearchState, viol: float) -> None:
    """Make the decoded schedule in w the current one."""
    st.start[:] = w.start
    st.mode[:] = w.mode
    for m in range(p.n_machines):
        ops = w.mach_ops[m]
        for i in range(w.mach_cnt[m]):
            st.mpred[ops[i]] = ops[i - 1] if i > 0 else -1
    st.viol[0] = viol
    st.vals[:] = st.new_vals


@njit(cache=True)
def _critical_pairs(p: Problem, st: SearchState, makespan_first: bool) -> int:
    """Walk back from the op ending last (or from the end of a random job) along binding
    predecessors; st.chain[:n] gets the ops whose machine predecessor binds them."""
    o = -1
    if makespan_first:
        best_e = -1
        for x in range(p.n_ops):
            e = st.start[x] + p.mode_duration[st.mode[x]]
            if e > best_e:
                o, best_e = x, e
    else:
        j = _below(st.rng, p.n_jobs)
        best_e = -1
        for x in range(p.job_op_ptr[j], p.job_op_ptr[j + 1]):
            e = st.start[x] + p.mode_duration[st.mode[x]]
            if e > best_e:
                o, best_e = x, e
    n = 0
    while o >= 0:
        s = st.start[o]
        q = st.mpred[o]
        by_machine = False
        if q >= 0:
            m = p.mode_machine[st.mode[o]]
            fq, fo = p.op_family[q], p.op_family[o]
            gap = p.setup[m, fq, fo] if fq >= 0 and fo >= 0 else 0
            by_machine = st.start[q] + p.mode_duration[st.mode[q]] + gap == s
        by_job = -1
        for i in range(p.pred_ptr[o], p.pred_ptr[o + 1]):
            x = p.pred_op[i]
            if st.start[x] + p.mode_duration[st.mode[x]] + p.pred_lag[i] == s:
                by_job = x
                break
        if by_machine and (by_job < 0 or _uniform(st.rng) < 0.5):
            st.chain[n] = o
            n += 1
            o = q
        else:
            o = by_job
    return n


@njit(cache=True)
def _evaluate(
    p: Problem,
    w: Workspace,
    st: SearchState,
    scheme: int,
    least_energy: bool,
) -> float:
    """Decode the current priorities, assignment and deferrals; level values into
    st.new_vals; returns the violation, bounds included."""
    if p.plain and not st.defer.any():  # the fast decoder, given the ranks the state keeps
        viol = decode_plain(p, w, scheme == APPEND, st.prio, st.rank_op, st.assign, least_energy)
    else:
        viol = decode(p, w, scheme, STATIC, st.prio, st.assign, least_energy, st.defer, NO_DEADLINE)
    if viol != FAILED:
        viol += score(p, w.start, w.mode, st.levels, st.caps, st.term_buf, st.new_vals)
    return viol


@njit(cache=True)
def _take_best(p: Problem, w: Workspace, st: SearchState, viol: float) -> None:
    """Record the current schedule as the best."""
    st.best_prio[:] = st.prio
    st.best_assign[:] = st.assign
    st.best_defer[:] = st.defer
    st.best_start[:] = w.start
    st.best_mode[:] = w.mode
    st.best_viol[0] = viol
    st.best_vals[:] = st.new_vals


@njit(cache=True)
def start_search(
    p: Problem,
    w: Workspace,
    st: SearchState,
    scheme: int,
    least_energy: bool,
) -> float:
    """Decode the initial priorities with `scheme` (serial or append, the scheme the search
    starts with): they become the current and the best solution."""
    st.scheme[0] = scheme
    viol = _evaluate(p, w, st, scheme, least_energy)
    if viol != FAILED:
        _adopt(p, w, st, viol)
        _take_best(p, w, st, viol)
    return viol


@njit(cache=True, nogil=True)
def anneal(
    p: Problem,
    w: Workspace,
    st: SearchState,
    least_energy: bool,
    iterations: int,
    temperature: float,
    makespan_first: bool,
    restart_after: int,
) -> int:
    """Run `iterations` moves at `temperature` (relative worsening accepted with probability
    exp(-delta / temperature)); after `restart_after` moves without a new best, continue from
    the best, decoding from then on with the other of the serial (gap insertion) and append
    (semi-active, twice as fast) schemes, each of which wins on some instances. Returns how
    many times the best improved."""
    n = p.n_ops
    improved = 0
    if n < 2 or st.viol[0] == FAILED:
        return improved
    near = max(1, n // 10)
    for _ in range(iterations):
        st.counters[1] += 1
        kind, a, to, old = 0, -1, -1, -1
        u = _uniform(st.rng)
        if st.hungry.size > 0 and u < DEFER_MOVE_SHARE:
            kind = 2
            a = st.hungry[_below(st.rng, st.hungry.size)]
            st.defer[a] = not st.defer[a]
        elif st.multi.size > 0 and u < DEFER_MOVE_SHARE + MODE_MOVE_SHARE:
            kind = 1
            a = st.multi[_below(st.rng, st.multi.size)]
            old = st.assign[a]
            lo, hi = p.mode_ptr[a], p.mode_ptr[a + 1]
            choice = lo - 1 + _below(st.rng, hi - lo + 1)  # lo - 1 stands for "selection decides"
            if choice == old:
                choice = lo - 1 if old >= lo else lo
            st.assign[a] = choice if choice >= lo else -1
        else:
            if _uniform(st.rng) < CRITICAL_MOVE_SHARE:
                count = _critical_pairs(p, st, makespan_first)
                if count > 0:
                    a = st.chain[_below(st.rng, count)]
                    to = int(st.prio[st.mpred[a]])  # just ahead of its machine predecessor
                    if st.prio[a] > to:
                        a = -1
            if a < 0:
                a = _below(st.rng, n)
                shift = (1 + _below(st.rng, near)) * (1 if _uniform(st.rng) < 0.5 else -1)
                to = min(max(int(st.prio[a]) + shift, 0), n - 1)
            if to == int(st.prio[a]):
                continue
            st.saved_prio[:] = st.prio
            st.saved_rank[:] = st.rank_op
            _pull_ahead(p, st, a, to)
        viol = _evaluate(p, w, st, st.scheme[0], least_energy)
        delta = (
            math.inf if viol == FAILED else relative_delta(viol, st.new_vals, st.viol[0], st.vals)
        )
        if delta <= 0.0 or (temperature > 0 and _uniform(st.rng) < math.exp(-delta / temperature)):
            _adopt(p, w, st, viol)
            if relative_delta(viol, st.new_vals, st.best_viol[0], st.best_vals) < 0.0:
                _take_best(p, w, st, viol)
                st.counters[0] = 0
                improved += 1
                continue
        elif kind == 1:
            st.assign[a] = old
        elif kind == 2:
            st.defer[a] = not st.defer[a]
        else:
            st.prio[:] = st.saved_prio
            st.rank_op[:] = st.saved_rank
        st.counters[0] += 1
        if st.counters[0] >= restart_after:
            st.counters[0] = 0
            st.prio[:] = st.best_prio
            for o in range(n):
                st.rank_op[int(st.prio[o])] = o
            st.assign[:] = st.best_assign
            st.defer[:] = st.best_defer
            st.scheme[0] = APPEND if st.scheme[0] == SERIAL else SERIAL
            _adopt(p, w, st, _evaluate(p, w, st, st.scheme[0], least_energy))
    return improved
