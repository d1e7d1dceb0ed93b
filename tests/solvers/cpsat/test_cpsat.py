"""The CP-SAT solver: optimal on ft06, valid on random instances with every feature, equal to a
brute force on tiny ones, infeasibility, objectives, refusals, warm start and progress."""

from __future__ import annotations

import itertools
import threading
import time

import pytest
from cpsat_support import solve as _solve
from cpsat_support import solve_fixed_to_own_hint
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from paths import INSTANCES, plant_generator
from strategies import instances, limits_are_loose

import scheduler
from scheduler.core.compile import compile_instance
from scheduler.core.errors import UnsupportedFeatureError
from scheduler.core.model import Energy, Instance, Job, Machine, Mode, Operation, Resource
from scheduler.core.objective import Objective
from scheduler.core.registry import get_solver
from scheduler.core.result import Progress
from scheduler.core.schedule import Assignment, Schedule
from scheduler.core.validate import validate
from scheduler.io import load
from solvers.cpsat.greedy import greedy_schedule
from solvers.cpsat.model import build_model, feasible_modes, time_windows
from solvers.stopping import OutOfTime, SetupClock

FT06 = INSTANCES / "jssp" / "ft06.txt"
OBJECTIVES = (
    "makespan",
    "weighted_tardiness",
    "total_flow_time",
    "makespan=1,total_flow_time=0.5",
    "weighted_tardiness=2,makespan=0.1",
    "makespan>total_flow_time",
    "weighted_tardiness>makespan",
)
PROPERTY = settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# -- independent objective values and a brute force -----------------------------------------


def _level_values(instance: Instance, rows: dict[str, tuple[int, int]], objective: str) -> tuple:
    """Every level's value from (start, end) per operation id, computed from the Instance."""
    completion = {j.id: max(rows[op.id][1] for op in j.operations) for j in instance.jobs}
    terms = {
        "makespan": max(end for _, end in rows.values()),
        "total_flow_time": sum(completion[j.id] - j.release for j in instance.jobs),
        "weighted_tardiness": sum(
            j.weight * max(0, completion[j.id] - j.due) for j in instance.jobs if j.due is not None
        ),
    }
    levels = Objective.parse(objective).levels
    return tuple(sum(w * terms[t] for t, w in level) for level in levels)


def _schedule_values(instance: Instance, schedule: Schedule, objective: str) -> tuple:
    rows = {a.operation: (a.start, a.end) for a in schedule.assignments}
    return _level_values(instance, rows, objective)


def _brute_force(instance: Instance, objective: str) -> tuple | None:
    """The lexicographically best level values over every mode choice and every precedence-
    compatible order, each decoded by a serial generation scheme (earliest start with the setup
    right before it, outside windows, within resource capacity); None if nothing is feasible.
    For regular objectives some order reproduces an optimal schedule, so this is exact."""
    ops = [(job, op) for job in instance.jobs for op in job.operations]
    preds: dict[str, list[tuple[str, int]]] = {op.id: [] for _, op in ops}
    for a, b, lag in instance.precedences():
        preds[b].append((a, lag))
    horizon = compile_instance(instance).horizon
    windows = {m.id: m.unavailable for m in instance.machines}
    capacity = {r.id: r.capacity for r in instance.resources}
    best = None
    for choice in itertools.product(*(range(len(op.modes)) for _, op in ops)):
        mode_of = {op.id: op.modes[k] for (_, op), k in zip(ops, choice, strict=True)}
        for order in itertools.permutations(ops):
            rows = _decode(instance, order, mode_of, preds, windows, capacity, horizon)
            if rows is not None:
                values = _level_values(instance, rows, objective)
                best = values if best is None or values < best else best
    return best


def _decode(
    instance: Instance,
    order: tuple[tuple[Job, Operation], ...],
    mode_of: dict[str, Mode],
    preds: dict[str, list[tuple[str, int]]],
    windows: dict[str, tuple[tuple[int, int], ...]],
    capacity: dict[str, int],
    horizon: int,
) -> dict[str, tuple[int, int]] | None:
    rows: dict[str, tuple[int, int]] = {}
    last: dict[str, tuple[Operation, int]] = {}
    for job, op in order:
        if any(p not in rows for p, _ in preds[op.id]):
            return None
        mode = mode_of[op.id]
        prev = last.get(mode.machine)
        setup = instance.setup(mode.machine, prev[0].family, op.family) if prev else 0
        t = max([job.release] + [rows[p][1] + lag for p, lag in preds[op.id]])
        if prev:
            t = max(t, prev[1] + setup)
        limit = min(horizon, job.deadline if job.deadline is not None else horizon)
        while t + mode.duration <= limit and not _fits(
            t, setup, mode, rows, mode_of, windows, capacity
        ):
            t += 1
        if t + mode.duration > limit:
            return None
        rows[op.id] = (t, t + mode.duration)
        last[mode.machine] = (op, t + mode.duration)
    return rows


