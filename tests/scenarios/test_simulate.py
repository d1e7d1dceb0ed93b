"""Shop-floor execution: every executed schedule is valid for its executed instance and its
KPIs are `compute_kpis`'s; common random numbers make profiles differ only where they do."""

from __future__ import annotations

import math

import numpy as np
import pytest
from helpers import BUSY_BREAKDOWNS, NO_DEFECTS, QUIET, profile
from hypothesis import HealthCheck, given, settings
from strategies import instances

import scheduler
from scenarios.compare import compare
from scenarios.draws import replication_seeds
from scenarios.executed import executed_instance_and_schedule
from scenarios.kpis import kpis
from scenarios.plan import ScenarioError
from scenarios.simulate import prepare, run
from scheduler.core.model import Instance

DISRUPTED = profile(
    "disrupted",
    maintenance={
        "breakdowns": {
            "time_between_failures": {"distribution": "weibull", "mean_hours": 0.3, "shape": 1.5},
            "repair_time": {"distribution": "lognormal", "mean_hours": 0.05, "cv": 0.8},
        },
        "breakdown_cut": 0.3,
        "planned_windows": {"every_hours": 0.5, "duration_hours": 0.05},
    },
    quality={"defect_rate": 0.5, "station_detection": 0.6, "final_detection": 0.5},
    variability={"distribution": "lognormal", "cv": 0.4},
)
SAME_KEYS = {
    "makespan_h": ("makespan", 1 / 60),
    "total_tardiness_h": ("total_tardiness", 1 / 60),
    "on_time_rate": ("on_time_rate", 1.0),
    "energy_cost": ("energy_cost", 1.0),
    "carbon_kg": ("carbon", 1.0),
    "energy_kwh": ("total_energy", 1.0),
    "utilisation": ("mean_utilisation", 1.0),
}


def _check_replications(instance: Instance, replications: int = 4) -> None:
    prep = prepare(instance, DISRUPTED)
    for seed in replication_seeds(7, replications):
        execution = run(prep, seed)
        executed, schedule = executed_instance_and_schedule(execution)
        assert scheduler.validate(executed, schedule) == []
        fast, slow = kpis(execution), scheduler.compute_kpis(executed, schedule)
        for key, (other, scale) in SAME_KEYS.items():
            assert math.isclose(fast[key], slow[other] * scale, rel_tol=1e-9, abs_tol=1e-9), key
        # right-shift: nothing starts before its plan, and rework follows its operation
        planned = execution.planned_start
        assert np.all(execution.start >= planned)
        redone = execution.rend >= 0
        assert np.all(execution.rstart[redone] >= execution.end[redone])


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(instances(resources=False, deadlines=False, horizon=False))
def test_executed_schedules_are_valid_and_measured_as_compute_kpis(instance: Instance) -> None:
    _check_replications(instance)


def test_executed_plant_with_setups_windows_and_energy() -> None:
    from paths import ROOT

    instance = scheduler.load(ROOT / "benchmarks/instances/fjsp/brandimarte/mk01.fjs")
    _check_replications(instance, 10)


def test_no_disruptions_same_policy_gives_identical_kpis() -> None:
    from paths import INSTANCES

    instance = scheduler.load(INSTANCES / "fjsp/brandimarte/mk02.fjs")
    calm = {"distribution": "lognormal", "cv": 0.0}
    a = profile("a", maintenance=QUIET, quality=NO_DEFECTS, variability=calm)
    # differs only in levers that have nothing to act on without disruptions or defects
    b = profile(
        "b",
        maintenance={"breakdowns": None, "breakdown_cut": 0.9},
        quality={"defect_rate": 0.0, "station_detection": 1.0, "final_detection": 0.2},
        variability=calm,
    )
    result = compare(instance, [a, b], replications=6, seed=3, workers=1)
    frame = result.samples.set_index(["profile", "replication"])
    assert frame.loc["a"].equals(frame.loc["b"])
    assert (frame.loc["a"].ops_moved == 0).all()  # executed exactly as planned


