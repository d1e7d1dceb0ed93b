"""The benchmark peers: `baseline` (OR-Tools' plain job-shop sample) and `pyjobshop` (PyJobShop,
an optional extra). Every schedule passes the facade's validator; on small random instances
both reach the same optimum as cpsat; what they do not model is refused."""

from __future__ import annotations

import importlib.util
import sys

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from strategies import instances

from scheduler.core.errors import UnsupportedFeatureError
from scheduler.core.model import Energy, Instance, Job, Machine, Mode, Operation, Profile, Resource
from scheduler.core.solve import solve

# 15 to 17 kWh at 0.5 kg/kWh: a cap of 8 kg binds
CARBON_CAPPED = Energy(carbon_intensity=Profile(((0, 0.5),)), carbon_cap_kg=8.0)
FAST = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _assert_same_outcome(instance: Instance, peer: str, objective: str = "makespan") -> None:
    """cpsat settles the (small) instance, proving an optimum or infeasibility, and the peer
    proves the same: the same status and, when optimal, the same objective value."""
    ours = solve(instance, "cpsat", objective, time_limit=10, workers=1, warm_start=False)
    assert ours.status in ("optimal", "infeasible"), ours.message
    theirs = solve(instance, peer, objective, time_limit=10, workers=1, warm_start=False)
    assert theirs.status == ours.status, theirs.message
    if ours.status == "optimal":
        assert theirs.objective is not None and ours.objective is not None
        assert theirs.objective == pytest.approx(ours.objective)


def _flexible_shop() -> Instance:
    """Alternatives, a release, a deadline and a cross-job lag: what the baseline models. Every
    mode draws 60 kW (1 kWh a tick), so the caps of the refusal tests can bind."""
    a1 = Operation("A1", (Mode("M1", 3, 60.0), Mode("M2", 5, 60.0)))
    jobs = (
        Job("A", (a1, Operation("A2", (Mode("M2", 4, 60.0),))), release=2),
        Job("B", (Operation("B1", (Mode("M2", 2, 60.0),)),
                  Operation("B2", (Mode("M1", 6, 60.0),), predecessors=(("B1", 3), ("A1", 0)))),
            deadline=40),
    )  # fmt: skip
    return Instance((Machine("M1"), Machine("M2")), jobs)


@given(instance=instances(windows=False, resources=False, max_setup=0, energy=False))
@FAST
def test_baseline_reaches_the_cpsat_optimum(instance: Instance) -> None:
    _assert_same_outcome(instance, "baseline")


def test_baseline_on_a_flexible_shop_with_lags() -> None:
    result = solve(_flexible_shop(), "baseline", time_limit=5, workers=1, warm_start=False)
    # B2 starts >= max(B1 end + 3, A1 end) = 5 at best (A1 on M1 from its release 2): ends 11
    assert result.status == "optimal" and result.objective == 11
    assert result.trajectory[-1].objective == 11 and result.trajectory[-1].bound == 11


@pytest.mark.parametrize(
    ("change", "feature"),
    [
        ({"setup_times": {"M2": {"x": {"y": 3}}}}, "setup times"),
        ({"resources": (Resource("R", 1),)}, "renewable resources"),
        ({"machines": (Machine("M1", unavailable=((0, 2),)), Machine("M2"))}, "unavailability"),
        ({"energy": Energy(power_cap_kw=100.0)}, "power cap"),  # two ops never run together
        # 15 to 17 kWh at 0.5 kg/kWh: a cap of 8 kg binds
        (
            {"energy": Energy(carbon_intensity=Profile(((0, 0.5),)), carbon_cap_kg=8.0)},
            "carbon cap",
        ),
        ({"objective": "weighted_tardiness"}, "objective"),
    ],
)
def test_baseline_refuses_what_it_does_not_model(change: dict[str, object], feature: str) -> None:
    base = _flexible_shop()
    objective = str(change.pop("objective", "makespan"))
    jobs = base.jobs
    if "setup_times" in change:  # families for the setup to apply to
        a1 = Operation("A1", base.jobs[0].operations[0].modes, family="x")
        a2 = Operation("A2", base.jobs[0].operations[1].modes, family="y")
        jobs = (Job("A", (a1, a2), release=2), base.jobs[1])
    instance = Instance(
        change.pop("machines", base.machines),  # type: ignore[arg-type]
        jobs,
        **change,  # type: ignore[arg-type]
    )
    with pytest.raises(UnsupportedFeatureError, match=feature):
        solve(instance, "baseline", objective, time_limit=2, workers=1, warm_start=False)


needs_pyjobshop = pytest.mark.skipif(
    importlib.util.find_spec("pyjobshop") is None, reason="PyJobShop not installed: .[peers]"
)


@needs_pyjobshop
@given(
    instance=st.one_of(
        instances(energy=False, windows=False), instances(energy=False, max_setup=0)
    ),
    objective=st.sampled_from(["makespan", "weighted_tardiness", "total_flow_time"]),
)
@FAST
def test_pyjobshop_reaches_the_cpsat_optimum(instance: Instance, objective: str) -> None:
    try:
        _assert_same_outcome(instance, "pyjobshop", objective)
    except UnsupportedFeatureError as refusal:
        assert "setups together with unavailability" in str(refusal) or "fractional" in str(refusal)


@needs_pyjobshop
def test_pyjobshop_refuses_energy_caps_and_lexicographic_objectives() -> None:
    capped = Instance(_flexible_shop().machines, _flexible_shop().jobs, energy=Energy(100.0))
    with pytest.raises(UnsupportedFeatureError, match="power cap"):
        solve(capped, "pyjobshop", time_limit=2, warm_start=False)
    with pytest.raises(UnsupportedFeatureError, match="lexicographic"):
        solve(_flexible_shop(), "pyjobshop", "makespan>total_flow_time", warm_start=False)


def test_pyjobshop_missing_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pyjobshop", None)  # makes `import pyjobshop` fail
    with pytest.raises(UnsupportedFeatureError, match=r"pip install \.\[peers\]"):
        solve(_flexible_shop(), "pyjobshop", time_limit=1, warm_start=False)
