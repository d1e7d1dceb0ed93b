"""Tabu search on the disjunctive graph (Numba) for the makespan of plain instances: the
classic job-shop improvement method, where the priority-space annealing is weak.

A solution is the mode of every op and the order of the ops on each machine; its schedule is
the earliest start of every op (longest paths from release dates, precedence lags and machine
order). Moves, all on one critical path: swap the first or the last two ops of a critical
block (the N5/N7 neighbourhood of Nowicki-Smutnicki), or give a critical op another mode
(another machine, inserted where its current start falls). Every move is evaluated exactly
by recomputing the longest paths (a move that would close a cycle is skipped). The reverse of
a move is tabu for a random tenure unless it beats the best; after a long stall the search
goes back to its best solution and kicks it with a few random moves."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit

from solvers.heuristics.problem import Problem
from solvers.heuristics.search import _below

TABU_SIZE = 1 << 16  # hashed tabu attributes (a collision only makes a move tabu early)
TENURE_MIN = 8
KICK_MOVES = 4  # random moves applied to the best solution after a stall
SWAP, REMODE = 0, 1
OPTIMAL, STUCK = 1, 2  # why a search stopped (counters[3])


class TabuState(NamedTuple):
    """The current solution, its longest paths, the best solution and the search's memory."""

    mode: np.ndarray  # global mode per op
    dur: np.ndarray  # its duration
    mach: np.ndarray  # its machine, -1 for an op taking no machine time
    seq: np.ndarray  # [n_machines, machine_slots] ops on each machine in order
    cnt: np.ndarray
    pos: np.ndarray  # index of each op in its machine's sequence
    head: np.ndarray  # earliest start of each op in the current solution
    bind: np.ndarray  # the predecessor that sets it (-1: its release)
    by_machine: np.ndarray  # bool: that predecessor is the machine predecessor
    work_head: np.ndarray  # scratch of a move's evaluation
    work_bind: np.ndarray
    work_flag: np.ndarray
    indeg: np.ndarray
    queue: np.ndarray
    path: np.ndarray  # a critical path, last op first
    cand: np.ndarray  # [3, n_candidates]: kind, op, second op or mode
    best_mode: np.ndarray
    best_start: np.ndarray
    best_seq: np.ndarray
    best_cnt: np.ndarray
    tabu: np.ndarray  # [TABU_SIZE] iteration until which the attribute is tabu
    makespan: np.ndarray  # [0] current, [1] best
    rng: np.ndarray  # [1] uint64 xorshift state
    counters: np.ndarray  # [0] iterations since the best improved, [1] evaluations,
    # [2] iterations, [3] OPTIMAL or STUCK once no move is left


def make_tabu_state(p: Problem, mode: np.ndarray, start: np.ndarray, seed: int) -> TabuState:
    """A state holding the schedule (global mode, start per op): its machine orders by start."""
    n, m = p.n_ops, p.n_machines
    dur = p.mode_duration[mode].astype(np.int64)
    mach = np.where(dur > 0, p.mode_machine[mode], -1).astype(np.int64)
    seq = np.zeros((m, p.machine_slots), dtype=np.int64)
    cnt = np.zeros(m, dtype=np.int64)
    pos = np.zeros(n, dtype=np.int64)
    for o in np.lexsort((np.arange(n), start)):
        k = mach[o]
        if k >= 0:
            seq[k, cnt[k]] = o
            pos[o] = cnt[k]
            cnt[k] += 1
    n_cand = 2 * n + int(np.diff(p.mode_ptr).sum())
    return TabuState(
        mode=np.array(mode, dtype=np.int64),
        dur=dur,
        mach=mach,
        seq=seq,
        cnt=cnt,
        pos=pos,
        head=np.zeros(n, dtype=np.int64),
        bind=np.zeros(n, dtype=np.int64),
        by_machine=np.zeros(n, dtype=np.bool_),
        work_head=np.zeros(n, dtype=np.int64),
        work_bind=np.zeros(n, dtype=np.int64),
        work_flag=np.zeros(n, dtype=np.bool_),
        indeg=np.zeros(n, dtype=np.int64),
        queue=np.zeros(n, dtype=np.int64),
        path=np.zeros(n, dtype=np.int64),
        cand=np.zeros((3, n_cand), dtype=np.int64),
        best_mode=np.array(mode, dtype=np.int64),
        best_start=np.array(start, dtype=np.int64),
        best_seq=seq.copy(),
        best_cnt=cnt.copy(),
        tabu=np.zeros(TABU_SIZE, dtype=np.int64),
        makespan=np.zeros(2, dtype=np.int64),
        rng=np.array([(seed * 0x9E3779B97F4A7C15 + 0x2545F4914F6CDD1D) % 2**64 or 1], np.uint64),
        counters=np.zeros(4, dtype=np.int64),
    )


