"""Lower bounds on every objective term, valid for any schedule of the instance, from the
compiled arrays (and, where operations choose modes, changeovers take time or a power cap
binds, a linear relaxation solved in the background): a solve that reaches the bound of every
level is proven optimal, and a gap against them means something even when no exact solver
ran."""

from __future__ import annotations

import atexit
import math
import threading
import time
import weakref

import numpy as np

from scheduler.core.compile import CompiledInstance
from scheduler.core.highs import new_highs
from scheduler.core.objective import Objective
from scheduler.core.relaxation import load_lp, relaxes
from scheduler.core.result import Result, with_bound_floor
from scheduler.core.terms import TERMS

MAX_CENTRES = 32  # work centres tried by the work-centre bound, the most common first
TAIL_STEPS = 64  # thresholds of the tail after an operation tried by the work-centre bound


def term_lower_bounds(
    c: CompiledInstance, wait: float | None = None, relaxation: bool = True
) -> dict[str, float]:
    """Each term's lower bound: the best makespan bound (`makespan_bound`, `wait` and
    `relaxation` as there); tardiness and flow time from each job's earliest completion
    (heads and shortest durations); energy, cost and carbon from each operation's
    least-energy mode at the lowest price or intensity anywhere in the horizon; idle
    energy 0."""
    earliest_end = c.head + c.min_duration
    completion = np.maximum.reduceat(earliest_end, c.job_op_ptr[:-1]) if c.n_ops else np.zeros(0)
    due = c.job_due >= 0
    tardiness = np.where(due, np.maximum(0, completion - c.job_due), 0)
    kwh = c.mode_kwh

    def least(price: np.ndarray) -> float:
        """Sum over ops of the least kWh x price over its modes, at the lowest price."""
        if price.size == 0:
            return 0.0
        low = float(price.min())
        return float(np.minimum.reduceat(kwh * low, c.mode_ptr[:-1]).sum()) if c.n_ops else 0.0

    bounds = {
        "makespan": float(makespan_bound(c, wait, relaxation)),
        "weighted_tardiness": float(np.dot(c.job_weight, tardiness)),
        "total_flow_time": float((completion - c.job_release).sum()),
        "energy": float(np.minimum.reduceat(kwh, c.mode_ptr[:-1]).sum()) if c.n_ops else 0.0,
        "energy_cost": least(c.tariff_value),
        "carbon": least(c.carbon_value),
        "idle_energy": 0.0,
    }
    return {t: bounds.get(t, 0.0) for t in TERMS}


def makespan_bound(c: CompiledInstance, wait: float | None = None, relaxation: bool = True) -> int:
    """The best of the makespan bounds: the compiled critical-path and machine-load bounds,
    the work-centre bound with its forced setups, under a power cap the energy bound, and
    (unless not `relaxation`: then it is not even started) the load relaxation's
    (`relaxation_bound`, `wait` as there)."""
    relaxed = relaxation_bound(c, wait) if relaxation else 0
    return max(c.lower_bound, work_centre_bound(c), power_cap_bound(c), relaxed)


class _Background:
    """The load relaxation's bound of one instance and its mode shares (read-only), solved in
    a daemon thread that exit cancels."""

    def __init__(self, c: CompiledInstance) -> None:
        self.value = 0
        self.shares: np.ndarray | None = None  # the LP's mode shares, for the heuristic's starts
        self.done = threading.Event()
        self.highs = new_highs()
        self.highs.HandleUserInterrupt = True  # else `cancelSolve` does not reach the solver
        self.thread = threading.Thread(target=self._solve, args=(c,), daemon=True)
        self.thread.start()

    def _solve(self, c: CompiledInstance) -> None:
        try:
            solved = load_lp(c, highs=self.highs)
            if solved is not None:  # the LP's T, less a margin for its tolerances, rounded up
                self.value = math.ceil(solved[0] - RELAX_TOL * max(1.0, solved[0]))
                solved[1].setflags(write=False)  # shared by every caller
                self.shares = solved[1]
        except Exception:  # noqa: BLE001 - an optional bound: without it the others stand
            self.value = 0
        finally:
            self.done.set()

    def cancel(self) -> None:
        """Stop the LP if it still runs, and wait for its thread to end."""
        if not self.done.is_set():
            self.highs.cancelSolve()
        self.thread.join(EXIT_WAIT_S)


