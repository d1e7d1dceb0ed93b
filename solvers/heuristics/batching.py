"""Setup-aware list scheduling (Numba): a machine-driven generation scheme that batches
families, for plants whose changeovers or power cap the priority decoders handle poorly.

Giffler-Thompson on appended placements: each eligible op (its predecessors placed, its ready
time reached by the time frontier) is placed after the last op of each machine it may use,
with the setup from that op's family, window-free (setup stretch included) and within the
resources and power cap; the op finishing first fixes a machine and a time c*, and among the
ops that could start on that machine before c* the one starting earliest goes (the setup is in
its start, so the machine's current family wins unless another op is ready much sooner), ties
to the most work left in the job, then a random key. `noise` > 0 adds up to that share of the
mean setup to each start when choosing: the randomised restarts of `solvers.heuristics.regroup`;
`boost` (ticks per job) moves a job's ops forward in that choice: its squeaky-wheel priorities.
An op past its deadline is placed and counted as a violation, like `decode`.

The placed candidates sit in a heap by end (ties: the first in the array of active ops, as a
scan of it would meet them). After a commit, the active ops that may use its machine (a list
per machine) are placed again at once; one whose placement the commit's draw on resources or
power no longer fits is placed again only once it reaches the heap's top or its machine's
conflict set: capacity only shrinks, so every mode's placement only gets later (or finds no
room), and when its chosen mode ends soonest its entry's end is a lower bound of its end and
a placement that still fits is still the earliest. Under `least_energy` an op whose leaner
mode ends later (in `unsure`) is checked at each commit, as all were before: its mode may
lose its room to a commit while a faster one ends sooner. The schedules are those of checking
every op at each commit (the same on about 28,000 decodes of random instances, 4,100 of them
failed ones, and on 96 decodes of 1,500- to 20,000-operation plants), without a scan of all
the active ops per commit: their number grows with a capped plant's backlog."""

from __future__ import annotations

import numpy as np
from numba import njit

from solvers.heuristics.annealing import _uniform
from solvers.heuristics.clock import clock
from solvers.heuristics.evaluate import violation
from solvers.heuristics.plain import preferred
from solvers.heuristics.problem import ABORTED, FAILED, NO_DEADLINE, Problem, Workspace

CLOCK_STEPS = 16  # commits between two looks at the clock (a commit may re-place many ops)
BLOCK_BITS = 4  # the power cap's time line is checked a block of 2**BLOCK_BITS ticks at a time
# first, skipping a block whose least power left fits the draw: on the capped 20,000-operation
# plant the scans visit 26 instead of 86 million ticks and a decode takes 8-10 % less time
# (blocks of 8 and 32 ticks did worse)


