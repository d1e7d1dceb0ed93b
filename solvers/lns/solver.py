"""The `lns` solver: large-neighbourhood search with CP-SAT, for plants too large for the
whole exact model. From the warm start (else a heuristic schedule) it repeatedly frees the
operations of a few machines (a work centre: machines sharing operations' alternatives)
within a time window (around an op of a job ending last, or ending in the schedule's last
tenth, or anywhere), re-optimises that part exactly (`solvers.lns.submodel`), compacts the
whole schedule (every op as early as its machine order allows: `append` decoding of the start
order with the modes fixed), and keeps the better of the two schedules when it is no worse
than the incumbent (violation, then each level, exactly as the heuristic scores). The window
adapts: wider after a part solved to optimality quickly, narrower after one that was not."""

from __future__ import annotations

import time

import numpy as np
from ortools.sat.python import cp_model

from scheduler.core.bounds import level_bounds, prefetch, wait_until
from scheduler.core.compile import CompiledInstance
from scheduler.core.errors import UnsupportedFeatureError
from scheduler.core.protocol import Capabilities, SolveConfig, check_supported
from scheduler.core.result import Progress, Result, close_trajectory
from scheduler.core.schedule import Schedule
from scheduler.core.terms import STABILITY_TERMS, TERMS
from solvers.cpsat.energy_blocks import power_scale
from solvers.heuristics import HeuristicSolver
from solvers.heuristics.decode import APPEND, STATIC, decode
from solvers.heuristics.evaluate import N_TERMS, relative_delta, score, violation
from solvers.heuristics.problem import (
    FAILED,
    NO_DEADLINE,
    Problem,
    level_matrix,
    make_problem,
    make_workspace,
    term_caps,
)
from solvers.heuristics.warmup import kernels_ready
from solvers.lns.submodel import build, neighbourhood
from solvers.stopping import stop_watch

OPTIONS = {
    "part_size": "int > 0: operations freed per neighbourhood at first (default 40; adapts)",
    "part_time_limit": "float > 0: seconds of CP-SAT per neighbourhood (default 2)",
}
START_SHARE = 0.3  # of the time limit a heuristic start may take when no warm start is given
PART_SIZE = (40, 8, 300)  # freed ops per part: first, least, most
PART_TIME_S = 2.0
GROW, SHRINK = 1.25, 0.7  # the window after an optimal part solved in a quarter of its time
GROUP_MOST = 6  # machines freed together at most
DEFAULT_PARTS = 30  # parts without a time limit


class LnsSolver:
    """Large-neighbourhood search: exact CP-SAT re-optimisation of parts of the incumbent."""

    name = "lns"
    capabilities = Capabilities(
        features=frozenset(
            {
                "alternative_modes",
                "precedence_lags",
                "releases",
                "deadlines",
                "setups",
                "unavailability",
                "resources",
                "power_cap",
            }
        ),
        terms=frozenset(TERMS) - STABILITY_TERMS,
        options=OPTIONS,
    )

    def warm_up(self) -> None:
        """Wait for the heuristic's kernels, which give the schedule lns starts from."""
        kernels_ready(None)

    def solve(self, compiled: CompiledInstance, config: SolveConfig) -> Result:
        """Improve a start schedule part by part until the time limit (see the module)."""
        check_supported(self, compiled, config)
        started = time.perf_counter()
        size, part_limit = _options(config)
        deadline = None if config.time_limit is None else started + config.time_limit
        bounds = level_bounds(compiled, config.objective, relaxation=False)  # LP: at the end
        trajectory: list[Progress] = []
        initial = _start(compiled, config, started)
        if initial is None or not kernels_ready(deadline, config.stop):
            return Result(
                "unknown",
                self.name,
                bound=bounds[0],
                wall_time_s=time.perf_counter() - started,
                message="no start schedule (no warm start and the heuristic found none)",
            )
        prefetch(compiled)  # the relaxation's bound, for the end, now that a schedule exists
        search = _Search(compiled, config, initial, started, trajectory, bounds[0])
        parts = 0
        while not config.stop.is_set() and (deadline is not None or parts < DEFAULT_PARTS):
            left = None if deadline is None else deadline - time.perf_counter()
            if left is not None and left < 0.05:
                break
            search.step(size, min(part_limit, left) if left is not None else part_limit)
            size = search.size
            parts += 1
            if search.at_bound(bounds):
                break
        mode, start = search.mode, search.start
        values = [float(v) for v in search.vals]
        wait = wait_until(deadline, config.stop.is_set() or search.at_bound(bounds))
        bounds = level_bounds(compiled, config.objective, wait)
        wall = time.perf_counter() - started
        close_trajectory(trajectory, wall, values[0], bounds[0])
        optimal = search.at_bound(bounds)
        return Result(
            "optimal" if optimal else "feasible",
            self.name,
            schedule=Schedule.from_arrays(compiled, mode, start),
            objective=values[0],
            bound=values[0] if optimal else bounds[0],
            wall_time_s=wall,
            trajectory=trajectory,
            objectives=values,
            message=f"{parts} parts, {search.accepted} improved the schedule",
        )


