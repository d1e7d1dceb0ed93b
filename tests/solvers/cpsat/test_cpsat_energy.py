"""The cpsat solver with every energy feature: random instances (power cap, constant or a step
profile; tariff; carbon profile; carbon cap; idle power) under energy objectives, weighted sums,
lexicographic orders and bounds, checked by the independent validator and KPIs; optima equal to
a brute force over modes and start times on tiny instances; complete hints; the greedy first
schedule under a power cap; the carbon-aware greedy on a benchmark instance."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import replace

import pytest
from cpsat_support import solve as _solve
from cpsat_support import solve_fixed_to_own_hint
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from paths import INSTANCES
from strategies import instances, limits_are_loose

from scheduler.core.compile import compile_instance
from scheduler.core.kpi import compute_kpis
from scheduler.core.model import Energy, Instance, Job, Machine, Mode, Operation, Profile
from scheduler.core.objective import TERMS, Objective
from scheduler.core.protocol import SolveConfig
from scheduler.core.result import Result
from scheduler.core.schedule import Schedule
from scheduler.core.validate import validate
from scheduler.io import load
from scheduler.report.pareto import pareto
from solvers.cpsat import CpSatSolver, ListScheduleSolver
from solvers.cpsat.energy_model import add_energy, term_units
from solvers.cpsat.greedy import greedy_schedule
from solvers.cpsat.hints import schedule_hints
from solvers.cpsat.model import build_model, feasible_modes, infeasibility, time_windows
from solvers.cpsat.objectives import add_objective_variables, integer_levels

ENERGY = INSTANCES / "energy"
OBJECTIVES = (
    "energy",
    "energy_cost",
    "carbon",
    "idle_energy",
    "makespan=1,energy_cost=2",
    "carbon=0.5,weighted_tardiness=1,idle_energy=0.25",
    "energy=1,energy_cost=1,carbon=1",
    "makespan>carbon",
    "carbon>makespan",
    "energy_cost>idle_energy>makespan",
    "makespan",
)
TOL = 1e-6


def _profile(values: list[float], width: int, period: bool) -> Profile:
    steps = tuple((i * width, v) for i, v in enumerate(values))
    return Profile(steps, period=width * len(values) if period and len(values) > 1 else None)


profiles = st.builds(
    _profile,
    st.lists(st.sampled_from((0.05, 0.12, 0.3, 0.45)), min_size=1, max_size=4),
    st.integers(2, 9),
    st.booleans(),
)
power_caps = (
    st.none()
    | st.sampled_from((6.0, 8.0, 12.5))
    | st.builds(
        _profile,
        st.lists(st.sampled_from((5.5, 8.0, 20.0)), min_size=2, max_size=3),
        st.integers(3, 8),
        st.booleans(),
    )
)
energies = st.builds(
    Energy,
    power_caps,
    st.none() | profiles,
    st.none() | profiles,
    st.none() | st.sampled_from((0.05, 0.2, 1.0)),
)


@st.composite
def energy_instances(draw: st.DrawFn, **sizes: object) -> Instance:
    """A random instance (tests/strategies.py) with energy settings that use every feature:
    power cap constant or a step profile (periodic or not), tariff, carbon profile and cap."""
    instance = draw(instances(energy_caps=True, **sizes))  # type: ignore[arg-type]
    return replace(instance, energy=draw(energies))


def _check(instance: Instance, objective: str, result: Result, bounds: dict[str, float]) -> None:
    """A feasible result is valid, meets the bounds and reports the validator's KPIs."""
    assert result.status != "unknown", result.message
    if result.status == "infeasible":
        assert result.schedule is None
        return
    assert result.schedule is not None
    assert validate(instance, result.schedule) == []
    kpis = compute_kpis(instance, result.schedule)
    parsed = Objective.parse(objective)
    expected = [parsed.value(kpis, i) for i in range(len(parsed.levels))]
    assert result.objectives == pytest.approx(expected, rel=TOL, abs=TOL)
    assert result.objective == pytest.approx(expected[0], rel=TOL, abs=TOL)
    for term, bound in bounds.items():
        assert kpis[term] <= bound + TOL
    assert result.objective is not None and result.bound is not None
    assert result.bound <= result.objective + TOL
    if result.status == "optimal":
        assert result.bound == pytest.approx(result.objective, rel=TOL, abs=TOL)


# -- properties over random instances ----------------------------------------------------------


