"""Lower bounds of every term hold for every valid schedule."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from paths import INSTANCES
from strategies import instances

from scheduler.core.bounds import level_bounds, makespan_bound, term_lower_bounds
from scheduler.core.compile import compile_instance
from scheduler.core.kpi import compute_kpis
from scheduler.core.model import Instance, Job, Machine, Mode, Operation
from scheduler.core.objective import Objective
from scheduler.core.solve import solve
from scheduler.core.terms import TERMS
from scheduler.io import load

TOL = 1e-9


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(instances(energy=True, energy_caps=True))
def test_no_schedule_beats_a_term_bound(instance: Instance) -> None:
    c = compile_instance(instance)
    bounds = term_lower_bounds(c)
    assert set(bounds) == set(TERMS)
    result = solve(c, solver="cpsat", time_limit=2, workers=1, warm_start=False)
    if result.schedule is None:
        return  # infeasible or out of time: nothing to compare (cpsat's own tests cover it)
    kpis = compute_kpis(instance, result.schedule)
    for term, bound in bounds.items():
        if term not in kpis:
            continue  # a term relative to a reference plan (deviation) has no KPI here
        assert kpis[term] >= bound - TOL * max(1.0, abs(bound)), term


def test_a_level_bound_is_the_weighted_sum_of_its_term_bounds() -> None:
    c = compile_instance(load(INSTANCES / "energy" / "mk01-energy-week.json"))
    terms = term_lower_bounds(c)
    objective = Objective.parse("makespan=2,carbon=0.5>energy")
    assert level_bounds(c, objective) == [
        2 * terms["makespan"] + 0.5 * terms["carbon"],
        terms["energy"],
    ]
    assert terms["makespan"] == makespan_bound(c) >= c.lower_bound and terms["energy"] > 0


def test_heads_bodies_and_tails_prove_a_bottleneck_optimal() -> None:
    """Two jobs, each 3 on the shared machine M then 4 on a machine of its own: whichever
    goes second on M ends at 6 and its job at 10. The critical path (7) and the loads (6)
    say less; the work centre M's heads, bodies and tails give 0 + 6 + 4 = 10, which proves
    the default solve's schedule optimal."""
    jobs = tuple(
        Job(
            f"J{j}",
            (Operation(f"J{j}-0", (Mode("M", 3),)), Operation(f"J{j}-1", (Mode(f"N{j}", 4),))),
        )
        for j in range(2)
    )
    instance = Instance((Machine("M"), Machine("N0"), Machine("N1")), jobs)
    c = compile_instance(instance)
    assert c.lower_bound == 7 and makespan_bound(c) == 10
    result = solve(instance, time_limit=5)
    assert result.objective == 10 and result.bound == 10 and result.status == "optimal"