@njit(cache=True)
def _longest_paths(
    p: Problem, st: TabuState, head: np.ndarray, bind: np.ndarray, flag: np.ndarray
) -> int:
    """Earliest starts of the current orders into head (bind/flag: what sets each); returns
    the makespan, or -1 when the orders and the precedences form a cycle."""
    n = p.n_ops
    tail = 0
    for o in range(n):
        d = p.pred_ptr[o + 1] - p.pred_ptr[o]
        if st.mach[o] >= 0 and st.pos[o] > 0:
            d += 1
        st.indeg[o] = d
        head[o] = p.op_release[o]
        bind[o] = -1
        flag[o] = False
        if d == 0:
            st.queue[tail] = o
            tail += 1
    makespan = 0
    i = 0
    while i < tail:
        o = st.queue[i]
        i += 1
        e = head[o] + st.dur[o]
        makespan = max(makespan, e)
        for a in range(p.succ_ptr[o], p.succ_ptr[o + 1]):
            x = p.succ_op[a]
            t = e + p.succ_lag[a]
            if t > head[x]:
                head[x], bind[x], flag[x] = t, o, False
            st.indeg[x] -= 1
            if st.indeg[x] == 0:
                st.queue[tail] = x
                tail += 1
        m = st.mach[o]
        if m >= 0 and st.pos[o] + 1 < st.cnt[m]:
            x = st.seq[m, st.pos[o] + 1]
            if e > head[x]:
                head[x], bind[x], flag[x] = e, o, True
            st.indeg[x] -= 1
            if st.indeg[x] == 0:
                st.queue[tail] = x
                tail += 1
    return makespan if tail == n else -1


@njit(cache=True)
def _evaluate(p: Problem, st: TabuState) -> int:
    """Makespan of the current orders (-1: cyclic), leaving the current paths untouched."""
    return _longest_paths(p, st, st.work_head, st.work_bind, st.work_flag)


@njit(cache=True)
def _swap(st: TabuState, a: int) -> None:
    """Swap op a with the op after it on its machine."""
    m, i = st.mach[a], st.pos[a]
    b = st.seq[m, i + 1]
    st.seq[m, i], st.seq[m, i + 1] = b, a
    st.pos[a], st.pos[b] = i + 1, i


@njit(cache=True)
def _remode(p: Problem, st: TabuState, o: int, k: int, at: int) -> None:
    """Give op o mode k (duration > 0), at index `at` of that mode machine's sequence."""
    m = st.mach[o]
    for i in range(st.pos[o], st.cnt[m] - 1):
        x = st.seq[m, i + 1]
        st.seq[m, i] = x
        st.pos[x] = i
    st.cnt[m] -= 1
    m = p.mode_machine[k]
    for i in range(st.cnt[m], at, -1):
        x = st.seq[m, i - 1]
        st.seq[m, i] = x
        st.pos[x] = i
    st.seq[m, at] = o
    st.pos[o] = at
    st.cnt[m] += 1
    st.mode[o], st.dur[o], st.mach[o] = k, p.mode_duration[k], m


@njit(cache=True)
def _insertion(p: Problem, st: TabuState, o: int, k: int) -> int:
    """Where op o goes on mode k's machine: before the first other op starting after it."""
    m = p.mode_machine[k]
    for i in range(st.cnt[m]):
        x = st.seq[m, i]
        if x != o and st.head[x] > st.head[o]:
            return i if st.mach[o] != m or i < st.pos[o] else i - 1
    return st.cnt[m] - 1 if st.mach[o] == m else st.cnt[m]


@njit(cache=True)
def _candidates(p: Problem, st: TabuState) -> int:
    """Moves on a critical path of the current solution into st.cand; returns their number."""
    last, latest = 0, -1
    for o in range(p.n_ops):
        if st.head[o] + st.dur[o] > latest:
            last, latest = o, st.head[o] + st.dur[o]
    n_path = 0
    o = last
    while o >= 0:
        st.path[n_path] = o
        n_path += 1
        o = st.bind[o]
    n = 0
    i = n_path - 1  # walk forward: path[i] is earlier than path[i - 1]
    while i >= 0:
        j = i  # the block path[i], path[i - 1], ..., path[j]: bound by machine order
        while j > 0 and st.by_machine[st.path[j - 1]]:
            j -= 1
        if i > j:
            for first in (st.path[i], st.path[j + 1]):
                if n == 0 or st.cand[0, n - 1] != SWAP or st.cand[1, n - 1] != first:
                    st.cand[0, n], st.cand[1, n], st.cand[2, n] = SWAP, first, 0
                    n += 1
        i = j - 1
    for i in range(n_path):
        o = st.path[i]
        if st.dur[o] == 0:
            continue
        for k in range(p.mode_ptr[o], p.mode_ptr[o + 1]):
            if k != st.mode[o] and p.mode_duration[k] > 0:
                st.cand[0, n], st.cand[1, n], st.cand[2, n] = REMODE, o, k
                n += 1
    return n


@njit(cache=True)
def _path_fixed(p: Problem, st: TabuState) -> bool:
    """Whether every op of the critical path in st.path has a single mode: the path's length
    (release, durations, lags) is then a lower bound of every solution."""
    o = st.path[0]
    while o >= 0:
        if p.mode_ptr[o + 1] - p.mode_ptr[o] > 1:
            return False
        o = st.bind[o]
    return True


