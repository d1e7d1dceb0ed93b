"""The `heuristic` solver: every dispatching rule under every generation scheme (or the ones
asked for), the best start kept, then local search in the time limit, in parallel runs when
`workers` > 1: tabu search on the machine orders where it applies (makespan alone; setups
and deadlines but no windows, resources or power cap; under deadlines it hands over to the
annealing once it stalls), else simulated annealing on the priorities. A
schedule meeting the makespan lower bound ends it early (optimal). Only schedules meeting
every hard limit are returned."""

from __future__ import annotations

import itertools
import math
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace

import numpy as np

from scheduler.core.bounds import (
    level_bounds,
    makespan_bound,
    prefetch,
    relaxation_bound,
    relaxation_shares,
    wait_until,
)
from scheduler.core.compile import CompiledInstance, compile_reference
from scheduler.core.objective import Objective
from scheduler.core.protocol import Capabilities, SolveConfig, check_supported
from scheduler.core.relaxation import largest_shares
from scheduler.core.result import Progress, Result, Status
from scheduler.core.schedule import Schedule
from scheduler.core.terms import ENERGY_TERMS, TERMS
from solvers.heuristics.annealing import SearchState, anneal, make_state, start_search
from solvers.heuristics.decode import (
    ABORTED,
    ENERGY,
    FAILED,
    RULES,
    SCHEMES,
    SERIAL,
    STATIC,
    decode,
)
from solvers.heuristics.evaluate import N_TERMS, relative_delta, score, violation
from solvers.heuristics.justify import justified, justifies
from solvers.heuristics.options import OPTIONS, HeuristicOptions, parse_options
from solvers.heuristics.problem import (
    NO_DEADLINE,
    Problem,
    Workspace,
    level_matrix,
    make_problem,
    make_workspace,
    term_caps,
)
from solvers.heuristics.regroup import (
    NOISE,
    ModeSets,
    Squeaky,
    applies,
    rng_for,
    run_variant,
    squeaky,
    variants,
)
from solvers.heuristics.remode import EnergyDescent
from solvers.heuristics.repair import carbon_plans, repair_moves, repair_state
from solvers.heuristics.tabu import (
    OPTIMAL,
    TabuState,
    make_tabu_state,
    start_tabu,
    tabu_search,
)
from solvers.heuristics.warmup import first_call_seconds, kernels_ready
from solvers.profiles import step_integral

DEFAULT_MOVES = (20_000, 2_000_000)  # moves per run without a time limit: at most the first,
# at most the second divided by the number of operations (about a second of decoding)
CHUNK_S = 0.05  # target length of one annealing chunk between clock reads
FIXED_CHUNK = 4096  # largest chunk without a time limit (chunk ends set the temperature)
CONSTRUCT_SHARE = 0.4  # of the time limit the dispatching rules may take
FIRST_RESERVE = 0.5  # of the facade's reserve (checking takes 0.4 of it) a first decode may take
TEMPERATURE = (0.01, 0.0001)  # relative worsening accepted: start, end (geometric)
LS_SCHEME = SERIAL  # the search's first scheme (it alternates with append at restarts)
KERNEL_GRACE_S = 0.2  # of the time limit's slack a solve may wait for the kernels to load
BOUND_REL_TOL = 1e-9  # a level within this (relative) of its lower bound meets it
TABU_STALL = (500, 5)  # tabu iterations without a new best before a restart: a + b x ops
REGROUP_MOVES = 20  # batching decodes per run of the setup-aware search without a time limit
SQUEAK_SHARE = 0.3  # of the time limit, squeaky-wheel batching before the tabu search on plants
DESCENT_AFTER = 0.3  # of the time limit, batching on capped plants before the energy descent
DESCENT_MOVES = 200  # energy-descent moves per run without a time limit
TABU_PATIENCE = 0.1  # of the time left, the tabu search under deadlines may go without a gain
# before the annealing takes over
RACE_SHARE = 0.5  # of its time or moves, a fresh tabu search races its two starts (_race)
RACE_SLICES = 8  # turns each start gets in the race, alternating


@dataclass
class _Best:
    """A decoded solution: violation, level values, the schedule and how it was found."""

    viol: float
    vals: np.ndarray
    start: np.ndarray
    mode: np.ndarray
    seq: np.ndarray  # placement order: as priorities it replays the schedule (or the one it
    # was justified from)
    assign: np.ndarray  # fixed modes of that replay (-1: the machine selection decides)
    defer: np.ndarray  # bool per op: deferred in that replay
    least_energy: bool  # the machine selection of that replay
    label: str