@settings(max_examples=160, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(instance=energy_instances(), objective=st.sampled_from(OBJECTIVES))
def test_every_schedule_is_valid_and_reports_the_validators_objective(
    instance: Instance, objective: str
) -> None:
    _check(instance, objective, _solve(instance, objective), {})


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    instance=energy_instances(),
    objective=st.sampled_from(("makespan", "carbon", "energy_cost")),
    term=st.sampled_from(("makespan", "carbon", "energy_cost", "idle_energy", "energy")),
    share=st.sampled_from((0.5, 0.9, 1.0, 1.3)),
)
def test_bounds_hold_and_cut_exactly_at_the_bound(
    instance: Instance, objective: str, term: str, share: float
) -> None:
    """A bound at a share of the term's value in an optimal schedule: feasible at >= 1 share
    (that schedule meets it), and every schedule returned meets it."""
    free = _solve(instance, term)
    if free.schedule is None:
        return
    bound = share * compute_kpis(instance, free.schedule)[term]
    result = _solve(instance, objective, options={"bounds": {term: bound}})
    _check(instance, objective, result, {term: bound})
    if share >= 1.0:
        assert result.schedule is not None
    optimum = compute_kpis(instance, free.schedule)[term]
    if free.status == "optimal" and share < 1.0 and bound < optimum - TOL:
        assert result.status == "infeasible"


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(instance=energy_instances(), objective=st.sampled_from(OBJECTIVES))
def test_the_hint_of_a_schedule_is_complete(instance: Instance, objective: str) -> None:
    """Fixing every variable to the hint of a schedule, energy pieces included, leaves exactly
    that schedule: any missing or inconsistent hinted value would make it infeasible."""
    solved = solve_fixed_to_own_hint(instance, objective)
    if solved is None:
        return
    first, fixed = solved
    assert fixed.status == "optimal", fixed.message
    assert fixed.schedule == first.schedule
    assert fixed.objectives == pytest.approx(first.objectives)


def _unhinted(instance: Instance) -> list[str] | None:
    """Names of the model variables (every term in the objective) that the hint of the greedy
    schedule leaves out; None when there is no model or no greedy schedule."""
    c = compile_instance(instance)
    units = term_units(c)
    objective = Objective.parse(",".join(TERMS))
    earliest, latest = time_windows(c)
    if infeasibility(c, earliest, latest) is not None:
        return None
    sm = build_model(c, earliest, latest, feasible_modes(c, earliest, latest))
    em = add_energy(sm, c, units, objective.terms, latest)
    ov = add_objective_variables(sm.model, sm.end, c, integer_levels(c, objective, units))
    ov.energy = em.expressions
    found = greedy_schedule(c, sm.modes, latest)
    if found is None:
        return None
    hinted = {var.index for var, _ in schedule_hints(sm, ov, em, c, *found)}
    variables = sm.model.proto.variables
    return [
        v.name
        for i, v in enumerate(variables)
        if i not in hinted and list(v.domain) != [v.domain[0], v.domain[0]]
    ]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(instance=energy_instances())
def test_a_schedule_hints_every_model_variable(instance: Instance) -> None:
    assert _unhinted(instance) in (None, [])


def test_a_schedule_hints_every_variable_of_a_week_long_model() -> None:
    assert _unhinted(load(ENERGY / "mk01-energy-week.json")) == []


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(instance=energy_instances(jobs=(2, 6), ops_per_job=(1, 4)))
def test_the_greedy_first_schedule_breaks_at_most_the_carbon_cap(instance: Instance) -> None:
    """Only a tight deadline or horizon can prevent the greedy schedule (every mode fits under
    every power cap on its own); it breaks no constraint but the carbon cap."""
    c = compile_instance(instance)
    earliest, latest = time_windows(c)
    found = greedy_schedule(c, feasible_modes(c, earliest, latest), latest)
    if found is None:
        assert not limits_are_loose(instance)
    else:
        violations = validate(instance, Schedule.from_arrays(c, *found))
        assert {v.rule for v in violations} <= {"carbon_cap"}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    instance=energy_instances(jobs=(2, 6), ops_per_job=(1, 4)),
    objective=st.sampled_from(OBJECTIVES),
)
def test_the_list_schedule_alone_is_valid_and_valued_exactly(
    instance: Instance, objective: str
) -> None:
    """`auto`'s stand-in returns the greedy list schedule exactly when it passes the validator
    (the carbon cap included), with the exact value of every level."""
    parsed = Objective.parse(objective)
    c = compile_instance(instance)
    result = ListScheduleSolver().solve(c, SolveConfig(objective=parsed, time_limit=10))
    earliest, latest = time_windows(c)
    found = greedy_schedule(c, feasible_modes(c, earliest, latest), latest)
    valid = found is not None and validate(instance, Schedule.from_arrays(c, *found)) == []
    assert (result.schedule is not None) is valid
    if result.schedule is None:
        assert result.status in ("unknown", "infeasible")
        return
    assert result.status == "feasible"
    assert validate(instance, result.schedule) == []
    kpis = compute_kpis(instance, result.schedule)
    exact = [parsed.value(kpis, level) for level in range(len(parsed.levels))]
    assert result.objectives == pytest.approx(exact)


