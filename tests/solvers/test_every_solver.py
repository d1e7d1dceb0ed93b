"""The suite every registered solver runs (parametrised by tests/conftest.py; pick solvers with
`--solvers a,b`): its schedules pass the validator and its reported objective levels equal the
KPIs of the schedule, on random small instances restricted to what it declares it models; an
unknown option is refused; every feature and objective it does not declare is refused."""

from __future__ import annotations

import dataclasses
from types import MappingProxyType

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from strategies import instances

from scheduler.core.compile import compile_instance
from scheduler.core.errors import UnsupportedFeatureError
from scheduler.core.model import Energy, Instance, Job, Machine, Mode, Operation, Profile, Resource
from scheduler.core.objective import Objective
from scheduler.core.protocol import FEATURES, instance_features
from scheduler.core.registry import get_solver
from scheduler.core.result import Result
from scheduler.core.solve import solve
from scheduler.core.terms import TERM, TERMS
from scheduler.core.validate import validate

TIME_LIMIT = 1.0
FEW = settings(
    max_examples=8,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)


def _run(instance: Instance, solver_name: str, objective: str) -> Result:
    return solve(
        instance, solver_name, objective, time_limit=TIME_LIMIT, workers=1, warm_start=False
    )


def _check(instance: Instance, result: Result, objective: str) -> None:
    """A schedule passes the validator and every reported level is its KPI value."""
    if result.schedule is None:
        assert result.status in ("infeasible", "unknown"), result.message
        return
    assert validate(instance, result.schedule) == [], result.message
    parsed = Objective.parse(objective)
    expected = [parsed.value(result.kpis, i) for i in range(len(parsed.levels))]
    assert result.objectives == pytest.approx(expected, rel=1e-6, abs=1e-6)
    assert result.objective == pytest.approx(expected[0], rel=1e-6, abs=1e-6)


def _instances_for(features: frozenset[str]) -> st.SearchStrategy[Instance]:
    """Small random instances with the declared features switched on (the rest mostly off,
    and filtered out where the strategy still draws them)."""
    return instances(
        jobs=(2, 3),
        ops_per_job=(1, 3),
        modes=(1, 3) if "alternative_modes" in features else (1, 1),
        max_setup=3 if "setups" in features else 0,
        windows="unavailability" in features,
        resources="resources" in features,
        deadlines="deadlines" in features,
        horizon="deadlines" in features,
        energy_caps={"power_cap", "carbon_cap"} <= features,
    )


def _plain_terms() -> list[str]:
    """The terms a schedule alone determines (not those measured against a reference plan)."""
    return [t for t in TERMS if TERM[t].kind in ("time", "energy")]


@st.composite
def _objectives(draw: st.DrawFn, solver_name: str) -> str:
    """An objective of the terms and forms the solver declares."""
    caps = get_solver(solver_name).capabilities
    terms = [t for t in _plain_terms() if t in caps.terms]
    first = draw(st.sampled_from(terms))
    form = draw(st.sampled_from(("single", "weighted", "lexicographic")))
    if form == "weighted" and caps.weighted_sums and len(terms) > 1:
        other = draw(st.sampled_from([t for t in terms if t != first]))
        return f"{first}=1,{other}=0.5"
    if form == "lexicographic" and caps.lexicographic and len(terms) > 1:
        return f"{first}>{draw(st.sampled_from([t for t in terms if t != first]))}"
    return first


@given(data=st.data())
@FEW
def test_schedules_are_valid_and_objectives_are_kpis(solver_name: str, data: st.DataObject) -> None:
    caps = get_solver(solver_name).capabilities
    instance = data.draw(_instances_for(caps.features))
    assume(instance_features(compile_instance(instance)) <= caps.features)
    objective = data.draw(_objectives(solver_name))
    try:
        result = _run(instance, solver_name, objective)
    except UnsupportedFeatureError:
        assume(False)  # a refusal inside the solve (e.g. a formulation's own limits)
        raise
    _check(instance, result, objective)