def _fits(
    t: int,
    setup: int,
    mode: Mode,
    rows: dict[str, tuple[int, int]],
    mode_of: dict[str, Mode],
    windows: dict[str, tuple[tuple[int, int], ...]],
    capacity: dict[str, int],
) -> bool:
    end = t + mode.duration
    if any(s < end and t - setup < e for s, e in windows[mode.machine]):
        return False
    for r, q in mode.resources.items():
        for tick in range(t, end):
            used = sum(
                mode_of[o].resources.get(r, 0) for o, (s, e) in rows.items() if s <= tick < e
            )
            if used + q > capacity[r]:
                return False
    return True


# -- benchmark --------------------------------------------------------------------------------


def test_ft06_is_solved_to_its_optimum_55() -> None:
    instance = load(FT06)
    result = _solve(instance, workers=2)
    assert result.status == "optimal"
    assert result.objective == 55 and result.bound == 55
    assert result.schedule is not None and validate(instance, result.schedule) == []


def test_registered_as_cpsat() -> None:
    assert get_solver("cpsat").name == "cpsat"


# -- properties over random instances ----------------------------------------------------------


@PROPERTY
@given(instance=instances(), objective=st.sampled_from(OBJECTIVES))
def test_every_schedule_is_valid_and_reports_its_objective(
    instance: Instance, objective: str
) -> None:
    result = _solve(instance, objective)
    assert result.status != "unknown", result.message
    if result.status == "infeasible":
        assert result.schedule is None
        return
    assert result.schedule is not None
    assert validate(instance, result.schedule) == []
    values = _schedule_values(instance, result.schedule, objective)
    assert result.objectives == pytest.approx(list(values))
    assert result.objective == pytest.approx(values[0])
    assert result.objective is not None and result.bound is not None
    assert result.bound <= result.objective + 1e-9
    if result.status == "optimal":
        assert result.bound == pytest.approx(result.objective)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(instance=instances(jobs=(2, 6), ops_per_job=(1, 4)))
def test_the_greedy_first_solution_is_valid(instance: Instance) -> None:
    """The greedy schedule is valid, and only a tight deadline or horizon can prevent it."""
    c = compile_instance(instance)
    earliest, latest = time_windows(c)
    found = greedy_schedule(c, feasible_modes(c, earliest, latest), latest)
    if found is None:
        assert not limits_are_loose(instance)
    else:
        assert validate(instance, Schedule.from_arrays(c, *found)) == []


@PROPERTY
@given(
    instance=instances(jobs=(1, 2), ops_per_job=(1, 2), machines=(1, 3), max_duration=4),
    objective=st.sampled_from(OBJECTIVES),
)
def test_tiny_instances_match_a_brute_force(instance: Instance, objective: str) -> None:
    result = _solve(instance, objective)
    expected = _brute_force(instance, objective)
    if expected is None:
        assert result.status == "infeasible"
        return
    assert result.status == "optimal"
    assert tuple(result.objectives) == pytest.approx(expected)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(instance=instances(), objective=st.sampled_from(OBJECTIVES))
def test_a_warm_start_hint_is_complete(instance: Instance, objective: str) -> None:
    """Fixing every variable to the hint of an optimal schedule leaves exactly that solution:
    any missing or inconsistent hinted value (modes, arcs, setups) would make it infeasible."""
    solved = solve_fixed_to_own_hint(instance, objective)
    if solved is None:
        return
    first, fixed = solved
    assert fixed.status == "optimal", fixed.message
    assert fixed.schedule == first.schedule
    assert fixed.objectives == first.objectives


# -- specific behaviour -----------------------------------------------------------------------


def _two_jobs(deadline: int | None = None, **kwargs: object) -> Instance:
    jobs = (
        Job("A", (Operation("A1", (Mode("M", 5),), family="x"),), due=5, deadline=deadline),
        Job(
            "B", (Operation("B1", (Mode("M", 5),), family="y"),), due=5, weight=3, deadline=deadline
        ),
    )
    return Instance((Machine("M", **kwargs),), jobs)  # type: ignore[arg-type]