def test_the_list_schedule_keeps_to_the_bounds_and_takes_a_valid_warm_start() -> None:
    c = compile_instance(load(INSTANCES / "jssp" / "ft06.txt"))
    greedy = ListScheduleSolver().solve(c, SolveConfig(time_limit=10))
    assert greedy.schedule is not None and greedy.objective is not None and greedy.objective > 55
    tight = SolveConfig(time_limit=10, options={"bounds": {"makespan": greedy.objective - 1}})
    assert ListScheduleSolver().solve(c, tight).status == "unknown"
    optimal = CpSatSolver().solve(c, SolveConfig(time_limit=10, workers=1))
    warm = SolveConfig(time_limit=10, warm_start=optimal.schedule)
    result = ListScheduleSolver().solve(c, warm)
    assert result.objective == 55 and result.message == "the warm start"


# -- brute force over modes and starts on tiny instances ---------------------------------------


def _tick_values(profile: Profile | None, horizon: int) -> list[float]:
    return [profile.value_at(t) if profile else 0.0 for t in range(horizon)]


def _feasible_terms(instance: Instance) -> Iterator[dict[str, float]]:
    """The terms of every schedule over every mode and start of every operation that meets
    precedences, releases, the horizon, machine overlap, the power cap and the carbon cap,
    computed tick by tick from the Instance."""
    horizon = instance.horizon
    assert horizon is not None
    ops = [op for _, op in instance.operations]
    job_of = {op.id: job for job, op in instance.operations}
    energy = instance.energy
    tariff = _tick_values(energy.tariff, horizon)
    carbon = _tick_values(energy.carbon_intensity, horizon)
    cap = energy.power_cap_kw
    caps = [
        (cap.value_at(t) if isinstance(cap, Profile) else cap) if cap is not None else None
        for t in range(horizon)
    ]
    hours = instance.time_unit_minutes / 60
    idle_kw = {m.id: m.idle_power_kw for m in instance.machines}
    choices = [
        [
            (mode, s)
            for mode in op.modes
            for s in range(job_of[op.id].release, horizon - mode.duration + 1)
        ]
        for op in ops
    ]
    for pick in itertools.product(*choices):
        rows = {
            op.id: (mode, s, s + mode.duration) for op, (mode, s) in zip(ops, pick, strict=True)
        }
        if any(rows[b][1] < rows[a][2] + lag for a, b, lag in instance.precedences()):
            continue
        placed = list(rows.values())
        if any(
            m1.machine == m2.machine and s1 < e2 and s2 < e1
            for i, (m1, s1, e1) in enumerate(placed)
            for m2, s2, e2 in placed[i + 1 :]
        ):
            continue
        load = [sum(m.power_kw for m, s, e in placed if s <= t < e) for t in range(horizon)]
        if any(c is not None and p > c + 1e-9 for p, c in zip(load, caps, strict=True)):
            continue
        terms = {"makespan": max(e for _, _, e in placed), "energy": 0.0, "idle_energy": 0.0}
        terms["energy_cost"] = terms["carbon"] = 0.0
        for m, s, e in placed:
            terms["energy"] += m.power_kw * (e - s) * hours
            terms["energy_cost"] += m.power_kw * hours * sum(tariff[s:e])
            terms["carbon"] += m.power_kw * hours * sum(carbon[s:e])
        if energy.carbon_cap_kg is not None and terms["carbon"] > energy.carbon_cap_kg + 1e-9:
            continue
        for machine, kw in idle_kw.items():
            mine = [(s, e) for m, s, e in placed if m.machine == machine]
            if mine:
                span = max(e for _, e in mine) - min(s for s, _ in mine)
                terms["idle_energy"] += kw * (span - sum(e - s for s, e in mine)) * hours
        yield terms


