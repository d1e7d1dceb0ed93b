"""The heuristic's feasibility repair for the carbon cap (`solvers.heuristics.repair`) and its
reproducible move budgets: the same seed and budget give the same plan, run after run."""

from __future__ import annotations

import dataclasses
from types import SimpleNamespace

import numpy as np
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from paths import INSTANCES
from strategies import instances

import scheduler
from scheduler.core.compile import compile_instance
from scheduler.core.model import Energy, Instance, Job, Machine, Mode, Operation, Profile
from scheduler.core.objective import Objective
from scheduler.io import load, read_json
from solvers.heuristics.problem import NO_DEADLINE, Problem, make_problem, make_workspace
from solvers.heuristics.repair import (
    carbon_plans,
    carbon_problem,
    deferral_horizons,
    least_energy_modes,
)
from solvers.heuristics.solver import _next_chunk

INTENSITIES = (0.05, 0.1, 0.3, 0.6)


def _with_carbon(instance: Instance, values: list[float], cap: float | None) -> Instance:
    profile = Profile(tuple((8 * i, v) for i, v in enumerate(values)), period=8 * len(values))
    energy = dataclasses.replace(instance.energy, carbon_intensity=profile, carbon_cap_kg=cap)
    return dataclasses.replace(instance, energy=energy)


# a random instance the repair missed before its deferral horizons (cap 0.0504 kg, least
# carbon 0.0363): deferring J1-0 to the cleanest period pushed J2-0 past its end
CROWDED = read_json(
    {
        "name": "random",
        "machines": [
            {"id": "M0", "idle_power_kw": 1.5, "unavailable": [[0, 4], [12, 15]]},
            {"id": "M1", "unavailable": [[1, 4], [3, 6]]},
            {"id": "M2", "unavailable": [[20, 22]]},
            {"id": "M3", "unavailable": [[1, 4]]},
        ],
        "jobs": [
            {
                "id": "J0",
                "operations": [
                    {
                        "id": "J0-0",
                        "family": "C",
                        "modes": [
                            {"machine": "M3", "duration": 3},
                            {"machine": "M3", "duration": 3, "power_kw": 2},
                        ],
                    },
                    {
                        "id": "J0-1",
                        "family": "C",
                        "modes": [{"machine": "M3", "duration": 5, "power_kw": 2}],
                    },
                    {
                        "id": "J0-2",
                        "family": "A",
                        "modes": [
                            {"machine": "M1", "duration": 4},
                            {"machine": "M0", "duration": 5, "power_kw": 2},
                        ],
                    },
                ],
            },
            {
                "id": "J1",
                "release": 6,
                "due": 7,
                "weight": 2,
                "operations": [
                    {
                        "id": "J1-0",
                        "predecessors": [["J0-0", 3], ["J0-2", 1]],
                        "modes": [
                            {"machine": "M0", "duration": 4, "power_kw": 2},
                            {"machine": "M1", "duration": 4, "power_kw": 2},
                        ],
                    }
                ],
            },
            {
                "id": "J2",
                "release": 4,
                "due": 22,
                "weight": 3,
                "operations": [
                    {
                        "id": "J2-0",
                        "predecessors": ["J0-0", "J1-0"],
                        "modes": [{"machine": "M2", "duration": 6, "power_kw": 2}],
                    }
                ],
            },
            {
                "id": "J3",
                "release": 2,
                "due": 7,
                "weight": 3,
                "operations": [
                    {
                        "id": "J3-0",
                        "family": "C",
                        "modes": [
                            {"machine": "M3", "duration": 2, "power_kw": 5.5},
                            {"machine": "M1", "duration": 5},
                            {"machine": "M0", "duration": 4},
                        ],
                    },
                    {
                        "id": "J3-1",
                        "family": "C",
                        "predecessors": [["J3-0", 1], "J0-2"],
                        "modes": [
                            {"machine": "M3", "duration": 6, "power_kw": 2},
                            {"machine": "M1", "duration": 4, "power_kw": 5.5},
                            {"machine": "M1", "duration": 1, "power_kw": 5.5},
                        ],
                    },
                ],
            },
        ],
    }
)