def test_a_deadline_broken_by_a_machine_conflict_is_infeasible() -> None:
    assert _solve(_two_jobs(deadline=9)).status == "infeasible"
    assert _solve(_two_jobs(deadline=10)).status == "optimal"


def test_a_setup_may_not_overlap_a_window() -> None:
    """A then B needs a 3-tick setup that must not meet the window [5, 7): B starts at 10."""
    jobs = (
        Job("A", (Operation("A1", (Mode("M", 5),), family="x"),)),
        Job("B", (Operation("B1", (Mode("M", 5),), family="y"),), release=1),
    )
    instance = Instance(
        (Machine("M", unavailable=((5, 7),)),),
        jobs,
        setup_times={"M": {"x": {"y": 3}}},  # type: ignore[arg-type]
    )
    result = _solve(instance)
    assert result.status == "optimal" and result.objective == 15
    assert result.schedule is not None and validate(instance, result.schedule) == []


def test_setup_circuits_over_the_size_limit_are_refused_before_building() -> None:
    """Two operations of different families on M: 2 possible arcs (A1 then B1, B1 then A1)."""
    jobs = (
        Job("A", (Operation("A1", (Mode("M", 5),), family="x"),)),
        Job("B", (Operation("B1", (Mode("M", 5),), family="y"),)),
    )
    instance = Instance((Machine("M"),), jobs, setup_times={"M": {"x": {"y": 3}}})  # type: ignore[arg-type]
    with pytest.raises(UnsupportedFeatureError, match=r"2 arcs .*limit of 1 .*heuristic"):
        _solve(instance, options={"max_setup_arcs": 1})
    assert _solve(instance, options={"max_setup_arcs": 2}).objective == 10
    with pytest.raises(UnsupportedFeatureError, match="max_setup_arcs' must be an int"):
        _solve(instance, options={"max_setup_arcs": "many"})
    logged: list[str] = []  # through the facade: refused before the heuristic warm start runs
    with pytest.raises(UnsupportedFeatureError, match="limit of 1"):
        scheduler.solve(instance, solver="cpsat", max_setup_arcs=1, log=logged.append)
    assert not any("warm start" in line for line in logged)


def test_weighted_tardiness_puts_the_heavy_job_first() -> None:
    result = _solve(_two_jobs(), "weighted_tardiness")
    assert result.status == "optimal" and result.objective == 5  # A late by 5, weight 1
    assert result.schedule is not None
    starts = {a.operation: a.start for a in result.schedule.assignments}
    assert starts == {"B1": 0, "A1": 5}


def test_a_weighted_sum_is_reported_in_its_own_units() -> None:
    result = _solve(_two_jobs(), "weighted_tardiness=0.5,makespan=0.25")
    assert result.status == "optimal"
    assert result.objective == pytest.approx(0.5 * 5 + 0.25 * 10)


def test_lexicographic_levels_are_each_optimised() -> None:
    """Makespan first (two orders tie at 10), then tardiness picks the order that puts B first."""
    result = _solve(_two_jobs(), "makespan>weighted_tardiness")
    assert result.status == "optimal"
    assert result.objectives == [10, 5]
    assert result.objective == 10 and result.bound == 10


def test_weights_that_do_not_scale_to_integers_are_refused() -> None:
    with pytest.raises(UnsupportedFeatureError, match="integer"):
        _solve(_two_jobs(), "makespan=0.1234567")


@pytest.mark.parametrize(
    ("bounds", "message"),
    [
        ([("carbon", 1.0)], "must be a dict"),
        ({"co2": 1.0}, "unknown term 'co2'"),
        ({"carbon": "low"}, "finite number"),
        ({"makespan": float("inf")}, "finite number"),
        ({"makespan": True}, "finite number"),
    ],
)
def test_malformed_bounds_are_refused(bounds: object, message: str) -> None:
    with pytest.raises(UnsupportedFeatureError, match=message):
        _solve(_two_jobs(), options={"bounds": bounds})


def test_kpi_only_energy_data_is_accepted() -> None:
    from scheduler.core.model import Profile

    energy = Energy(tariff=Profile(((0, 0.1), (4, 0.3))), carbon_intensity=Profile(((0, 0.4),)))
    instance = Instance((Machine("M", idle_power_kw=2.0),), _two_jobs().jobs, energy=energy)
    assert _solve(instance).objective == 10


