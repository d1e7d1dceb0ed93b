"""MilpSolver: refuse what the chosen formulation cannot model, bound the horizon by a known
schedule when the makespan comes first, build the Pyomo model, give it the warm start (or a list
schedule) as its MIP start, solve the levels in turn and report exact values from the schedule."""

from __future__ import annotations

import math
import time

import numpy as np
import pyomo.environ as pyo

from scheduler.core.bounds import with_compiled_bounds
from scheduler.core.compile import CompiledInstance
from scheduler.core.errors import UnsupportedFeatureError
from scheduler.core.objective import Objective
from scheduler.core.protocol import Capabilities, SolveConfig, check_supported
from scheduler.core.result import Progress, Result, Status, solution_result
from scheduler.core.schedule import Schedule
from scheduler.core.validate import validate
from solvers.cpsat.greedy import greedy_schedule
from solvers.cpsat.model import feasible_modes, infeasibility, time_windows
from solvers.cpsat.objectives import bound_limit
from solvers.cpsat.terms import schedule_terms
from solvers.milp.disjunctive import build_disjunctive
from solvers.milp.highs_backend import solve_highs
from solvers.milp.model import MilpModel, Outcome, read_schedule
from solvers.milp.objectives import add_terms, set_term_values
from solvers.milp.options import DEFAULT_BACKEND, OPTIONS, MilpOptions, parse_options
from solvers.milp.pyomo_backend import pyomo_solver, solve_pyomo
from solvers.milp.time_indexed import build_time_indexed

REL_TOL = 1e-9
ScheduleArrays = tuple[np.ndarray, np.ndarray]


