"""The `auto` solver, the default: the heuristic's local search and CP-SAT in turns within one
time budget, each starting from the best schedule either has found.

Policy (see DESIGN.md section 11, "The default solve"):
- the heuristic goes first once its kernels are loaded; until then (a fraction of a second
  from Numba's cache; minutes of compiling, in the background, on the first run after an
  install) CP-SAT runs; where CP-SAT is no part (lns instead, on large instances), CP-SAT's
  greedy list schedule (or a valid warm start) stands in when the kernels are not loaded
  within LOAD_WAIT_S, so that the first run on the 20,000-operation plant returns a schedule;
- a part keeps the cores while it improves the best schedule or the best bound (CP-SAT's
  proof needs its search uninterrupted: a new turn starts it over); after `patience` seconds
  without either it hands over to the other part, warm-started from the best schedule so far;
- it also hands over, once it has had `patience` seconds, when its schedules improved over
  the last `patience` seconds by less than the other part's did per second in its last turn
  (and the bound did not rise): a trickle of tiny gains (lns on a 20,000-operation plant,
  0.001 % a part) must not hold the cores from a part whose rarer steps are far larger (the
  batching search, 0.2-0.4 % each);
- a part whose steps to a better schedule take long is not cut off between two of them: its
  patience stretches to CADENCE times its longest step this solve (from the start of a turn,
  or its previous gain, to a gain; its first schedule not counted), at most CADENCE times
  its patience; the batching search on the capped 20,000-operation plant gains 1-6 s apart;
- lns, which re-optimises parts of the best schedule and proves nothing, has its first turn
  no sooner than LNS_HOLD of the limit into the solve: on the capped 20,000-operation plant
  the batching search's first round of decodes (its mode sets, the LP's among them) takes up
  to 6 s before its next gain (10 s limit, measured), and lns's turns meanwhile gained
  nothing (auto 2-3 % behind the heuristic alone, measured);
- a part whose turn improved nothing waits longer for its next: the other part's patience
  doubles (so CP-SAT, which on large job shops improves nothing in its turns, takes a
  geometrically shrinking share, while on small instances it keeps its turns);
- the heuristic, whose turns resume where they stopped, hands over to CP-SAT, whose turns
  start over, once it has gone STALL times as long without a gain as its turn took to its
  last gain (at least STALL_MIN_S); and when a heuristic turn improved nothing, CP-SAT's
  next turn is not cut for want of progress, so that its proof can finish: at a 60 s limit
  the heuristic reached the optimum of la02 at once and held the cores for its 12 s
  patience, where CP-SAT proves it in 0.2 s, and CP-SAT's proofs of la22, la39 and mt10cc
  (7-11 s alone) were cut into turns that never finished (now proven in 39-51 s);
- each turn of a part has a seed of its own (a search restarted from an unchanged best
  schedule with the same seed would retrace its path); the heuristic's tabu searches go on
  where they stopped when the best schedule is still the one they returned;
- CP-SAT proving optimality, or a schedule meeting the lower bound of every level, ends the
  solve; so do the time limit and a stop request (Ctrl-C);
- a part that refuses the instance (an unsupported feature) is dropped with one log line and
  the other part goes on alone; CP-SAT refusing (its size limit) is replaced by `lns`, which
  re-optimises parts of the best schedule with CP-SAT (dropped in turn if it refuses too).
The Result holds the best schedule of any part and the best bound known to any part (the
compiled lower bounds included)."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field, replace

from scheduler.core.bounds import level_bounds
from scheduler.core.compile import CompiledInstance
from scheduler.core.errors import UnsupportedFeatureError
from scheduler.core.protocol import (
    Capabilities,
    SolveConfig,
    Solver,
    check_supported,
    warm_up_solver,
)
from scheduler.core.result import Progress, Result, Status, close_trajectory
from scheduler.core.terms import TERMS
from solvers.cpsat import CpSatSolver, ListScheduleSolver
from solvers.heuristics import HeuristicSolver
from solvers.heuristics.warmup import kernels_ready, ready_event, start_warmup, warming_seconds
from solvers.lns import LnsSolver

PATIENCE_SHARE = 0.2  # of the time limit a part may go without improving before handing over
PATIENCE_MIN_S = 1.0
SEED_STEP = 104_729  # between the seeds of a part's successive turns
UNLIMITED_PATIENCE_S = 10.0  # the patience when there is no time limit
WATCH_S = 0.05  # how often the watcher looks at the clock and the stop request
CPSAT_MAX_OPS = 4_000  # past this, CP-SAT's set-up alone (list-schedule hint, model, checks)
# takes seconds (about 10 s on the 20,000-operation plant, measured), so lns takes its turns
LNS_HOLD = 0.75  # of the limit into the solve, before lns's first turn
CADENCE = 2.0  # a part's patience stretches to this many times its longest step to a gain
STALL = 5.0  # the heuristic, before CP-SAT, hands over once it has gone this many times as long
# without a gain as it took from its turn's start to its last gain (at least STALL_MIN_S): on
# small shops it reaches its best in a fraction of a second and then waits out its patience
# (12 s at a 60 s limit) while CP-SAT would prove the schedule optimal in 0.1-0.2 s (la02-la04)
STALL_MIN_S = 0.25  # the least a stalled heuristic turn lasts: at PATIENCE_MIN_S (1 s) each
# solve of a tiny instance took 1.1-1.2 s where CP-SAT alone proves it in 0.1-0.2 s, so a
# 5-point trade-off curve took 5.7 s against CP-SAT's 0.7 s
REL_TOL = 1e-9  # level values closer than this (relative) count as equal
KERNELS_NOTE = "CP-SAT started while the heuristic's kernels loaded"
KERNELS_FIRST_OPS = 1000  # from this size the list schedule, then a wait for the kernels (as
# `_loaded`), come before CP-SAT stands in for them: its model building and search took the
# interpreter and the cores from their loading (4.3 s instead of 1.5-1.8 s on a
# 2,000-operation FJSP), and its first schedule there was the list schedule's
LOAD_WAIT_S = 2.0  # the kernels load from Numba's cache within this (0.5-1.8 s measured); past
# it (or PATIENCE_SHARE of the limit, if less) they are compiling (minutes, the first run after
# an install), and where CP-SAT is no part its list schedule stands in, once (0.6-8 s on the
# 20,000-operation plant), until they are ready
LIST_NOTE = "the list schedule stood in while the heuristic's kernels loaded"
COMPILING_NOTE = (
    "the heuristic's kernels were still compiling (the first run after an install; "
    "`scheduler warmup` compiles them once)"
)
BOUNDS_HELP = "dict {term: max value}: only schedules with every such term <= its bound"


@dataclass
class _Portfolio:
    """The solve in progress: the best Result of any part, the best bound, the curve."""

    compiled: CompiledInstance
    config: SolveConfig
    started: float
    deadline: float | None
    bounds: list[float]
    best: Result | None = None
    bound: float | None = None
    proven: bool = False
    infeasible: Result | None = None
    trajectory: list[Progress] = field(default_factory=list)
    improved_at: float = 0.0  # when the best schedule or the best bound last improved
    bound_at: float = 0.0  # when the best bound last rose
    lock: threading.Lock = field(default_factory=threading.Lock)
    notes: list[str] = field(default_factory=list)

    def gain(self, since: float) -> float | None:
        """The relative improvement of the best objective from `since` (a perf_counter time),
        or from the first schedule after it, to now (None: no schedule)."""
        with self.lock:
            points = [(p.time_s, p.objective) for p in self.trajectory if p.objective is not None]
        if not points:
            return None
        # the curve is in time order: the points up to `since` come first
        earlier = sum(1 for t, _ in points if t <= since - self.started)
        old = points[max(earlier - 1, 0)][1]
        return (old - points[-1][1]) / max(1.0, abs(old))

    def left(self) -> float | None:
        """Seconds left of the time limit (None: no limit)."""
        return None if self.deadline is None else self.deadline - time.perf_counter()

    def over(self) -> bool:
        """Nothing more to do: proven, out of time or asked to stop."""
        left = self.left()
        return self.proven or self.config.stop.is_set() or (left is not None and left <= 0)

    def progress(self, point: Progress) -> None:
        """A part's progress point: forward it when it improves the best objective or bound."""
        with self.lock:
            objective = self.best.objective if self.best is not None else None
            better = point.objective is not None and (
                objective is None or point.objective < objective - REL_TOL * max(1.0, objective)
            )
            higher = point.bound is not None and (self.bound is None or point.bound > self.bound)
            if not (better or higher):
                return
            self.improved_at = time.perf_counter()
            if better:
                objective = point.objective
            if higher:
                self.bound = point.bound
                self.bound_at = self.improved_at
            merged = Progress(time.perf_counter() - self.started, objective, self.bound)
            self.trajectory.append(merged)
        if self.config.on_progress is not None:
            self.config.on_progress(merged)

    def offer(self, result: Result) -> None:
        """Keep a part's Result if its schedule is lexicographically better than the best."""
        if result.status == "infeasible":
            self.infeasible = result
            self.proven = True
            return
        if result.bound is not None and (self.bound is None or result.bound > self.bound):
            self.bound = result.bound
        if result.schedule is None:
            return
        if self.best is None or _better(result.objectives, self.best.objectives):
            self.best = result
        if result.status == "optimal" or _meets(self.best.objectives, self.bounds):
            self.proven = True