def test_common_random_numbers_give_the_same_breakdowns() -> None:
    from paths import INSTANCES

    instance = scheduler.load(INSTANCES / "fjsp/brandimarte/mk01.fjs")
    breakdowns = {"breakdowns": BUSY_BREAKDOWNS, "breakdown_cut": 0.0}
    fifo = profile("fifo", maintenance=breakdowns, quality=NO_DEFECTS)
    spt = profile(
        "spt",
        maintenance=breakdowns,
        quality=NO_DEFECTS,
        scheduling={
            "solver": "heuristic",
            "options": {"rule": "spt", "local_search": False, "scheme": "serial"},
        },
    )
    first, second = prepare(instance, fifo), prepare(instance, spt)
    assert not np.array_equal(first.start, second.start)  # different plans
    for seed in replication_seeds(11, 5):
        a, b = run(first, seed), run(second, seed)
        reach = min(a.end.max(), b.end.max())
        for m in range(a.down_ptr.size - 1):
            wa = [(s, e) for s, e in zip(*_windows(a, m), strict=True) if s < reach]
            wb = [(s, e) for s, e in zip(*_windows(b, m), strict=True) if s < reach]
            assert wa == wb
    # a cut keeps a subset of the same breakdowns (thinning): never a new one
    cut = profile("cut", maintenance={"breakdowns": BUSY_BREAKDOWNS, "breakdown_cut": 0.5})
    kept = run(prepare(instance, cut), replication_seeds(11, 1)[0])
    full = run(first, replication_seeds(11, 1)[0])
    horizon = min(kept.end.max(), full.end.max())
    for m in range(full.down_ptr.size - 1):
        few = {w for w in zip(*_windows(kept, m), strict=True) if w[0] < horizon}
        assert few <= set(zip(*_windows(full, m), strict=True))


def _windows(execution, m):  # type: ignore[no-untyped-def]
    lo, hi = execution.down_ptr[m], execution.down_ptr[m + 1]
    return execution.down_start[lo:hi].tolist(), execution.down_end[lo:hi].tolist()


def test_resources_are_refused() -> None:
    from paths import ROOT

    instance = scheduler.load(ROOT / "examples/demo_plant.json")
    with pytest.raises(ScenarioError, match="renewable resources"):
        prepare(instance, DISRUPTED)


def test_reoptimized_executions_are_valid_and_replan_at_breakdowns() -> None:
    from paths import INSTANCES

    instance = scheduler.load(INSTANCES / "fjsp/brandimarte/mk01.fjs")
    often = {
        "time_between_failures": {"distribution": "exponential", "mean_hours": 0.4},
        "repair_time": {"distribution": "exponential", "mean_hours": 0.1},
    }
    sections = {
        "maintenance": {"breakdowns": often},
        "quality": {"defect_rate": 0.5, "station_detection": 0.6, "final_detection": 0.5},
    }
    replanning = profile(
        "replan",
        rescheduling={"policy": "reoptimize", "solver": "heuristic", "time_limit": 0.1},
        **sections,
    )
    shifting = profile("shift", **sections)
    seed = replication_seeds(2, 1)[0]
    execution = run(prepare(instance, replanning), seed)
    executed, schedule = executed_instance_and_schedule(execution)
    assert scheduler.validate(executed, schedule) == []
    measured = kpis(execution)
    assert measured["replans"] >= 1
    slow = scheduler.compute_kpis(executed, schedule)
    assert math.isclose(measured["makespan_h"], slow["makespan"] / 60)
    # the same breakdowns and defects as the right-shift policy sees
    shifted = kpis(run(prepare(instance, shifting), seed))
    assert measured["rework_ops"] == shifted["rework_ops"]
    assert measured["scrap_units"] == shifted["scrap_units"]


def test_a_rescheduling_solver_that_refuses_names_the_profile_field() -> None:
    """A re-plan pins the past with windows, which `baseline` refuses: the error names the
    profile and its rescheduling.solver, not only the solver's reason."""
    from paths import INSTANCES

    instance = scheduler.load(INSTANCES / "fjsp/brandimarte/mk01.fjs")
    often = {
        "time_between_failures": {"distribution": "exponential", "mean_hours": 0.4},
        "repair_time": {"distribution": "exponential", "mean_hours": 0.1},
    }
    refusing = profile(
        "refusing",
        maintenance={"breakdowns": often},
        rescheduling={"policy": "reoptimize", "solver": "baseline", "time_limit": 0.1},
    )
    with pytest.raises(ScenarioError, match=r"profile 'refusing': its rescheduling\.solver "
                       r"refused the instance \(.*\); set rescheduling\.solver"):  # fmt: skip
        run(prepare(instance, refusing), replication_seeds(2, 1)[0])
