"""Tabu search on the disjunctive graph (Numba) for the makespan of instances without
windows, resources or a power cap: the classic job-shop improvement method, where the
priority-space annealing is weak. Deadlines are kept: a solution whose earliest starts end an
op past its deadline is refused like one whose orders close a cycle.

A solution is the mode of every op and the order of the ops on each machine; its schedule is
the earliest start of every op (longest paths from release dates, precedence lags and machine
order, a machine arc weighing the op's duration plus the sequence-dependent setup to the
next). Moves, all on one critical path: swap the first or the last two ops of a critical
block (the N5/N7 neighbourhood of Nowicki-Smutnicki), or give a critical op another mode
(on that machine at the place that looks best near where it could start, see
`_estimate_remode`); with setups also move a critical op to
another place on its own machine (next to its family, where the setups it saves pay). Moves
are ranked by the usual estimate from heads and tails (the longest path through the ops that
move, setups included); the chosen one is then applied
and the longest paths recomputed exactly (a move that closes a cycle or breaks a deadline is
undone and the next one tried). The reverse of a move is tabu for a random tenure unless it
looks better than the best; after a long stall the search goes back to its best solution and
kicks it with a few random moves."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit

from solvers.heuristics.annealing import _below
from solvers.heuristics.problem import Problem

TABU_SIZE = 1 << 16  # hashed tabu attributes (a collision only makes a move tabu early)
TENURE_MIN = 8
KICK_MOVES = 4  # random moves applied to the best solution after a stall
SHIFT = 32  # insertion places tried each side of where an op would start on a machine
SWAP, REMODE = 0, 1
OPTIMAL, STUCK = 1, 2  # why a search stopped (counters[3])
CYCLE, LATE = -1, -2  # no makespan: the orders close a cycle, an op ends past its deadline
NEVER = np.iinfo(np.int64).max  # estimate of a move that surely closes a cycle


class TabuState(NamedTuple):
    """The current solution, its heads and tails, the best solution and the search's memory."""

    mode: np.ndarray  # global mode per op
    dur: np.ndarray  # its duration
    mach: np.ndarray  # its machine, -1 for an op taking no machine time
    family: np.ndarray  # setup family per op, -1 for all when the instance has no setups
    seq: np.ndarray  # [n_machines, machine_slots] ops on each machine in order
    cnt: np.ndarray
    pos: np.ndarray  # index of each op in its machine's sequence
    head: np.ndarray  # earliest start of each op in the current solution
    tail: np.ndarray  # longest path from its end to the end of the schedule
    bind: np.ndarray  # the predecessor that sets the head (-1: the release)
    by_machine: np.ndarray  # bool: that predecessor is the machine predecessor
    indeg: np.ndarray  # scratch of the longest paths
    queue: np.ndarray  # the ops in topological order, after a longest-path pass
    path: np.ndarray  # a critical path, last op first
    cand: np.ndarray  # [4, n_candidates]: kind, op, mode, insertion index
    value: np.ndarray  # estimate per candidate (NEVER once it failed)
    best_mode: np.ndarray
    best_start: np.ndarray
    best_seq: np.ndarray
    best_cnt: np.ndarray
    tabu: np.ndarray  # [TABU_SIZE] iteration until which the attribute is tabu
    makespan: np.ndarray  # [0] current, [1] best
    rng: np.ndarray  # [1] uint64 xorshift state
    counters: np.ndarray  # [0] iterations since the best improved, [1] moves estimated,
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
        family=(p.op_family if p.has_setups else np.full(n, -1)).astype(np.int64),
        seq=seq,
        cnt=cnt,
        pos=pos,
        head=np.zeros(n, dtype=np.int64),
        tail=np.zeros(n, dtype=np.int64),
        bind=np.zeros(n, dtype=np.int64),
        by_machine=np.zeros(n, dtype=np.bool_),
        indeg=np.zeros(n, dtype=np.int64),
        queue=np.zeros(n, dtype=np.int64),
        path=np.zeros(n, dtype=np.int64),
        cand=np.zeros((4, n_cand), dtype=np.int64),
        value=np.zeros(n_cand, dtype=np.int64),
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
def _ready(p: Problem, st: TabuState, o: int) -> int:
    """Earliest start of op o by its release and precedence predecessors (current heads)."""
    r = p.op_release[o]
    for a in range(p.pred_ptr[o], p.pred_ptr[o + 1]):
        y = p.pred_op[a]
        r = max(r, st.head[y] + st.dur[y] + p.pred_lag[a])
    return r


