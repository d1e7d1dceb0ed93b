"""The pure parts of the epsilon-constraint trade-off curve: the bound grid, the dominance
filter, argument checks and the plot."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from scheduler.core.errors import UnsupportedFeatureError
from scheduler.core.model import Instance, Job, Machine, Mode, Operation
from scheduler.core.validate import validate
from scheduler.report.pareto import epsilon_grid, non_dominated, pareto, plot_pareto


def test_epsilon_grid_is_evenly_spaced_strictly_inside() -> None:
    assert epsilon_grid(100.0, 160.0, 5) == pytest.approx([110.0, 120.0, 130.0, 140.0, 150.0])
    assert epsilon_grid(1.0, 2.0, 1) == pytest.approx([1.5])


@pytest.mark.parametrize(("low", "high", "count"), [(5.0, 5.0, 3), (6.0, 5.0, 3), (1.0, 9.0, 0)])
def test_epsilon_grid_is_empty_without_room(low: float, high: float, count: int) -> None:
    assert epsilon_grid(low, high, count) == []


def test_non_dominated_keeps_the_front_in_input_order() -> None:
    points = [(10, 5.0), (12, 3.0), (11, 6.0), (15, 3.0), (12, 3.0), (9, 9.0), (20, 1.0)]
    assert non_dominated(points) == [0, 1, 5, 6]


def test_non_dominated_treats_float_noise_as_equal() -> None:
    assert non_dominated([(10.0, 131.4 + 1e-8), (10.0, 131.4), (9.0, 140.0)]) == [0, 2]
    assert non_dominated([(10.0, 0.1 + 0.2), (10.0, 0.3)]) == [0]


coordinates = st.tuples(st.integers(0, 20), st.integers(0, 20))


@given(st.lists(coordinates, min_size=1, max_size=25))
def test_non_dominated_is_the_brute_force_front(points: list[tuple[int, int]]) -> None:
    def dominated(p: tuple[int, int]) -> bool:
        return any(q[0] <= p[0] and q[1] <= p[1] and q != p for q in points)

    kept = non_dominated(points)
    expected_values = {p for p in points if not dominated(p)}
    assert {points[i] for i in kept} == expected_values
    assert len(kept) == len(expected_values)  # one index per distinct front point
    assert kept == sorted(kept)


def _instance() -> Instance:
    job = Job("J", (Operation("J-0", (Mode("M", 3, 1.0),)),))
    return Instance((Machine("M"),), (job,))


@pytest.mark.parametrize(
    ("objectives", "points", "message"),
    [
        (("makespan",), 8, "two different objectives"),
        (("carbon", "carbon"), 8, "two different objectives"),
        (("makespan", "co2"), 8, "unknown objective 'co2'"),
        (("makespan", "carbon"), 1, "points must be an integer >= 2"),
        (("makespan", "carbon"), 2.5, "points must be an integer >= 2"),
    ],
)
def test_pareto_refuses_bad_arguments_before_solving(
    objectives: tuple[str, ...], points: int, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        pareto(_instance(), objectives, points=points, solver="no-such-solver")


def test_plot_pareto_writes_the_image(tmp_path: Path) -> None:
    frame = pd.DataFrame(
        {
            "makespan": [40, 44, 52],
            "carbon": [12.5, 10.1, 9.7],
            "status": ["optimal", "feasible", "optimal"],
            "epsilon": [None, 11.0, None],
            "schedule": [None, None, None],
        }
    )
    out = tmp_path / "front.png"
    fig = plot_pareto(frame, out)
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    ax = fig.axes[0]
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("makespan", "carbon")
    legend = ax.get_legend()
    assert legend is not None
    assert [t.get_text() for t in legend.get_texts()] == ["optimal", "best found"]
    assert not list(tmp_path.glob(".*tmp*"))


def test_the_default_curve_is_solved_by_the_default_solve_even_where_cpsat_refuses() -> None:
    """One machine with 1,500 operations of two families: cpsat refuses its setup circuit
    (about 2.25 million arcs), so a curve defaulting to cpsat raised; each point is now
    solved by `auto`, whose heuristic schedules it."""
    n = 1500
    jobs = tuple(
        Job(f"J{j}", (Operation(f"O{j}", (Mode("M1", 2),), family="AB"[j % 2]),), due=2 * j)
        for j in range(n)
    )
    setups = {"M1": {"A": {"B": 3}, "B": {"A": 3}}}
    instance = Instance((Machine("M1"),), jobs, setup_times=setups)
    with pytest.raises(UnsupportedFeatureError, match="arcs"):
        pareto(instance, ("makespan", "weighted_tardiness"), points=3, solver="cpsat")
    frame = pareto(instance, ("makespan", "weighted_tardiness"), points=3, time_limit=6.0)
    assert len(frame) >= 1
    for schedule in frame["schedule"]:
        assert validate(instance, schedule) == []
