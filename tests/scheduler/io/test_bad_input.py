"""Bad input (DESIGN section 8): every malformed or inconsistent instance raises InstanceError
whose message names the field and the reason; failed writes leave no trace."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from io_examples import design_example

from scheduler.core.errors import InstanceError
from scheduler.core.model import Energy, Instance, Job, Machine, Mode, Operation, Profile
from scheduler.io import (
    atomic_write,
    from_frames,
    load,
    read_fjsp,
    read_json,
    read_jssp,
    read_schedule_csv,
)

Data = dict[str, Any]
J1 = "jobs[0] 'J1'"
OP1 = f"{J1}, operations[0] 'J1-1'"
MODE0 = f"{OP1}, modes[0]"


def _job(d: Data) -> Data:
    return d["jobs"][0]


def _op(d: Data, k: int = 0) -> Data:
    return d["jobs"][0]["operations"][k]


def _mode(d: Data) -> Data:
    return _op(d)["modes"][0]


# (what is wrong, how to break the DESIGN example, text the message must contain)
JSON_CASES: list[tuple[str, Callable[[Data], None], list[str]]] = [
    (
        "unknown machine",
        lambda d: _mode(d).update(machine="M9"),
        [f"{MODE0}: machine", "'M9' is not a known machine"],
    ),
    (
        "unknown resource",
        lambda d: _mode(d).update(resources={"welders": 1}),
        [f"{MODE0}: resources", "'welders' is not a known resource"],
    ),
    ("negative duration", lambda d: _mode(d).update(duration=-5), [f"{MODE0}: duration", "-5"]),
    ("fractional duration", lambda d: _mode(d).update(duration=2.5), [f"{MODE0}: duration"]),
    (
        "operation without modes",
        lambda d: _op(d).update(modes=[]),
        [f"{OP1}: modes", "at least one mode"],
    ),
    (
        "cyclic precedences",
        lambda d: _op(d).update(predecessors=["J1-2"]),
        [": predecessors: the precedences form a cycle", "J1-1 -> J1-2", "J1-2 -> J1-1"],
    ),
    (
        "deadline before release plus minimal work",
        lambda d: _job(d).update(release=500, deadline=550),
        [f"{J1}: deadline", "550", "release plus minimal work", "560"],
    ),
    (
        "deadline not after release",
        lambda d: _job(d).update(release=900),
        [f"{J1}: deadline", "900 is not after the release 900"],
    ),
    (
        "horizon before minimal work",
        lambda d: d.update(horizon=50),
        ["horizon", "'J1'", "60"],
    ),
    (
        "unsorted profile steps",
        lambda d: d["energy"]["tariff"].update(steps=[[0, 0.08], [1320, 0.08], [420, 0.21]]),
        ["energy.tariff: steps", "increasing"],
    ),
    (
        "profile not starting at 0",
        lambda d: d["energy"]["carbon_intensity"].update(steps=[[10, 0.4]]),
        ["energy.carbon_intensity: steps", "tick 0"],
    ),
    (
        "period not after last step",
        lambda d: d["energy"]["tariff"].update(period=1000),
        ["energy.tariff: period", "1000", "1320"],
    ),
    (
        "negative carbon intensity",
        lambda d: d["energy"]["carbon_intensity"]["steps"][1].__setitem__(1, -0.3),
        ["energy.carbon_intensity: steps[1] value", ">= 0"],
    ),
    (
        "duplicate machine id",
        lambda d: d["machines"][1].update(id="M1"),
        ["machines[1] 'M1': id 'M1' is already used by machines[0] 'M1'"],
    ),
    (
        "duplicate job id",
        lambda d: d["jobs"].append({**_job(d), "operations": [{**_op(d, 1), "id": "X"}]}),
        ["jobs[1] 'J1': id 'J1' is already used by jobs[0] 'J1'"],
    ),
    (
        "duplicate operation id",
        lambda d: _op(d, 1).update(id="J1-1", predecessors=None),
        [f"{J1}, operations[1] 'J1-1': id 'J1-1' is already used by {OP1}"],
    ),
    (
        "duplicate resource id",
        lambda d: d["resources"].append({"id": "operators", "capacity": 1}),
        ["resources[1] 'operators': id", "already used by resources[0]"],
    ),
    (
        "unknown predecessor",
        lambda d: _op(d, 1).update(predecessors=["J1-9"]),
        [f"{J1}, operations[1] 'J1-2': predecessors[0]", "'J1-9' is not a known"],
    ),
    (
        "self predecessor",
        lambda d: _op(d, 1).update(predecessors=["J1-2"]),
        ["'J1-2'", "precede itself"],
    ),
    (
        "negative lag",
        lambda d: _op(d, 1).update(predecessors=[["J1-1", -3]]),
        ["operations[1] 'J1-2': predecessors[0] lag", "-3"],
    ),
    (
        "malformed predecessor",
        lambda d: _op(d, 1).update(predecessors=[["J1-1", 1, 2]]),
        ["predecessors[0]", '["OP", lag]'],
    ),
    (
        "demand above capacity",
        lambda d: _mode(d).update(resources={"operators": 5}),
        [f"{MODE0}: resources['operators']", "demands 5", "capacity 3"],
    ),
    (
        "negative demand",
        lambda d: _mode(d).update(resources={"operators": -1}),
        [f"{MODE0}: resources['operators']", "-1"],
    ),
    (
        "window end before start",
        lambda d: d["machines"][0].update(unavailable=[[540, 480]]),
        ["machines[0] 'M1': unavailable[0]", "end 480 must be after start 540"],
    ),
    (
        "window end equal to start",
        lambda d: d["machines"][0].update(unavailable=[[480, 480]]),
        ["machines[0] 'M1': unavailable[0]", "end 480"],
    ),
    (
        "window not a pair",
        lambda d: d["machines"][0].update(unavailable=[480]),
        ["machines[0] 'M1': unavailable[0]", "[start, end]"],
    ),
    (
        "unknown key (typo)",
        lambda d: _job(d).update(dealine=_job(d).pop("deadline")),
        [J1, "unknown key 'dealine'", "did you mean 'deadline'", "allowed keys"],
    ),
    (
        "unknown top-level key",
        lambda d: d.update(horizn=5),
        ["top level", "'horizn'", "did you mean 'horizon'"],
    ),
    ("unknown mode key", lambda d: _mode(d).update(power=3), [MODE0, "unknown key 'power'"]),
    (
        "unknown energy key",
        lambda d: d["energy"].update(carbon_cap=3),
        ["energy", "'carbon_cap'", "carbon_cap_kg"],
    ),
    ("missing machines", lambda d: d.pop("machines"), ["missing required key 'machines'"]),
    ("missing jobs", lambda d: d.pop("jobs"), ["missing required key 'jobs'"]),
    ("missing job id", lambda d: _job(d).pop("id"), ["jobs[0]", "missing required key 'id'"]),
    ("missing operations", lambda d: _job(d).pop("operations"), [J1, "'operations'"]),
    ("missing modes", lambda d: _op(d).pop("modes"), [OP1, "missing required key 'modes'"]),
    ("missing machine", lambda d: _mode(d).pop("machine"), [MODE0, "'machine'"]),
    ("missing duration", lambda d: _mode(d).pop("duration"), [MODE0, "'duration'"]),
    ("missing capacity", lambda d: d["resources"][0].pop("capacity"), ["'capacity'"]),
    ("no machines", lambda d: d.update(machines=[]), ["machines", "at least one"]),
    ("no jobs", lambda d: d.update(jobs=[]), ["jobs", "at least one"]),
    (
        "job without operations",
        lambda d: _job(d).update(operations=[]),
        [f"{J1}: operations", "at least one"],
    ),
    ("string duration", lambda d: _mode(d).update(duration="30"), [f"{MODE0}: duration", '"30"']),
    ("bool duration", lambda d: _mode(d).update(duration=True), [f"{MODE0}: duration", "true"]),
    ("bool release", lambda d: _job(d).update(release=False), [f"{J1}: release", "false"]),
    ("bool weight", lambda d: _job(d).update(weight=True), [f"{J1}: weight", "true"]),
    ("numeric job id", lambda d: _job(d).update(id=1), ["jobs[0]: id", "string"]),
    ("empty machine id", lambda d: d["machines"][1].update(id=""), ["machines[1]: id"]),
    ("machines not a list", lambda d: d.update(machines={"M1": {}}), ["machines", "a list"]),
    ("job not an object", lambda d: d["jobs"].append("J2"), ["jobs[1]", "an object"]),
    (
        "negative power",
        lambda d: _mode(d).update(power_kw=-1),
        [f"{MODE0}: power_kw", ">= 0"],
    ),
    ("negative release", lambda d: _job(d).update(release=-1), [f"{J1}: release", "-1"]),
    ("negative weight", lambda d: _job(d).update(weight=-2), [f"{J1}: weight"]),
    ("zero horizon", lambda d: d.update(horizon=0), ["horizon", ">= 1"]),
    ("zero time unit", lambda d: d.update(time_unit_minutes=0), ["time_unit_minutes", "> 0"]),
    ("name not a string", lambda d: d.update(name=3), ["name", "string"]),
    (
        "negative setup",
        lambda d: d["setup_times"]["M1"]["A"].update(B=-1),
        ["setup_times['M1']['A']['B']", "-1"],
    ),
    (
        "setup on unknown machine",
        lambda d: d["setup_times"].update(M7={"A": {"B": 1}}),
        ["setup_times", "'M7'"],
    ),
    (
        "setup row not an object",
        lambda d: d["setup_times"]["M1"].update(A=15),
        ["setup_times['M1']['A']"],
    ),
    ("negative power cap", lambda d: d["energy"].update(power_cap_kw=-1), ["power_cap_kw"]),
    (
        "power cap profile with bad step",
        lambda d: d["energy"].update(power_cap_kw={"steps": [[0]]}),
        ["energy.power_cap_kw: steps[0]", "[start_tick, value]"],
    ),
    ("profile without steps", lambda d: d["energy"].update(tariff={}), ["tariff", "'steps'"]),
    ("empty profile", lambda d: d["energy"].update(tariff={"steps": []}), ["tariff", "step"]),
    (
        "family not a string",
        lambda d: _op(d).update(family=1),
        [f"{OP1}: family", "string"],
    ),
    ("resources not an object", lambda d: _mode(d).update(resources=["operators"]), [MODE0]),
]


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [pytest.param(m, e, id=name) for name, m, e in JSON_CASES],
)
def test_bad_json_instance_names_the_field(
    mutate: Callable[[Data], None], expected: list[str]
) -> None:
    data = design_example()
    mutate(data)
    with pytest.raises(InstanceError) as info:
        read_json(data)
    for text in expected:
        assert text in str(info.value), (text, str(info.value))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"machines": [}', ["JSON text", "line 1, column 15"]),
        ('{\n  "machines": [],\n  "jobs": [1,]\n}', ["line 3, column"]),
        ('{"horizon": NaN}', ["NaN"]),
        ('{"horizon": 5, "horizon": 6}', ["'horizon'", "twice"]),
        ("[1, 2]", ["top level", "an object"]),
    ],
)
def test_invalid_json_text_says_where(text: str, expected: list[str]) -> None:
    with pytest.raises(InstanceError) as info:
        read_json(text)
    for part in expected:
        assert part in str(info.value), (part, str(info.value))


def test_missing_and_unreadable_files_name_the_path(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.json"
    for read in (read_json, load, read_jssp, read_fjsp):
        with pytest.raises(InstanceError, match="nowhere.json: no such file"):
            read(missing)
    with pytest.raises(InstanceError, match="is a directory"):
        read_json(tmp_path)
    bad = tmp_path / "bad.json"
    bad.write_bytes(b"\xff\xfe{}")
    with pytest.raises(InstanceError, match="bad.json: not UTF-8 text"):
        read_json(bad)
    with pytest.raises(InstanceError, match="JSON text: not UTF-8 text"):
        read_json(b"\xff{}")


def test_bad_json_file_says_file_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "week.json"
    path.write_text('{\n  "machines": [\n    {"id": "M1",}\n  ]\n}\n')
    with pytest.raises(InstanceError, match=r"week\.json: invalid JSON at line 3, column 17"):
        read_json(path)


def test_unknown_format_lists_the_known_ones(tmp_path: Path) -> None:
    path = tmp_path / "plant.xml"
    path.write_text("<plant/>")
    with pytest.raises(InstanceError, match=r"\.xml.*json\|jssp\|fjsp.*\.fjs"):
        load(path)
    with pytest.raises(InstanceError, match="unknown format 'xml'.*json, jssp, fjsp"):
        load(path, format="xml")


# -- classic text formats ------------------------------------------------------------------
@pytest.mark.parametrize(
    ("reader", "text", "expected"),
    [
        (read_jssp, "2 2\n0 3 1 2\n1 4\n", ["line 3", "job 1 has 2 numbers, expected 4"]),
        (read_jssp, "2 2\n0 3 1 2\n1 4 0 1 0 9\n", ["line 3", "job 1 has 6"]),
        (read_jssp, "2 2\n0 3 1 2\n", ["line 2", "truncated", "job 1"]),
        (read_jssp, "1 2\n0 3 2 2\n", ["line 2", "machine 2 is out of range 0..1"]),
        (read_jssp, "1 2\n0 3 1 x\n", ["line 2", "processing time", "'x'"]),
        (read_jssp, "1 2\n0 3 1 -2\n", ["line 2", "processing time", ">= 0", "-2"]),
        (read_jssp, "1 2\n0 3 1 2.5\n", ["line 2", "'2.5'"]),
        (read_jssp, "one 2\n0 3 1 2\n", ["line 1", "number of jobs", "'one'"]),
        (read_jssp, "\n# only a comment\n", ["empty file"]),
        (read_jssp, "3\n0 1\n", ["line 1", "header 'n m'"]),
        (read_jssp, "x\nTimes\n1\nMachines\n1\n", ["no line with the numbers 'n m'"]),
        (read_jssp, "1 1\nTimes\n4\n", ["'Machines' section"]),
        (read_jssp, "1 2\nTimes\n4 5\nMachines\n1 3\n", ["line 5", "machine 3", "1..2"]),
        (read_fjsp, "1 2\n1 1 3 5\n", ["line 2", "job 0, operation 0: machine 3", "1..2"]),
        (read_fjsp, "1 2\n1 1 0 5\n", ["line 2", "machine 0 is out of range 1..2"]),
        (read_fjsp, "1 2\n1 0\n", ["line 2", "number of machines", ">= 1"]),
        (read_fjsp, "1 2\n0\n", ["line 2", "number of operations", ">= 1"]),
        (read_fjsp, "2 2\n1 1 1 5\n", ["truncated", "job 1"]),
        (read_fjsp, "1 2\n1 2 1 5\n", ["line 2", "truncated", "job 0, operation 0"]),
        (read_fjsp, "1 2\n1 1 1 5\n1 1 1 5\n", ["line 3", "unexpected data", "the 1 jobs"]),
        (read_fjsp, "2 2\n1 1 1 5 7\n1 1 2 5\n", ["line 2", "unexpected data '7' after job 0"]),
        (read_fjsp, "2 2\n1 1 1\n1 1 2 5\n", ["line 2", "truncated", "job 0, operation 0"]),
        (read_fjsp, "1 2\n1 1 1 five\n", ["line 2", "processing time", "'five'"]),
    ],
)
def test_bad_classic_file_names_line_and_reason(
    reader: Callable[[str], Instance], text: str, expected: list[str]
) -> None:
    with pytest.raises(InstanceError) as info:
        reader(text)
    for part in expected:
        assert part in str(info.value), (part, str(info.value))


def test_bad_classic_file_message_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "broken.fjs"
    path.write_text("1 2\n1 1 3 5\n")
    with pytest.raises(InstanceError, match=r"broken\.fjs: line 2: "):
        load(path)


# -- frames --------------------------------------------------------------------------------
def _ops(**columns: list[Any]) -> pd.DataFrame:
    base: dict[str, list[Any]] = {
        "job": ["A", "A"],
        "operation": ["A1", "A2"],
        "machine": ["M1", "M1"],
        "duration": [3, 4],
    }
    base.update(columns)
    return pd.DataFrame({k: v for k, v in base.items() if v})


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({"operations": _ops(machine=[])}, ["operations frame", "missing column 'machine'"]),
        ({"operations": _ops(powr_kw=[1, 2])}, ["unknown column 'powr_kw'", "res:<id>"]),
        ({"operations": _ops(duration=[3, 2.5])}, ["operations frame, row 1: duration", "2.5"]),
        ({"operations": _ops(duration=[3, None])}, ["row 1: duration", "null"]),
        ({"operations": _ops(job=["A", None])}, ["row 1: job", "expected an id"]),
        ({"operations": _ops(job=["A", "B"], operation=["A1", "A1"])}, ["already in job 'A'"]),
        ({"operations": _ops(family=["x", None], operation=["A1", "A1"])}, ["row 1: family"]),
        ({"operations": _ops(**{"res:crew": [1, 0]})}, ["'crew'", "not a known resource"]),
        ({"operations": _ops().iloc[0:0]}, ["operations frame: no rows"]),
        ({"operations": {"job": ["A"]}}, ["operations frame", "DataFrame"]),
        (
            {"jobs": pd.DataFrame({"job": ["B"], "due": [3]})},
            ["jobs frame, row 0", "'B' has no rows"],
        ),
        ({"jobs": pd.DataFrame({"job": ["A"], "release": [-1]})}, ["jobs frame, row 0: release"]),
        (
            {"precedences": pd.DataFrame({"predecessor": ["A9"], "successor": ["A2"]})},
            ["precedences frame, row 0: predecessor", "'A9'"],
        ),
        (
            {
                "precedences": pd.DataFrame(
                    {"predecessor": ["A2", "A1"], "successor": ["A1", "A2"], "lag": [0, None]}
                )
            },
            ["cycle"],
        ),
        (
            {"unavailable": pd.DataFrame({"machine": ["M2"], "start": [0], "end": [5]})},
            ["unavailable frame, row 0: machine", "'M2'"],
        ),
        (
            {"machines": pd.DataFrame({"machine": ["M2"]})},
            ["jobs[0] 'A', operations[0] 'A1', modes[0]: machine", "'M1' is not a known"],
        ),
        (
            {
                "setups": pd.DataFrame(
                    {
                        "machine": ["M1"] * 2,
                        "from_family": ["a"] * 2,
                        "to_family": ["b"] * 2,
                        "ticks": [1, 2],
                    }
                )
            },
            ["setups frame, row 1", "given twice"],
        ),
        ({"energy": {"tariff": pd.DataFrame({"start": [5], "value": [1.0]})}}, ["tick 0"]),
        ({"energy": 40}, ["energy", "Energy or a dict"]),
    ],
)
def test_bad_frames_name_frame_row_and_column(kwargs: dict[str, Any], expected: list[str]) -> None:
    kwargs.setdefault("operations", _ops())
    with pytest.raises(InstanceError) as info:
        from_frames(**kwargs)
    for part in expected:
        assert part in str(info.value), (part, str(info.value))


# -- objects built in Python ---------------------------------------------------------------
@pytest.mark.parametrize(
    ("build", "expected"),
    [
        (lambda: Instance((Machine("M"),), ({"id": "J"},)), ["jobs[0]: expected a Job, got dict"]),  # type: ignore[arg-type]
        (
            lambda: Instance((Machine("M"),), (Job("J", (Operation("O", ("M",)),)),)),  # type: ignore[arg-type]
            ["jobs[0], operations[0], modes[0]: expected a Mode, got str"],
        ),
        (
            lambda: Instance(
                (Machine("M"),),
                (Job("J", (Operation("O", (Mode("M", 1),)),)),),
                energy=Energy(tariff=0.2),  # type: ignore[arg-type]
            ),
            ["energy.tariff", "expected a Profile"],
        ),
        (
            lambda: Instance(
                (Machine("M"),),
                (Job("J", (Operation("O", (Mode("M", 1),)),)),),
                energy=Energy(carbon_intensity=Profile((0.3,))),  # type: ignore[arg-type]
            ),
            ["energy.carbon_intensity: steps[0]", "[start_tick, value]"],
        ),
        (
            lambda: Instance(
                (Machine("M"),),
                (
                    Job(
                        "J",
                        (
                            Operation("O1", (Mode("M", 1),)),
                            Operation("O2", (Mode("M", 1),), predecessors=("O1",)),  # type: ignore[arg-type]
                        ),
                    ),
                ),
            ),
            ["jobs[0] 'J', operations[1] 'O2': predecessors[0]", "pair"],
        ),
    ],
)
def test_bad_python_objects_are_refused(build: Callable[[], Instance], expected: list[str]) -> None:
    with pytest.raises(InstanceError) as info:
        build()
    for part in expected:
        assert part in str(info.value), (part, str(info.value))


# -- schedule CSV --------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("job,operation,machine,start,end\nJ1,J1-1,M1,0,30\n", ["missing column mode"]),
        ("operation,machine\n", ["missing columns job, mode, start, end"]),
        (
            "job,operation,machine,mode,start,end\nJ1,J1-1,M1,0,0,30\nJ1,J1-2,M2,0,soon,60\n",
            ["line 3, column 'start'", "'soon'"],
        ),
        ("job,operation,machine,mode,start,end\nJ1,J1-1,M1,0,1.5,30\n", ["column 'start'"]),
        ("job,operation,machine,mode,start,end\nJ1,J1-1,M1,,0,30\n", ["line 2, column 'mode'"]),
        ("job,operation,machine,mode,start,end\nJ1,,M1,0,0,30\n", ["column 'operation'"]),
        ("", ["missing columns"]),
    ],
)
def test_bad_schedule_csv_names_line_and_column(
    tmp_path: Path, text: str, expected: list[str]
) -> None:
    path = tmp_path / "schedule.csv"
    path.write_text(text)
    with pytest.raises(InstanceError) as info:
        read_schedule_csv(read_json(design_example()), path)
    for part in expected:
        assert part in str(info.value), (part, str(info.value))


# -- atomic writes -------------------------------------------------------------------------
def test_failing_writer_keeps_the_old_file_and_leaves_no_temp(tmp_path: Path) -> None:
    target = tmp_path / "schedule.csv"
    target.write_text("good content\n")

    def half_then_fail(temp: Path) -> None:
        temp.write_text("half")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        atomic_write(target, half_then_fail)
    assert target.read_text() == "good content\n"
    assert os.listdir(tmp_path) == ["schedule.csv"]


def test_cycle_across_jobs_is_named_in_precedence_order() -> None:
    def op(name: str, *preds: str) -> Operation:
        return Operation(name, (Mode("M", 1),), predecessors=tuple((p, 0) for p in preds))

    jobs = (
        Job("A", (op("A1", "C1"), op("A2", "A1"))),
        Job("B", (op("B1", "A2"),)),
        Job("C", (op("C1", "B1"), op("C2"))),
    )
    with pytest.raises(InstanceError) as info:
        Instance((Machine("M"),), jobs)
    message = str(info.value)
    assert "jobs[0] 'A', operations[0] 'A1': predecessors: the precedences form a cycle" in message
    assert message.endswith("cycle C1 -> A1 -> A2 -> B1 -> C1")