def _options(config: SolveConfig) -> tuple[int, float]:
    """(part_size, part_time_limit), refusing malformed values."""
    size = config.options.get("part_size", PART_SIZE[0])
    limit = config.options.get("part_time_limit", PART_TIME_S)
    if isinstance(size, bool) or not isinstance(size, int) or size < 1:
        raise UnsupportedFeatureError(f"lns option 'part_size' must be an int > 0, got {size!r}")
    if isinstance(limit, bool) or not isinstance(limit, (int, float)) or not limit > 0:
        raise UnsupportedFeatureError(
            f"lns option 'part_time_limit' must be a number > 0, got {limit!r}"
        )
    return size, float(limit)


def _start(
    c: CompiledInstance, config: SolveConfig, started: float
) -> tuple[np.ndarray, np.ndarray] | None:
    """(mode, start) of the warm start when complete, else of a short heuristic solve."""
    if config.warm_start is not None:
        mode, start = config.warm_start.to_arrays(c)
        if (mode >= 0).all():
            return mode, start
    limit = None if config.time_limit is None else START_SHARE * config.time_limit
    sub = SolveConfig(
        objective=config.objective, time_limit=limit, seed=config.seed, stop=config.stop
    )
    result = HeuristicSolver().solve(c, sub)
    return None if result.schedule is None else result.schedule.to_arrays(c)


