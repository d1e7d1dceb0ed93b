"""The command line: solve/validate/solvers, the exit codes 0-4, one-line errors without a
traceback, atomic outputs, option parsing and the progress line; one real `python -m` run."""

from __future__ import annotations

import csv
import importlib
import json
import re
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from paths import ROOT

import scheduler.cli.solve as solve_command
from scheduler.cli import main
from scheduler.cli.common import (
    GANTT_S,
    GANTT_S_PER_OP,
    REPORT_S,
    REPORT_S_PER_OP,
    WRITE_S_PER_OP,
    BadInput,
    output_reserve,
    solver_options,
)
from scheduler.core.protocol import Capabilities
from scheduler.core.result import Result
from scheduler.core.schedule import COLUMNS

FT06 = ROOT / "benchmarks" / "instances" / "jssp" / "ft06.txt"
DEMO = ROOT / "examples" / "demo_plant.json"
# the module, even once `scheduler` re-exports a function of the same name
facade = importlib.import_module("scheduler.core.solve")
FAST = ["--time-limit", "10", "--workers", "1", "--no-warm-start", "--quiet"]


def _write_json(path: Path, data: dict[str, Any]) -> Path:
    path.write_text(json.dumps(data))
    return path


def _tiny(deadline: int | None = None) -> dict[str, Any]:
    """Two one-operation jobs of 5 ticks on one machine; a deadline of 6 makes it infeasible."""
    jobs = [
        {
            "id": f"J{j}",
            **({"deadline": deadline} if deadline is not None else {}),
            "operations": [{"id": f"J{j}-0", "modes": [{"machine": "M", "duration": 5}]}],
        }
        for j in range(2)
    ]
    return {"name": "tiny", "machines": [{"id": "M"}], "jobs": jobs}