def _better(values: list[float], than: list[float]) -> bool:
    """Lexicographically smaller, values within REL_TOL counting as equal."""
    for a, b in zip(values, than, strict=True):
        if abs(a - b) > REL_TOL * max(1.0, abs(a), abs(b)):
            return a < b
    return False


def _meets(values: list[float], bounds: list[float]) -> bool:
    """Every level at its lower bound: no schedule is better."""
    return all(v <= b + REL_TOL * max(1.0, abs(b)) for v, b in zip(values, bounds, strict=True))


class AutoSolver:
    """The default: the heuristic's local search and CP-SAT in turns, sharing their best."""

    name = "auto"
    capabilities = Capabilities(terms=frozenset(TERMS), options={"bounds": BOUNDS_HELP})

    def __init__(self) -> None:
        self.parts: list[Solver] = [HeuristicSolver(), CpSatSolver()]

    def warm_up(self) -> None:
        """Warm up every part (the heuristic's kernels: CP-SAT takes the first turns without
        them, so a warm-up solve alone can end before they are in)."""
        for part in self.parts:
            warm_up_solver(part)

    def solve(self, compiled: CompiledInstance, config: SolveConfig) -> Result:
        """Run the parts in turns (see the module docstring) and return the best of them."""
        check_supported(self, compiled, config)
        started = time.perf_counter()
        start_warmup()
        limit = config.time_limit
        run = _Portfolio(
            compiled,
            config,
            started,
            None if limit is None else started + limit,
            level_bounds(compiled, config.objective, relaxation=False),  # the parts report it
            improved_at=started,
        )
        run.bound = run.bounds[0]
        parts = list(self.parts)
        if compiled.n_ops > CPSAT_MAX_OPS and any(p.name == CpSatSolver.name for p in parts):
            parts = [LnsSolver() if p.name == CpSatSolver.name else p for p in parts]
            run.notes.append(f"lns instead of cpsat on {compiled.n_ops:,} operations")
        base = (
            UNLIMITED_PATIENCE_S if limit is None else max(PATIENCE_MIN_S, PATIENCE_SHARE * limit)
        )
        patience: dict[str, float] = {}
        pace: dict[str, float] = {}  # per part, relative gain per second in its last turn
        turns: dict[str, int] = {}
        steps: dict[str, float] = {}  # per part, the longest it took to improve the best
        gave: dict[str, bool] = {}  # per part, whether its last turn improved the best schedule
        turn = 0
        stood_in = False  # whether the list schedule has had its turn
        while parts and not run.over() and (limit is not None or turn < len(parts)):
            part = parts[turn % len(parts)]
            turn += 1
            until = None
            other = parts[turn % len(parts)]
            stand_in = None
            if part.name == HeuristicSolver.name and not ready_event().is_set():
                stand_in = _stand_in(run, compiled, other, stood_in, base)
            if stand_in is not None:  # it holds the turn until the kernels are in
                stood_in = stood_in or stand_in.name == ListScheduleSolver.name
                part, until = stand_in, ready_event()
                turn -= 1
                if stand_in.name == CpSatSolver.name and KERNELS_NOTE not in run.notes:
                    run.notes.append(KERNELS_NOTE)
            before = run.best
            turns[part.name] = turns.get(part.name, -1) + 1
            part_config = replace(
                config,
                seed=config.seed + SEED_STEP * turns[part.name],
                time_limit=run.left(),
                warm_start=run.best.schedule if run.best is not None else config.warm_start,
                on_progress=run.progress,
                stop=threading.Event(),
            )
            others = [pace[p.name] for p in parts if p is not part and p.name in pace]
            fresh_lns = other.name == LnsSolver.name and other.name not in turns
            hold = started + LNS_HOLD * limit if limit is not None and fresh_lns else 0.0
            began = time.perf_counter()
            wait = patience.get(part.name, base) if len(parts) > 1 and part in parts else None
            if part.name == CpSatSolver.name and gave.get(HeuristicSolver.name) is False:
                wait = None  # the heuristic is stuck: CP-SAT's proof is not cut (turns restart)
            stall = part.name == HeuristicSolver.name and any(
                p.name == CpSatSolver.name for p in parts
            )
            try:
                result = _run_part(
                    part,
                    compiled,
                    part_config,
                    run,
                    wait,
                    until,
                    max(others, default=0.0),
                    steps,
                    hold,
                    stall,
                )
            except UnsupportedFeatureError as refusal:
                run.notes.append(f"{part.name} refused the instance ({refusal})")
                if part.name == CpSatSolver.name:  # too large whole: its parts, by LNS
                    parts[parts.index(part)] = LnsSolver()
                    if config.log is not None:
                        config.log(f"auto: {part.name} refused the instance; lns takes its turns")
                    continue
                if config.log is not None:
                    config.log(f"auto: {part.name} refused the instance; going on without it")
                if part in parts:  # not the list schedule, which stands in only once
                    parts.remove(part)
                continue
            run.offer(result)
            if part.name == ListScheduleSolver.name and result.schedule is not None:
                run.notes.append(LIST_NOTE)
            if until is None:
                gave[part.name] = run.best is not before
            gained = run.gain(began)
            if gained is not None:
                pace[part.name] = gained / max(time.perf_counter() - began, WATCH_S)
            if run.best is before and until is None:
                for other in parts:  # it gave nothing: the others wait longer before its turn
                    if other is not part:
                        patience[other.name] = 2 * patience.get(other.name, base)
            if len(parts) == 1 and run.best is before and until is None:
                break  # the one part left has nothing more to give
        heuristic = any(p.name == HeuristicSolver.name for p in parts)
        if heuristic and not run.proven and _compiling():
            run.notes.append(COMPILING_NOTE)
        return _result(run)


