"""The setup-aware search of the heuristic for large plants with changeovers or a power cap
where the tabu search does not apply (a power cap, windows, resources, or an objective other
than the makespan; the batching schedules still start it where it does): iterated
family-batching list scheduling (`solvers.heuristics.batching`) over machine selections, a
family-stay bias and randomised ties, each schedule scored exactly and the best kept.

Under a power cap the makespan is bound both by the energy drawn and by the machines' loads,
so the decodes fix modes that trade one for the other: first a quick greedy assignment
(`balanced_modes`: every op in its least-energy mode, then ops moved off machines loaded past
a target to the alternative that costs least extra energy per tick relieved), then the modes
of the load relaxation with its energy row (`scheduler.core.relaxation`, a linear program),
which are better but take about 1 s to solve on 20,000 operations; ops ready in the first
FREE_HEAD or last FREE_TAIL of the horizon, where the cap has room, choose freely. Below
FREE_CAP_OPS operations, where a decode costs milliseconds, the machine selection also runs
free."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Iterator
from functools import partial
from typing import NamedTuple

import numpy as np

from scheduler.core.compile import CompiledInstance
from scheduler.core.objective import Objective
from scheduler.core.relaxation import LP_SECONDS, largest_shares, load_lp
from solvers.heuristics.batching import batch_decode
from solvers.heuristics.problem import NO_DEADLINE, Problem, Workspace

TARGETS = (1.0,)  # greedy machine-load targets, as shares of the plain energy bound: at 1.0
# the first decode is both quicker and shorter than at 0.95 (0.68 s, 21,016 against 0.85 s,
# 21,159 on the capped 20,000-operation plant, seed 31)
LP_SHARES = (0.97, 0.95)  # machine loads within these shares of the relaxation's makespan:
# room for the timing the cap forces (first decodes 20,350-20,436 at 0.95 and 0.9, against
# 20,702-20,858 at 1.0 and 20,711-21,021 for the greedy modes, capped plant seed 1; the
# greedy targets 0.95 and 1.05 tried before gave way to them). With justified decodes and
# the free head, 0.97 and 0.95 did no worse than 0.95 and 0.9 at 60 s (seeds 31, 1, 2, 3:
# 20,057 / 19,671 / 19,699 / 19,856 against 20,084 / 19,751 / 19,700 / 19,848)
STAYS = (0.0, 0.5, 1.0, 2.0)  # family-stay biases tried, in mean setups
NOISE = 0.5  # tie noise of the randomised restarts, in mean setups
SQUEAK_STEP, SQUEAK_WINDOW, SQUEAK_DECAY = 0.3, 0.05, 0.9  # see Squeaky
BLAMED = ("makespan", "weighted_tardiness", "total_flow_time")  # the terms a wheel blames by
MIN_OPS = 1000  # smaller instances: the annealing over priorities searches them better
FREE_TAIL = 0.15  # under a cap, ops ready in this last share of the horizon choose their
# machine by earliest finish: the cap no longer binds there, and fixed modes leave machines
# idle (on the capped plants, seeds 1-3, the mean of 4 random-tie decodes was 0.5-2.5 %
# shorter than with modes fixed to the end; tails of 0.05-0.2 tried)
FREE_CAP_OPS = 3000  # under a cap, smaller instances also decode with the machine selection
# free (earliest finish): one such decode of the 1,000-operation capped plant ends at 1,439-1,460
# against 1,561-1,658 for the fixed modes, at 2,000 operations 2,606 against 2,688; at 5,000
# it is worse (5,983 against 5,909) and at 20,000 worse and 2-5 times slower (seeds 41; 31)
FREE_HEAD = 0.05  # under a cap, ops ready in this first share of the horizon choose their
# machine by earliest finish: few jobs are released yet and the cap has room (the capped
# plants drew 72 % of it in the first twentieth, 86 % with the head), and a job's work done
# sooner is work the cap need not hold later (justified decodes, seeds 31, 1, 2, 3, 60 s:
# 20,161 / 19,818 / 19,746 / 19,949 without it, 20,084 / 19,751 / 19,700 / 19,848 with it;
# 0.1 gave 20,238 / 19,810)
NO_END = 2**62  # a ready time no op reaches: no free tail
U64 = np.uint64


class Variant(NamedTuple):
    """One batching decode: fixed modes (-1: selection decides), selection, bias, and its
    free tail and head: the last and first shares of the best makespan so far where ops
    ready choose their mode as if unfixed (none before the first schedule)."""

    assign: np.ndarray
    least_energy: bool
    stay: float
    label: str
    tail: float = 0.0
    head: float = 0.0


def balanced_modes(p: Problem, target: float) -> np.ndarray:
    """Global mode per op: least energy, then ops moved off machines whose load (ticks) passes
    `target` to the mode adding least energy per tick relieved, while some mode fits."""
    mode_op = np.repeat(np.arange(p.n_ops), np.diff(p.mode_ptr))
    # per op its first mode of least energy: by op, then energy, then position
    mode = np.lexsort((np.arange(mode_op.size), p.mode_kwh, mode_op))[p.mode_ptr[:-1]]
    load = np.zeros(p.n_machines)
    np.add.at(load, p.mode_machine[mode], p.mode_duration[mode])
    for m in np.argsort(-load):
        if load[m] <= target:
            break
        moves = []
        for x in np.flatnonzero(p.mode_machine[mode] == m):
            k = mode[x]
            for alt in range(p.mode_ptr[x], p.mode_ptr[x + 1]):
                if p.mode_machine[alt] != m:
                    extra = (p.mode_kwh[alt] - p.mode_kwh[k]) / max(1, p.mode_duration[k])
                    moves.append((extra, int(x), alt))
        for _, o, alt in sorted(moves):
            if load[m] <= target:
                break
            if mode[o] != alt and p.mode_machine[mode[o]] == m:
                other = p.mode_machine[alt]
                if load[other] + p.mode_duration[alt] <= target:
                    load[m] -= p.mode_duration[mode[o]]
                    load[other] += p.mode_duration[alt]
                    mode[o] = alt
    return mode


class ModeSets:
    """The capped decodes' mode assignments of one solve, each computed once, by the first
    worker that needs it, and shared (None: the relaxation gave none)."""

    def __init__(self) -> None:
        self._sets: dict[str, np.ndarray | None] = {}
        self._lock = threading.Lock()

    def get(self, key: str, make: Callable[[], np.ndarray | None]) -> np.ndarray | None:
        with self._lock:
            if key not in self._sets:
                self._sets[key] = make()
            return self._sets[key]


def relaxation_modes(
    c: CompiledInstance, load_share: float, deadline: float, energy_weight: float = 0.0
) -> np.ndarray | None:
    """Per operation, its global mode with the largest share in the load relaxation
    at `load_share`, minimising T + `energy_weight` x kWh (None when the LP gives none within
    `deadline`, a perf_counter reading or NO_DEADLINE)."""
    left = LP_SECONDS if deadline == NO_DEADLINE else deadline - time.perf_counter()
    solved = (
        load_lp(c, load_share, min(LP_SECONDS, left), energy_weight=energy_weight)
        if left > 0
        else None
    )
    return None if solved is None else largest_shares(c, solved[1])


def variants(
    p: Problem,
    least_energy: bool,
    c: CompiledInstance | None = None,
    sets: ModeSets | None = None,
    deadline: float = NO_DEADLINE,
    energy_weight: float = 0.0,
) -> Iterator[Variant]:
    """The decodes of one round: the machine selections (earliest finish or the asked one;
    with a power cap, the greedy energy-balanced assignments, then, given the compiled
    instance `c`, the relaxation's, solved by `deadline`; each computed when first needed so
    the first schedule comes sooner, and kept in `sets` for the other workers; and under a
    cap below FREE_CAP_OPS operations the free selection too) under each family-stay bias;
    after the first round the caller repeats them with random ties. Where the objective's
    first level counts the modes' energy, `energy_weight` > 0 (per kWh against a tick of
    makespan; inf: it weighs no kWh against the makespan), each op in its least-energy mode,
    and given `c` and a finite weight, the modes of the relaxation that weighs them so: one
    variant each, not one per bias (where energy weighs little they would take the others'
    decodes), first for an infinite weight, else after the first bias's variants (the first
    variant is the search's fallback)."""
    cap = float(p.cap_tick.min()) if p.has_cap else 0.0
    makers = _mode_makers(p, cap, c, deadline) if cap > 0 else {}
    # free selection is slow under a cap (every commit moves many placements): on large
    # instances the modes are fixed beforehand (FREE_CAP_OPS)
    free_too = cap <= 0 or p.n_ops < FREE_CAP_OPS
    free = np.full(p.n_ops, -1, dtype=np.int64)
    selection = "earliest finish" if not least_energy else "least energy"
    sets = ModeSets() if sets is None else sets
    lean: dict[str, Callable[[], np.ndarray | None]] = {}
    if energy_weight > 0 and (cap > 0 or not least_energy):
        lean["least-energy modes"] = partial(balanced_modes, p, math.inf)
    if 0 < energy_weight < math.inf and c is not None:
        name = f"relaxation modes weighing energy {energy_weight:g}"
        lean[name] = partial(relaxation_modes, c, 1.0, deadline, energy_weight)

    def lean_variants() -> Iterator[Variant]:
        for name, make in lean.items():  # (modes fixed: no free head or tail)
            mode = sets.get(name, make)
            if mode is not None:
                yield Variant(mode, False, 0.0, f"batching, {name}, stay 0")

    if energy_weight == math.inf:
        yield from lean_variants()
    for stay in STAYS:
        for name, make in makers.items():
            mode = sets.get(name, make)
            if mode is not None:
                label = f"batching, {name}, free tail {FREE_TAIL:g}, stay {stay:g}"
                yield Variant(mode, False, stay, label, FREE_TAIL, FREE_HEAD)
        if free_too:
            yield Variant(free, least_energy, stay, f"batching, {selection}, stay {stay:g}")
        if stay == STAYS[0] and energy_weight < math.inf:
            yield from lean_variants()