RELAX_TOL = 1e-5  # relative margin taken off the LP's T (HiGHS's tolerances are 1e-7)
EXIT_WAIT_S = 5.0  # how long exit waits for a cancelled LP to return: an LP still being built
# (1.6 s at 50,000 operations) stops at HiGHS's first check, and a process exiting under a
# running HiGHS thread aborts (exit code 134)
_RELAXED: weakref.WeakKeyDictionary[CompiledInstance, _Background] = weakref.WeakKeyDictionary()
_CENTRES: weakref.WeakKeyDictionary[CompiledInstance, int] = weakref.WeakKeyDictionary()
_LOCK = threading.Lock()  # of both caches


def relaxation_bound(c: CompiledInstance, wait: float | None = None) -> int:
    """The load relaxation's makespan bound (`load_lp`; 0 where it does not apply). Solved
    once per compiled instance, in a background thread started by the first call (or
    `prefetch`), so that a solve's first schedule does not wait for it (0.3 s at 20,000
    operations, about 1 s under a power cap): 0 while it is not ready after `wait` seconds
    (None: wait for it, at most `relaxation.LP_SECONDS`)."""
    job = _job(c)
    if job is None:
        return 0
    return job.value if job.done.wait(wait) else 0


def relaxation_shares(c: CompiledInstance, wait: float | None = None) -> np.ndarray | None:
    """The mode shares x of the solved `relaxation_bound` (`load_lp`), from the same background
    solve; None where it does not apply or is not ready after `wait` seconds (None: wait)."""
    job = _job(c)
    if job is None:
        return None
    return job.shares if job.done.wait(wait) else None


def prefetch(c: CompiledInstance) -> None:
    """Start solving `relaxation_bound` in the background unless it is started."""
    _job(c)


def _job(c: CompiledInstance) -> _Background | None:
    """The background solve of `c`'s relaxation, started if need be (None: it does not
    apply)."""
    if not relaxes(c):
        return None
    with _LOCK:
        job = _RELAXED.get(c)
        if job is None:
            job = _RELAXED[c] = _Background(c)
    return job


@atexit.register
def _cancel_at_exit() -> None:
    """Cancel the LPs still running: the interpreter must not end under a HiGHS thread."""
    with _LOCK:
        jobs = list(_RELAXED.values())
    for job in jobs:
        job.cancel()


def power_cap_bound(c: CompiledInstance) -> int:
    """The least makespan in which the power cap lets the operations draw their least energy
    (each at its leanest mode, in kW x ticks): the first T with integral of the cap over
    [0, T) at least that energy. 0 without a cap."""
    if c.power_cap_start.size == 0 or c.n_ops == 0:
        return 0
    energy = float(np.minimum.reduceat(c.mode_power * c.mode_duration, c.mode_ptr[:-1]).sum())
    if energy <= 0:
        return 0
    starts, caps = c.power_cap_start, c.power_cap_value
    widths = np.diff(np.append(starts, max(int(starts[-1]), c.horizon)))
    before = np.concatenate(([0.0], np.cumsum(caps * widths)))  # drawable before each step
    step = int(np.searchsorted(before, energy, side="left")) - 1  # the step where it is reached
    step = min(max(step, 0), starts.size - 1)
    if caps[step] <= 0:
        return int(starts[step]) + (int(widths[step]) if step + 1 < starts.size else 0)
    return int(starts[step] + math.ceil((energy - before[step]) / caps[step] - 1e-9))


def work_centre_bound(c: CompiledInstance) -> int:
    """For each work centre (a group of machines linked by operations that can run on more
    than one of them, and the machine set of the most common operations), the operations
    that can only run there: from their earliest start, their least work plus the
    changeovers their families force, spread over the centre's machines. Each machine starts
    with one family for free; every other family present costs at least the least setup
    between two different families there. Also, for the operations with a head of at least H
    and a tail after them of at least Q: H + their least work spread over the machines + Q
    (heads, bodies and tails, as Carlier's one-machine bound), the best over H and over
    TAIL_STEPS values of Q. Computed once per compiled instance."""
    if c.n_ops == 0:
        return 0
    with _LOCK:
        known = _CENTRES.get(c)
    if known is not None:
        return known
    can = np.zeros((c.n_ops, c.n_machines), dtype=bool)
    can[c.mode_op, c.mode_machine] = True
    packed = np.packbits(can, axis=1)
    _, first, counts = np.unique(
        packed.view(np.dtype((np.void, packed.shape[1]))).ravel(),
        return_index=True,
        return_counts=True,
    )
    common = can[first[np.argsort(-counts)[:MAX_CENTRES]]]
    centres = np.vstack([_linked_groups(c), common])
    bound = max(_centre_bound(c, packed, centre) for centre in centres)
    with _LOCK:
        _CENTRES[c] = bound
    return bound