@njit(cache=True)
def _after(p: Problem, st: TabuState, o: int) -> int:
    """Longest path from op o's end through its precedence successors (current tails)."""
    q = 0
    for a in range(p.succ_ptr[o], p.succ_ptr[o + 1]):
        x = p.succ_op[a]
        q = max(q, p.succ_lag[a] + st.dur[x] + st.tail[x])
    return q


@njit(cache=True)
def _longest_paths(p: Problem, st: TabuState) -> int:
    """Heads and tails of the current orders (bind/by_machine: what sets each head); returns
    the makespan, or CYCLE when the orders and the precedences form a cycle, or LATE when an
    op ends past its deadline (the tails are then not computed)."""
    # the arrays are taken out of the tuples once, and `_after` is written out in the
    # backward pass: each access through a tuple costs a reference count, which made this
    # pass ten times slower on a 20,000-operation plant
    pred_ptr, succ_ptr, succ_op, succ_lag = p.pred_ptr, p.succ_ptr, p.succ_op, p.succ_lag
    family, setup, has_setups = st.family, p.setup, p.has_setups
    head, tail, dur, mach, pos, cnt, seq = st.head, st.tail, st.dur, st.mach, st.pos, st.cnt, st.seq
    indeg, queue, bind, by_machine = st.indeg, st.queue, st.bind, st.by_machine
    n = p.n_ops
    top = 0
    for o in range(n):
        d = pred_ptr[o + 1] - pred_ptr[o]
        if mach[o] >= 0 and pos[o] > 0:
            d += 1
        indeg[o] = d
        head[o] = p.op_release[o]
        bind[o] = -1
        by_machine[o] = False
        if d == 0:
            queue[top] = o
            top += 1
    makespan = 0
    i = 0
    while i < top:
        o = queue[i]
        i += 1
        e = head[o] + dur[o]
        makespan = max(makespan, e)
        for a in range(succ_ptr[o], succ_ptr[o + 1]):
            x = succ_op[a]
            t = e + succ_lag[a]
            if t > head[x]:
                head[x], bind[x], by_machine[x] = t, o, False
            indeg[x] -= 1
            if indeg[x] == 0:
                queue[top] = x
                top += 1
        m = mach[o]
        if m >= 0 and pos[o] + 1 < cnt[m]:
            x = seq[m, pos[o] + 1]
            t = e
            if has_setups and family[o] >= 0 and family[x] >= 0:
                t += setup[m, family[o], family[x]]
            if t > head[x]:
                head[x], bind[x], by_machine[x] = t, o, True
            indeg[x] -= 1
            if indeg[x] == 0:
                queue[top] = x
                top += 1
    if top < n:
        return CYCLE
    if p.has_deadlines:
        deadline = p.op_deadline
        for o in range(n):
            if head[o] + dur[o] > deadline[o]:
                return LATE
    for i in range(n - 1, -1, -1):
        o = queue[i]
        q = 0
        for a in range(succ_ptr[o], succ_ptr[o + 1]):
            x = succ_op[a]
            q = max(q, succ_lag[a] + dur[x] + tail[x])
        m = mach[o]
        if m >= 0 and pos[o] + 1 < cnt[m]:
            x = seq[m, pos[o] + 1]
            t = dur[x] + tail[x]
            if has_setups and family[o] >= 0 and family[x] >= 0:
                t += setup[m, family[o], family[x]]
            q = max(q, t)
        tail[o] = q
    return makespan