def _brute_force(instance: Instance, objective: str) -> float | None:
    """The least value of a one-level objective over `_feasible_terms`; None if infeasible."""
    level = dict(Objective.parse(objective).levels[0])
    values = [sum(w * t[term] for term, w in level.items()) for t in _feasible_terms(instance)]
    return min(values, default=None)


@st.composite
def tiny_instances(draw: st.DrawFn) -> Instance:
    """One or two machines, two or three operations (a chain or independent), short horizon."""
    n_machines = draw(st.integers(1, 2))
    machines = tuple(
        Machine(f"M{i}", idle_power_kw=draw(st.sampled_from((0.0, 1.5)))) for i in range(n_machines)
    )

    def mode() -> Mode:
        return Mode(
            f"M{draw(st.integers(0, n_machines - 1))}",
            draw(st.integers(1, 4)),
            draw(st.sampled_from((1.0, 2.5, 4.0))),
        )

    n_ops = draw(st.integers(2, 3))
    ops = [
        Operation(f"O{i}", tuple(mode() for _ in range(draw(st.integers(1, 2)))))
        for i in range(n_ops)
    ]
    if draw(st.booleans()):
        jobs: tuple[Job, ...] = (Job("J", tuple(ops)),)
    else:
        jobs = tuple(
            Job(f"J{i}", (op,), release=draw(st.integers(0, 3))) for i, op in enumerate(ops)
        )
    horizon = draw(st.integers(12, 18))
    energy = Energy(
        draw(st.none() | st.just(5.0) | st.just(Profile(((0, 6.5), (5, 3.0), (9, 8.0))))),
        draw(profiles),
        draw(profiles),
        draw(st.none() | st.sampled_from((0.02, 0.05, 0.1))),
    )
    return Instance(machines, jobs, horizon=horizon, energy=energy)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    instance=tiny_instances(),
    objective=st.sampled_from(
        ("carbon", "energy_cost", "energy", "idle_energy", "makespan=1,carbon=4,energy_cost=2")
    ),
)
def test_tiny_optima_match_a_brute_force_over_modes_and_starts(
    instance: Instance, objective: str
) -> None:
    result = _solve(instance, objective)
    expected = _brute_force(instance, objective)
    if expected is None:
        assert result.status == "infeasible"
        return
    assert result.status == "optimal", result.message
    assert result.objective == pytest.approx(expected, rel=TOL, abs=TOL)


# -- specific behaviour -----------------------------------------------------------------------


def _dr_window() -> Instance:
    """Two 4-tick operations on two machines, each with a fast 6 kW mode and a slow 3 kW mode
    (6 ticks); the cap is 10 kW but 5 kW in the demand-response window [2, 8)."""
    jobs = tuple(
        Job(f"J{i}", (Operation(f"J{i}-1", (Mode(f"M{i}", 4, 6.0), Mode(f"M{i}", 6, 3.0))),))
        for i in range(2)
    )
    cap = Profile(((0, 10.0), (2, 5.0), (8, 10.0)))
    return Instance((Machine("M0"), Machine("M1")), jobs, energy=Energy(power_cap_kw=cap))


def test_a_demand_response_window_forces_slow_modes_or_waiting() -> None:
    """Both fast modes at once break the 10 kW cap, a fast mode may not run in the 5 kW window
    and two slow ones may not run in it together: the optimum (by brute force) is 12."""
    instance = _dr_window()
    instance = replace(instance, horizon=20)
    result = _solve(instance, "makespan")
    assert result.status == "optimal"
    assert result.schedule is not None and validate(instance, result.schedule) == []
    assert result.objective == _brute_force(instance, "makespan")


def test_a_mode_above_the_cap_is_never_chosen() -> None:
    job = Job("J", (Operation("J-1", (Mode("M", 2, 50.0), Mode("M", 7, 9.0))),))
    instance = Instance((Machine("M"),), (job,), energy=Energy(power_cap_kw=10.0))
    result = _solve(instance, "makespan")
    assert result.status == "optimal" and result.objective == 7
    assert result.schedule is not None and result.schedule.assignments[0].mode == 1