class MilpSolver:
    """A Pyomo MILP (disjunctive or time-indexed) solved by HiGHS, or any Pyomo solver."""

    name = "milp"
    capabilities = Capabilities(
        features=frozenset(
            {
                "alternative_modes",
                "precedence_lags",
                "releases",
                "deadlines",
                "setups",  # disjunctive
                "unavailability",
                "resources",  # time-indexed
                "power_cap",  # time-indexed
                "carbon_cap",  # time-indexed; disjunctive under a constant intensity
            }
        ),
        terms=frozenset(
            {
                "makespan",
                "weighted_tardiness",
                "total_flow_time",
                "energy",
                "energy_cost",  # time-indexed; disjunctive under a constant tariff
                "carbon",  # time-indexed; disjunctive under a constant intensity
                "idle_energy",
            }
        ),
        options=OPTIONS,
    )

    def solve(self, compiled: CompiledInstance, config: SolveConfig) -> Result:
        """Solve `compiled` for `config.objective` with the formulation of the options."""
        check_supported(self, compiled, config)
        started = time.perf_counter()
        c = compiled
        opts = parse_options(config.options)
        if opts.backend != DEFAULT_BACKEND:
            pyomo_solver(opts.backend)
        formulation = formulation_for(c, config.objective, opts)
        hint, origin = _initial_schedule(c, config, opts.bounds)
        earliest, latest = time_windows(c, _makespan_limit(c, config.objective, opts, hint))
        reason = infeasibility(c, earliest, latest)
        if reason is not None:
            return Result("infeasible", self.name, message=reason, wall_time_s=_since(started))
        modes = feasible_modes(c, earliest, latest)
        building = time.perf_counter()
        mm = (
            build_time_indexed(c, earliest, latest, modes, opts.max_time_vars)
            if formulation == "time"
            else build_disjunctive(c, earliest, latest, modes)
        )
        if isinstance(mm, str):
            return Result("infeasible", self.name, message=mm, wall_time_s=_since(started))
        levels = config.objective.levels
        terms = add_terms(mm, c, config.objective.terms | frozenset(opts.bounds))
        m = mm.model
        m.level = pyo.Objective(
            range(len(levels)), rule=lambda m, i: sum(w * terms[t] for t, w in levels[i])
        )
        bounded = sorted(opts.bounds)
        m.bounded = pyo.Set(initialize=bounded)
        m.bound = pyo.Constraint(
            m.bounded, rule=lambda m, t: terms[t] <= float(bound_limit(opts.bounds[t]))
        )
        if hint is not None:
            mm.set_schedule(*hint)
            set_term_values(mm, c, *hint)
        built = _since(building)
        if config.log is not None:
            config.log(f"milp: {formulation} model built in {built:.2f} s")
        trajectory: list[Progress] = []
        late = config.time_limit is not None and _since(started) + built >= config.time_limit
        if late:
            outcome = Outcome(statuses=["unknown"])
        elif opts.backend == DEFAULT_BACKEND:
            outcome = solve_highs(
                m, len(levels), config, opts.mip_gap, opts.solver_log, started, trajectory
            )
        else:
            outcome = solve_pyomo(m, len(levels), config, opts.backend, opts.mip_gap, started)
        message = (
            f"{formulation} model ({opts.backend}) built in {built:.2f} s; level statuses: "
            + ", ".join(outcome.statuses)
        )
        if outcome.interrupted:
            message += "; stopped (Ctrl-C or config.stop): the incumbent is kept"
        elif late:
            message += "; not solved: no time left to compile the model (it takes about as long "
            message += "as the build)"
        result = self._result(
            c, mm, config.objective, outcome, (hint, origin), trajectory, message, started
        )
        # the compiled bounds where they beat the MIP's (the relaxation only if time is left:
        # its LP runs after the MIP, not beside it, so the two HiGHS never share the cores)
        deadline = None if config.time_limit is None else started + config.time_limit
        return with_compiled_bounds(
            result, c, config.objective, deadline, config.stop.is_set(), start=False
        )

    def _result(
        self,
        c: CompiledInstance,
        mm: MilpModel,
        objective: Objective,
        outcome: Outcome,
        initial: tuple[ScheduleArrays | None, str],
        trajectory: list[Progress],
        message: str,
        started: float,
    ) -> Result:
        """The better of the MIP's schedule and the (valid) MIP start, with exact values."""
        hint, origin = initial
        n_levels = len(objective.levels)
        best: ScheduleArrays | None = None
        status: Status
        if outcome.found:
            _fill_unused(mm.model)
            best = read_schedule(mm, c)
            violations = validate(c.instance, Schedule.from_arrays(c, *best))
            if violations:  # backend tolerances; never returned
                message += f"; the backend's solution was dropped: {violations[0]}"
                best = None
        if best is None:
            status = "infeasible" if outcome.statuses[:1] == ["infeasible"] else "unknown"
        elif outcome.statuses == ["optimal"] * n_levels:
            status = "optimal"
        else:
            status = "feasible"
        if hint is not None and (
            best is None or _better(_values(c, objective, hint), _values(c, objective, best))
        ):
            best, status = hint, "feasible"
            message += f"; returned the {origin} (the MIP found nothing better)"
        bound = outcome.bound
        if best is None:
            return Result(
                status, self.name, bound=bound, wall_time_s=_since(started), message=message
            )
        values = _values(c, objective, best)
        elapsed = _since(started)
        schedule = Schedule.from_arrays(c, *best)
        return solution_result(
            status, self.name, schedule, values, bound, elapsed, trajectory, message
        )


def formulation_for(c: CompiledInstance, objective: Objective, opts: MilpOptions) -> str:
    """The formulation to build, refusing (UnsupportedFeatureError) what it cannot model
    exactly (capabilities are the union of both formulations): `auto` takes the time-indexed
    one where only it models the instance and objective, else the disjunctive one."""
    time_only = _time_only(c, objective.terms | set(opts.bounds))
    formulation = opts.formulation
    if formulation == "auto":
        formulation = "time" if time_only and not c.has_setups else "disjunctive"
        if time_only and c.has_setups:
            raise UnsupportedFeatureError(
                f"milp models {', '.join(time_only)} only in the time-indexed formulation, which "
                "does not model sequence-dependent setup times; this instance needs both"
            )
    if formulation == "time" and c.has_setups:
        raise UnsupportedFeatureError(
            "milp formulation=time does not model sequence-dependent setup times (they "
            "depend on the sequence, which x[op, mode, t] does not hold); use "
            "formulation=disjunctive"
        )
    if formulation == "disjunctive" and time_only:
        raise UnsupportedFeatureError(
            f"milp formulation=disjunctive does not model {', '.join(time_only)} (they depend "
            "on every tick an operation runs); use formulation=time"
        )
    return formulation