class _Search:
    """The incumbent as arrays, its exact score, the machine groups and the window size."""

    def __init__(
        self,
        c: CompiledInstance,
        config: SolveConfig,
        initial: tuple[np.ndarray, np.ndarray],
        started: float,
        trajectory: list[Progress],
        bound: float,
    ) -> None:
        self.c = c
        self.config = config
        self.p: Problem = make_problem(c, config.objective)
        self.w = make_workspace(self.p)
        self.levels = level_matrix(config.objective)
        self.caps = term_caps({})
        self.guide = {t: w for t, w in config.objective.levels[0]}
        self.rng = np.random.default_rng(config.seed)
        self.scale = power_scale(c) if self.p.has_cap else 1
        self.groups = _machine_groups(self.p)
        self.started = started
        self.trajectory = trajectory
        self.bound = bound
        self.size = PART_SIZE[0]
        self.accepted = 0
        self.mode, self.start = initial[0].astype(np.int64), initial[1].astype(np.int64)
        self.viol, self.vals = self._score(self.mode, self.start)
        self._record()
        self._try(*self._compact(self.mode, self.start))

    def _score(self, mode: np.ndarray, start: np.ndarray) -> tuple[float, np.ndarray]:
        p = self.p
        vals = np.zeros(self.levels.shape[0])
        viol = violation(p, start, start + p.mode_duration[mode], mode)
        viol += score(p, start, mode, self.levels, self.caps, np.zeros(N_TERMS), vals)
        return float(viol), vals

    def _record(self) -> None:
        if self.viol == 0:
            point = Progress(time.perf_counter() - self.started, float(self.vals[0]), self.bound)
            self.trajectory.append(point)
            if self.config.on_progress is not None:
                self.config.on_progress(point)

    def _try(self, mode: np.ndarray | None, start: np.ndarray | None) -> bool:
        """Adopt (mode, start) when no worse than the incumbent; True when strictly better."""
        if mode is None or start is None:
            return False
        viol, vals = self._score(mode, start)
        delta = relative_delta(viol, vals, self.viol, self.vals)
        if delta > 0 or viol > 0:
            return False
        self.mode, self.start, self.viol, self.vals = mode, start, viol, vals
        if delta < 0:
            self.accepted += 1
            self._record()
        return delta < 0

    def _compact(
        self, mode: np.ndarray, start: np.ndarray
    ) -> tuple[np.ndarray | None, np.ndarray | None]:
        """Every op as early as its machine order allows: the start order decoded by the
        append scheme with the modes fixed (the machine orders are kept)."""
        p = self.p
        order = np.lexsort((np.arange(p.n_ops), start))
        prio = np.empty(p.n_ops)
        prio[order] = np.arange(p.n_ops - 1, -1, -1, dtype=np.float64)
        none = np.zeros(p.n_ops, dtype=np.bool_)
        if decode(p, self.w, APPEND, STATIC, prio, mode, False, none, NO_DEADLINE) == FAILED:
            return None, None
        return self.w.mode.copy(), self.w.start.copy()

    def at_bound(self, bounds: list[float]) -> bool:
        return self.viol == 0 and all(
            v <= b + 1e-9 * max(1.0, abs(b)) for v, b in zip(self.vals, bounds, strict=True)
        )

    def _window(self, size: int) -> tuple[np.ndarray, int, int]:
        """Machines and window of the next part: around an op of the critical path (or of a
        late job) half of the time, else around a random op."""
        p = self.p
        end = self.start + p.mode_duration[self.mode]
        anchor = int(self.rng.integers(p.n_ops))
        u = self.rng.random()
        if u < 0.3:  # an op of a job ending last (on the critical path)
            j = p.op_job[int(self.rng.choice(np.flatnonzero(end >= end.max() - 1)))]
            anchor = int(self.rng.integers(p.job_op_ptr[j], p.job_op_ptr[j + 1]))
        elif u < 0.6:  # an op ending in the last tenth of the schedule, which the makespan sees
            anchor = int(self.rng.choice(np.flatnonzero(end >= 0.9 * end.max())))
        group = self.groups[int(p.mode_machine[self.mode[anchor]])]
        if group.size > GROUP_MOST:
            keep = self.rng.choice(group, GROUP_MOST, replace=False)
            anchor_m = p.mode_machine[self.mode[anchor]]
            group = np.unique(np.append(keep[: GROUP_MOST - 1], anchor_m))
        on = np.flatnonzero(np.isin(p.mode_machine[self.mode], group))
        starts = np.sort(self.start[on])
        i = int(np.searchsorted(starts, self.start[anchor]))
        lo = max(0, i - size // 2)
        hi = min(starts.size - 1, lo + size)
        return group, int(starts[lo]), int(starts[hi]) + (1 if hi == starts.size - 1 else 0)

    def step(self, size: int, limit: float) -> None:
        """One part: free, solve, compact, adopt the better if no worse; adapt the size."""
        p = self.p
        group, a, b = self._window(size)
        nb = neighbourhood(p, self.start, self.mode, group, a, b)
        if nb.ops.size < 2:
            return
        end = self.start + p.mode_duration[self.mode]
        completion = np.maximum.reduceat(end, p.job_op_ptr[:-1])
        slack = completion[p.op_job] - end
        sm = build(p, nb, self.start, self.mode, self.scale, self.guide, slack)
        if sm is None:
            return
        for var, value in {v.index: (v, x) for v, x in sm.hints}.values():
            sm.model.add_hint(var, value)
        solver = cp_model.CpSolver()
        solver.parameters.max_time_in_seconds = max(0.01, limit)
        solver.parameters.num_workers = max(1, self.config.workers or 1)
        solver.parameters.random_seed = int(self.rng.integers(1 << 30))
        solver.parameters.catch_sigint_signal = False
        tick = time.perf_counter()
        with stop_watch(self.config.stop, solver.stop_search):
            code = solver.solve(sm.model)
        took = time.perf_counter() - tick
        if code == cp_model.OPTIMAL and took < limit / 4:
            self.size = min(PART_SIZE[2], int(size * GROW) + 1)
        elif code != cp_model.OPTIMAL:
            self.size = max(PART_SIZE[1], int(size * SHRINK))
        if code not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            return
        mode, start = self.mode.copy(), self.start.copy()
        for o in nb.ops.tolist():
            mode[o] = sm.mode_of(o, solver)
            start[o] = solver.value(sm.start[o])
        cm, cs = self._compact(mode, start)
        best = (mode, start)
        if cm is not None and cs is not None:
            v1, l1 = self._score(mode, start)
            v2, l2 = self._score(cm, cs)
            if relative_delta(v2, l2, v1, l1) <= 0:
                best = (cm, cs)
        self._try(*best)


def _machine_groups(p: Problem) -> dict[int, np.ndarray]:
    """Per machine, the machines linked to it by operations with modes on both (its work
    centre): the connected components of that relation."""
    parent = list(range(p.n_machines))

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for o in range(p.n_ops):
        ms = p.mode_machine[p.mode_ptr[o] : p.mode_ptr[o + 1]]
        for m in ms[1:]:
            parent[find(int(m))] = find(int(ms[0]))
    roots = np.array([find(m) for m in range(p.n_machines)])
    return {m: np.flatnonzero(roots == roots[m]) for m in range(p.n_machines)}