class _Run:
    """The solve in progress: the problem, the clock, and the best solution with its curve."""

    def __init__(
        self,
        compiled: CompiledInstance,
        p: Problem,
        config: SolveConfig,
        bounds: dict[str, float],
        started: float,
    ):
        self.compiled = compiled
        self.p = p
        self.levels = level_matrix(config.objective)
        self.caps = term_caps(bounds)
        self.config = config
        # the relaxation's LP starts with the first schedule (see offer) and counts as soon as
        # it is in (count_relaxation)
        self.level_bounds = level_bounds(compiled, config.objective, relaxation=False)
        self.bound = self.level_bounds[0]
        self.started = started
        self.deadline = None if config.time_limit is None else self.started + config.time_limit
        self.best: _Best | None = None
        self.at_bound = False  # the best schedule meets the lower bound: proven optimal
        self.relaxed = False  # the relaxation's bound is counted in level_bounds
        self.trajectory: list[Progress] = []
        self.resume: dict[int, TabuState] = {}  # tabu searches to go on with, by worker
        self.tabu: dict[int, TabuState] = {}  # the tabu searches this run, by worker
        self.wheels: dict[int, Squeaky] = {}  # the batching searches' priorities, by worker
        self.mode_sets = ModeSets()  # the batching searches' mode sets under a cap
        self.lock = threading.Lock()
        # the races' second starts by assignment, decoded once for every worker (_relaxed_start)
        self.relaxed_decodes: dict[bytes, tuple[np.ndarray, np.ndarray] | None] = {}
        self.relaxed_lock = threading.Lock()

    def kernel_deadline(self, share: float = 1.0) -> float:
        """The clock reading at which a kernel must stop: `share` of the time limit from the
        start (NO_DEADLINE without a limit)."""
        limit = self.config.time_limit
        return NO_DEADLINE if limit is None else self.started + share * limit

    def finished(self) -> bool:
        """Past the time limit, asked to stop, or holding a schedule at the lower bound
        (nothing to gain; the relaxation's bound counts as soon as it is in)."""
        if not self.at_bound:
            self.count_relaxation(0.0)
        return (
            self.at_bound
            or self.config.stop.is_set()
            or (self.deadline is not None and time.perf_counter() >= self.deadline)
        )

    def count_relaxation(self, wait: float | None) -> None:
        """Once a feasible schedule has started the relaxation (see offer) and its bound is in
        within `wait` seconds (None: as long as it takes), count it in the level bounds."""
        best = self.best
        if self.relaxed or best is None or best.viol != 0:
            return
        if relaxation_bound(self.compiled, wait) > 0:
            with self.lock:
                self.level_bounds = level_bounds(self.compiled, self.config.objective, 0.0)
                self.bound = self.level_bounds[0]
                self.relaxed = True
                if self.best is not None and self.best.viol == 0:
                    self.at_bound = _proven(self.level_bounds, self.best.vals)

    def done(self, st: SearchState, budget: int | None) -> float:
        """Share of the search done, by moves against the budget or by the clock."""
        if budget is not None:
            share = st.counters[1] / budget
            if self.deadline is None:
                return min(1.0, share)
        else:
            share = 0.0
        if self.config.time_limit:
            share = max(share, (time.perf_counter() - self.started) / self.config.time_limit)
        return min(1.0, share)

    def offer(self, candidate: _Best) -> None:
        """Keep `candidate` if it beats the best; record a progress point if it is feasible."""
        with self.lock:
            best = self.best
            if best is not None and (
                relative_delta(candidate.viol, candidate.vals, best.viol, best.vals) >= 0
            ):
                return
            self.best = candidate
            if candidate.viol == 0:
                prefetch(self.compiled)  # the relaxation, now that it cannot delay a schedule
                self.at_bound = _proven(self.level_bounds, candidate.vals)
                point = Progress(
                    time.perf_counter() - self.started, float(candidate.vals[0]), self.bound
                )
                self.trajectory.append(point)
                if self.config.on_progress is not None:
                    self.config.on_progress(point)


def _offer_decoded(
    run: _Run,
    w: Workspace,
    viol: float,
    assign: np.ndarray,
    defer: np.ndarray,
    least_energy: bool,
    label: str,
) -> None:
    """Offer the schedule just decoded into `w` (its violation completed by the bounds), and
    where shared capacities let it move, its double justification (`w` is left as it was)."""
    if viol == FAILED:
        return
    p = run.p
    vals = np.zeros(run.levels.shape[0])
    viol += score(p, w.start, w.mode, run.levels, run.caps, np.zeros(N_TERMS), vals)
    copies = (w.start.copy(), w.mode.copy(), w.seq.copy())
    best = _Best(viol, vals, *copies, assign, defer, least_energy, label)
    run.offer(best)
    _offer_justified(run, best)


def _offer_justified(run: _Run, found: _Best) -> None:
    """Where shared capacities let ops move, offer the double justification of the complete
    schedule `found` (`solvers.heuristics.justify`)."""
    p = run.p
    if not justifies(p):
        return
    end = found.start + p.mode_duration[found.mode]
    moved = justified(p, run.config.objective, found.start, end, found.mode, run.kernel_deadline())
    if moved is not None:  # (its replay stays that of `found`, which the search goes on from)
        start, viol = moved
        vals = np.zeros(run.levels.shape[0])
        viol += score(p, start, found.mode, run.levels, run.caps, np.zeros(N_TERMS), vals)
        run.offer(
            replace(found, viol=viol, vals=vals, start=start, label=found.label + ", justified")
        )


