"""Reading and writing: JSON round trips, the classic benchmark formats (every file in
benchmarks/instances), pandas frames, schedule CSV and summary files, atomic writes."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from io_examples import design_example
from paths import INSTANCES
from strategies import instances

from scheduler.core.model import Instance, Profile
from scheduler.core.result import Progress, Result
from scheduler.core.schedule import COLUMNS, Assignment, Schedule
from scheduler.io import (
    atomic_write,
    from_frames,
    instance_to_dict,
    load,
    read_fjsp,
    read_json,
    read_jssp,
    read_schedule_csv,
    write_json,
    write_schedule_csv,
    write_summary,
)


# -- JSON ----------------------------------------------------------------------------------
def test_design_example_reads_with_every_field() -> None:
    inst = read_json(design_example())
    assert inst.name == "line-3-week-48" and inst.horizon == 10080
    assert inst.machines[0].unavailable == ((480, 540),)
    assert inst.resources[0].capacity == 3
    job = inst.jobs[0]
    assert (job.due, job.deadline, job.weight) == (600, 900, 2.0)
    first, second = job.operations
    assert first.family == "A" and first.predecessors is None
    assert first.modes[0].resources["operators"] == 1 and first.modes[1].power_kw == 7.0
    assert second.predecessors == (("J1-1", 10),)
    assert inst.setup(machine="M1", before="A", after="B") == 15
    assert inst.energy.power_cap_kw == 40.0
    assert inst.energy.tariff == Profile(((0, 0.08), (420, 0.21), (1320, 0.08)), 1440)
    assert inst.energy.carbon_cap_kg == 250.0


def test_design_example_writes_back_the_same_dict_up_to_defaults() -> None:
    original = design_example()
    written = instance_to_dict(read_json(original))
    # the example spells out two defaults (release 0, time_unit_minutes 1): only those go
    del original["time_unit_minutes"], original["jobs"][0]["release"]
    assert written == original


def test_json_file_text_and_dict_sources_agree(tmp_path: Path) -> None:
    inst = read_json(design_example())
    path = write_json(inst, tmp_path / "week.json")
    text = path.read_text()
    assert read_json(path) == read_json(str(path)) == read_json(text) == inst
    assert read_json(text.encode()) == read_json(json.loads(text)) == inst
    assert json.loads(text) == instance_to_dict(inst)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(instances(energy_caps=True))
def test_random_instances_round_trip_losslessly(inst: Instance) -> None:
    data = instance_to_dict(inst)
    text = json.dumps(data)  # plain JSON types only
    again = read_json(text)
    assert again == inst
    assert instance_to_dict(again) == data


def test_predecessors_keep_given_empty_lists_and_write_zero_lags_as_ids() -> None:
    data = design_example()
    ops = data["jobs"][0]["operations"]
    ops[0]["predecessors"] = []
    ops[1]["predecessors"] = [["J1-1", 0]]
    written = instance_to_dict(read_json(data))["jobs"][0]["operations"]
    assert written[0]["predecessors"] == []
    assert written[1]["predecessors"] == ["J1-1"]


def test_nulls_and_description_are_accepted_and_defaults_omitted() -> None:
    data = design_example()
    data["description"] = "week 48, line 3"
    data["jobs"][0].update(due=None, weight=1, release=0)
    data["machines"][1]["idle_power_kw"] = 0
    data["energy"]["tariff"]["period"] = None
    written = instance_to_dict(read_json(data))
    assert "description" not in written
    assert written["jobs"][0].keys() == {"id", "deadline", "operations"}
    assert written["machines"][1] == {"id": "M2"}
    assert "period" not in written["energy"]["tariff"]


def test_profile_power_cap_and_integral_floats() -> None:
    data = design_example()
    data["energy"]["power_cap_kw"] = {"steps": [[0, 40], [600, 25.5]], "period": 1440}
    data["jobs"][0]["due"] = 600.0  # integral floats are integers
    inst = read_json(data)
    assert inst.energy.power_cap_kw == Profile(((0, 40.0), (600, 25.5)), 1440)
    assert inst.jobs[0].due == 600 and isinstance(inst.jobs[0].due, int)
    assert instance_to_dict(inst)["energy"]["power_cap_kw"]["steps"] == [[0, 40], [600, 25.5]]


# -- classic formats -----------------------------------------------------------------------
def test_ft06_parses_as_six_by_six() -> None:
    inst = read_jssp(INSTANCES / "jssp" / "ft06.txt")
    assert inst.name == "ft06"
    assert [m.id for m in inst.machines] == [f"M{i}" for i in range(6)]
    assert [j.id for j in inst.jobs] == [f"J{i}" for i in range(6)]
    first = inst.jobs[0].operations[0]
    assert first.id == "J0-0" and len(first.modes) == 1
    assert (first.modes[0].machine, first.modes[0].duration) == ("M2", 1)
    assert inst.jobs[5].operations[5].id == "J5-5"
    assert sum(len(j.operations) for j in inst.jobs) == 36


def test_fjsp_ids_are_one_based_and_header_machines_all_exist() -> None:
    inst = read_fjsp(INSTANCES / "fjsp" / "fattahi" / "fattahi1.fjs")
    assert [m.id for m in inst.machines] == ["M1", "M2"]
    modes = inst.jobs[0].operations[0].modes
    assert [(m.machine, m.duration) for m in modes] == [("M1", 25), ("M2", 37)]
    assert inst.jobs[1].operations[1].id == "J1-1"
    mk06 = load(INSTANCES / "fjsp" / "brandimarte" / "mk06.fjs")
    assert len(mk06.machines) == 15  # header says 15, operations use 1-10
    used = {m.machine for _, op in mk06.operations for m in op.modes}
    assert used <= {f"M{i}" for i in range(1, 11)}


def test_every_benchmark_file_parses_with_the_sizes_of_bks_csv() -> None:
    with open(INSTANCES / "bks.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) > 400
    for row in rows:
        suffix = ".txt" if row["family"] == "jssp" else ".fjs"
        path = INSTANCES / row["family"] / f"{row['name']}{suffix}"
        inst = load(path)
        assert inst.name == row["name"]
        assert len(inst.jobs) == int(row["n_jobs"]), path
        assert len(inst.machines) == int(row["n_machines"]), path


def test_zero_time_operation_is_kept() -> None:
    inst = read_jssp(INSTANCES / "jssp" / "orb07.txt")
    assert [op.id for op in inst.jobs[9].operations] == [f"J9-{k}" for k in range(10)]
    assert sum(len(j.operations) for j in inst.jobs) == 100
    assert min(m.duration for _, op in inst.operations for m in op.modes) == 0


def test_jssp_text_with_comments_blank_lines_and_wrapped_jobs() -> None:
    text = "# a comment\n\n2 2\n0 3 1 2   # job 0\n1 4\n0 1\n"
    inst = read_jssp(text, name="tiny")
    assert inst.name == "tiny"
    assert [(op.modes[0].machine, op.modes[0].duration) for op in inst.jobs[1].operations] == [
        ("M1", 4),
        ("M0", 1),
    ]


def test_jssp_taillard_layout_reads_times_then_one_based_machines() -> None:
    text = (
        "Nb of jobs, Nb of Machines, Time seed, Machine seed, Upper bound, Lower bound\n"
        "2 2 840612802 398197754 10 9\n"
        "Times\n5 6\n7 8\n"
        "Machines\n2 1\n1 2\n"
    )
    routes = [
        [(op.modes[0].machine, op.modes[0].duration) for op in job.operations]
        for job in read_jssp(text).jobs
    ]
    assert routes == [[("M1", 5), ("M0", 6)], [("M0", 7), ("M1", 8)]]


def test_fjsp_jobs_wrapped_over_lines_and_tabs() -> None:
    text = "2 3 1.5\n2 1 1 4\n 2 2 5\t3 6\n1\n1 3 2\n"
    inst = read_fjsp(text)
    assert [len(j.operations) for j in inst.jobs] == [2, 1]
    assert [(m.machine, m.duration) for m in inst.jobs[0].operations[1].modes] == [
        ("M2", 5),
        ("M3", 6),
    ]


def test_load_picks_the_format_by_suffix_or_by_name(tmp_path: Path) -> None:
    jss = tmp_path / "a.jss"
    jss.write_text("1 1\n0 5\n")
    assert load(jss).jobs[0].operations[0].modes[0].machine == "M0"
    fjs_named_txt = tmp_path / "b.txt"
    fjs_named_txt.write_text("1 1\n1 1 1 5\n")
    assert load(fjs_named_txt, format="fjsp").machines[0].id == "M1"
    as_json = write_json(read_json(design_example()), tmp_path / "c.JSON")
    assert load(as_json).name == "line-3-week-48"


# -- frames --------------------------------------------------------------------------------
def _design_frames() -> dict[str, Any]:
    """The DESIGN example as frames, with numpy types and blanks as an MES export has them."""
    operations = pd.DataFrame(
        {
            "job": ["J1", "J1", "J1"],
            "operation": ["J1-1", "J1-1", "J1-2"],
            "machine": ["M1", "M2", "M2"],
            "duration": np.array([30, 45, 20], dtype=np.int64),
            "power_kw": [12.5, 7.0, 5.0],
            "family": ["A", "A", None],
            "res:operators": [1, np.nan, np.nan],
        }
    )
    return {
        "operations": operations,
        "machines": pd.DataFrame({"machine": ["M1", "M2"], "idle_power_kw": [2.0, np.nan]}),
        "unavailable": pd.DataFrame({"machine": ["M1"], "start": [480], "end": [540]}),
        "resources": pd.DataFrame({"resource": ["operators"], "capacity": [np.int32(3)]}),
        "jobs": pd.DataFrame(
            {"job": ["J1"], "release": [0], "due": [600.0], "deadline": [900], "weight": [2]}
        ),
        "precedences": pd.DataFrame(
            {"predecessor": ["J1-1"], "successor": ["J1-2"], "lag": [np.int64(10)]}
        ),
        "setups": pd.DataFrame(
            {
                "machine": ["M1", "M1"],
                "from_family": ["A", "B"],
                "to_family": ["B", "A"],
                "ticks": [15, 5],
            }
        ),
        "energy": {
            "power_cap_kw": np.float64(40),
            "tariff": {"period": 1440, "steps": [[0, 0.08], [420, 0.21], [1320, 0.08]]},
            "carbon_intensity": pd.DataFrame({"start": [0, 600], "value": [0.45, 0.30]}),
            "carbon_cap_kg": 250,
        },
        "name": "line-3-week-48",
        "horizon": 10080,
    }


def test_frames_build_the_same_instance_as_the_json() -> None:
    built = from_frames(**_design_frames())
    assert built == read_json(design_example())
    assert instance_to_dict(built) == instance_to_dict(read_json(design_example()))


def test_frames_coerce_numeric_ids_and_order_by_first_appearance() -> None:
    operations = pd.DataFrame(
        {
            "job": [7, 3, 7],
            "operation": [71, 31, 72],
            "machine": [2, 1, 1],
            "duration": [4.0, 2.0, 3.0],
        }
    )
    inst = from_frames(operations)
    assert [j.id for j in inst.jobs] == ["7", "3"]
    assert [m.id for m in inst.machines] == ["2", "1"]
    assert [op.id for op in inst.jobs[0].operations] == ["71", "72"]
    assert inst.precedences() == [("71", "72", 0)]
    assert isinstance(inst.jobs[0].operations[0].modes[0].duration, int)


def test_frames_blank_predecessor_makes_a_job_without_precedences() -> None:
    operations = pd.DataFrame(
        {"job": ["A", "A"], "operation": ["A1", "A2"], "machine": ["M", "M"], "duration": [1, 2]}
    )
    precedences = pd.DataFrame({"predecessor": [None], "successor": ["A2"]})
    inst = from_frames(operations, precedences=precedences)
    assert inst.jobs[0].operations[1].predecessors == ()
    assert inst.precedences() == []


# -- schedules and summaries ---------------------------------------------------------------
def _design_schedule() -> Schedule:
    inst = read_json(design_example())
    return Schedule(
        inst,
        (
            Assignment("J1", "J1-1", "M1", 0, 400, 430),
            Assignment("J1", "J1-2", "M2", 0, 440, 460),
        ),
    )


def test_schedule_csv_round_trip_has_the_contract_columns(tmp_path: Path) -> None:
    schedule = _design_schedule()
    path = write_schedule_csv(schedule, tmp_path / "schedule.csv")
    frame = pd.read_csv(path)
    assert list(frame.columns) == COLUMNS
    # J1-1: 12.5 kW x 30 min = 6.25 kWh; 20 ticks at 0.08 and 10 at 0.21 per kWh
    assert frame.loc[0, "energy_kwh"] == pytest.approx(6.25)
    assert frame.loc[0, "energy_cost"] == pytest.approx(12.5 / 60 * (20 * 0.08 + 10 * 0.21))
    assert read_schedule_csv(schedule.instance, path) == schedule


@pytest.mark.parametrize("clock", [False, True])
def test_schedule_csv_is_what_pandas_writes_for_awkward_ids(tmp_path: Path, clock: bool) -> None:
    """The csv-module writer matches the frame's `to_csv` byte for byte: ids needing quotes,
    floats, clock columns."""
    data = design_example()
    if clock:
        data["start"] = "2026-11-30T06:00:00"
    text = json.dumps(data).replace('"J1-1"', '"J1, \\"first\\""').replace('"M1"', '"M 1;x"')
    inst = read_json(text)
    schedule = Schedule(
        inst,
        (
            Assignment("J1", 'J1, "first"', "M 1;x", 0, 400, 430),
            Assignment("J1", "J1-2", "M2", 0, 440, 460),
        ),
    )
    assert (inst.start is not None) == clock
    path = write_schedule_csv(schedule, tmp_path / "schedule.csv")
    assert path.read_bytes() == schedule.to_frame().to_csv(index=False).encode()
    assert read_schedule_csv(inst, path) == schedule


def test_schedule_csv_read_ignores_derived_and_extra_columns(tmp_path: Path) -> None:
    path = tmp_path / "edited.csv"
    path.write_text(
        "\ufeffoperation, job, machine, mode, start, end, energy_kwh, note\n"
        "J1-1, J1, M1, 0, 400.0, 430, 999, by hand\n"
        "J1-2, J1, M2, 0, 440, 460, , \n"
    )
    schedule = _design_schedule()
    assert read_schedule_csv(schedule.instance, path) == schedule


def test_summary_json_is_plain_and_standard(tmp_path: Path) -> None:
    result = Result(
        status="feasible",
        solver="cpsat",
        objective=np.float64(460.0),  # type: ignore[arg-type]
        bound=400.0,
        wall_time_s=1.5,
        kpis={"makespan": np.int64(460), "energy_kwh": np.float64(9.0), "idle": math.nan},
        trajectory=[Progress(0.5, 470.0, None), Progress(1.0, 460.0, 400.0)],
    )
    path = write_summary(result, tmp_path / "summary.json")
    data = json.loads(path.read_text())  # strict JSON: no NaN
    assert data["status"] == "feasible" and data["solver"] == "cpsat"
    assert data["gap"] == pytest.approx(60 / 460)
    assert data["kpis"] == {"makespan": 460, "energy_kwh": 9.0, "idle": None}
    assert data["trajectory"] == [[0.5, 470.0, None], [1.0, 460.0, 400.0]]


# -- atomic writes -------------------------------------------------------------------------
def test_atomic_write_hands_a_temp_path_beside_the_target(tmp_path: Path) -> None:
    target = tmp_path / "gantt.png"
    seen: list[Path] = []

    def writer(temp: Path) -> None:
        seen.append(temp)
        assert temp.parent == tmp_path and temp.suffix == ".png" and temp != target
        temp.write_bytes(b"image")

    assert atomic_write(target, writer) == target
    assert target.read_bytes() == b"image"
    assert not seen[0].exists()
    assert list(tmp_path.iterdir()) == [target]


def test_atomic_write_keeps_the_existing_file_mode(tmp_path: Path) -> None:
    target = tmp_path / "out.csv"
    target.write_text("old")
    target.chmod(0o640)
    atomic_write(target, "new")
    assert target.read_text() == "new"
    assert target.stat().st_mode & 0o777 == 0o640
