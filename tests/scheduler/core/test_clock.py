"""Clock time: an instance with `start` reads ISO datetimes where ticks go (exactly, refusing
a datetime between ticks and naming the field), keeps `start` through JSON and frames, and
every output shows clock times that agree with the ticks."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from io_examples import design_example

import scheduler
from scheduler.cli.summary import describe
from scheduler.core.clock import to_datetime, to_tick
from scheduler.core.errors import InstanceError
from scheduler.core.objective import Objective
from scheduler.core.result import Result
from scheduler.core.schedule import COLUMNS, Assignment, Schedule
from scheduler.io.instance_json import instance_to_dict
from scheduler.report.plot import gantt

START = "2026-12-01T06:00:00"


def _clocked(**changes: Any) -> dict[str, Any]:
    data = design_example()
    data["time_unit_minutes"] = 5
    data["start"] = START
    data.update(changes)
    return data


def test_datetimes_become_ticks_exactly() -> None:
    data = _clocked()
    data["machines"][0]["unavailable"] = [["2026-12-01T08:00:00", "2026-12-01T08:30"]]
    data["jobs"][0]["due"] = "2026-12-02T06:00:00"
    data["energy"]["carbon_intensity"] = {"steps": [[START, 0.45], ["2026-12-01T11:00", 0.3]]}
    instance = scheduler.read_json(data)
    assert instance.machines[0].unavailable == ((24, 30),)
    assert instance.jobs[0].due == 288
    assert instance.energy.carbon_intensity.steps == ((0, 0.45), (60, 0.3))  # type: ignore[union-attr]
    assert instance.start == datetime(2026, 12, 1, 6)
    again = scheduler.read_json(instance_to_dict(instance))
    assert again == instance and instance_to_dict(instance)["start"] == START


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        (
            ("jobs", 0, "due"),
            "2026-12-01T06:07:00",
            r"jobs\[0\] 'J1': due: .* not a whole number of ticks \(5 min\)",
        ),
        (
            ("machines", 1, "unavailable"),
            [["x", 3]],
            r"machines\[1\] 'M2': unavailable\[0\] start: expected an ISO 8601",
        ),
        (
            ("jobs", 0, "release"),
            "2026-12-01T07:00:00+01:00",
            r"jobs\[0\] 'J1': release: .* has a UTC offset but the plan start",
        ),
    ],
)
def test_bad_datetimes_are_refused_naming_the_field(
    path: tuple[Any, ...], value: Any, message: str
) -> None:
    data = _clocked()
    data[path[0]][path[1]][path[2]] = value
    with pytest.raises(InstanceError, match=message):
        scheduler.read_json(data)


def test_without_start_a_datetime_is_refused_and_nothing_changes() -> None:
    data = design_example()
    data["jobs"][0]["due"] = START
    with pytest.raises(
        InstanceError, match=r"jobs\[0\] 'J1': due: .* needs the instance's 'start'"
    ):
        scheduler.read_json(data)
    plain = scheduler.read_json(design_example())
    assert plain.start is None and "start" not in instance_to_dict(plain)
    assert list(_schedule(plain).to_frame().columns) == COLUMNS


def test_conversions_with_an_offset_and_a_fractional_unit() -> None:
    start = datetime(2026, 3, 29, 0, 0, tzinfo=timezone(timedelta(hours=1)))
    assert to_datetime(start, 0.5, 7) == start + timedelta(seconds=210)
    assert to_tick(start, 0.5, "2026-03-29T01:03:30+02:00", "x") == 7
    with pytest.raises(InstanceError, match="x: .* not a whole number"):
        to_tick(start, 0.5, "2026-03-29T00:00:10+01:00", "x")


def test_frames_take_a_start_and_datetime_cells() -> None:
    ops = pd.DataFrame({"job": ["J1"], "operation": ["a"], "machine": ["M1"], "duration": [4]})
    jobs = pd.DataFrame({"job": ["J1"], "due": [pd.Timestamp("2026-12-01T07:00")]})
    windows = pd.DataFrame({"machine": ["M1"], "start": ["2026-12-01T06:10"], "end": [20]})
    instance = scheduler.from_frames(ops, jobs=jobs, unavailable=windows, start=START)
    assert instance.jobs[0].due == 60 and instance.machines[0].unavailable == ((10, 20),)
    with pytest.raises(
        InstanceError, match=r"jobs frame, row 0: due: .* needs the instance's 'start'"
    ):
        scheduler.from_frames(ops, jobs=jobs)


def _schedule(instance: scheduler.Instance) -> Schedule:
    rows, t = [], 0
    for job, op in instance.operations:
        rows.append(Assignment(job.id, op.id, op.modes[0].machine, 0, t, t + op.modes[0].duration))
        t += op.modes[0].duration + 3
    return Schedule(instance, tuple(rows))


def test_every_output_shows_clock_times_that_agree_with_the_ticks(tmp_path: Path) -> None:
    instance = scheduler.read_json(_clocked())
    schedule = _schedule(instance)
    frame = schedule.to_frame()
    assert list(frame.columns) == [*COLUMNS, "start_time", "end_time"]
    start = datetime.fromisoformat(START)
    for row in frame.itertuples():
        assert datetime.fromisoformat(row.start_time) == start + timedelta(minutes=5 * row.start)
        assert datetime.fromisoformat(row.end_time) == start + timedelta(minutes=5 * row.end)
    csv = scheduler.write_schedule_csv(schedule, tmp_path / "s.csv")
    assert pd.read_csv(csv)["end_time"].tolist() == frame["end_time"].tolist()
    assert scheduler.read_schedule_csv(instance, csv).assignments == schedule.assignments

    result = Result("feasible", "test", schedule, objective=1, bound=1)
    result.kpis = scheduler.compute_kpis(instance, schedule)
    end = start + timedelta(minutes=5 * schedule.makespan)
    shown = describe(instance, result, Objective.parse("makespan"))
    assert f"plan       2026-12-01 06:00 -> {end:%Y-%m-%d %H:%M}" in shown

    found = scheduler.explain(instance, schedule).to_dict()
    assert found["start"] == START
    for link in found["critical_path"]:
        assert datetime.fromisoformat(link["end_time"]) == start + timedelta(
            minutes=5 * link["end"]
        )

    axis = gantt(schedule).axes[0]
    assert axis.get_xlabel().startswith("clock time (tick 0 = 2026-12-01 06:00; 1 tick = 5 min)")
    labels = [axis.xaxis.get_major_formatter()(tick, 0) for tick in (0, 12)]
    assert labels == ["06:00", "07:00"]
    json.dumps(found)  # JSON-ready