# a random instance the repair missed before its most-power-first order (cap 0.117 kg, least
# carbon 0.1058): J0-0 (2 kW), placed first, took the clean period J1-1 (5.5 kW) needed
OUTBID = read_json(
    {
        "name": "random",
        "machines": [{"id": "M0", "idle_power_kw": 1.5}, {"id": "M1"}],
        "jobs": [
            {
                "id": "J0",
                "weight": 0.5,
                "operations": [
                    {
                        "id": "J0-0",
                        "family": "C",
                        "predecessors": [],
                        "modes": [{"machine": "M1", "duration": 5, "power_kw": 2}],
                    }
                ],
            },
            {
                "id": "J1",
                "due": 14,
                "weight": 2,
                "operations": [
                    {"id": "J1-0", "modes": [{"machine": "M0", "duration": 2, "power_kw": 5.5}]},
                    {
                        "id": "J1-1",
                        "family": "A",
                        "modes": [{"machine": "M1", "duration": 4, "power_kw": 5.5}],
                    },
                ],
            },
            {
                "id": "J2",
                "release": 4,
                "due": 22,
                "weight": 3,
                "operations": [
                    {
                        "id": "J2-0",
                        "family": "A",
                        "modes": [{"machine": "M1", "duration": 6, "power_kw": 5.5}],
                    },
                    {
                        "id": "J2-1",
                        "family": "A",
                        "modes": [
                            {"machine": "M0", "duration": 6, "power_kw": 2},
                            {"machine": "M0", "duration": 3, "power_kw": 5.5},
                            {"machine": "M1", "duration": 2, "power_kw": 5.5},
                        ],
                    },
                ],
            },
            {
                "id": "J3",
                "weight": 1.5,
                "operations": [
                    {
                        "id": "J3-0",
                        "family": "B",
                        "modes": [
                            {"machine": "M1", "duration": 3, "power_kw": 2},
                            {"machine": "M0", "duration": 3, "power_kw": 2},
                            {"machine": "M1", "duration": 3},
                        ],
                    }
                ],
            },
        ],
        "setup_times": {
            "M0": {
                "A": {"A": 1, "B": 1, "C": 1},
                "B": {"A": 2, "B": 0, "C": 3},
                "C": {"A": 0, "B": 3, "C": 2},
            },
            "M1": {
                "A": {"A": 0, "B": 1, "C": 1},
                "B": {"A": 1, "B": 2, "C": 3},
                "C": {"A": 3, "B": 0, "C": 1},
            },
        },
        "energy": {"tariff": {"steps": [[0, 0.3], [8, 0.3]]}},
    }
)


# a random instance every least-carbon plan misses (cap 0.183 kg, least carbon 0.17): J1-0
# deferred into the clean period (24-32), M1's setup and J1-1's longer, lower-power mode push
# J1-2 (5.5 kW) out of it; the violation-minimising search from the least violation meets it
CHAINED = read_json(
    {
        "name": "random",
        "machines": [
            {"id": "M0", "unavailable": [[4, 5]]},
            {"id": "M1", "unavailable": [[18, 22], [24, 26]]},
            {"id": "M2", "unavailable": [[24, 27]]},
            {"id": "M3"},
        ],
        "jobs": [
            {
                "id": "J0",
                "release": 1,
                "weight": 0.5,
                "operations": [
                    {
                        "id": "J0-0",
                        "family": "B",
                        "modes": [
                            {"machine": "M0", "duration": 2, "power_kw": 2},
                            {"machine": "M1", "duration": 2, "power_kw": 5.5},
                        ],
                    }
                ],
            },
            {
                "id": "J1",
                "weight": 2,
                "operations": [
                    {
                        "id": "J1-0",
                        "family": "C",
                        "modes": [
                            {"machine": "M1", "duration": 2, "power_kw": 2},
                            {"machine": "M1", "duration": 4, "power_kw": 2},
                        ],
                    },
                    {
                        "id": "J1-1",
                        "family": "C",
                        "modes": [
                            {"machine": "M1", "duration": 2, "power_kw": 2},
                            {"machine": "M0", "duration": 4, "power_kw": 5.5},
                            {"machine": "M1", "duration": 1, "power_kw": 5.5},
                        ],
                    },
                    {"id": "J1-2", "modes": [{"machine": "M3", "duration": 3, "power_kw": 5.5}]},
                ],
            },
        ],
        "setup_times": {
            "M1": {
                "A": {"A": 2, "B": 3, "C": 0},
                "B": {"A": 2, "B": 0, "C": 0},
                "C": {"A": 0, "B": 3, "C": 2},
            },
            "M2": {
                "A": {"A": 3, "B": 3, "C": 0},
                "B": {"A": 0, "B": 1, "C": 3},
                "C": {"A": 2, "B": 0, "C": 0},
            },
        },
        "energy": {"tariff": {"steps": [[0, 0.1], [8, 0.3], [16, 0.3]], "period": 24}},
    }
)