@njit(cache=True)
def _estimate_swap(p: Problem, st: TabuState, u: int) -> int:
    """Longest path through u and its machine successor v once swapped (v first)."""
    m, i = st.mach[u], st.pos[u]
    v = st.seq[m, i + 1]
    for a in range(p.succ_ptr[u], p.succ_ptr[u + 1]):
        if p.succ_op[a] == v:
            return NEVER  # v must follow u
    # setups around the pair: before v (from x), between v and u, after u (to y)
    fam, setup = st.family, p.setup
    fu, fv = fam[u], fam[v]
    vu = setup[m, fv, fu] if fu >= 0 and fv >= 0 else 0
    rv = _ready(p, st, v)
    if i > 0:
        x = st.seq[m, i - 1]
        xv = setup[m, fam[x], fv] if fv >= 0 and fam[x] >= 0 else 0
        rv = max(rv, st.head[x] + st.dur[x] + xv)
    ru = max(_ready(p, st, u), rv + st.dur[v] + vu)
    qu = _after(p, st, u)
    if i + 2 < st.cnt[m]:
        y = st.seq[m, i + 2]
        uy = setup[m, fu, fam[y]] if fu >= 0 and fam[y] >= 0 else 0
        qu = max(qu, uy + st.dur[y] + st.tail[y])
    qv = max(_after(p, st, v), vu + st.dur[u] + qu)
    return max(rv + st.dur[v] + qv, ru + st.dur[u] + qu)


@njit(cache=True)
def _estimate_remode(p: Problem, st: TabuState, o: int, k: int) -> tuple[int, int]:
    """Longest path through op o in mode k at its best insertion index on that machine (the
    index in the sequence without o): (estimate, index). Only indices within SHIFT of where
    the op would start are tried (in its current mode its current place, else where the
    machine's heads pass its ready time): further away its path only grows."""
    m = p.mode_machine[k]
    d = p.mode_duration[k]
    n = st.cnt[m]
    seq, head, tail, dur, pos_o = st.seq, st.head, st.tail, st.dur, st.pos[o]
    r0, q0 = _ready(p, st, o), _after(p, st, o)
    own = st.mach[o] == m
    here = pos_o if own and k == st.mode[o] else -1
    centre = here
    if here < 0:  # heads rise along a machine's sequence: bisect for the first past r0
        lo, hi = 0, n
        while lo < hi:
            mid = (lo + hi) >> 1
            if head[seq[m, mid]] < r0:
                lo = mid + 1
            else:
                hi = mid
        centre = lo
    family, setup = st.family, p.setup
    fam = family[o]
    best, at = NEVER, 0
    for i in range(max(0, centre - SHIFT), min(n, centre + SHIFT) + 1):
        nxt = seq[m, i] if i < n else -1  # i: place in the sequence with o
        if nxt == o:
            continue
        index = i - 1 if own and i > pos_o else i  # the same place without o
        if index == here:
            continue
        prev = -1
        if i > 0:
            prev = seq[m, i - 1]
            if prev == o:
                prev = seq[m, i - 2] if i > 1 else -1
        r, q = r0, q0
        if prev >= 0:
            su = setup[m, family[prev], fam] if fam >= 0 and family[prev] >= 0 else 0
            r = max(r0, head[prev] + dur[prev] + su)
        if nxt >= 0:
            su = setup[m, fam, family[nxt]] if fam >= 0 and family[nxt] >= 0 else 0
            q = max(q0, su + dur[nxt] + tail[nxt])
        if r + d + q < best:
            best, at = r + d + q, index
    return best, at


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
def _candidates(p: Problem, st: TabuState) -> int:
    """Moves on a critical path of the current solution into st.cand, with their estimates
    in st.value; returns their number."""
    last, latest = 0, -1
    head, dur = st.head, st.dur
    for o in range(p.n_ops):
        if head[o] + dur[o] > latest:
            last, latest = o, head[o] + dur[o]
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
                    st.cand[0, n], st.cand[1, n] = SWAP, first
                    st.value[n] = _estimate_swap(p, st, first)
                    n += 1
        i = j - 1
    for i in range(n_path):
        o = st.path[i]
        if st.dur[o] == 0:
            continue
        for k in range(p.mode_ptr[o], p.mode_ptr[o + 1]):
            if (k != st.mode[o] or p.has_setups) and p.mode_duration[k] > 0:
                st.cand[0, n], st.cand[1, n], st.cand[2, n] = REMODE, o, k
                st.value[n], st.cand[3, n] = _estimate_remode(p, st, o, k)
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
def _slot(st: TabuState, c: int) -> int:
    """The tabu slot candidate c would undo: the pair order it reverses, the op's new mode."""
    o = st.cand[1, c]
    if st.cand[0, c] == SWAP:
        return _key(o, st.seq[st.mach[o], st.pos[o] + 1], SWAP)
    return _key(o, st.cand[2, c], REMODE)