def _stand_in(
    run: _Portfolio, compiled: CompiledInstance, other: Solver, stood_in: bool, patience: float
) -> Solver | None:
    """Who takes the heuristic's turn while its kernels load, if anyone. With CP-SAT as the
    other part: CP-SAT on small instances; on large ones (KERNELS_FIRST_OPS) the list
    schedule first, then CP-SAT only if the kernels are not in within `_loaded`. Otherwise
    the list schedule, once, if they are not in within `_loaded` (they are compiling)."""
    if other.name == CpSatSolver.name:
        if compiled.n_ops < KERNELS_FIRST_OPS:
            return other
        if not stood_in:
            return ListScheduleSolver()
        return None if _loaded(run, patience) else other
    if stood_in or _loaded(run, patience) or run.over():
        return None
    return ListScheduleSolver()


def _compiling() -> bool:
    """Whether the heuristic's kernels are still not ready LOAD_WAIT_S after their warm-up
    started: compiling (the first run after an install), not loading from the cache."""
    return not ready_event().is_set() and warming_seconds() > LOAD_WAIT_S


def _loaded(run: _Portfolio, patience: float) -> bool:
    """Whether the heuristic's kernels are ready within LOAD_WAIT_S or `patience` if less (and
    the time limit)."""
    until = time.perf_counter() + min(LOAD_WAIT_S, patience)
    return kernels_ready(
        until if run.deadline is None else min(until, run.deadline), run.config.stop
    )