def test_carbon_is_shifted_to_the_clean_hours_and_cost_to_the_cheap_ones() -> None:
    """One 3-tick operation in a 12-tick horizon: carbon is least at [6, 9), cost at [0, 3)."""
    carbon = Profile(((0, 0.5), (6, 0.1), (9, 0.5)))
    tariff = Profile(((0, 0.1), (3, 0.3)))
    job = Job("J", (Operation("J-1", (Mode("M", 3, 6.0),)),))
    instance = Instance(
        (Machine("M"),), (job,), horizon=12, energy=Energy(tariff=tariff, carbon_intensity=carbon)
    )
    for objective, start, value in (("carbon", 6, 0.1 * 3 * 0.1), ("energy_cost", 0, 0.03)):
        result = _solve(instance, objective)
        assert result.status == "optimal"
        assert result.schedule is not None and result.schedule.assignments[0].start == start
        assert result.objective == pytest.approx(value)


def test_lexicographic_energy_levels_hold_the_first_at_its_optimum() -> None:
    """Carbon first (the clean window), then makespan within it: the earliest clean start."""
    carbon = Profile(((0, 0.5), (6, 0.1)))
    jobs = (Job("J", (Operation("J-1", (Mode("M", 3, 6.0),)),)),)
    instance = Instance((Machine("M"),), jobs, horizon=20, energy=Energy(carbon_intensity=carbon))
    result = _solve(instance, "carbon>makespan")
    assert result.status == "optimal"
    assert result.objectives == pytest.approx([0.1 * 3 * 0.1, 9])


def test_the_carbon_aware_greedy_meets_the_benchmark_carbon_cap() -> None:
    """The earliest-completion list schedule breaks mk01-energy-week's carbon cap; the greedy
    then tries carbon-aware variants and returns one that meets it (a valid complete hint)."""
    instance = load(ENERGY / "mk01-energy-week.json")
    c = compile_instance(instance)
    earliest, latest = time_windows(c)
    found = greedy_schedule(c, feasible_modes(c, earliest, latest), latest)
    assert found is not None
    assert validate(instance, Schedule.from_arrays(c, *found)) == []


def test_the_pareto_front_of_a_tiny_instance_is_on_the_brute_force_front() -> None:
    """Every point `pareto` returns (all proven optimal here) is a non-dominated (makespan,
    carbon) pair of the brute-force enumeration, and the extremes are the two optima."""
    jobs = (
        Job(
            "A",
            (
                Operation("A1", (Mode("M1", 3, 6.0), Mode("M2", 5, 3.0))),
                Operation("A2", (Mode("M2", 2, 4.0),)),
            ),
        ),
        Job("B", (Operation("B1", (Mode("M1", 4, 5.0),)),)),
    )
    carbon = Profile(((0, 0.5), (6, 0.3), (10, 0.1)))
    instance = Instance(
        (Machine("M1"), Machine("M2")),
        jobs,
        horizon=16,
        energy=Energy(power_cap_kw=9.0, carbon_intensity=carbon),
    )
    frame = pareto(
        instance, ("makespan", "carbon"), points=5, time_limit=60, workers=1, warm_start=False
    )
    everything = {(t["makespan"], round(t["carbon"], 9)) for t in _feasible_terms(instance)}
    front = {
        p
        for p in everything
        if not any(q[0] <= p[0] and q[1] <= p[1] and q != p for q in everything)
    }
    assert list(frame.columns[:2]) == ["makespan", "carbon"]
    assert (frame["status"] == "optimal").all()
    points = {(m, round(c, 9)) for m, c in zip(frame["makespan"], frame["carbon"], strict=True)}
    assert points <= front
    assert min(front)[0] == frame["makespan"].min() and min(c for _, c in front) == pytest.approx(
        frame["carbon"].min()
    )
    assert len(points) >= 3
    for schedule in frame["schedule"]:
        assert validate(instance, schedule) == []


def test_the_greedy_hint_is_complete_on_a_week_long_instance() -> None:
    """Fixing every variable of the mk01-energy-week model (10,080 ticks, daily periodic cost
    pieces, step power cap, carbon cap, idle spans) to the hint of the greedy schedule is
    feasible and returns exactly that schedule."""
    instance = load(ENERGY / "mk01-energy-week.json")
    c = compile_instance(instance)
    earliest, latest = time_windows(c)
    found = greedy_schedule(c, feasible_modes(c, earliest, latest), latest)
    assert found is not None
    greedy = Schedule.from_arrays(c, *found)
    fixed = _solve(
        instance,
        "carbon=1,energy_cost=1,idle_energy=1,energy=1,makespan=1",
        warm_start=greedy,
        options={"cp_sat_parameters": {"fix_variables_to_their_hinted_value": True}},
    )
    assert fixed.status == "optimal", fixed.message
    assert fixed.schedule == greedy