@njit(cache=True)
def _apply(p: Problem, st: TabuState, c: int, tenure: int) -> bool:
    """Make candidate c the current solution and forbid undoing it for `tenure` iterations;
    False (and nothing changed) when it closes a cycle or breaks a deadline."""
    kind, o = st.cand[0, c], st.cand[1, c]
    k0, at0, b = st.mode[o], st.pos[o], -1
    if kind == SWAP:
        b = st.seq[st.mach[o], at0 + 1]
        _swap(st, o)
        slot = _key(b, o, SWAP)
    else:
        slot = _key(o, k0, REMODE)
        _remode(p, st, o, st.cand[2, c], st.cand[3, c])
    makespan = _longest_paths(p, st)
    if makespan < 0:
        if kind == SWAP:
            _swap(st, b)
        else:
            _remode(p, st, o, k0, at0)
        _longest_paths(p, st)
        return False
    st.makespan[0] = makespan
    st.tabu[slot] = st.counters[2] + tenure
    return True


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
    st.makespan[0] = _longest_paths(p, st)
    st.tabu[:] = 0
    for _ in range(KICK_MOVES):
        n = _candidates(p, st)
        if n == 0:
            return
        _apply(p, st, _below(st.rng, n), 0)


@njit(cache=True)
def start_tabu(p: Problem, st: TabuState) -> bool:
    """Compute the paths of the initial solution; False if its orders are cyclic or its
    earliest starts break a deadline."""
    st.makespan[0] = _longest_paths(p, st)
    st.makespan[1] = st.makespan[0]
    if st.makespan[0] < 0:
        return False
    st.best_start[:] = st.head
    return True


@njit(cache=True)
def _choose(st: TabuState, n: int) -> int:
    """The candidate with the best estimate among those not tabu or looking better than the
    best (ties broken at random), else a random one not failed; -1 if every one failed."""
    chosen, ties, fallback, alive = -1, 0, -1, 0
    for c in range(n):
        value = st.value[c]
        if value == NEVER:
            continue
        alive += 1
        if _below(st.rng, alive) == 0:
            fallback = c
        if st.tabu[_slot(st, c)] > st.counters[2] and value >= st.makespan[1]:
            continue
        if chosen < 0 or value < st.value[chosen]:
            chosen, ties = c, 1
        elif value == st.value[chosen]:
            ties += 1
            if _below(st.rng, ties) == 0:
                chosen = c
    return chosen if chosen >= 0 else fallback


@njit(cache=True, nogil=True)
def tabu_search(p: Problem, st: TabuState, moves: int, stall: int) -> bool:
    """Run iterations until `moves` more moves were estimated; True if the best improved.
    Each iteration applies the chosen move (see `_choose`) with a random tenure."""
    improved = False
    spent = 0
    spread = max(2, min(p.n_jobs // 2, 64))
    while spent < moves and st.counters[3] == 0:
        n = _candidates(p, st)
        spent += n + 1
        st.counters[1] += n + 1
        if n == 0:
            st.counters[3] = OPTIMAL if _path_fixed(p, st) else STUCK
            break
        tenure = TENURE_MIN + _below(st.rng, spread)
        while True:
            c = _choose(st, n)
            if c < 0 or _apply(p, st, c, tenure):
                break
            st.value[c] = NEVER
        if c < 0:
            st.counters[3] = STUCK  # every move closes a cycle or breaks a deadline
            break
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