def _run_part(
    part: Solver,
    compiled: CompiledInstance,
    config: SolveConfig,
    run: _Portfolio,
    patience: float | None,
    until: threading.Event | None = None,
    pace: float = 0.0,
    steps: dict[str, float] | None = None,
    hold: float = 0.0,
    stall: bool = False,
) -> Result:
    """Solve with one part while a watcher stops it on the outer stop request, when `until`
    is set, or, once the clock is past `hold` (a perf_counter time): when no part has improved
    the best schedule or bound for `wait` seconds (`patience`, stretched by the part's longest
    step to a gain, recorded in `steps`; with `stall`, at most STALL x the time from the
    turn's start to its last gain), or, past `wait` seconds into the turn, when the last
    `wait` seconds gained less than `pace` (the other part's relative gain per second) would
    have, with no rise of the bound."""
    done = threading.Event()
    began = run.improved_at = time.perf_counter()
    steps = {} if steps is None else steps
    last = began  # when this turn started or last improved the best schedule
    seen = len(run.trajectory)
    value = run.best.objective if run.best is not None else None

    def stretched() -> float | None:
        """The patience, stretched to CADENCE x the part's longest step, at most CADENCE x;
        with `stall`, cut to STALL x the turn's time to its last gain (at least STALL_MIN_S)."""
        nonlocal last, seen, value
        with run.lock:
            new = run.trajectory[seen:]
            seen = len(run.trajectory)
        for point in new:  # the curve's points since the last look, all this part's
            if point.objective is None or (value is not None and point.objective >= value):
                continue  # the bound rose, not the schedule
            at = run.started + point.time_s
            if value is not None and until is None:  # not a first schedule, not a stopgap
                steps[part.name] = max(steps.get(part.name, 0.0), at - last)
            last, value = at, point.objective
        if patience is None:
            return None
        wait = min(max(patience, CADENCE * steps.get(part.name, 0.0)), CADENCE * patience)
        return min(wait, max(STALL_MIN_S, STALL * (last - began))) if stall else wait

    def slow(now: float, wait: float) -> bool:
        if pace <= 0 or now - began < wait or now - run.bound_at < wait:
            return False
        gained = run.gain(now - wait)
        return gained is not None and gained < pace * wait

    def watch() -> None:
        while not done.wait(WATCH_S):
            now = time.perf_counter()
            wait = stretched()
            held = now < hold
            stale = wait is not None and not held and now - run.improved_at > wait
            if (
                run.config.stop.is_set()
                or stale
                or (wait is not None and not held and slow(now, wait))
                or (until is not None and until.is_set())
            ):
                config.stop.set()
                return

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        return part.solve(compiled, config)
    finally:
        done.set()
        watcher.join()


def _result(run: _Portfolio) -> Result:
    """The best schedule of any part with the best bound known to any part."""
    wall = time.perf_counter() - run.started
    message = "; ".join(run.notes)
    best = run.best
    if best is None:
        status: Status = "infeasible" if run.infeasible is not None else "unknown"
        reason = run.infeasible.message if run.infeasible is not None else "no schedule found"
        return Result(
            status,
            AutoSolver.name,
            bound=run.bound,
            wall_time_s=wall,
            trajectory=run.trajectory,
            message="; ".join(m for m in (reason, message) if m),
        )
    objective = best.objectives[0]
    bound = min(run.bound, objective) if run.bound is not None else None
    status = "optimal" if run.proven else "feasible"
    if status == "optimal":
        bound = objective
    close_trajectory(run.trajectory, wall, objective, bound)
    return Result(
        status,
        AutoSolver.name,
        schedule=best.schedule,
        objective=objective,
        bound=bound,
        wall_time_s=wall,
        trajectory=run.trajectory,
        objectives=list(best.objectives),
        message="; ".join(m for m in (f"best from {best.solver}", message) if m),
    )
