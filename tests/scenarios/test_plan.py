"""The plan a profile makes: planned maintenance windows, energy-aware objectives and rules."""

from __future__ import annotations

from dataclasses import replace

import pytest
from helpers import profile

from scenarios.plan import ScenarioError, make_plan, planned_instance, policy
from scheduler.core.model import Energy, Instance, Job, Machine, Mode, Operation, Profile
from scheduler.core.objective import Objective


def _plant() -> Instance:
    jobs = tuple(
        Job(
            f"J{j}",
            tuple(
                Operation(
                    f"J{j}-{k}",
                    (Mode("M1", 30 + 10 * j, power_kw=20.0), Mode("M2", 45, power_kw=8.0)),
                )
                for k in range(2)
            ),
        )
        for j in range(3)
    )
    tariff = Profile(((0, 0.1), (480, 0.3), (1200, 0.1)), period=1440)
    return Instance((Machine("M1"), Machine("M2")), jobs, energy=Energy(tariff=tariff))


def test_planned_windows_are_staggered_per_machine() -> None:
    windows = {"every_hours": 2.0, "duration_hours": 0.5}
    plant = planned_instance(_plant(), profile("pm", maintenance={"planned_windows": windows}))
    first = [m.unavailable[0] for m in plant.machines]
    assert first == [(40, 70), (80, 110)]  # 1/3 and 2/3 of a 120-tick interval, 30 ticks long
    assert all(
        b[0] - a[0] == 120
        for m in plant.machines
        for a, b in zip(m.unavailable, m.unavailable[1:], strict=False)
    )


def test_energy_awareness_weights_a_solver_and_switches_a_rule() -> None:
    plant = _plant()
    aware = {"aware": True, "weights": {"energy_cost": 0.2, "carbon": 0.5}}
    solver = profile("s", scheduling={"solver": "heuristic", "objective": "makespan"}, energy=aware)
    _, objective, _ = policy(solver, plant)
    terms = dict(Objective.parse(objective).levels[-1])
    assert set(terms) == {"makespan", "energy_cost"}  # no carbon data: no carbon term
    assert terms["energy_cost"] > 0
    rule = profile("r", energy=aware)
    _, objective, options = policy(rule, plant)
    assert objective == "makespan"
    assert options["rule"] == "energy" and options["machine_selection"] == "least_energy"
    unaware = replace(rule, energy=replace(rule.energy, aware=False))
    assert policy(unaware, plant)[2]["rule"] == "fifo"


def test_a_solver_that_refuses_the_plant_names_the_profile_field() -> None:
    """A bundled profile cannot be edited on the command line: when its solver refuses the
    instance (cpsat on a plant too large, here baseline on planned windows) the error says
    which field of which profile to change, not only the solver's reason."""
    windows = {"every_hours": 2.0, "duration_hours": 0.5}
    scheduling = {"solver": "baseline", "objective": "makespan", "time_limit": 2}
    refusing = profile("refusing", scheduling=scheduling, maintenance={"planned_windows": windows})
    with pytest.raises(ScenarioError, match=r"profile 'refusing': its scheduling\.solver "
                       r"refused the instance \(.*\); set scheduling\.solver"):  # fmt: skip
        make_plan(_plant(), refusing)