def _linked_groups(c: CompiledInstance) -> np.ndarray:
    """[groups, machines] masks of the machine groups linked by shared operations."""
    parent = list(range(c.n_machines))

    def root(m: int) -> int:
        while parent[m] != m:
            parent[m] = parent[parent[m]]
            m = parent[m]
        return m

    first = c.mode_machine[c.mode_ptr[:-1]][c.mode_op]  # each mode's op's first machine
    for a, b in np.unique(np.stack((first, c.mode_machine), axis=1), axis=0):
        parent[root(int(b))] = root(int(a))
    roots = np.array([root(m) for m in range(c.n_machines)])
    return roots[None, :] == np.unique(roots)[:, None]


def _centre_bound(c: CompiledInstance, packed: np.ndarray, centre: np.ndarray) -> int:
    """The work-centre bound of one centre (a machine mask); 0 when no operation is bound
    to it (`packed`: per op, the bits of the machines it can use)."""
    inside = ~(packed & np.packbits(~centre)).any(axis=1)
    if not inside.any():
        return 0
    n_machines = int(centre.sum())
    head, body = c.head[inside], c.min_duration[inside]
    work = int(body.sum())
    busy = c.min_duration > 0
    families = np.unique(c.op_family[inside & busy & (c.op_family >= 0)])
    forced = max(0, families.size - n_machines)
    if forced and c.has_setups:
        among = c.setup[np.ix_(np.flatnonzero(centre), families, families)]
        work += forced * int(among[:, ~np.eye(families.size, dtype=bool)].min())
    whole = int(head.min()) + -(-work // n_machines)
    after = c.tail[inside] - body
    return max(whole, _heads_bodies_tails(head, body, after, n_machines))


def _heads_bodies_tails(head: np.ndarray, body: np.ndarray, tail: np.ndarray, k: int) -> int:
    """max over H and Q of H + ceil(sum of the bodies with head >= H and tail >= Q / k) + Q:
    every such operation starts at H or later on one of k machines, the last of them ends no
    sooner than H + their work / k, and what follows it in its job takes Q more."""
    order = np.argsort(-head, kind="stable")
    head, body, tail = head[order], body[order], tail[order]
    best = 0
    floors = np.unique(np.quantile(tail, np.linspace(0.0, 1.0, TAIL_STEPS), method="lower"))
    for floor in floors:
        keep = tail >= floor
        heads, work = head[keep], np.cumsum(body[keep])
        last = np.append(heads[1:] != heads[:-1], True)  # ops with head >= heads[i]: up to i's ties
        best = max(best, int((heads[last] + -(-work[last] // k)).max()) + int(floor))
    return best


def wait_until(deadline: float | None, stopped: bool = False) -> float | None:
    """How long a returning solve may wait for `relaxation_bound`: the seconds from now to
    `deadline` (a `time.perf_counter` reading), at least 0; None (as long as it takes)
    without one; 0 once `stopped` (asked to stop, or at a bound already)."""
    if stopped:
        return 0.0
    return None if deadline is None else max(0.0, deadline - time.perf_counter())


def level_bounds(
    c: CompiledInstance, objective: Objective, wait: float | None = None, relaxation: bool = True
) -> list[float]:
    """A lower bound on each level of `objective` (weights are >= 0, so the weighted sum of
    the term bounds bounds the level); `wait` and `relaxation` as in `makespan_bound`."""
    terms = term_lower_bounds(c, wait, relaxation)
    return [sum(w * terms[t] for t, w in level) for level in objective.levels]


def with_compiled_bounds(
    result: Result,
    c: CompiledInstance,
    objective: Objective,
    deadline: float | None,
    stopped: bool,
    start: bool = True,
) -> Result:
    """A solver's `result` with its first level's bound raised to the compiled bounds
    (`with_bound_floor`), the load relaxation waited for up to `deadline` unless `stopped` or
    the result is more than feasible (`wait_until`); with `start` False the relaxation is not
    started when there is no time to wait for it (a solver that did not prefetch it)."""
    wait = wait_until(deadline, stopped or result.status != "feasible")
    floor = level_bounds(c, objective, wait, relaxation=start or wait != 0.0)[0]
    return with_bound_floor(result, floor)
