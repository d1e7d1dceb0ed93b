"""The `milp` solver: ft06 proven at 55 by both formulations; on small random instances with
every feature each formulation models, its schedules pass the validator and, where cpsat and
milp both prove optimality, the objective levels are equal (two independent exact models
agreeing); what a formulation cannot model is refused; the MIP start, the bounds option, a
stop request and a generic Pyomo backend work; a run out of time reports the compiled bounds."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from paths import INSTANCES, ROOT
from strategies import instances

from scheduler.core.bounds import makespan_bound
from scheduler.core.compile import compile_instance
from scheduler.core.errors import UnsupportedFeatureError
from scheduler.core.model import Energy, Instance, Job, Machine, Mode, Operation, Profile, Resource
from scheduler.core.result import Result
from scheduler.core.solve import solve
from scheduler.core.validate import validate
from scheduler.io import load

FEW = settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
FT06 = INSTANCES / "jssp" / "ft06.txt"


def _milp(instance: Instance, objective: str = "makespan", **options: object) -> Result:
    return solve(instance, "milp", objective, time_limit=20, workers=1, warm_start=False, **options)


def _agree(instance: Instance, objective: str, formulation: str) -> None:
    """milp's schedule is valid; where both prove optimality, every level equals cpsat's."""
    ours = _milp(instance, objective, formulation=formulation)
    if ours.schedule is not None:
        assert validate(instance, ours.schedule) == []
    cp = solve(instance, "cpsat", objective, time_limit=20, workers=1, warm_start=False)
    assert ours.status in ("optimal", "infeasible"), ours.message  # tiny: always settled
    assert ours.status == cp.status or cp.status not in ("optimal", "infeasible"), cp.message
    if ours.status == cp.status == "optimal":
        assert ours.objectives == pytest.approx(cp.objectives, rel=1e-6, abs=1e-6)
        assert ours.bound == pytest.approx(ours.objective)


@pytest.mark.parametrize("formulation", ["disjunctive", "time"])
def test_ft06_is_solved_to_55_and_proven(formulation: str) -> None:
    """With the default warm start, whose makespan bounds the time-indexed model's horizon."""
    result = solve(load(FT06), "milp", time_limit=30, workers=1, formulation=formulation)
    assert result.status == "optimal" and result.objective == 55 and result.bound == 55
    assert f"{formulation} model" in result.message


@given(
    instance=instances(resources=False),
    objective=st.sampled_from(
        [
            "makespan",
            "weighted_tardiness",
            "total_flow_time",
            "energy",
            "idle_energy",
            "makespan=1,weighted_tardiness=0.5",
            "weighted_tardiness>makespan",
            "energy>makespan",
        ]
    ),
)
@FEW
def test_disjunctive_agrees_with_cpsat(instance: Instance, objective: str) -> None:
    """Alternative modes, setups, windows (with setups), lags, releases, deadlines, horizon."""
    _agree(instance, objective, "disjunctive")


@given(
    instance=instances(max_setup=0, energy_caps=True),
    objective=st.sampled_from(
        [
            "makespan",
            "energy_cost",
            "carbon",
            "carbon>makespan",
            "makespan=1,energy_cost=2",
            "weighted_tardiness>carbon",
            "idle_energy",
        ]
    ),
)
@FEW
def test_time_indexed_agrees_with_cpsat(instance: Instance, objective: str) -> None:
    """Windows, resources, power cap profile, tariff, carbon and the carbon cap, tick by tick."""
    _agree(instance, objective, "time")


def _shop(**changes: object) -> Instance:
    """Two jobs on two machines with families, a tariff and carbon profile."""
    jobs = (
        Job("A", (Operation("A1", (Mode("M1", 3, 4.0),), family="x"),
                  Operation("A2", (Mode("M2", 2, 2.0), Mode("M1", 4, 1.0)), family="y"))),
        Job("B", (Operation("B1", (Mode("M2", 2, 3.0),), family="y"),
                  Operation("B2", (Mode("M1", 3, 2.0),), family="x")), due=6),
    )  # fmt: skip
    profile = Profile(((0, 0.3), (5, 0.1)), period=10)
    fields: dict[str, object] = {
        "energy": Energy(tariff=profile, carbon_intensity=profile),
        **changes,
    }
    return Instance((Machine("M1"), Machine("M2")), jobs, **fields)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("formulation", "changes", "objective", "words"),
    [
        ("time", {"setup_times": {"M1": {"x": {"y": 2}}}}, "makespan", "setup"),
        ("disjunctive", {"energy": Energy(power_cap_kw=5.0)}, "makespan", "power cap"),
        ("disjunctive", {}, "energy_cost", "time-varying tariff"),
        ("disjunctive", {}, "carbon", "time-varying carbon"),
        ("auto", {"setup_times": {"M1": {"x": {"y": 2}}}}, "carbon", "needs both"),
    ],
)
def test_what_a_formulation_cannot_model_is_refused(
    formulation: str, changes: dict[str, object], objective: str, words: str
) -> None:
    with pytest.raises(UnsupportedFeatureError, match=words):
        _milp(_shop(**changes), objective, formulation=formulation)