@njit(cache=True)
def _key(a: int, b: int, kind: int) -> int:
    """Hash slot of a tabu attribute: a pair order (kind SWAP) or an op's mode (REMODE)."""
    return (a * 1_000_003 + b * 7_919 + kind * 104_729) & (TABU_SIZE - 1)


@njit(cache=True)
def _try(p: Problem, st: TabuState, c: int) -> tuple[int, int]:
    """Apply candidate c, evaluate it, undo it: (makespan or -1, its tabu slot)."""
    kind, o, x = st.cand[0, c], st.cand[1, c], st.cand[2, c]
    if kind == SWAP:
        b = st.seq[st.mach[o], st.pos[o] + 1]
        _swap(st, o)
        value = _evaluate(p, st)
        _swap(st, b)
        return value, _key(o, b, SWAP)
    k0, at0 = st.mode[o], st.pos[o]
    _remode(p, st, o, x, _insertion(p, st, o, x))
    value = _evaluate(p, st)
    _remode(p, st, o, k0, at0)
    return value, _key(o, x, REMODE)


@njit(cache=True)
def _apply(p: Problem, st: TabuState, c: int, tenure: int) -> None:
    """Make candidate c the current solution and forbid undoing it for `tenure` iterations."""
    kind, o, x = st.cand[0, c], st.cand[1, c], st.cand[2, c]
    until = st.counters[2] + tenure
    if kind == SWAP:
        b = st.seq[st.mach[o], st.pos[o] + 1]
        _swap(st, o)
        st.tabu[_key(b, o, SWAP)] = until
    else:
        st.tabu[_key(o, st.mode[o], REMODE)] = until
        _remode(p, st, o, x, _insertion(p, st, o, x))
    st.makespan[0] = _longest_paths(p, st, st.head, st.bind, st.by_machine)


@njit(cache=True)
def _restore_best(p: Problem, st: TabuState) -> None:
    """Go back to the best solution and kick it with a few random moves."""
    st.seq[:] = st.best_seq
    st.cnt[:] = st.best_cnt
    for m in range(p.n_machines):
        for i in range(st.cnt[m]):
            st.pos[st.seq[m, i]] = i
    for o in range(p.n_ops):
        k = st.best_mode[o]
        st.mode[o], st.dur[o] = k, p.mode_duration[k]
        st.mach[o] = p.mode_machine[k] if st.dur[o] > 0 else -1
    st.makespan[0] = _longest_paths(p, st, st.head, st.bind, st.by_machine)
    st.tabu[:] = 0
    for _ in range(KICK_MOVES):
        n = _candidates(p, st)
        if n == 0:
            return
        c = _below(st.rng, n)
        if _try(p, st, c)[0] >= 0:
            _apply(p, st, c, 0)


@njit(cache=True)
def start_tabu(p: Problem, st: TabuState) -> bool:
    """Compute the paths of the initial solution; False if its orders are cyclic."""
    st.makespan[0] = _longest_paths(p, st, st.head, st.bind, st.by_machine)
    st.makespan[1] = st.makespan[0]
    if st.makespan[0] < 0:
        return False
    st.best_start[:] = st.head
    return True


@njit(cache=True, nogil=True)
def tabu_search(p: Problem, st: TabuState, evaluations: int, stall: int) -> bool:
    """Run iterations until `evaluations` more moves were evaluated; True if the best
    improved. Each iteration takes the best admissible move (not tabu, or beating the best;
    a random one if none is), with a random tenure."""
    improved = False
    spent = 0
    spread = max(2, p.n_jobs // 2)
    while spent < evaluations and st.counters[3] == 0:
        n = _candidates(p, st)
        if n == 0:
            st.counters[3] = OPTIMAL if _path_fixed(p, st) else STUCK
            break
        chosen, chosen_value, ties, fallback, valid = -1, 0, 0, -1, 0
        for c in range(n):
            value, slot = _try(p, st, c)
            spent += 1
            if value < 0:
                continue
            valid += 1
            if _below(st.rng, valid) == 0:
                fallback = c
            if st.tabu[slot] > st.counters[2] and value >= st.makespan[1]:
                continue
            if chosen < 0 or value < chosen_value:
                chosen, chosen_value, ties = c, value, 1
            elif value == chosen_value:
                ties += 1
                if _below(st.rng, ties) == 0:
                    chosen = c
        st.counters[1] += n
        if chosen < 0:
            chosen = fallback
            if chosen < 0:
                st.counters[3] = STUCK  # every move closes a cycle
                break
        _apply(p, st, chosen, TENURE_MIN + _below(st.rng, spread))
        st.counters[2] += 1
        if st.makespan[0] < st.makespan[1]:
            st.makespan[1] = st.makespan[0]
            st.best_start[:] = st.head
            st.best_mode[:] = st.mode
            st.best_seq[:] = st.seq
            st.best_cnt[:] = st.cnt
            st.counters[0] = 0
            improved = True
        else:
            st.counters[0] += 1
            if st.counters[0] > stall:
                _restore_best(p, st)
                st.counters[0] = 0
    return improved