@pytest.fixture(scope="module")
def ft06_run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The one real subprocess: `python -m scheduler solve ft06` with every output."""
    folder = tmp_path_factory.mktemp("ft06")
    out, summary, png = folder / "ft06.csv", folder / "ft06.json", folder / "ft06.png"
    argv = [sys.executable, "-m", "scheduler", "solve", str(FT06), "--time-limit", "30"]
    argv += ["--workers", "2", "--out", str(out), "--summary", str(summary), "--gantt", str(png)]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=300, cwd=folder)
    return {"done": done, "out": out, "summary": summary, "png": png}


def test_module_run_solves_ft06_and_writes_every_output(ft06_run: dict[str, Any]) -> None:
    done = ft06_run["done"]
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    assert "status     optimal" in done.stdout
    frame = pd.read_csv(ft06_run["out"])
    assert list(frame.columns) == COLUMNS
    assert len(frame) == 36 and frame["end"].max() == 55
    summary = json.loads(ft06_run["summary"].read_text())
    assert summary["status"] == "optimal" and summary["objective"] == 55
    assert summary["solver"] == "auto" and summary["kpis"]["makespan"] == 55
    assert ft06_run["png"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_validate_accepts_the_solved_csv_and_rejects_a_tampered_one(
    ft06_run: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["validate", str(FT06), str(ft06_run["out"])]) == 0
    shown = capsys.readouterr().out
    assert shown.startswith("valid\n") and "makespan   55" in shown

    frame = pd.read_csv(ft06_run["out"])
    second = frame.index[frame["operation"] == "J0-1"][0]
    frame.loc[second, "end"] -= frame.loc[second, "start"]
    frame.loc[second, "start"] = 0  # before its job predecessor J0-0 can end
    tampered = tmp_path / "tampered.csv"
    frame.to_csv(tampered, index=False)
    assert main(["validate", str(FT06), str(tampered)]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert any("J0-1" in line for line in lines[:-1])
    assert lines[-1].endswith("violation(s)")


def test_demo_command_of_the_readme_solves(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    argv = ["solve", str(DEMO), "--time-limit", "10", "--gantt", "demo_gantt.png"]
    assert main([*argv, "--workers", "2", "--summary", "s.json"]) == 0
    shown = capsys.readouterr()
    assert "instance   demo-plant: 6 jobs, 18 operations, 4 machines" in shown.out
    assert "J6-weld" in shown.out  # the schedule table of a small instance
    assert "objective" in shown.err  # progress lines (stderr is not a terminal here)
    assert json.loads(Path("s.json").read_text())["status"] in ("optimal", "feasible")
    assert Path("demo_gantt.png").stat().st_size > 10_000


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["solve", "{bad_json}"], "bad_json.json"),
        (["solve", "{unknown_machine}"], "M9"),
        (["solve", "{tmp}/missing.json"], "missing.json: no such file"),
        (["solve", "{tmp}/plant.xlsx"], "cannot tell the format"),
        (["solve", "{tiny}", "--objective", "speed"], "unknown term 'speed'"),
        (["solve", "{tiny}", "--solver", "nosuch"], "'nosuch' is not registered"),
        (["solve", "{tiny}", "--option", "rule"], "expected KEY=VALUE"),
        (["solve", "{tiny}", "--option", "time_limit=3"], "not a solver option"),
        (["solve", "{tiny}", "--option", "colour=red"], "colour"),
        (["solve", "{tiny}", "--out", "{tmp}/nowhere/s.csv"], "does not exist"),
        (["solve", "{tiny}", "--out", "{tiny}"], "would overwrite the instance"),
        (["solve", "{tiny}", "--gantt", "{tmp}/g.docx"], "'docx'"),
        (["validate", "{tiny}", "{missing}"], "missing.csv"),
        (["validate", "{tiny}", "{bad_csv}"], "bad.csv"),
    ],
)
def test_bad_input_exits_2_with_one_line_and_no_traceback(
    argv: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad_json = tmp_path / "bad_json.json"
    bad_json.write_text('{"machines": [')
    unknown = _tiny()
    unknown["jobs"][0]["operations"][0]["modes"][0]["machine"] = "M9"
    (tmp_path / "bad.csv").write_text("job,operation\nJ0,J0-0\n")
    paths = {
        "bad_json": bad_json,
        "unknown_machine": _write_json(tmp_path / "unknown.json", unknown),
        "missing": tmp_path / "missing.csv",
        "tiny": _write_json(tmp_path / "tiny.json", _tiny()),
        "bad_csv": tmp_path / "bad.csv",
        "tmp": tmp_path,
    }
    before = (tmp_path / "tiny.json").read_bytes()
    extra = FAST if argv[0] == "solve" else []
    assert main([part.format(**paths) for part in argv] + extra) == 2
    shown = capsys.readouterr()
    assert shown.out == ""
    assert shown.err.count("\n") == 1 and shown.err.startswith("error: ")
    assert message in shown.err
    assert (tmp_path / "tiny.json").read_bytes() == before


@pytest.mark.parametrize("flags", [["--time-limit", "0"], ["--workers", "1.5"], ["--format", "x"]])
def test_malformed_flags_exit_2(flags: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stop:
        main(["solve", str(FT06), *flags])
    assert stop.value.code == 2
    assert "error: argument" in capsys.readouterr().err


def test_proven_infeasible_exits_3_and_writes_the_summary_only(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    instance = _write_json(tmp_path / "tight.json", _tiny(deadline=6))
    out, summary = tmp_path / "s.csv", tmp_path / "s.json"
    argv = ["solve", str(instance), "--out", str(out), "--summary", str(summary)]
    assert main([*argv, "--time-limit", "10", "--workers", "1"]) == 3
    assert "status     infeasible" in capsys.readouterr().out
    assert json.loads(summary.read_text())["status"] == "infeasible"
    assert not out.exists()


def test_no_schedule_in_time_exits_4(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    class OutOfTime:
        """A solver that runs out of time before its first schedule."""

        name = "out-of-time"
        capabilities = Capabilities()

        def solve(self, compiled: object, config: object) -> Result:
            return Result(status="unknown", solver=self.name, message="time limit reached")

    monkeypatch.setattr(solve_command, "get_solver", lambda name: OutOfTime())
    monkeypatch.setattr(facade, "get_solver", lambda name: OutOfTime())
    instance = _write_json(tmp_path / "tiny.json", _tiny())
    assert main(["solve", str(instance), "--solver", "out-of-time", "--no-warm-start"]) == 4
    shown = capsys.readouterr().out
    assert "status     no schedule found in" in shown and "time limit reached" in shown
    assert "a longer --time-limit" not in shown  # no limit was given
    argv = [
        "solve",
        str(instance),
        "--solver",
        "out-of-time",
        "--no-warm-start",
        "--time-limit",
        "5",
    ]
    assert main(argv) == 4
    shown = capsys.readouterr().out
    assert re.search(
        r"time limit reached; starting and reading the instance took \d+\.\d s "
        r"of the 5 s time limit; a longer --time-limit may find a schedule",
        shown,
    )


def test_no_solve_starts_when_reading_took_the_time_limit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import time

    read = solve_command.read_instance_arg

    def slow_read(*args: Any) -> Any:  # as a 20,000-operation file read on a busy machine
        time.sleep(0.8)
        return read(*args)

    out, summary = tmp_path / "s.csv", tmp_path / "s.json"
    argv = ["solve", str(FT06), "--solver", "cpsat", "--no-warm-start", "--out", str(out)]
    argv += ["--summary", str(summary), "--time-limit", "0.1"]
    assert main(argv) == 0  # read at once: the list schedule is back within the grace
    monkeypatch.setattr(solve_command, "read_instance_arg", slow_read)
    began = time.perf_counter()
    assert main(argv) == 4
    assert time.perf_counter() - began < 1.1  # the limit plus its 1 s grace
    shown = capsys.readouterr().out
    assert re.search(r"no time left to solve: (0\.[89]|1\.\d) s of the 0\.1 s time limit", shown)
    assert json.loads(summary.read_text())["status"] == "unknown"


def test_a_failing_write_leaves_the_existing_outputs_intact(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import matplotlib.figure

    def broken_disk(self: object, target: Any, *args: object, **kwargs: object) -> None:
        Path(target).write_bytes(b"half a file")
        raise OSError(28, "No space left on device", str(target))

    def broken_rows(self: csv.DictWriter[str], rows: object) -> None:
        self.writer.writerow(["half a file"])
        raise OSError(28, "No space left on device", "the temporary file")

    monkeypatch.setattr(csv.DictWriter, "writerows", broken_rows)
    monkeypatch.setattr(matplotlib.figure.Figure, "savefig", broken_disk)
    instance = _write_json(tmp_path / "tiny.json", _tiny())
    for flag, name in (("--out", "s.csv"), ("--gantt", "g.png")):
        target = tmp_path / name
        target.write_bytes(b"the previous output")
        assert main(["solve", str(instance), flag, str(target), *FAST]) == 2
        assert "No space left on device" in capsys.readouterr().err
        assert target.read_bytes() == b"the previous output"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["g.png", "s.csv", "tiny.json"]


def test_solvers_lists_the_registered_solvers(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["solvers"]) == 0
    listing, table = capsys.readouterr().out.split("\n\n", 1)
    names = [line.split()[0] for line in listing.splitlines()]
    assert "cpsat" in names and names == sorted(names)
    header, *rows = table.splitlines()
    assert header.split() == names
    setups = next(row.split() for row in rows if row.startswith("setups"))
    assert setups[1 + names.index("cpsat")] == "yes"
    assert setups[1 + names.index("baseline")] == "-"


def test_warmup_waits_for_the_kernels_and_stops_on_a_signal(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`warmup` exits 0 once the kernels are in (the tests' cache has them), and 4 when its
    stop event (what Ctrl-C and SIGTERM set) comes first, as while they compile."""
    assert main(["warmup"]) == 0
    assert re.fullmatch(r"numba kernels ready in \d+\.\d s\n", capsys.readouterr().out)
    warmup_command = importlib.import_module("scheduler.cli.warmup")

    def compiling(deadline: float | None, stop: threading.Event | None = None) -> bool:
        assert deadline is None and stop is not None  # waits without a limit, but for a stop
        stop.set()  # the signal arrives while the kernels compile
        return False

    monkeypatch.setattr(warmup_command, "kernels_ready", compiling)
    assert main(["warmup"]) == 4
    assert "interrupted" in capsys.readouterr().err