def test_disjunctive_refuses_resources() -> None:
    mode = Mode("M1", 3, resources={"R": 1})  # type: ignore[arg-type]
    jobs = (Job("A", (Operation("A1", (mode,)),)), Job("B", (Operation("B1", (mode,)),)))
    instance = Instance((Machine("M1"),), jobs, resources=(Resource("R", 1),))
    with pytest.raises(UnsupportedFeatureError, match="renewable resources"):
        _milp(instance, formulation="disjunctive")
    assert _milp(instance).status == "optimal"  # auto: the time-indexed model takes them


def test_a_long_horizon_is_refused_with_the_size_it_needs() -> None:
    with pytest.raises(UnsupportedFeatureError, match=r"would need [\d,]+ binaries.*limit of 10"):
        _milp(_shop(), "carbon", formulation="time", max_time_vars=10)


@pytest.mark.parametrize(
    ("options", "words"),
    [
        ({"formulation": "lp"}, "formulation"),
        ({"mip_gap": -1}, "mip_gap"),
        ({"max_time_vars": 0}, "max_time_vars"),
        ({"solver_log": "yes"}, "solver_log"),
        ({"backend": "no-such-solver"}, "not known here"),
        ({"bounds": {"carbon": "low"}}, "bounds"),
    ],
)
def test_bad_options_are_refused(options: dict[str, object], words: str) -> None:
    with pytest.raises(UnsupportedFeatureError, match=words):
        _milp(_shop(), **options)


def test_an_unavailable_backend_is_refused_clearly() -> None:
    import pyomo.environ as pyo

    if pyo.SolverFactory("glpk").available(exception_flag=False):
        pytest.skip("glpk is installed here")
    with pytest.raises(UnsupportedFeatureError, match="'glpk' is not available"):
        _milp(_shop(), backend="glpk")


def test_a_generic_pyomo_backend_solves_ft06() -> None:
    result = _milp(load(FT06), backend="appsi_highs")
    assert result.status == "optimal" and result.objective == 55


def test_bounds_agree_with_cpsat() -> None:
    instance = _shop()
    bounds = {"makespan": 9}
    ours = _milp(instance, "carbon", bounds=bounds)
    cp = solve(
        instance, "cpsat", "carbon", time_limit=20, workers=1, warm_start=False, bounds=bounds
    )
    assert ours.status == cp.status == "optimal"
    assert ours.objective == pytest.approx(cp.objective)
    assert ours.kpis["makespan"] <= 9


def test_the_warm_start_is_the_first_incumbent() -> None:
    instance = load(FT06)
    warm = solve(instance, "heuristic", time_limit=1, workers=1, local_search=False)
    assert warm.schedule is not None
    result = solve(instance, "milp", time_limit=20, workers=1, warm_start=warm.schedule)
    assert result.trajectory[0].objective == warm.schedule.makespan
    assert result.objective == 55


def test_a_stop_request_keeps_the_incumbent() -> None:
    instance = load(INSTANCES / "jssp" / "la21.txt")  # 15x10: not proven within seconds
    stop = threading.Event()
    threading.Timer(2.0, stop.set).start()
    began = time.perf_counter()
    result = solve(instance, "milp", time_limit=60, workers=1, warm_start=False, stop=stop)
    assert time.perf_counter() - began < 10
    assert result.status == "feasible" and result.schedule is not None
    assert "stopped" in result.message


def test_ctrl_c_on_the_command_line_ends_with_the_incumbent(tmp_path: Path) -> None:
    out = tmp_path / "schedule.csv"
    command = [sys.executable, "-m", "scheduler", "solve", str(INSTANCES / "jssp" / "la21.txt")]
    command += ["--solver", "milp", "--time-limit", "60", "--workers", "1", "--quiet"]
    process = subprocess.Popen([*command, "--out", str(out)], cwd=ROOT)
    time.sleep(6)  # past the warm start (2 s) and into the MIP
    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=20) == 0
    assert out.exists()


def test_a_run_out_of_time_reports_the_compiled_bound() -> None:
    """No time to solve the model: the MIP start comes back, with the work-centre bound (three
    ops, 10 ticks on A or 20 on B: 15) rather than none."""
    jobs = tuple(
        Job(f"J{j}", (Operation(f"O{j}", (Mode("A", 10), Mode("B", 20))),)) for j in range(3)
    )
    c = compile_instance(Instance(machines=(Machine("A"), Machine("B")), jobs=jobs))
    result = solve(c, "milp", time_limit=0.001, workers=1, warm_start=False)
    assert result.schedule is not None and result.status == "feasible"
    assert result.bound is not None and result.bound >= makespan_bound(c, relaxation=False) == 15