def _plain(**changes: object) -> Instance:
    """Three jobs on two machines, one mode each, no feature of FEATURES."""
    jobs = tuple(
        Job(
            f"J{j}",
            (
                Operation(f"J{j}-0", (Mode(f"M{j % 2}", 2 + j, power_kw=3.0),), family="A"),
                Operation(f"J{j}-1", (Mode(f"M{(j + 1) % 2}", 3, power_kw=1.5),), family="B"),
            ),
            due=6,
            weight=1.0 + j,
        )
        for j in range(3)
    )
    base = Instance(
        (Machine("M0", idle_power_kw=1.0), Machine("M1")),
        jobs,
        energy=Energy(tariff=Profile(((0, 0.1), (4, 0.3)), period=12)),
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def test_plain_shop_every_declared_term(solver_name: str) -> None:
    """Each declared term alone on a plain shop: a valid schedule, levels equal to the KPIs
    (no refusal: every solver models a plain shop)."""
    caps = get_solver(solver_name).capabilities
    instance = _plain()
    assert instance_features(compile_instance(instance)) == frozenset()
    for term in (t for t in _plain_terms() if t in caps.terms):
        result = _run(instance, solver_name, term)
        assert result.schedule is not None, (term, result.message)
        _check(instance, result, term)


def test_unknown_option_is_refused(solver_name: str) -> None:
    with pytest.raises(UnsupportedFeatureError, match="does not know the option"):
        solve(_plain(), solver_name, time_limit=1, warm_start=False, no_such_option=1)


def _with_feature(feature: str) -> Instance:
    """The plain shop with exactly one feature of FEATURES added."""
    plain = _plain()
    first = plain.jobs[0]
    op = first.operations[0]
    ops = first.operations

    def job0(*new_ops: Operation, more: dict[str, object] | None = None, **job: object) -> Instance:
        changed = dataclasses.replace(first, operations=new_ops or ops, **job)  # type: ignore[arg-type]
        return dataclasses.replace(plain, jobs=(changed, *plain.jobs[1:]), **(more or {}))  # type: ignore[arg-type]

    if feature == "alternative_modes":
        return job0(dataclasses.replace(op, modes=(*op.modes, Mode("M1", 4))), *ops[1:])
    if feature == "precedence_lags":
        return job0(ops[0], dataclasses.replace(ops[1], predecessors=((op.id, 2),)))
    if feature == "releases":
        return job0(release=2)
    if feature == "deadlines":
        return job0(deadline=100)
    if feature == "setups":
        return dataclasses.replace(plain, setup_times={"M0": {"A": {"B": 2}}})
    if feature == "unavailability":
        return dataclasses.replace(
            plain, machines=(Machine("M0", unavailable=((3, 5),)), Machine("M1"))
        )
    if feature == "resources":
        res_mode = dataclasses.replace(op.modes[0], resources=MappingProxyType({"R": 1}))
        resources = {"resources": (Resource("R", 1),)}
        return job0(dataclasses.replace(op, modes=(res_mode,)), *ops[1:], more=resources)
    if feature == "power_cap":
        return dataclasses.replace(
            plain, energy=dataclasses.replace(plain.energy, power_cap_kw=5.0)
        )
    assert feature == "carbon_cap"
    # binding (below the most the operations could emit) yet met by running late, at 0.1
    energy = Energy(carbon_intensity=Profile(((0, 0.4), (8, 0.1))), carbon_cap_kg=0.2)
    return dataclasses.replace(plain, energy=energy)


@pytest.mark.parametrize("feature", list(FEATURES))
def test_undeclared_features_are_refused(solver_name: str, feature: str) -> None:
    instance = _with_feature(feature)
    assert instance_features(compile_instance(instance)) == {feature}
    if feature in get_solver(solver_name).capabilities.features:
        result = _run(instance, solver_name, "makespan")  # declared: it models it
        assert result.schedule is not None, result.message
        _check(instance, result, "makespan")
        return
    with pytest.raises(UnsupportedFeatureError, match=FEATURES[feature]):
        _run(instance, solver_name, "makespan")


def test_undeclared_objectives_are_refused(solver_name: str) -> None:
    caps = get_solver(solver_name).capabilities
    for term in (t for t in TERMS if t not in caps.terms):
        with pytest.raises(UnsupportedFeatureError, match=term):
            _run(_plain(), solver_name, term)
    if not caps.lexicographic:
        with pytest.raises(UnsupportedFeatureError, match="lexicographic"):
            _run(_plain(), solver_name, "makespan>makespan=2")
    declared = [t for t in _plain_terms() if t in caps.terms]
    if not caps.weighted_sums and len(declared) > 1:
        with pytest.raises(UnsupportedFeatureError, match="weighted"):
            _run(_plain(), solver_name, f"{declared[0]}=1,{declared[1]}=1")