def _time_only(c: CompiledInstance, wanted: set[str] | frozenset[str]) -> list[str]:
    """What of the instance and the wanted terms only the time-indexed formulation models."""
    missing = []
    if c.has_resources:
        missing.append("renewable resources")
    if c.power_cap_start.size:
        missing.append("a power cap")
    if not np.isnan(c.carbon_cap_kg) and c.carbon_start.size > 1:
        missing.append("a carbon cap under a time-varying carbon intensity")
    if "energy_cost" in wanted and c.tariff_start.size > 1:
        missing.append("the energy cost of a time-varying tariff")
    if "carbon" in wanted and c.carbon_start.size > 1:
        missing.append("the carbon of a time-varying carbon intensity")
    return missing


def _since(started: float) -> float:
    return time.perf_counter() - started


def _fill_unused(model: pyo.ConcreteModel) -> None:
    """Variables in no constraint (an operation alone in the model) take their lower bound."""
    for v in model.component_data_objects(pyo.Var):
        if v.value is None:
            v.set_value(v.lb if v.lb is not None else 0, skip_validation=True)


def _values(c: CompiledInstance, objective: Objective, schedule: ScheduleArrays) -> list[float]:
    """The exact value of every level for the schedule."""
    terms = schedule_terms(c, *schedule)
    return [float(sum(w * terms[t] for t, w in level)) for level in objective.levels]


def _better(values: list[float], than: list[float]) -> bool:
    """Lexicographically smaller, values within REL_TOL counting as equal."""
    for a, b in zip(values, than, strict=True):
        if abs(a - b) > REL_TOL * max(1.0, abs(a), abs(b)):
            return a < b
    return False


def _acceptable(c: CompiledInstance, bounds: dict[str, float], schedule: ScheduleArrays) -> bool:
    """Complete, within the bounds and passing the validator."""
    mode, start = schedule
    if np.any(mode < 0):
        return False
    terms = schedule_terms(c, mode, start)
    if any(terms[t] > bound_limit(b) for t, b in bounds.items()):
        return False
    return not validate(c.instance, Schedule.from_arrays(c, mode, start))


def _initial_schedule(
    c: CompiledInstance, config: SolveConfig, bounds: dict[str, float]
) -> tuple[ScheduleArrays | None, str]:
    """A valid schedule within the bounds to start from: the warm start, else a list schedule."""
    if config.warm_start is not None:
        warm = config.warm_start.to_arrays(c)
        if _acceptable(c, bounds, warm):
            return warm, "warm start"
    earliest, latest = time_windows(c)
    if infeasibility(c, earliest, latest) is None:
        greedy = greedy_schedule(c, feasible_modes(c, earliest, latest), latest)
        if greedy is not None and _acceptable(c, bounds, greedy):
            return greedy, "list schedule"
    return None, ""


def _makespan_limit(
    c: CompiledInstance, objective: Objective, opts: MilpOptions, hint: ScheduleArrays | None
) -> int | None:
    """A latest end for every operation that keeps an optimal schedule: the makespan bound,
    and when the makespan alone comes first, the makespan of the known schedule (any better
    schedule ends earlier). Tight windows make the big-M values and the time grid small."""
    limits = []
    if "makespan" in opts.bounds:
        limits.append(math.floor(bound_limit(opts.bounds["makespan"])))
    first = objective.levels[0]
    if hint is not None and len(first) == 1 and first[0][0] == "makespan" and first[0][1] > 0:
        mode, start = hint
        limits.append(int((start + c.mode_duration[mode]).max()))
    return min(limits) if limits else None
