"""CpSatSolver: refuse what is not modelled, build the model, hint the warm start, solve the
lexicographic levels in turn with a progress callback, and map the outcome to a Result."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from ortools.sat.python import cp_model

from scheduler.core.bounds import prefetch, with_compiled_bounds
from scheduler.core.compile import CompiledInstance, ReferencePlan, compile_reference
from scheduler.core.objective import parse_bounds
from scheduler.core.protocol import Capabilities, SolveConfig, check_supported
from scheduler.core.result import Progress, Result, Status, solution_result
from scheduler.core.schedule import Schedule
from scheduler.core.terms import TERMS
from scheduler.core.validate import validate
from solvers.cpsat.deviation import add_deviation
from solvers.cpsat.energy_model import add_energy, term_units
from solvers.cpsat.greedy import greedy_schedule
from solvers.cpsat.hints import hint_solution, schedule_hints, set_hints
from solvers.cpsat.model import (
    SchedulingModel,
    build_model,
    feasible_modes,
    infeasibility,
    time_windows,
)
from solvers.cpsat.objectives import (
    IntegerLevel,
    ObjectiveVariables,
    add_objective_variables,
    bound_limit,
    integer_bounds,
    integer_levels,
    level_expression,
)
from solvers.cpsat.options import OPTIONS, check_limits, configure
from solvers.cpsat.terms import schedule_terms
from solvers.stopping import OutOfTime, SetupClock, stop_watch

REL_TOL = 1e-9  # objective values closer than this (relative) count as equal

STATUS: dict[cp_model.CpSolverStatus, Status] = {
    cp_model.OPTIMAL: "optimal",
    cp_model.FEASIBLE: "feasible",
    cp_model.INFEASIBLE: "infeasible",
    cp_model.UNKNOWN: "unknown",
}
SOLVED = (cp_model.OPTIMAL, cp_model.FEASIBLE)


class ModelInvalidError(RuntimeError):
    """CP-SAT rejected the model as invalid: a bug in this solver, not in the instance."""


class _Recorder(cp_model.CpSolverSolutionCallback):
    """Appends Progress(time, objective, bound) of the first level on every new solution or
    bound, in the objective's units, and forwards each point to the user's callback."""

    def __init__(
        self,
        level: IntegerLevel,
        started: float,
        trajectory: list[Progress],
        on_progress: Callable[[Progress], None] | None,
    ) -> None:
        super().__init__()
        self._level = level
        self._started = started
        self._trajectory = trajectory
        self._on_progress = on_progress
        self._lock = threading.Lock()
        self.objective: float | None = None
        self.bound: float | None = None

    def on_solution_callback(self) -> None:
        """CP-SAT found a better solution."""
        self.record(self.objective_value, self.best_objective_bound)

    def on_bound(self, bound: float) -> None:
        """CP-SAT improved its bound."""
        self.record(None, bound)

    def record(self, objective: float | None, bound: float | None) -> None:
        """Add one point (None keeps the last known value)."""
        with self._lock:
            if objective is not None:
                self.objective = self._level.real(objective)
            if bound is not None and math.isfinite(bound):
                self.bound = self._level.real(bound)
            point = Progress(time.perf_counter() - self._started, self.objective, self.bound)
            self._trajectory.append(point)
        if self._on_progress is not None:
            self._on_progress(point)


@dataclass
class _Outcome:
    """What the level loop found: the last solution, each level's status, level 0's bound."""

    solution: tuple[np.ndarray, np.ndarray] | None = None
    statuses: list[Status] = field(default_factory=list)
    bound: float | None = None
    stopped: str = "it was stopped first"  # why CP-SAT did not search, when it did not


class CpSatSolver:
    """OR-Tools CP-SAT over the compiled arrays (see solvers.cpsat.model for the model)."""

    name = "cpsat"
    capabilities = Capabilities(terms=frozenset(TERMS), options=OPTIONS, check=check_limits)

    def solve(self, compiled: CompiledInstance, config: SolveConfig) -> Result:
        """Solve `compiled` for `config.objective`, with every term <= its `bounds` option.
        Set-up work (the list-schedule hint, the model) stops at the time limit: then the
        valid hint, if any, is returned."""
        check_supported(self, compiled, config)
        started = time.perf_counter()
        prefetch(compiled)  # the relaxation's bound, reported at the end
        clock = SetupClock(
            None if config.time_limit is None else started + config.time_limit, config.stop
        )
        w = _Windows.of(compiled, config, self.name)
        if w.infeasible is not None:
            return Result(
                "infeasible",
                self.name,
                message=w.infeasible,
                wall_time_s=time.perf_counter() - started,
            )
        bounds, ref, latest, modes = w.bounds, w.ref, w.latest, w.modes
        units = term_units(compiled)
        levels = integer_levels(compiled, config.objective, units)
        bounded = integer_bounds(compiled, bounds, units)
        trajectory: list[Progress] = []
        outcome = _Outcome()
        try:
            hint = _initial_hint(compiled, config, modes, latest, bounds, ref, clock)
        except OutOfTime:
            hint = _Hint(None, "", False)
        try:
            sm = build_model(compiled, w.earliest, latest, modes, clock)
            em = add_energy(sm, compiled, units, config.objective.terms | set(bounds), latest)
            ov = add_objective_variables(
                sm.model, sm.end, compiled, levels + [level for level, _ in bounded]
            )
            ov.energy = em.expressions
            dm = add_deviation(sm, compiled, ref) if ref is not None else None
            ov.deviation = dm.expression if dm is not None else None
            for level, most in bounded:
                sm.model.add(level_expression(ov, compiled, level) <= most)
            if hint.schedule is not None:
                hints = schedule_hints(sm, ov, em, compiled, *hint.schedule)
                set_hints(sm.model, hints + (dm.hints(*hint.schedule) if dm is not None else []))
            clock.check()
        except OutOfTime:
            outcome.stopped = "the time limit or a stop came while the model was built"
        else:
            outcome = _solve_levels(sm, ov, compiled, levels, config, started, trajectory)
        result = self._result(compiled, levels, outcome, hint, trajectory, started, ref)
        deadline = None if config.time_limit is None else started + config.time_limit
        return with_compiled_bounds(
            result, compiled, config.objective, deadline, config.stop.is_set()
        )

    def _result(
        self,
        c: CompiledInstance,
        levels: list[IntegerLevel],
        outcome: _Outcome,
        hint: _Hint,
        trajectory: list[Progress],
        started: float,
        ref: ReferencePlan | None,
    ) -> Result:
        """The better of CP-SAT's solution and the (valid) hinted schedule, as a Result whose
        objective values are exact (recomputed from the schedule, free of model rounding)."""
        bound = levels[0].real(outcome.bound) if outcome.bound is not None else None
        message = (
            "CP-SAT level statuses: " + ", ".join(outcome.statuses)
            if outcome.statuses
            else f"CP-SAT did not search: {outcome.stopped}"
        )
        best = outcome.solution
        status: Status
        if best is None:
            status = outcome.statuses[0] if outcome.statuses else "unknown"
        elif all(s == "optimal" for s in outcome.statuses) and len(outcome.statuses) == len(levels):
            status = "optimal"
        else:
            status = "feasible"
        if hint.acceptable and _better_hint(c, levels, hint, best, ref):
            best, status = hint.schedule, "feasible"
            message += f"; returned the {hint.origin} (CP-SAT found nothing better)"
        if best is None:
            elapsed = time.perf_counter() - started
            return Result(status, self.name, bound=bound, wall_time_s=elapsed, message=message)
        values = _values(c, levels, best, ref)
        elapsed = time.perf_counter() - started
        schedule = Schedule.from_arrays(c, *best)
        return solution_result(
            status, self.name, schedule, values, bound, elapsed, trajectory, message
        )


class ListScheduleSolver:
    """CP-SAT's first solution without the model: the warm start when it is valid and within
    the `bounds` option, else the greedy list schedule (`greedy_schedule`) when it is. `auto`'s
    stand-in while the heuristic's kernels compile on instances too large for CP-SAT (not
    registered)."""

    name = "list schedule"
    capabilities = Capabilities(terms=frozenset(TERMS), options={"bounds": OPTIONS["bounds"]})

    def solve(self, compiled: CompiledInstance, config: SolveConfig) -> Result:
        """That schedule as a `feasible` Result with the exact value of every level; `infeasible`
        when the time windows alone rule every schedule out; else `unknown` (the time limit or a
        stop came first, or neither schedule is valid, complete and within the bounds)."""
        started = time.perf_counter()
        clock = SetupClock(
            None if config.time_limit is None else started + config.time_limit, config.stop
        )
        w = _Windows.of(compiled, config, self.name)
        if w.infeasible is not None:
            wall = time.perf_counter() - started
            return Result("infeasible", self.name, message=w.infeasible, wall_time_s=wall)
        try:
            hint = _initial_hint(compiled, config, w.modes, w.latest, w.bounds, w.ref, clock)
            clock.check()  # the validator took its share: the Result must not come late
        except OutOfTime:
            hint = _Hint(None, "", False)
        wall = time.perf_counter() - started
        if hint.schedule is None or not hint.acceptable:
            return Result("unknown", self.name, wall_time_s=wall, message="no list schedule")
        terms = schedule_terms(compiled, *hint.schedule, w.ref)
        values = [config.objective.value(terms, k) for k in range(len(config.objective.levels))]
        trajectory = [Progress(wall, values[0], None)]
        if config.on_progress is not None:
            config.on_progress(trajectory[0])
        schedule = Schedule.from_arrays(compiled, *hint.schedule)
        return solution_result(
            "feasible", self.name, schedule, values, None, wall, trajectory, f"the {hint.origin}"
        )


@dataclass
class _Windows:
    """What the model and the list schedule share: the `bounds` option, the reference plan,
    each operation's time window and feasible modes, and why the windows alone make the
    instance infeasible (None: they do not)."""

    bounds: dict[str, float]
    ref: ReferencePlan | None
    earliest: np.ndarray
    latest: np.ndarray
    modes: list[list[int]]
    infeasible: str | None

    @classmethod
    def of(cls, c: CompiledInstance, config: SolveConfig, solver: str) -> _Windows:
        bounds = parse_bounds(config.options.get("bounds", {}), solver)
        limit = math.floor(bound_limit(bounds["makespan"])) if "makespan" in bounds else None
        earliest, latest = time_windows(c, limit)
        ref = compile_reference(c, config.reference) if config.reference else None
        reason = infeasibility(c, earliest, latest)
        modes = feasible_modes(c, earliest, latest) if reason is None else []
        return cls(bounds, ref, earliest, latest, modes, reason)


@dataclass
class _Hint:
    """The schedule hinted to CP-SAT, where it comes from, and whether it is complete, valid
    and within the bounds (so that it may be returned)."""

    schedule: tuple[np.ndarray, np.ndarray] | None
    origin: str
    acceptable: bool


def _initial_hint(
    c: CompiledInstance,
    config: SolveConfig,
    modes: list[list[int]],
    latest: np.ndarray,
    bounds: dict[str, float],
    ref: ReferencePlan | None,
    clock: SetupClock,
) -> _Hint:
    """The first of the complete warm start and the greedy list schedule that is valid and
    within the bounds, else the warm start (even partial or invalid), else the greedy one (or
    nothing). Raises OutOfTime when the clock runs out in the list schedule."""
    warm = config.warm_start.to_arrays(c) if config.warm_start is not None else None
    if warm is not None and _acceptable(c, bounds, warm, ref):
        return _Hint(warm, "warm start", True)
    greedy = greedy_schedule(c, modes, latest, clock)
    if greedy is not None and _acceptable(c, bounds, greedy, ref):
        return _Hint(greedy, "greedy list schedule", True)
    if warm is None:
        return _Hint(greedy, "greedy list schedule", False)
    return _Hint(warm, "warm start", False)


def _values(
    c: CompiledInstance,
    levels: list[IntegerLevel],
    schedule: tuple[np.ndarray, np.ndarray],
    ref: ReferencePlan | None,
) -> list[float]:
    """The exact value of every level for the schedule (mode, start)."""
    terms = schedule_terms(c, *schedule, ref)
    return [level.value(terms) for level in levels]


def _close(a: float, b: float) -> bool:
    return abs(a - b) <= REL_TOL * max(1.0, abs(a), abs(b))


def _better(values: list[float], than: list[float]) -> bool:
    """Lexicographically smaller, values within REL_TOL counting as equal."""
    for a, b in zip(values, than, strict=True):
        if not _close(a, b):
            return a < b
    return False


def _acceptable(
    c: CompiledInstance,
    bounds: dict[str, float],
    schedule: tuple[np.ndarray, np.ndarray],
    ref: ReferencePlan | None,
) -> bool:
    """True when the schedule is complete, meets the bounds and passes the validator."""
    mode, start = schedule
    if np.any(mode < 0):
        return False
    terms = schedule_terms(c, mode, start, ref)
    if any(terms[t] > bound_limit(b) for t, b in bounds.items()):
        return False
    return not validate(c.instance, Schedule.from_arrays(c, mode, start))


def _better_hint(
    c: CompiledInstance,
    levels: list[IntegerLevel],
    hint: _Hint,
    best: tuple[np.ndarray, np.ndarray] | None,
    ref: ReferencePlan | None,
) -> bool:
    """True when the (acceptable) hint is lexicographically better than `best` (or there is no
    `best`)."""
    assert hint.schedule is not None
    if best is None:
        return True
    return _better(_values(c, levels, hint.schedule, ref), _values(c, levels, best, ref))


def _solve_levels(
    sm: SchedulingModel,
    ov: ObjectiveVariables,
    c: CompiledInstance,
    levels: list[IntegerLevel],
    config: SolveConfig,
    started: float,
    trajectory: list[Progress],
) -> _Outcome:
    """Minimise each level in turn, holding the earlier ones at their found values and hinting
    the previous solution; the remaining time is shared evenly by the remaining levels."""
    out = _Outcome()
    model = sm.model
    for i, level in enumerate(levels):
        if config.stop.is_set():
            break
        expression = level_expression(ov, c, level)
        model.minimize(expression)
        solver = cp_model.CpSolver()
        limit = None
        if config.time_limit is not None:
            remaining = config.time_limit - (time.perf_counter() - started)
            if remaining <= 0:
                out.stopped = "the time limit ran out while the model was built"
                break
            limit = remaining / (len(levels) - i)
        configure(solver, config, limit)
        recorder = None
        if i == 0:
            recorder = _Recorder(level, started, trajectory, config.on_progress)
            solver.best_bound_callback = recorder.on_bound
        with stop_watch(config.stop, solver.stop_search):
            code = solver.solve(model, recorder)
        if code == cp_model.MODEL_INVALID:
            raise ModelInvalidError(f"CP-SAT rejected the model: {model.validate()}")
        out.statuses.append(STATUS[code])
        if config.log is not None:
            found = level.real(solver.objective_value) if code in SOLVED else None
            config.log(
                f"cpsat level {i + 1}/{len(levels)}: {solver.status_name(code)}, objective "
                f"{found}, {solver.wall_time:.2f} s"
            )
        if i == 0 and code != cp_model.INFEASIBLE and math.isfinite(solver.best_objective_bound):
            out.bound = solver.best_objective_bound
        if code not in SOLVED:
            break
        out.solution = (
            np.array([sm.mode_of(o, solver) for o in range(c.n_ops)], dtype=np.int64),
            np.array([solver.value(s) for s in sm.start], dtype=np.int64),
        )
        if i + 1 < len(levels):
            model.add(expression <= round(solver.objective_value))
            hint_solution(model, solver)
    return out