@njit(cache=True, nogil=True)
def batch_decode(
    p: Problem,
    w: Workspace,
    assign: np.ndarray,
    least_energy: bool,
    stay: float,
    noise: float,
    rng: np.ndarray,
    deadline: float,
    boost: np.ndarray,
    free_to: int,
    fixed_to: int,
) -> float:
    """Build a schedule in w.start/w.end/w.mode (placement order in w.seq); `assign[o]` >= 0
    fixes op o's global mode, -1 lets the machine selection choose (earliest finish, or
    `least_energy`); `stay` (in mean setups) favours the machine's current family; `boost[j]`
    (ticks) counts against the start of job j's ops when choosing; an op ready before
    `free_to` (the free head) or at `fixed_to` or later (the free tail) chooses its mode as if
    unfixed. Returns the violation, or FAILED when an op finds no start within the span, or
    ABORTED once the clock passes `deadline` (NO_DEADLINE: none)."""
    n = p.n_ops
    mfree = np.zeros(p.n_machines, dtype=np.int64)
    mfam = np.full(p.n_machines, -1, dtype=np.int64)
    cand_k = np.full(n, -1, dtype=np.int64)
    cand_s = np.zeros(n, dtype=np.int64)
    tie = np.zeros(n, dtype=np.float64)
    active = np.zeros(n, dtype=np.int64)  # eligible ops past the frontier (placed candidates)
    n_act = np.zeros(1, dtype=np.int64)  # how many (an array: the closures read it)
    capacities = p.n_res > 0 or p.has_cap
    pos = np.full(n, -1, dtype=np.int64)  # an op's index in `active`, -1 when not active
    ver = np.zeros(n, dtype=np.int64)  # bumped when an active op's end or index changes
    # per machine, a linked list of the modes there of the active ops that may use it
    n_modes = p.mode_ptr[n]
    node_op = np.empty(n_modes, dtype=np.int64)
    for o in range(n):
        node_op[p.mode_ptr[o] : p.mode_ptr[o + 1]] = o
    nxt = np.full(n_modes, -1, dtype=np.int64)
    prv = np.full(n_modes, -1, dtype=np.int64)
    first_node = np.full(p.n_machines, -1, dtype=np.int64)
    # the candidates by (end, index in `active`): a min-heap of entries (end, index, op,
    # version) in which an entry whose op moved on since is skipped
    room = 2 * n + 2
    c_end = np.zeros(room, dtype=np.int64)
    c_pos = np.zeros(room, dtype=np.int64)
    c_op = np.zeros(room, dtype=np.int64)
    c_ver = np.zeros(room, dtype=np.int64)
    c_size = np.zeros(1, dtype=np.int64)
    # the active ops whose chosen mode does not end soonest (under `least_energy`): a commit
    # that takes their capacity may leave that mode no room while a faster one ends before
    # their entry, so they are checked at every commit, not when they come to the front
    soonest = np.zeros(n, dtype=np.int64)  # per op, the soonest end of its modes when placed
    unsure = np.zeros(n, dtype=np.int64)
    unsure_at = np.full(n, -1, dtype=np.int64)  # an op's index in `unsure`, -1 if not there
    n_unsure = np.zeros(1, dtype=np.int64)
    heap = np.zeros(n, dtype=np.int64)  # eligible ops not yet active, a min-heap by ready time
    size = np.zeros(1, dtype=np.int64)  # heap size (an array: the closures update it)
    setup_mean = float(p.setup.mean()) if p.has_setups and p.setup.size else 0.0
    # per block of the power time line, the least power left (tolerance included)
    block_least = np.full((((p.span - 1) >> BLOCK_BITS) + 1) if p.has_cap else 0, np.inf)

    # setup, window_hit and conflict repeat the closures of `decode` on purpose: as shared
    # module-level kernels (inlined or not) their array arguments are reference-counted on the
    # inner loop, which made both decoders 1.6 to 3 times slower (measured on a 750-op plant)
    def setup(m: int, before: int, after: int) -> int:
        if before < 0 or after < 0:
            return 0
        return p.setup[m, before, after]

    def update_blocks(a: int, b: int) -> None:
        """Recompute the least power left of the blocks meeting [a, b)."""
        for block in range(a >> BLOCK_BITS, ((b - 1) >> BLOCK_BITS) + 1):
            least = np.inf
            for u in range(block << BLOCK_BITS, min((block + 1) << BLOCK_BITS, p.span)):
                least = min(least, w.pow_rem[u] + p.cap_tol[u])
            block_least[block] = least

    def window_hit(m: int, a: int, b: int) -> int:
        lo = p.unav_ptr[m]
        hi = p.unav_ptr[m + 1]
        if lo == hi or b <= a:
            return -1
        k = lo + np.searchsorted(p.unav_end[lo:hi], a, side="right")
        if k < hi and p.unav_start[k] < b:
            return k
        return -1

    def conflict(k: int, t: int, d: int) -> int:
        """The latest tick of [t, t+d) where a resource or the power cap cannot take mode k."""
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
            lo = max(t, worst + 1)
            u = t + d - 1
            while u >= lo:  # backwards, a block at a time where its least power left fits
                block_lo = max((u >> BLOCK_BITS) << BLOCK_BITS, lo)
                if block_least[u >> BLOCK_BITS] >= kw:
                    u = block_lo - 1
                    continue
                while u >= block_lo:
                    if w.pow_rem[u] + p.cap_tol[u] < kw:
                        return u
                    u -= 1
        return worst

    def place(o: int, k: int) -> int:
        """Earliest start of op o in mode k appended to its machine, or -1."""
        d = p.mode_duration[k]
        t = w.ready[o]
        if d == 0:
            return t if t <= p.span else -1
        m = p.mode_machine[k]
        su = setup(m, mfam[m], p.op_family[o] if p.has_setups else -1)
        t = max(t, mfree[m] + su)
        while t + d <= p.span:
            h = window_hit(m, t - su, t + d)
            if h >= 0:
                t = p.unav_end[h] + su
                continue
            u = conflict(k, t, d)
            if u >= 0:
                t = u + 1
                continue
            return t
        return -1

    def modes(o: int) -> tuple[int, int]:
        """The global modes op o may take: its fixed one unless it is ready in the free head
        or tail, else all of them."""
        if assign[o] >= 0 and free_to <= w.ready[o] < fixed_to:
            return assign[o], assign[o] + 1
        return p.mode_ptr[o], p.mode_ptr[o + 1]

    def candidate(o: int) -> bool:
        """Place op o in its preferred mode (cand_k, cand_s); False if none fits."""
        best_k, best_s, best_e, best_kwh, first_end = -1, -1, 0, 0.0, -1
        lo, hi = modes(o)
        for k in range(lo, hi):
            s = place(o, k)
            if s < 0:
                continue
            e = s + p.mode_duration[k]
            if first_end < 0 or e < first_end:
                first_end = e
            if best_k < 0 or preferred(least_energy, e, p.mode_kwh[k], best_e, best_kwh):
                best_k, best_s, best_e, best_kwh = k, s, e, p.mode_kwh[k]
        cand_k[o] = best_k
        cand_s[o] = best_s
        soonest[o] = first_end
        return best_k >= 0

    def fits(o: int) -> bool:
        """Whether o's placement still has the capacity it had when placed: capacity only
        shrinks, so a placement that still fits is still the earliest (and its mode the
        best, as every other mode's placement only got later or impossible)."""
        k = cand_k[o]
        d = p.mode_duration[k]
        return not capacities or d == 0 or conflict(k, cand_s[o], d) < 0

    def c_insert(e: int, q: int, o: int, v: int) -> None:
        i = c_size[0]
        c_size[0] += 1
        while i > 0:
            up = (i - 1) >> 1
            if c_end[up] < e or (c_end[up] == e and c_pos[up] <= q):
                break
            c_end[i], c_pos[i], c_op[i], c_ver[i] = c_end[up], c_pos[up], c_op[up], c_ver[up]
            i = up
        c_end[i], c_pos[i], c_op[i], c_ver[i] = e, q, o, v

    def untrack(o: int) -> None:
        i = unsure_at[o]
        if i >= 0:
            n_unsure[0] -= 1
            last = unsure[n_unsure[0]]
            unsure[i] = last
            unsure_at[last] = i
            unsure_at[o] = -1

    def c_push(o: int) -> None:
        """A new entry for active op o (its end or index changed), which is in `unsure`
        while its mode does not end soonest; when the heap is full, rebuilt from the active
        ops first."""
        if cand_s[o] + p.mode_duration[cand_k[o]] > soonest[o]:
            if unsure_at[o] < 0:
                unsure[n_unsure[0]] = o
                unsure_at[o] = n_unsure[0]
                n_unsure[0] += 1
        else:
            untrack(o)
        ver[o] += 1
        if c_size[0] == room:
            c_size[0] = 0
            for i in range(n_act[0]):
                x = active[i]
                if x != o:
                    c_insert(cand_s[x] + p.mode_duration[cand_k[x]], pos[x], x, ver[x])
        c_insert(cand_s[o] + p.mode_duration[cand_k[o]], pos[o], o, ver[o])

    def c_drop() -> None:
        """Remove the heap's top entry."""
        c_size[0] -= 1
        last = c_size[0]
        e, q, o, v = c_end[last], c_pos[last], c_op[last], c_ver[last]
        i = 0
        while 2 * i + 1 < last:
            c = 2 * i + 1
            if c + 1 < last and (
                c_end[c + 1] < c_end[c] or (c_end[c + 1] == c_end[c] and c_pos[c + 1] < c_pos[c])
            ):
                c += 1
            if c_end[c] > e or (c_end[c] == e and c_pos[c] >= q):
                break
            c_end[i], c_pos[i], c_op[i], c_ver[i] = c_end[c], c_pos[c], c_op[c], c_ver[c]
            i = c
        c_end[i], c_pos[i], c_op[i], c_ver[i] = e, q, o, v

    def replace(o: int) -> bool:
        """Place active op o again; False if it finds no start."""
        if not candidate(o):
            return False
        c_push(o)
        return True

    def c_first() -> int:
        """The active op that ends first, ties to the first in `active`, with every
        candidate ahead of it placed again where it no longer fits; -1 if none is active,
        -2 if a candidate found no start."""
        while c_size[0] > 0:
            o = c_op[0]
            if pos[o] < 0 or c_ver[0] != ver[o]:
                c_drop()
                continue
            if fits(o):
                return o
            c_drop()
            if not replace(o):
                return -2
        return -1

    def link(o: int, add: bool) -> None:
        """Add (or remove) active op o's modes to (from) their machines' lists."""
        lo, hi = modes(o)
        for k in range(lo, hi):
            m = p.mode_machine[k]
            if add:
                nxt[k], prv[k] = first_node[m], -1
                if first_node[m] >= 0:
                    prv[first_node[m]] = k
                first_node[m] = k
                continue
            if prv[k] >= 0:
                nxt[prv[k]] = nxt[k]
            else:
                first_node[m] = nxt[k]
            if nxt[k] >= 0:
                prv[nxt[k]] = prv[k]

    def push(o: int) -> None:
        i = size[0]
        size[0] += 1
        while i > 0:
            up = (i - 1) >> 1
            if w.ready[heap[up]] <= w.ready[o]:
                break
            heap[i] = heap[up]
            i = up
        heap[i] = o

    def pop() -> int:
        top = heap[0]
        size[0] -= 1
        n_heap = size[0]
        o = heap[n_heap]
        i = 0
        while 2 * i + 1 < n_heap:
            c = 2 * i + 1
            if c + 1 < n_heap and w.ready[heap[c + 1]] < w.ready[heap[c]]:
                c += 1
            if w.ready[heap[c]] >= w.ready[o]:
                break
            heap[i] = heap[c]
            i = c
        heap[i] = o
        return top

    # reset the workspace (time lines only where the last decode used them)
    used = w.state[0]
    for r in range(p.n_res):
        w.res_rem[r, :used] = p.res_capacity[r]
    if p.has_cap:
        w.pow_rem[:used] = p.cap_tick[:used]
        update_blocks(0, p.span)
    w.state[:] = 0
    w.mach_cnt[:] = 0
    w.job_work_left[:] = p.job_work
    for o in range(n):
        w.start[o] = -1
        w.end[o] = -1
        w.mode[o] = -1
        w.ready[o] = p.op_release[o]
        w.npred[o] = p.pred_ptr[o + 1] - p.pred_ptr[o]
        tie[o] = _uniform(rng)
        if w.npred[o] == 0:
            push(o)
    for step in range(n):
        if step % CLOCK_STEPS == 0 and deadline < NO_DEADLINE and clock() > deadline:
            return ABORTED
        # the frontier: activate eligible ops ready before the earliest candidate end
        while True:
            first = c_first()
            if first == -2:
                return FAILED
            if size[0] == 0 or (
                first >= 0 and w.ready[heap[0]] >= cand_s[first] + p.mode_duration[cand_k[first]]
            ):
                break
            o = pop()
            if not candidate(o):
                return FAILED
            active[n_act[0]] = o
            pos[o] = n_act[0]
            n_act[0] += 1
            c_push(o)
            link(o, True)
        best_end = cand_s[first] + p.mode_duration[cand_k[first]]
        # the conflict set on the machine of the first to finish: the earliest start goes
        m = p.mode_machine[cand_k[first]]
        pick, pick_key = first, 0.0
        if p.mode_duration[cand_k[first]] > 0:
            pick_key = cand_s[first] + noise * setup_mean * tie[first] - boost[p.op_job[first]]
            if p.has_setups and mfam[m] >= 0 and p.op_family[first] == mfam[m]:
                pick_key -= stay * setup_mean
            node = first_node[m]
            while node >= 0:  # every active op that may use m, placed again if it no longer fits
                o = node_op[node]
                node = nxt[node]
                if o == first:
                    continue
                if not fits(o) and not replace(o):
                    return FAILED
                if p.mode_machine[cand_k[o]] != m or cand_s[o] >= best_end:
                    continue
                key = cand_s[o] + noise * setup_mean * tie[o] - boost[p.op_job[o]]
                if p.has_setups and mfam[m] >= 0 and p.op_family[o] == mfam[m]:
                    key -= stay * setup_mean
                jo, jp = p.op_job[o], p.op_job[pick]
                if key < pick_key or (
                    key == pick_key
                    and (
                        w.job_work_left[jo] > w.job_work_left[jp]
                        or (w.job_work_left[jo] == w.job_work_left[jp] and tie[o] < tie[pick])
                    )
                ):
                    pick, pick_key = o, key
        link(pick, False)
        untrack(pick)
        n_act[0] -= 1
        last = active[n_act[0]]
        active[pos[pick]] = last
        pos[last] = pos[pick]
        pos[pick] = -1
        if last != pick:
            c_push(last)  # its index changed
        # commit
        o, k, s = pick, cand_k[pick], cand_s[pick]
        d = p.mode_duration[k]
        e = s + d
        mk = p.mode_machine[k]
        w.start[o], w.end[o], w.mode[o] = s, e, k
        w.seq[step] = o
        if d > 0:
            mfree[mk] = e
            mfam[mk] = p.op_family[o] if p.has_setups else -1
            w.mach_ops[mk, w.mach_cnt[mk]] = o
            w.mach_cnt[mk] += 1
            for r in range(p.n_res):
                q = p.mode_demand[k, r]
                if q > 0:
                    w.res_rem[r, s:e] -= q
            if p.has_cap and p.mode_power[k] > 0:
                w.pow_rem[s:e] -= p.mode_power[k]
                update_blocks(s, e)
            w.state[0] = max(w.state[0], e)
        w.state[2] = max(w.state[2], e)
        w.job_work_left[p.op_job[o]] -= p.op_pmin[o]
        for i in range(p.succ_ptr[o], p.succ_ptr[o + 1]):
            x = p.succ_op[i]
            w.ready[x] = max(w.ready[x], e + p.succ_lag[i])
            w.npred[x] -= 1
            if w.npred[x] == 0:
                push(x)
        if d == 0:
            continue
        # the active ops that may use the commit's machine are placed again now (their
        # placements there may move either way with its new family); those the commit's
        # draw on resources or power no longer lets fit are when they come to the front,
        # but for those in `unsure`, now
        node = first_node[mk]
        while node >= 0:
            x = node_op[node]
            node = nxt[node]
            if not replace(x):
                return FAILED
        if not capacities:
            continue
        i = n_unsure[0] - 1
        while i >= 0:  # backwards: placing one again may move the last one into its slot
            x = unsure[i]
            i -= 1
            kx = cand_k[x]
            dx = p.mode_duration[kx]
            if cand_s[x] < e and s < cand_s[x] + dx:
                a, b = max(s, cand_s[x]), min(e, cand_s[x] + dx)
                if conflict(kx, a, b - a) >= 0 and not replace(x):
                    return FAILED
    return violation(p, w.start, w.end, w.mode)