def _mode_makers(
    p: Problem, cap: float, c: CompiledInstance | None, deadline: float
) -> dict[str, Callable[[], np.ndarray | None]]:
    """Under a power cap whose least value is `cap` (kW), the fixed-mode assignments by name,
    each made when first asked: the greedy energy-balanced ones, then (given `c`) the
    relaxation's."""
    least = np.minimum.reduceat(p.mode_kwh, p.mode_ptr[:-1]).sum()
    bound = least / (cap * p.hours_per_tick)  # the plain energy bound, in ticks
    makers: dict[str, Callable[[], np.ndarray | None]] = {
        f"energy-balanced modes at {s:g}": partial(balanced_modes, p, s * bound) for s in TARGETS
    }
    if c is not None:
        makers.update(
            {
                f"relaxation modes at {s:g}": partial(relaxation_modes, c, s, deadline)
                for s in LP_SHARES
            }
        )
    return makers


def run_variant(
    p: Problem,
    w: Workspace,
    v: Variant,
    noise: float,
    rng: np.ndarray,
    deadline: float,
    boost: np.ndarray | None = None,
    horizon: int = 0,
) -> float:
    """Decode one variant into the workspace `w`, with the jobs' priorities `boost` (ticks;
    None: none) and its free tail and head scaled to `horizon` (ticks; 0: none); returns its
    violation (FAILED: no room, ABORTED: the clock passed `deadline`)."""
    boost = np.zeros(p.n_jobs) if boost is None else boost
    free_to = int(v.head * horizon) if v.head > 0 and horizon > 0 else 0
    fixed_to = int((1.0 - v.tail) * horizon) if v.tail > 0 and horizon > 0 else NO_END
    viol = batch_decode(
        p, w, v.assign, v.least_energy, v.stay, noise, rng, deadline, boost, free_to, fixed_to
    )
    return float(viol)


