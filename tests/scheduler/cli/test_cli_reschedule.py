"""`scheduler reschedule`: the round trip solve -> reschedule -> validate, both policies, and
bad events or arguments giving exit code 2 with one line naming the event and field."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from paths import ROOT

from scheduler.cli import main

MK01 = ROOT / "scheduler" / "bench" / "instances" / "fjsp" / "brandimarte" / "mk01.fjs"
AT = 15


@pytest.fixture(scope="module")
def plan(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("plan") / "plan.csv"
    args = ["solve", str(MK01), "--solver", "cpsat", "--time-limit", "5", "--workers", "1"]
    assert main([*args, "--no-warm-start", "--quiet", "--out", str(path)]) == 0
    return path


def _events(tmp_path: Path, events: Any) -> Path:
    path = tmp_path / "events.json"
    path.write_text(json.dumps(events))
    return path


@pytest.mark.parametrize("policy", ["right_shift", "reoptimize"])
def test_round_trip_validates(plan: Path, tmp_path: Path, policy: str, capsys: Any) -> None:
    events = _events(
        tmp_path,
        [
            {"type": "machine_down", "machine": "M1", "start": AT, "end": AT + 8},
            {"type": "redo", "operation": "J0-0"},
        ],
    )
    new, updated, summary = tmp_path / "new.csv", tmp_path / "updated.json", tmp_path / "s.json"
    code = main(
        ["reschedule", str(MK01), str(plan), "--at", str(AT), "--events", str(events)]
        + ["--policy", policy, "--objective", "makespan>deviation", "--time-limit", "5"]
        + ["--workers", "1", "--out", str(new), "--out-instance", str(updated)]
        + ["--summary", str(summary)]
    )
    assert code == 0
    out = capsys.readouterr().out
    assert "frozen" in out and "total shift" in out
    assert main(["validate", str(updated), str(new)]) == 0
    kpis = json.loads(summary.read_text())["kpis"]
    assert {"ops_moved", "machines_changed", "total_shift", "deviation"} <= set(kpis)
    assert "J0-0-redo1" in new.read_text()


@pytest.mark.parametrize(
    ("events", "extra", "message"),
    [
        ([{"type": "machine_down", "machine": "M9", "start": AT, "end": AT + 1}], [], "M9"),
        ([{"type": "redo"}], [], "events[0] (redo): missing required key 'operation'"),
        ([{"kind": "redo"}], [], "events[0]: type"),
        ({"type": "redo"}, [], "expected a list"),
        ([], ["--stability", "-1"], "stability"),
        ([], ["--objective", "speed"], "unknown term"),
        ([], ["--solver", "nope"], "nope"),
    ],
)
def test_bad_input_exits_2(
    plan: Path, tmp_path: Path, events: Any, extra: list[str], message: str, capsys: Any
) -> None:
    path = _events(tmp_path, events)
    code = main(
        ["reschedule", str(MK01), str(plan), "--at", str(AT), "--events", str(path), *extra]
        + ["--quiet", "--out", str(tmp_path / "new.csv")]
    )
    assert code == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err and "Traceback" not in err
    assert not (tmp_path / "new.csv").exists()


def test_negative_tick_and_missing_events_file(plan: Path, tmp_path: Path) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["reschedule", str(MK01), str(plan), "--at", "-3"])
    assert exit_info.value.code == 2
    missing = tmp_path / "none.json"
    assert main(["reschedule", str(MK01), str(plan), "--at", "3", "--events", str(missing)]) == 2