# random instances: with its search the repair met the cap on every one sampled (DESIGN,
# carbon repair); the instances it missed before are the @examples
@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(
    instance=instances(deadlines=False, horizon=False),
    values=st.lists(st.sampled_from(INTENSITIES), min_size=2, max_size=4),
)
@example(instance=CROWDED, values=[0.1, 0.6, 0.05, 0.6])
@example(instance=OUTBID, values=[0.3, 0.05, 0.3, 0.3])
@example(instance=CHAINED, values=[0.6, 0.6, 0.6, 0.3])
def test_a_cap_near_the_least_carbon_gets_a_schedule(instance: Instance, values: list) -> None:
    """A carbon cap a tenth of the way from the least achievable carbon (cpsat, proven) to the
    carbon of a makespan-optimal plan: the heuristic, a fixed move budget and no time limit,
    returns a schedule (without the repair it found none on about 60 % of such instances)."""
    free = _with_carbon(instance, values, None)
    least = scheduler.solve(free, solver="cpsat", objective="carbon", time_limit=10, workers=2)
    fast = scheduler.solve(free, solver="cpsat", objective="makespan", time_limit=10, workers=2)
    if least.status != "optimal" or fast.schedule is None:
        return  # nothing to set the cap from
    low, high = least.kpis["carbon"], fast.kpis["carbon"]
    capped = _with_carbon(instance, values, low + 0.1 * (high - low))
    result = scheduler.solve(capped, solver="heuristic", workers=1, iterations=300)
    assert result.schedule is not None, result.message


def _hourly(jobs: tuple[Job, ...], machines: int, cap: float, horizon: int) -> Problem:
    """The kernel arrays of `jobs` on machines M0.. in hour ticks (kg = kW x h x intensity),
    the intensity 0.1, 0.6, 0.05, 0.6 for 8 h each (period 32) and a carbon cap."""
    steps = ((0, 0.1), (8, 0.6), (16, 0.05), (24, 0.6))
    energy = Energy(carbon_intensity=Profile(steps, period=32), carbon_cap_kg=cap)
    ids = tuple(Machine(f"M{m}") for m in range(machines))
    instance = Instance(ids, jobs, time_unit_minutes=60, horizon=horizon, energy=energy)
    return make_problem(compile_instance(instance), Objective.parse("makespan"))


def _meeting_the_cap(p: Problem) -> list[bool]:
    """Per plan of the repair, in its order, whether it meets the carbon cap."""
    w = make_workspace(p)
    return [viol == 0 for viol, *_ in carbon_plans(p, w, NO_DEADLINE)]


def test_the_variant_prices_defers_and_chooses_modes_by_carbon_alone() -> None:
    instance = load(INSTANCES / "energy" / "mk01-energy-week.json")
    p = make_problem(compile_instance(instance), Objective.parse("makespan"))
    variant = carbon_problem(p, 100)
    assert (variant.price_tariff, variant.price_carbon, variant.hungry_kw) == (0.0, 1.0, 0.0)
    assert variant.mode_by_price and not p.mode_by_price
    deadline = np.where(p.job_deadline >= 0, p.job_deadline, 100)
    assert (variant.job_due == deadline.clip(max=100)).all()
    modes = least_energy_modes(p)
    for o in range(p.n_ops):
        kwh = p.mode_kwh[p.mode_ptr[o] : p.mode_ptr[o + 1]]
        assert p.mode_kwh[modes[o]] == kwh.min()


def test_a_tighter_deferral_horizon_leaves_the_clean_period_to_the_successor() -> None:
    """A (4 h) then B (6 h), 2 kW each, released at 26, horizon 60: deferred as far as the
    horizon allows, A takes 48-52 (0.05) and B 52-58, a third dirty (3.2 kg); with the
    deferral horizon 56 (where the intensity rises) A takes 32-36 (0.1), B 48-54 (1.4 kg)."""
    ops = tuple(Operation(f"J0-{i}", (Mode("M0", d, power_kw=2.0),)) for i, d in enumerate((4, 6)))
    p = _hourly((Job("J0", ops, release=26),), 1, 2.0, 60)
    assert deferral_horizons(p).tolist() == [40, 56, 60]
    met = np.array(_meeting_the_cap(p)).reshape(3, -1)  # per horizon, its plans
    assert met.tolist() == [[False] * 8, [True] * 8, [False] * 8]