def squeaky(p: Problem, objective: Objective) -> Squeaky | None:
    """The squeaky wheel of an objective whose first level holds the makespan, weighted
    tardiness (given due dates) or total flow time, blaming by the first of them it holds
    (None: it blames no job)."""
    terms = {t for t, _ in objective.levels[0]}
    if not (p.job_due >= 0).any():  # no job can be tardy: nothing to blame by
        terms.discard("weighted_tardiness")
    blame = next((t for t in BLAMED if t in terms), None)
    return None if blame is None else Squeaky(p, blame)


class Squeaky:
    """Squeaky-wheel priorities (Joslin and Clements, 1999) for the batching decodes: after
    each decode the jobs its objective blames gain priority in the next, up to SQUEAK_STEP
    mean operation durations (10 ticks on the 2,000-job plants), and earlier gains fade by
    SQUEAK_DECAY. Blamed: under the makespan, the jobs ending in its last SQUEAK_WINDOW, by
    how late; under weighted tardiness, the tardy jobs, by weight x tardiness; under total
    flow time, every job by its wait (its flow time past its longest path: 20 s on the
    2,000-job plants, seeds 31 and 1, 4,852,308 and 5,007,086 against 4,893,381 and
    5,043,638 with random ties alone). The decodes that start the 20,000-operation plant
    under a cap from the relaxation's modes reached 19,934-20,010 in 20-40 of them, against
    20,222 for 60 s of random ties (seed 1)."""

    def __init__(self, p: Problem, blame: str) -> None:
        self.boost = np.zeros(p.n_jobs)
        self.blame = blame  # the objective term it blames by (BLAMED)
        self.variant = ""  # the label of the variant it last decoded
        self.step = SQUEAK_STEP * max(1.0, float(p.op_pmin.mean()))

    def learn(self, p: Problem, end: np.ndarray) -> None:
        """Raise the priorities of the jobs the decode in `end` blames."""
        # (every job has an operation: the instance checks refuse one without)
        done = np.maximum.reduceat(end, p.job_op_ptr[:-1]).astype(np.float64)
        if self.blame == "makespan":
            last = float(done.max())
            blame = np.maximum(0.0, done - (1.0 - SQUEAK_WINDOW) * last)
        elif self.blame == "weighted_tardiness":
            blame = p.job_weight * np.where(p.job_due >= 0, np.maximum(0, done - p.job_due), 0)
        else:
            least = np.maximum.reduceat(p.op_tail, p.job_op_ptr[:-1])  # its longest path
            blame = np.maximum(0.0, done - p.job_release - least)
        self.boost *= SQUEAK_DECAY
        if blame.max() > 0:
            self.boost += self.step * blame / blame.max()


def applies(p: Problem) -> bool:
    """The batching search runs on large plants with changeovers or a power cap, where a
    decode costs too much for the annealing to make progress."""
    return (p.has_setups or p.has_cap) and p.n_ops >= MIN_OPS


def rng_for(seed: int) -> np.ndarray:
    """The xorshift state of a search run."""
    return np.array([(seed * 0x9E3779B97F4A7C15 + 0x2545F4914F6CDD1D) % 2**64 or 1], dtype=U64)