def test_quiet_prints_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    instance = _write_json(tmp_path / "tiny.json", _tiny())
    assert main(["solve", str(instance), *FAST]) == 0
    assert capsys.readouterr() == ("", "")


def test_solver_options_are_parsed_as_json_or_text() -> None:
    parsed = solver_options(["rule=atc", "n=3", "on=true", 'raw={"a": [1, 2.5]}', "k= x=y "], None)
    assert parsed == {"rule": "atc", "n": 3, "on": True, "raw": {"a": [1, 2.5]}, "k": "x=y"}
    assert solver_options([], "spt") == {"rule": "spt"}
    for bad, rule in ((["=3"], None), (["a=1", "a=2"], None), (["rule=atc"], "spt")):
        with pytest.raises(BadInput):
            solver_options(bad, rule)


def test_the_time_limit_keeps_room_for_the_chart_and_report(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With --gantt or --report the solve gets the limit less their estimated cost, or 1 s or
    half of what reading left while the end stays within 3/4 of the limit's grace, and at
    least about what a first schedule takes (0.25 s + 0.15 ms an operation): a report of the
    2,000-job plant ended its 10 s solve 3.7 s late; a report at 1 s still leaves ft06 a
    schedule."""
    assert output_reserve(1000, 10.0) == pytest.approx(WRITE_S_PER_OP * 1000)
    assert output_reserve(1000, 10.0, gantt=True) == pytest.approx(
        (WRITE_S_PER_OP + GANTT_S_PER_OP) * 1000 + GANTT_S
    )
    both = (WRITE_S_PER_OP + GANTT_S_PER_OP + REPORT_S_PER_OP) * 20_000 + GANTT_S + REPORT_S
    assert output_reserve(20_000, None, gantt=True, report=True) == pytest.approx(both)
    assert output_reserve(20_000, 10.0, gantt=True, report=True) == pytest.approx(both)
    assert output_reserve(20_000, 4.0, gantt=True, report=True) == pytest.approx(2.0)  # half
    assert output_reserve(20_000, 1.5, gantt=True, report=True) == pytest.approx(0.5)  # 1 s
    # up to the 1 s floor while the end stays within 3/4 of the grace (ta41 at 2 s)
    assert output_reserve(600, 1.2, report=True, grace=1.0) == pytest.approx(0.592)
    assert output_reserve(600, 1.2, report=True) == pytest.approx(0.86)  # without: 0.34 s
    # past it, what a first schedule takes: 0.25 + 0.225 s at 1,500 operations
    assert output_reserve(1500, 1.1, report=True, grace=1.0) == pytest.approx(0.625)
    assert output_reserve(1500, 0.4, report=True, grace=1.0) == 0.0
    limits: list[float] = []
    real = solve_command.solve_instance

    def recorded(*args: Any, **kwargs: Any) -> Result:
        limits.append(kwargs["time_limit"])
        return real(*args, **{**kwargs, "time_limit": 1.0})

    monkeypatch.setattr(solve_command, "solve_instance", recorded)
    base = ["solve", str(FT06), "--solver", "cpsat", "--no-warm-start", "--time-limit", "10"]
    assert main([*base, "--out", str(tmp_path / "a.csv")]) == 0
    assert main([*base, "--report", str(tmp_path / "r.html")]) == 0
    assert 10 - limits[0] < 1.0  # only start-up, reading and the CSV's reserve
    assert limits[0] - limits[1] == pytest.approx(REPORT_S + REPORT_S_PER_OP * 36, abs=0.3)
    monkeypatch.setattr(solve_command, "solve_instance", real)
    summary = tmp_path / "s.json"
    short = ["solve", str(FT06), "--time-limit", "1", "--summary", str(summary)]
    assert main([*short, "--report", str(tmp_path / "r1.html")]) == 0
    assert json.loads(summary.read_text())["objective"] is not None