def _construct(run: _Run, opts: HeuristicOptions) -> None:
    """Decode every (scheme, rule) asked for and offer each result. With a time limit a
    decode stops at its deadline (`_decode_deadline`) and a scheme whose decode stopped is not
    tried again."""
    p = run.p
    w = make_workspace(p)
    none = np.zeros(p.n_ops, dtype=np.bool_)
    free = np.full(p.n_ops, -1, dtype=np.int64)
    no_prio = np.zeros(p.n_ops)
    for scheme in opts.schemes:
        for rule in opts.rules:
            if run.at_bound or run.finished():
                return
            defer = p.op_hungry if RULES[rule] == ENERGY else none
            least = opts.least_energy
            deadline = _decode_deadline(run)
            viol = decode(p, w, SCHEMES[scheme], RULES[rule], no_prio, free, least, defer, deadline)
            if viol == ABORTED:
                break
            _offer_decoded(run, w, viol, free, defer, least, f"rule {rule} ({scheme} scheme)")


def _warm_start(run: _Run, opts: HeuristicOptions) -> None:
    """Offer the warm start, when complete, decoded in its start order with its modes (first:
    in the default solve's later turns it is the best schedule so far, and the construction
    decodes that take seconds on a large plant are then skipped)."""
    warm = run.config.warm_start
    if warm is None:
        return
    p = run.p
    mode, start = warm.to_arrays(run.compiled)
    if (mode >= 0).all():
        w = make_workspace(p)
        none = np.zeros(p.n_ops, dtype=np.bool_)
        order = np.lexsort((np.arange(p.n_ops), start))  # earliest start first
        prio = np.empty(p.n_ops)
        prio[order] = np.arange(p.n_ops - 1, -1, -1, dtype=np.float64)
        deadline = _decode_deadline(run)
        viol = decode(p, w, SERIAL, STATIC, prio, mode, opts.least_energy, none, deadline)
        if viol != ABORTED:
            _offer_decoded(run, w, viol, mode, none, opts.least_energy, "warm start")


def _decode_deadline(run: _Run) -> float:
    """When a construction decode must stop: while there is no schedule, the end of the time
    limit and FIRST_RESERVE of the time the facade keeps back to check one (unused without a
    schedule: the 50,000-operation plant's first decode then fits in a 3 s limit); once there
    is one, CONSTRUCT_SHARE of the limit (the search needs the rest); NO_DEADLINE without a
    limit."""
    if run.best is not None:
        return run.kernel_deadline(CONSTRUCT_SHARE)
    return run.kernel_deadline() + FIRST_RESERVE * run.config.reserve_s


def _repair(run: _Run) -> None:
    """Offer the least-carbon plans of `solvers.heuristics.repair` (no rule schedule met
    the carbon cap) until one meets every hard limit; when none does, anneal the carbon
    variant from the plan of least violation (`repair_state`, violation first) for
    `repair_moves` moves, offering each better schedule, until one meets every hard limit.
    Both stop when the solve is over."""
    p = run.p
    w = make_workspace(p)
    deadline = run.kernel_deadline()
    least_viol, plan = FAILED, None
    for viol, assign, defer, least, until in carbon_plans(p, w, deadline):
        if viol == ABORTED:
            return
        _offer_decoded(run, w, viol, assign, defer, least, "carbon repair")
        if _feasible(run) or run.finished():
            return
        if viol < least_viol:
            least_viol, plan = viol, (w.seq.copy(), assign.copy(), defer.copy(), least, until)
    if plan is None:
        return
    state = repair_state(p, w, plan, run.caps, run.config.seed)
    if state is None:
        return
    variant, st = state
    least = plan[3]

    def offer() -> bool:
        start, mode = st.best_start.copy(), st.best_mode.copy()
        seq = np.argsort(-st.best_prio, kind="stable").astype(np.int64)
        assign, defer = st.best_assign.copy(), st.best_defer.copy()
        _offer_schedule(run, start, mode, seq, assign, defer, least, "carbon repair search")
        return _feasible(run)

    _anneal(run, variant, w, st, least, repair_moves(p), False, 1, offer)


def _feasible(run: _Run) -> bool:
    """Whether the best schedule so far meets every hard limit."""
    best = run.best
    return best is not None and best.viol == 0