def test_unknown_options_are_refused_and_known_ones_work() -> None:
    with pytest.raises(UnsupportedFeatureError, match="no_such_option"):
        _solve(_two_jobs(), options={"no_such_option": 1})
    with pytest.raises(UnsupportedFeatureError, match="not_a_field"):
        _solve(_two_jobs(), options={"cp_sat_parameters": {"not_a_field": 1}})
    lines: list[str] = []
    result = _solve(_two_jobs(), log=lines.append, options={"log_search_progress": True})
    assert result.status == "optimal" and any("CP-SAT" in line for line in lines)
    assert any(line.startswith("cpsat level 1/1: OPTIMAL") for line in lines)


def test_the_warm_start_is_returned_when_cpsat_has_no_time() -> None:
    instance = _two_jobs()
    late = Schedule(
        instance, (Assignment("A", "A1", "M", 0, 0, 5), Assignment("B", "B1", "M", 0, 7, 12))
    )
    result = _solve(instance, warm_start=late, time_limit=0.0)
    assert result.status == "feasible" and "warm start" in result.message
    assert result.schedule == late and result.objective == 12
    cold = _solve(instance, time_limit=0.0)  # then the greedy list schedule is returned
    assert cold.status == "feasible" and "greedy" in cold.message
    assert cold.schedule is not None and validate(instance, cold.schedule) == []


def test_set_up_work_stops_at_the_clock() -> None:
    """The list schedule and the model building read the clock (ta41: 600 operations, more
    than one look's worth) and stop once the deadline has passed or a stop is requested."""
    c = compile_instance(load(INSTANCES / "jssp" / "ta41.txt"))
    earliest, latest = time_windows(c)
    modes = feasible_modes(c, earliest, latest)
    assert greedy_schedule(c, modes, latest, SetupClock(None)) is not None
    stopped = threading.Event()
    stopped.set()
    for clock in (SetupClock(time.perf_counter()), SetupClock(None, stopped)):
        with pytest.raises(OutOfTime):
            greedy_schedule(c, modes, latest, clock)
        with pytest.raises(OutOfTime):
            build_model(c, earliest, latest, modes, clock)


def test_a_large_instance_is_answered_within_its_time_limit() -> None:
    """A 3,000-operation plant whose list schedule and model take longer than the limit: the
    solve returns within limit + 1 s, with a valid schedule or none."""
    plant = plant_generator().generate_plant(3, jobs=300, ops=10, machines=50)
    started = time.perf_counter()
    result = _solve(plant, time_limit=0.5, workers=2)
    assert time.perf_counter() - started <= 1.5
    assert result.schedule is None or validate(plant, result.schedule) == []
    if result.schedule is None:
        assert result.status == "unknown" and "did not search" in result.message


def test_an_invalid_warm_start_is_never_returned() -> None:
    instance = _two_jobs()
    overlapping = Schedule(
        instance, (Assignment("A", "A1", "M", 0, 0, 5), Assignment("B", "B1", "M", 0, 2, 7))
    )
    result = _solve(instance, warm_start=overlapping, time_limit=0.0)
    assert result.schedule is None or validate(instance, result.schedule) == []
    better = _solve(instance, warm_start=overlapping)
    assert better.status == "optimal" and better.objective == 10


def test_progress_is_reported_and_recorded() -> None:
    instance = load(FT06)
    seen: list[Progress] = []
    result = _solve(instance, on_progress=seen.append, workers=2)
    assert seen and all(p in result.trajectory for p in seen)
    times = [p.time_s for p in result.trajectory]
    assert times == sorted(times)
    found = [p.objective for p in result.trajectory if p.objective is not None]
    assert found == sorted(found, reverse=True) and found[-1] == 55
    assert result.trajectory[-1].bound == 55


def test_a_resource_serialises_operations_on_different_machines() -> None:
    jobs = tuple(
        Job(f"J{i}", (Operation(f"O{i}", (Mode(f"M{i}", 4, resources={"crew": 1}),)),))  # type: ignore[arg-type]
        for i in range(3)
    )
    machines = tuple(Machine(f"M{i}") for i in range(3))
    instance = Instance(machines, jobs, resources=(Resource("crew", 2),))
    result = _solve(instance)
    assert result.objective == 8
    assert result.schedule is not None and validate(instance, result.schedule) == []