def test_the_most_power_first_order_gives_the_clean_period_to_the_hungriest() -> None:
    """A (2 kW) and B (5.5 kW), 8 h each on one machine, horizon 24: taken first, A takes
    16-24 (0.05) and B 0-8 (0.1), 5.2 kg; most power first, B takes 16-24 and A 0-8, 3.8 kg.
    The other orders all take A first (equal work, durations and release: the lower index)."""
    jobs = tuple(
        Job(f"J{j}", (Operation(f"J{j}-0", (Mode("M0", 8, power_kw=kw),)),))
        for j, kw in enumerate((2.0, 5.5))
    )
    p = _hourly(jobs, 1, 4.5, 24)
    assert deferral_horizons(p).tolist() == [8, 24]
    met = np.array(_meeting_the_cap(p)).reshape(2, 2, -1)  # per horizon and modes, each order
    assert met.tolist() == [[[False] * 4] * 2, [[False, False, False, True]] * 2]


def test_the_mode_of_least_carbon_beats_the_mode_of_least_energy() -> None:
    """One op, horizon 24: 10 h at 2 kW (least energy) cannot avoid 2 dirty hours (3.2 kg at
    best), 8 h at 3 kW fits 16-24 (1.2 kg): only the least-carbon mode meets a 2 kg cap."""
    op = Operation("J0-0", (Mode("M0", 10, power_kw=2.0), Mode("M1", 8, power_kw=3.0)))
    p = _hourly((Job("J0", (op,)),), 2, 2.0, 24)
    w = make_workspace(p)
    met = [assign[0] for viol, assign, *_ in carbon_plans(p, w, NO_DEADLINE) if viol == 0]
    assert met and all(fixed == -1 for fixed in met)  # never with the least-energy mode


def test_a_move_budget_gives_the_same_plan_run_after_run() -> None:
    """Seed 1, one worker, 3,000 moves and no time limit, twice in one process: equal
    schedules (chunks of the search no longer follow the clock)."""
    instance = load(INSTANCES / "energy" / "mk01-energy-week.json")
    runs = [
        scheduler.solve(instance, solver="heuristic", seed=1, workers=1, iterations=3000)
        for _ in range(2)
    ]
    first, second = (r.schedule.to_arrays(compile_instance(instance)) for r in runs)  # type: ignore[union-attr]
    assert all(np.array_equal(a, b) for a, b in zip(first, second, strict=True))
    assert runs[0].message.split(";")[-1] == runs[1].message.split(";")[-1]  # the moves


def test_without_a_time_limit_chunks_ignore_the_clock() -> None:
    """The chunk sizes (whose ends set the annealing temperature) of a run without a time
    limit are the same however long each chunk took; with one they follow the clock."""
    budgeted, timed = SimpleNamespace(deadline=None), SimpleNamespace(deadline=1.0)
    assert len({_next_chunk(budgeted, 64, elapsed) for elapsed in (0.0, 0.05, 10.0)}) == 1  # type: ignore[arg-type]
    assert len({_next_chunk(timed, 64, elapsed) for elapsed in (0.0, 0.05, 10.0)}) == 3  # type: ignore[arg-type]


def test_the_violation_search_meets_the_cap_no_plan_meets() -> None:
    """CHAINED under its cap: no least-carbon plan meets it, the search from the plan of least
    violation does (without the local search after it), the same schedule run after run."""
    capped = _with_carbon(CHAINED, [0.6, 0.6, 0.6, 0.3], 0.183)
    p = make_problem(compile_instance(capped), Objective.parse("makespan"))
    assert not any(_meeting_the_cap(p))
    runs = [
        scheduler.solve(capped, solver="heuristic", seed=3, workers=1, local_search=False)
        for _ in range(2)
    ]
    for run in runs:
        assert run.schedule is not None, run.message
        assert "carbon repair search" in run.message
        assert scheduler.validate(capped, run.schedule) == []
    first, second = (r.schedule.to_arrays(compile_instance(capped)) for r in runs)  # type: ignore[union-attr]
    assert all(np.array_equal(a, b) for a, b in zip(first, second, strict=True))