def _search(run: _Run, opts: HeuristicOptions, seed: int, worker: int) -> int:
    """One local search from the best start (tabu search where it applies, else annealing, or
    on large plants the batching search, under a power cap turning to energy descent in the
    last worker; under deadlines the tabu search until it stalls, then the other); returns
    the moves it evaluated."""
    p = run.p
    batching = _batches(p, opts)
    total = _move_budget(run, opts)
    moves = 0
    if _tabu_applies(run):
        if batching and worker not in run.resume:  # a better start for it first
            moves = _regroup(run, opts, seed, worker, run.kernel_deadline(SQUEAK_SHARE))
        if not p.has_deadlines:
            return moves + _tabu(run, opts, seed, worker)
        # it keeps deadlines by refusing the orders that break one, so where they bind it
        # may not get past its start, which the annealing's penalty crosses: it hands over
        # once it goes TABU_PATIENCE of the time left without a gain (without a time limit,
        # after half the move budget)
        time_left = None if run.deadline is None else run.deadline - time.perf_counter()
        patience = None if time_left is None else TABU_PATIENCE * time_left
        moves += _tabu(run, opts, seed, worker, patience, None if total is None else total // 2)
        state = run.tabu.get(worker)
        if run.finished() or (state is not None and state.counters[3] == OPTIMAL):
            return moves
    if batching and p.has_cap and worker == max(1, run.config.workers or 1) - 1:
        # under a cap the batching search finds its best early (within 3-20 s of 60 on the
        # 2,000-job plants): the last worker turns to energy descent, the others go on
        moves += _regroup(run, opts, seed, worker, run.kernel_deadline(DESCENT_AFTER))
        return moves + _descend(run, opts, seed)
    if batching:
        return moves + _regroup(run, opts, seed, worker, run.kernel_deadline())
    best = run.best
    assert best is not None
    w = make_workspace(p)
    st = make_state(p, run.levels, run.caps, best.seq, best.assign, best.defer, seed)
    if start_search(p, w, st, LS_SCHEME, best.least_energy) == FAILED:
        return moves
    makespan_first = any(t == "makespan" for t, _ in run.config.objective.levels[0])

    def offer() -> bool:
        found = _from_state(st, best.least_energy)
        run.offer(found)
        _offer_justified(run, found)
        return False

    left = None if total is None else max(0, total - moves)  # (what the tabu search left)
    _anneal(run, p, w, st, best.least_energy, left, makespan_first, 64, offer)
    return moves + int(st.counters[1])


def _anneal(
    run: _Run,
    p: Problem,
    w: Workspace,
    st: SearchState,
    least_energy: bool,
    budget: int | None,
    makespan_first: bool,
    chunk: int,
    improved: Callable[[], bool],
) -> None:
    """Anneal `st` on `p` in chunks (the first of `chunk` moves, then `_next_chunk`) until
    the move budget is spent or the solve is over, cooling by the share done; after a chunk
    that improved the best, call `improved`, which returns whether to stop."""
    restart_after = max(2000, 20 * p.n_ops)
    while not run.finished() and (budget is None or st.counters[1] < budget):
        temperature = TEMPERATURE[0] * (TEMPERATURE[1] / TEMPERATURE[0]) ** run.done(st, budget)
        size = chunk if budget is None else min(chunk, budget - int(st.counters[1]))
        tick = time.perf_counter()
        better = anneal(p, w, st, least_energy, size, temperature, makespan_first, restart_after)
        chunk = _next_chunk(run, chunk, time.perf_counter() - tick)
        if better and improved():
            return


def _batching(run: _Run, opts: HeuristicOptions) -> None:
    """Offer one family-batching schedule per variant (`solvers.heuristics.regroup`), before
    the rules: on large plants with setups or a power cap they start far better."""
    w = make_workspace(run.p)
    rng = rng_for(run.config.seed)
    none = np.zeros(run.p.n_ops, dtype=np.bool_)
    deadline = run.kernel_deadline()
    for v in variants(
        run.p, opts.least_energy, run.compiled, run.mode_sets, deadline, _energy_weight(run)
    ):
        if run.finished():
            return
        viol = run_variant(run.p, w, v, 0.0, rng, _decode_deadline(run), None, _horizon(run))
        if viol == ABORTED:
            return
        _offer_decoded(run, w, viol, w.mode.copy(), none, False, v.label)


def _regroup(run: _Run, opts: HeuristicOptions, seed: int, worker: int, deadline: float) -> int:
    """The setup-aware search until `deadline` (a perf_counter reading, or NO_DEADLINE):
    batching decodes, the best kept; returns the decodes made. Every variant in turn with
    random ties, between decodes of the best variant (or, when the best came from elsewhere,
    of the worker's last): with squeaky-wheel priorities where the objective blames jobs
    (three in four decodes; the worker's wheel of the last solve goes on, see `_Wheels`),
    else with random ties too (one in two)."""
    p = run.p
    w = make_workspace(p)
    rng = rng_for(seed)
    none = np.zeros(p.n_ops, dtype=np.bool_)
    weight = _energy_weight(run)
    pool = list(variants(p, opts.least_energy, run.compiled, run.mode_sets, deadline, weight))
    wheel = run.wheels.get(worker) or squeaky(p, run.config.objective)
    if wheel is not None:
        run.wheels[worker] = wheel
    budget = opts.iterations or (REGROUP_MOVES if run.deadline is None else None)
    moves = explored = 0
    while (
        not run.finished()
        and (budget is None or moves < budget)
        and (deadline == NO_DEADLINE or time.perf_counter() < deadline)
    ):
        best = run.best
        horizon = _horizon(run)
        if best is None or moves % (2 if wheel is None else 4) == 0:
            v = pool[explored % len(pool)]
            explored += 1
            viol = run_variant(p, w, v, NOISE, rng, deadline, None, horizon)
            how = "random ties"
        else:
            last = wheel.variant if wheel is not None else ""
            v = next((x for x in pool if _labelled(best.label, x.label)), None) or next(
                (x for x in pool if x.label == last), pool[0]
            )
            if wheel is None:
                viol, how = run_variant(p, w, v, NOISE, rng, deadline, None, horizon), "random ties"
            else:
                viol = run_variant(p, w, v, 0.0, rng, deadline, wheel.boost, horizon)
                how = "squeaky"
                wheel.variant = v.label
                if 0 <= viol < FAILED:  # every op placed
                    wheel.learn(p, w.end)
        if viol == ABORTED:
            break
        _offer_decoded(run, w, viol, w.mode.copy(), none, False, f"{v.label}, {how}")
        moves += 1
    return moves


def _descend(run: _Run, opts: HeuristicOptions, seed: int) -> int:
    """Energy descent (`solvers.heuristics.remode`) from the best schedule until the solve is
    over, no op can move or the move budget is spent; returns the moves tried. It goes on
    from its own schedule, kept when no worse (so at equal objective with less energy), and
    takes the run's best when another search has found a better one."""
    p = run.p
    descent = EnergyDescent(p, run.config.objective, seed)
    budget = opts.iterations or (DESCENT_MOVES if run.deadline is None else None)
    current: _Best | None = None
    tries = 0
    while not run.finished() and (budget is None or tries < budget):
        best = run.best
        if best is None or best.viol > 0:
            break
        if current is None or relative_delta(best.viol, best.vals, current.viol, current.vals) < 0:
            current = best
        moved = descent.step(current.start, current.mode, run.kernel_deadline())
        tries += 1
        if moved is None:
            if not descent.movable(current.mode).size:
                break
            continue
        start, mode, viol = moved
        vals = np.zeros(run.levels.shape[0])
        viol += score(p, start, mode, run.levels, run.caps, np.zeros(N_TERMS), vals)
        if relative_delta(viol, vals, current.viol, current.vals) <= 0:
            label = "energy descent"
            current = replace(current, viol=viol, vals=vals, start=start, mode=mode, label=label)
            run.offer(current)
    return tries


def _energy_weight(run: _Run) -> float:
    """What the objective's first level weighs a kWh against a tick of makespan, for the
    batching search's lean variants (`regroup.variants`): 0 where it counts no energy the
    modes set (idle energy is not theirs), inf where it counts no makespan. Cost and carbon
    count at the tariff's and the intensity's mean over the makespan's lower bound (the
    relaxation has no time to price them by)."""
    level = dict(run.config.objective.levels[0])
    if not (ENERGY_TERMS - {"idle_energy"}) & level.keys():
        return 0.0
    makespan = level.get("makespan", 0.0)
    if makespan <= 0:
        return math.inf
    c = run.compiled
    until = max(1, makespan_bound(c, relaxation=False))
    per_kwh = level.get("energy", 0.0)
    tariff = step_integral(c.tariff_start, c.tariff_value, 0, until) / until
    carbon = step_integral(c.carbon_start, c.carbon_value, 0, until) / until
    per_kwh += level.get("energy_cost", 0.0) * tariff + level.get("carbon", 0.0) * carbon
    return per_kwh / makespan if per_kwh > 0 else math.inf


def _batches(p: Problem, opts: HeuristicOptions) -> bool:
    """Whether the batching search takes the plant (large, with changeovers, every rule)."""
    return applies(p) and len(opts.rules) == len(RULES)


def _horizon(run: _Run) -> int:
    """The best schedule's makespan in ticks (0: no schedule yet)."""
    best = run.best
    if best is None:
        return 0
    return int((best.start + run.p.mode_duration[best.mode]).max())


def _labelled(label: str, variant: str) -> bool:
    """Whether a schedule's `label` names the batching `variant` ("..., stay 0" is not
    "..., stay 0.5")."""
    return label == variant or label.startswith(variant + ",")


def _move_budget(run: _Run, opts: HeuristicOptions) -> int | None:
    """Moves a local search may evaluate: the `iterations` option, else a default when there
    is no time limit, else None (until the time limit)."""
    default = max(100, min(DEFAULT_MOVES[0], DEFAULT_MOVES[1] // max(1, run.p.n_ops)))
    return opts.iterations or (default if run.deadline is None else None)


def _tabu_applies(run: _Run) -> bool:
    """Tabu search needs a schedule fixed by modes and machine orders (no windows, resources
    or power cap; setups are fine) and the makespan alone to minimise, with no other limit a
    shorter makespan could break (carbon cap, bounds on other terms); deadlines it keeps, from
    a best schedule that meets them."""
    p = run.p
    makespan_only = run.levels.shape[0] == 1 and not run.levels[0, 1:].any()
    disjunctive = not (p.unav_ptr[-1] > 0 or p.n_res > 0 or p.has_cap)
    best = run.best
    return (
        disjunctive
        and makespan_only
        and not (p.has_deadlines and (best is None or best.viol > 0))
        and np.isnan(p.carbon_cap)
        and bool(np.isinf(run.caps[1:]).all())
    )


def _tabu(
    run: _Run,
    opts: HeuristicOptions,
    seed: int,
    worker: int,
    patience: float | None = None,
    budget: int | None = None,
) -> int:
    """One tabu search from the best start, or the worker's search of the last solve going
    on when that one's best is still the best, until the solve is over, its move budget
    (`budget`, else `_move_budget`) is spent or (given `patience`) it has gone that many
    seconds without a better schedule. A fresh search on a flexible shop without deadlines
    first races a second start (`_race`). Returns the moves it evaluated (the search stops
    between iterations, so a few more than `budget` may be evaluated)."""
    best = run.best
    assert best is not None
    budget = budget if budget is not None else _move_budget(run, opts)
    st = run.resume.get(worker)
    moves = 0
    if st is None or st.makespan[1] > best.vals[0]:
        st = make_tabu_state(run.p, best.mode, best.start, seed)
        if not start_tabu(run.p, st):
            return 0
        if patience is None and _races(run, opts):
            st, moves = _race(run, opts, seed, worker, st, budget)
    run.tabu[worker] = st
    return moves + _drive(run, st, None if budget is None else max(0, budget - moves), patience)


def _race(
    run: _Run, opts: HeuristicOptions, seed: int, worker: int, st: TabuState, budget: int | None
) -> tuple[TabuState, int]:
    """Race the search from the best schedule `st` against one from `_relaxed_start` for
    RACE_SHARE of the time left (or of `budget`), in RACE_SLICES turns each, the start with
    fewer turns going next: a turn of the default solve cut short leaves both even. The
    second start joins once the LP is in (without a time limit it is waited for) and catches
    up; not once the first has had its turns. Returns the start with the shorter best (ties:
    the first) and the moves evaluated."""
    legs = 2 * RACE_SLICES
    share = None if budget is None else max(1, int(RACE_SHARE * budget) // legs)
    left = None if run.deadline is None else run.deadline - time.perf_counter()
    seconds = None if left is None else RACE_SHARE * left / legs
    racers, turns = [st], [0]
    asked = False
    moves = 0
    while not run.finished() and not any(r.counters[3] == OPTIMAL for r in racers):
        wait = None if run.deadline is None else 0.0  # (without a limit: reproducible)
        shares = None if asked else relaxation_shares(run.compiled, wait)
        if shares is not None:
            asked = True
            relaxed = _relaxed_start(run, opts, seed, shares)
            racers += [] if relaxed is None else [relaxed]
            turns += [] if relaxed is None else [0]
        i = turns.index(min(turns))
        if turns[i] >= RACE_SLICES:
            break
        run.tabu[worker] = racers[i]
        moves += _drive(run, racers[i], share, None, seconds)
        turns[i] += 1
    return min(racers, key=lambda racer: int(racer.makespan[1])), moves


def _drive(
    run: _Run,
    st: TabuState,
    budget: int | None,
    patience: float | None,
    seconds: float | None = None,
) -> int:
    """Run the tabu search `st` until the solve is over, it has no move left, or (where given)
    `budget` moves are spent, `patience` seconds passed without a better schedule or `seconds`
    passed; returns the moves it evaluated."""
    p = run.p
    _offer_tabu(run, st)  # its earliest starts may already end sooner
    stall = TABU_STALL[0] + TABU_STALL[1] * p.n_ops
    chunk = 64
    before = int(st.counters[1])  # moves of the searches it goes on from
    gained = time.perf_counter()
    until = None if seconds is None else gained + seconds
    while (
        not run.finished()
        and not st.counters[3]  # no move left (see tabu.OPTIMAL and tabu.STUCK)
        and (budget is None or st.counters[1] - before < budget)
        and (patience is None or time.perf_counter() - gained < patience)
        and (until is None or time.perf_counter() < until)
    ):
        size = chunk if budget is None else min(chunk, budget - int(st.counters[1]) + before)
        tick = time.perf_counter()
        improved = tabu_search(p, st, size, stall)
        chunk = _next_chunk(run, chunk, time.perf_counter() - tick)
        if improved:
            _offer_tabu(run, st)
            gained = time.perf_counter()
    return int(st.counters[1]) - before


def _races(run: _Run, opts: HeuristicOptions) -> bool:
    """Whether a fresh tabu search may race a second start: some operation has a choice of
    machine and the batching search (which starts from the relaxation itself) does not run."""
    c = run.compiled
    return not _batches(run.p, opts) and c.n_modes > c.n_ops  # (every op has a mode)


def _relaxed_start(
    run: _Run, opts: HeuristicOptions, seed: int, shares: np.ndarray
) -> TabuState | None:
    """The tabu search's second start on a flexible shop: the load relaxation's machine
    assignment (`largest_shares` of its mode `shares`) decoded under each scheme and rule, the
    shortest kept. The rules' earliest-finish selection fills idle machines with slow modes,
    and a search moving one critical operation at a time does not rebalance the loads
    (DESIGN.md section 11, "A second start on flexible shops"). None when its assignment is
    the best schedule's or no decode starts the search. The decodes are deterministic, so
    the first worker's serve the others (each decoded them all: 0.33 s of a 10 s solve of a
    100 x 20 flexible shop, on each core)."""
    best = run.best
    if best is None:
        return None
    assign = largest_shares(run.compiled, shares)
    if np.array_equal(assign, best.mode):
        return None
    key = assign.tobytes()
    with run.relaxed_lock:
        if key not in run.relaxed_decodes:
            run.relaxed_decodes[key] = _shortest_decode(run, opts, assign)
        shortest = run.relaxed_decodes[key]
    if shortest is None or run.finished():
        return None
    st = make_tabu_state(run.p, shortest[0], shortest[1], seed)
    return st if start_tabu(run.p, st) else None


def _shortest_decode(
    run: _Run, opts: HeuristicOptions, assign: np.ndarray
) -> tuple[np.ndarray, np.ndarray] | None:
    """(mode, start) of the shortest feasible decode of the fixed modes `assign` under each
    scheme and rule; with a time limit the decodes after the first stop RACE_SHARE / 4 of the
    time left from here. None when none is feasible or the solve ends first."""
    p = run.p
    w = make_workspace(p)
    none = np.zeros(p.n_ops, dtype=np.bool_)
    no_prio = np.zeros(p.n_ops)
    deadline = run.kernel_deadline()
    until = NO_DEADLINE
    if run.deadline is not None:
        until = time.perf_counter() + RACE_SHARE * (run.deadline - time.perf_counter()) / 4
    shortest: tuple[int, np.ndarray, np.ndarray] | None = None
    for scheme, rule in itertools.product(opts.schemes, opts.rules):
        if shortest is not None and (run.finished() or time.perf_counter() > until):
            break
        stop = deadline if shortest is None else min(deadline, until)
        viol = decode(p, w, SCHEMES[scheme], RULES[rule], no_prio, assign, False, none, stop)
        if viol == ABORTED:
            break
        if viol == 0 and (shortest is None or int(w.end.max()) < shortest[0]):
            shortest = (int(w.end.max()), w.mode.copy(), w.start.copy())
    return None if shortest is None else (shortest[1], shortest[2])


def _offer_tabu(run: _Run, st: TabuState) -> None:
    """Offer the best solution of a tabu search (its start order replays it)."""
    p = run.p
    start, mode = st.best_start.copy(), st.best_mode.copy()
    order = np.lexsort((np.arange(p.n_ops), start)).astype(np.int64)
    none = np.zeros(p.n_ops, dtype=np.bool_)
    _offer_schedule(run, start, mode, order, mode, none, False, "tabu search")


def _offer_schedule(
    run: _Run,
    start: np.ndarray,
    mode: np.ndarray,
    seq: np.ndarray,
    assign: np.ndarray,
    defer: np.ndarray,
    least_energy: bool,
    label: str,
) -> None:
    """Offer a schedule found outside `run.p`'s decode (its violation and levels computed
    under `run.p`), with the placement order, modes, deferrals and selection replaying it."""
    p = run.p
    vals = np.zeros(run.levels.shape[0])
    viol = violation(p, start, start + p.mode_duration[mode], mode)
    viol += score(p, start, mode, run.levels, run.caps, np.zeros(N_TERMS), vals)
    run.offer(_Best(viol, vals, start, mode, seq, assign, defer, least_energy, label))


def _next_chunk(run: _Run, chunk: int, elapsed: float) -> int:
    """The next chunk size: with a time limit, so that chunks take about CHUNK_S; without
    one, doubling up to FIXED_CHUNK whatever the clock says, so that a move budget gives the
    same moves, temperatures and stops (at the lower bound) run after run."""
    if run.deadline is None:
        return min(2 * chunk, FIXED_CHUNK)
    if elapsed < CHUNK_S / 2:
        return min(2 * chunk, 1 << 20)
    if elapsed > 2 * CHUNK_S:
        return max(16, chunk // 2)
    return chunk


def _from_state(st: SearchState, least_energy: bool) -> _Best:
    """The best solution of an annealing run (its priority order replays it)."""
    return _Best(
        float(st.best_viol[0]),
        st.best_vals.copy(),
        st.best_start.copy(),
        st.best_mode.copy(),
        np.argsort(-st.best_prio, kind="stable").astype(np.int64),
        st.best_assign.copy(),
        st.best_defer.copy(),
        least_energy,
        "local search",
    )


def _proven(bounds: list[float], vals: np.ndarray) -> bool:
    """Whether every level meets its lower bound (`scheduler.core.bounds`): then no schedule
    is better, lexicographically either."""
    slack = [BOUND_REL_TOL * max(1.0, abs(b)) for b in bounds]
    return all(float(v) <= b + s for v, b, s in zip(vals, bounds, slack, strict=True))


@dataclass
class _Carry:
    """The tabu searches of a solve, for the next solve to go on with when it starts from
    the schedule that solve returned (the default solve's turns: a search started over loses
    its tabu memory and its path, and fell behind one that ran on)."""

    compiled: CompiledInstance
    objective: Objective
    schedule: Schedule
    states: dict[int, TabuState]

    def fits(self, compiled: CompiledInstance, config: SolveConfig) -> bool:
        """Whether a solve of `compiled` under `config` starts where this one ended."""
        return (
            self.compiled is compiled
            and self.objective == config.objective
            and config.warm_start is self.schedule
        )


@dataclass
class _Wheels:
    """The squeaky wheels of a solve's batching searches, for the next solve of the same
    instance and objective to go on with (the default solve's turns): a job's priority means
    the same from any start, and a wheel started over lost its gains (auto fell 1.2 % behind
    the heuristic alone on weighted tardiness, its turns each starting from zero)."""

    compiled: CompiledInstance
    objective: Objective
    wheels: dict[int, Squeaky]


class HeuristicSolver:
    """Dispatching rules decoded by Numba schedule generation schemes, then local search. A
    solve warm-started from the schedule the last solve of the same instance returned goes
    on with that solve's tabu searches (see `_Carry`); the next solve of the same instance
    and objective goes on with its squeaky wheels (see `_Wheels`)."""

    name = "heuristic"
    capabilities = Capabilities(terms=frozenset(TERMS), options=OPTIONS)

    def __init__(self) -> None:
        self._carry: _Carry | None = None
        self._wheels: _Wheels | None = None

    def warm_up(self) -> None:
        """Wait for the Numba kernels (loaded from the cache, or compiled after an install)."""
        kernels_ready(None)

    def solve(self, compiled: CompiledInstance, config: SolveConfig) -> Result:
        """Best rule schedule improved by local search until the time limit (see the module).
        The clock starts here: a first call that compiles the kernels eats into the limit."""
        check_supported(self, compiled, config)
        started = time.perf_counter()
        opts = parse_options(config.options)
        deadline = None if config.time_limit is None else started + config.time_limit
        if not kernels_ready(deadline and deadline + KERNEL_GRACE_S, config.stop):
            return Result(
                "unknown",
                self.name,
                wall_time_s=time.perf_counter() - started,
                message="the Numba kernels were not ready in time (they load from the cache "
                "in 0.5-2 s; the first run after an install compiles them once, minutes, in the "
                "background, or ahead with `scheduler warmup`); no schedule yet",
            )
        first_call = first_call_seconds()
        if config.log:
            config.log(f"heuristic: numba kernels ready, first call {first_call:.2f} s")
        reference = config.reference
        plan = compile_reference(compiled, reference) if reference is not None else None
        p = make_problem(compiled, config.objective, plan)
        run = _Run(compiled, p, config, opts.bounds, started)
        carry, self._carry = self._carry, None
        if carry is not None and carry.fits(compiled, config):
            run.resume = carry.states
        kept = self._wheels
        if kept is not None and kept.compiled is compiled and kept.objective == config.objective:
            run.wheels = dict(kept.wheels)
        _warm_start(run, opts)
        batching = _batches(p, opts)
        if batching and not _feasible(run):  # (the search batches too)
            _batching(run, opts)
        _construct(run, replace(opts, rules=()) if batching and run.best else opts)
        if not _feasible(run) and not np.isnan(p.carbon_cap):
            _repair(run)
        moves = 0
        workers = max(1, config.workers or 1)
        if opts.local_search and run.best is not None and p.n_ops > 1:
            seeds = [config.seed + 7919 * i for i in range(workers)]
            if workers == 1:
                moves = _search(run, opts, seeds[0], 0)
            else:
                with ThreadPoolExecutor(workers) as pool:
                    moves = sum(pool.map(lambda i: _search(run, opts, seeds[i], i), range(workers)))
        result = _result(run, first_call, moves, workers)
        if run.tabu and result.schedule is not None:
            self._carry = _Carry(compiled, config.objective, result.schedule, dict(run.tabu))
        self._wheels = _Wheels(compiled, config.objective, dict(run.wheels))
        return result


def _result(run: _Run, first_call: float, moves: int, workers: int) -> Result:
    """The Result of a finished run: a schedule only if it meets every hard limit."""
    run.count_relaxation(wait_until(run.deadline, run.at_bound or run.config.stop.is_set()))
    wall = time.perf_counter() - run.started
    note = f"numba first call {first_call:.2f} s; {moves} local-search moves in {workers} run(s)"
    best = run.best
    if best is None or best.viol != 0:
        out_of_time = run.deadline is not None and time.perf_counter() >= run.deadline
        reason = (
            (
                "no schedule within the time limit"
                if out_of_time
                else "no schedule placed every operation within the time span"
            )
            if best is None
            else "the best schedule still breaks a deadline, the horizon, the carbon cap or a "
            f"bound (violation {best.viol:.6g})"
        )
        return Result(
            "unknown",
            HeuristicSolver.name,
            bound=run.bound,
            wall_time_s=wall,
            trajectory=run.trajectory,
            message=f"{reason}; {note}",
        )
    objective = float(best.vals[0])
    status: Status = "optimal" if _proven(run.level_bounds, best.vals) else "feasible"
    return Result(
        status,
        HeuristicSolver.name,
        schedule=Schedule.from_arrays(run.compiled, best.mode, best.start),
        objective=objective,
        bound=run.bound,
        wall_time_s=wall,
        trajectory=run.trajectory,
        objectives=[float(v) for v in best.vals],
        message=f"best from {best.label}; {note}",
    )
