"""The `baseline` solver: the plain CP-SAT formulation of OR-Tools' job-shop samples (one
interval per operation, optional intervals per alternative machine, no-overlap per machine,
makespan), with no hints and CP-SAT's default parameters, so benchmarks show what our
engineering adds on top of the textbook model.

Modelled: alternative machines, precedences with lags (cross-job too), releases, deadlines and
the horizon (bounds on the variables). Refused: setups, renewable resources, unavailability
windows, power and carbon caps, any objective but makespan, any solver option. A warm start is
not used (the samples take no hints); the Result's message says so."""

from __future__ import annotations

import time

import numpy as np
from ortools.sat.python import cp_model

from scheduler.core.compile import CompiledInstance
from scheduler.core.protocol import Capabilities, SolveConfig, check_supported
from scheduler.core.result import Progress, Result, Status, close_trajectory
from scheduler.core.schedule import Schedule
from solvers.stopping import stop_watch

NAME = "baseline"
STATUS: dict[cp_model.CpSolverStatus, Status] = {
    cp_model.OPTIMAL: "optimal",
    cp_model.FEASIBLE: "feasible",
    cp_model.INFEASIBLE: "infeasible",
}


class ProgressRecorder(cp_model.CpSolverSolutionCallback):
    """Record each improving solution as a Progress point and forward it to `on_progress`
    (shared by the OR-Tools-based peers); values are multiplied by `scale`, the objective's
    weight when the model minimises the bare term."""

    def __init__(self, config: SolveConfig, scale: float = 1.0) -> None:
        super().__init__()
        self.config = config
        self.scale = scale
        self.trajectory: list[Progress] = []

    def on_solution_callback(self) -> None:
        point = Progress(
            self.wall_time,
            self.scale * self.objective_value,
            self.scale * self.best_objective_bound,
        )
        self.trajectory.append(point)
        if self.config.on_progress is not None:
            self.config.on_progress(point)


def build_model(
    c: CompiledInstance,
) -> tuple[cp_model.CpModel, list[cp_model.IntVar], list[list[cp_model.IntVar]]]:
    """The sample model: per operation a start, an end and an interval (optional intervals per
    alternative machine with exactly one present), precedences, no-overlap, min makespan.
    Returns the model, the start variables and each operation's alternative literals."""
    model = cp_model.CpModel()
    starts: list[cp_model.IntVar] = []
    ends: list[cp_model.IntVar] = []
    presence: list[list[cp_model.IntVar]] = []
    per_machine: list[list[cp_model.IntervalVar]] = [[] for _ in range(c.n_machines)]
    for o in range(c.n_ops):
        lo, hi = int(c.mode_ptr[o]), int(c.mode_ptr[o + 1])
        durations = c.mode_duration[lo:hi]
        release, latest_end = int(c.op_release[o]), int(c.op_deadline[o])
        start = model.new_int_var(release, latest_end, f"s{o}")
        end = model.new_int_var(release, latest_end, f"e{o}")
        duration = model.new_int_var(int(durations.min()), int(durations.max()), f"d{o}")
        interval = model.new_interval_var(start, duration, end, f"i{o}")
        literals: list[cp_model.IntVar] = []
        if hi - lo == 1:
            per_machine[int(c.mode_machine[lo])].append(interval)
        else:
            for k in range(lo, hi):
                literal = model.new_bool_var(f"p{o}_{k}")
                per_machine[int(c.mode_machine[k])].append(
                    model.new_optional_fixed_size_interval_var(
                        start, int(c.mode_duration[k]), literal, f"i{o}_{k}"
                    )
                )
                model.add(duration == int(c.mode_duration[k])).only_enforce_if(literal)
                literals.append(literal)
            model.add_exactly_one(literals)
        starts.append(start)
        ends.append(end)
        presence.append(literals)
    for o in range(c.n_ops):
        for i in range(int(c.succ_ptr[o]), int(c.succ_ptr[o + 1])):
            model.add(starts[int(c.succ_op[i])] >= ends[o] + int(c.succ_lag[i]))
    for intervals in per_machine:
        if len(intervals) > 1:
            model.add_no_overlap(intervals)
    makespan = model.new_int_var(0, c.horizon, "makespan")
    model.add_max_equality(makespan, ends)
    model.minimize(makespan)
    return model, starts, presence


class BaselineSolver:
    """OR-Tools' job-shop sample formulation with default CP-SAT parameters and no hints."""

    name = NAME
    capabilities = Capabilities(
        features=frozenset({"alternative_modes", "precedence_lags", "releases", "deadlines"}),
        terms=frozenset({"makespan"}),
        lexicographic=False,
        weighted_sums=False,
    )

    def solve(self, compiled: CompiledInstance, config: SolveConfig) -> Result:
        """Build the sample model, solve it within the time limit, return the best schedule."""
        check_supported(self, compiled, config)
        started = time.perf_counter()
        c = compiled
        model, starts, presence = build_model(c)
        solver = cp_model.CpSolver()
        if config.time_limit is not None:
            solver.parameters.max_time_in_seconds = max(0.0, config.time_limit)
        if config.workers is not None:
            solver.parameters.num_workers = config.workers
        solver.parameters.random_seed = config.seed
        weight = config.objective.levels[0][0][1]  # makespan=W scales the value and bound
        recorder = ProgressRecorder(config, weight)
        solver.parameters.catch_sigint_signal = False
        with stop_watch(config.stop, solver.stop_search):
            status = STATUS.get(solver.solve(model, recorder), "unknown")
        result = Result(
            status=status,
            solver=NAME,
            trajectory=recorder.trajectory,
            message="warm start not used (the plain formulation takes no hints)"
            if config.warm_start is not None
            else "",
        )
        if status in ("optimal", "feasible"):
            mode = np.array(
                [
                    int(c.mode_ptr[o])
                    + next((j for j, lit in enumerate(presence[o]) if solver.boolean_value(lit)), 0)
                    for o in range(c.n_ops)
                ],
                dtype=np.int64,
            )
            start = np.array([solver.value(s) for s in starts], dtype=np.int64)
            result.schedule = Schedule.from_arrays(c, mode, start)
            result.objective = weight * float(solver.objective_value)
            result.bound = weight * float(solver.best_objective_bound)
            result.objectives = [result.objective]
            close_trajectory(result.trajectory, solver.wall_time, result.objective, result.bound)
        result.wall_time_s = time.perf_counter() - started
        return result
