"""Objective specifications: terms, weighted sums and lexicographic orders."""

from __future__ import annotations

import pytest

from scheduler.core.objective import Objective


@pytest.mark.parametrize(
    ("spec", "levels"),
    [
        ("makespan", ((("makespan", 1.0),),)),
        (
            "makespan=1,energy_cost=0.2",
            ((("makespan", 1.0), ("energy_cost", 0.2)),),
        ),
        ("makespan>carbon", ((("makespan", 1.0),), (("carbon", 1.0),))),
    ],
)
def test_objective_specs_parse(spec: str, levels: object) -> None:
    objective = Objective.parse(spec)
    assert objective.levels == levels
    assert Objective.parse(str(objective)) == objective


@pytest.mark.parametrize("spec", ["", "speed", "makespan=abc", "makespan=-1", "makespan,makespan"])
def test_bad_objective_specs_are_refused(spec: str) -> None:
    with pytest.raises(ValueError, match="objective"):
        Objective.parse(spec)
