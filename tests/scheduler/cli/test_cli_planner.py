"""The command line for planners: every option of every sub-command has help text, `--version`,
the summary in words with units, the progress bar on a terminal (plain lines otherwise,
nothing with --quiet), `explain` in words and JSON, and the HTML report from `solve`."""

from __future__ import annotations

import argparse
import base64
import importlib
import io
import json
from pathlib import Path
from typing import Any

import pytest
from paths import ROOT

from scheduler.cli import build_parser, main
from scheduler.cli.summary import ProgressReporter, status_words
from scheduler.core.result import Progress, Result

DEMO = ROOT / "examples" / "demo_plant.json"
FAST = ["--solver", "cpsat", "--time-limit", "10", "--workers", "1", "--no-warm-start"]


def _parsers(parser: argparse.ArgumentParser) -> list[argparse.ArgumentParser]:
    found = [parser]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                found += _parsers(sub)
    return found


def test_every_option_of_every_sub_command_has_complete_help() -> None:
    parsers = _parsers(build_parser(every=True))
    assert {p.prog.split()[-1] for p in parsers} >= {"solve", "validate", "explain", "pareto"}
    for parser in parsers:
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                continue
            where = f"{parser.prog} {'/'.join(action.option_strings) or action.dest}"
            assert action.help and action.help is not argparse.SUPPRESS, f"{where}: no help"
            text = action.help.strip()
            assert not text.endswith((",", "(", " and", " or", ":")), f"{where}: cut short"
            assert text.count("(") == text.count(")"), f"{where}: unbalanced parenthesis"
        parser.format_help()  # renders


def test_version_comes_from_the_package_metadata(capsys: pytest.CaptureFixture[str]) -> None:
    from importlib.metadata import version

    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0
    assert capsys.readouterr().out.strip() == f"scheduler {version('prodsched')}"


@pytest.mark.parametrize(
    ("result", "words"),
    [
        (
            Result("optimal", "s", objective=5, bound=5, wall_time_s=1.23),
            "optimal (proven in 1.2 s)",
        ),
        (
            Result("feasible", "s", object(), objective=104.1, bound=100, wall_time_s=10.2),  # type: ignore[arg-type]
            "best found in 10 s, at most 4.1 % above the optimum",
        ),
        (Result("unknown", "s", wall_time_s=10.0), "no schedule found in 10 s"),
        (
            Result("infeasible", "s", message="carbon cap 1.0 kg is below 2.0 kg"),
            "infeasible: carbon cap 1.0 kg is below 2.0 kg",
        ),
    ],
)
def test_the_status_in_words(result: Result, words: str) -> None:
    assert status_words(result) == words


def test_the_summary_names_every_level_and_gives_units(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = json.loads(DEMO.read_text())
    data["start"] = "2026-12-01T06:00:00"
    for job in data["jobs"]:
        job["due"] = 40  # every job late
    instance = tmp_path / "late.json"
    instance.write_text(json.dumps(data))
    report = tmp_path / "plan.html"
    argv = ["solve", str(instance), "--objective", "weighted_tardiness>makespan", *FAST]
    assert main([*argv, "--quiet", "--report", str(report)]) == 0
    assert capsys.readouterr().out == ""
    assert main(argv) == 0
    shown = capsys.readouterr().out
    assert "objective  level 1: weighted_tardiness " in shown and " weighted ticks" in shown
    assert "           level 2: makespan " in shown
    assert "plan       2026-12-01 06:00 -> 2026-12-01 " in shown
    assert "late     J" in shown and "ticks (" in shown
    assert " kWh processing" in shown
    assert " mode" not in shown.split("\n\n", 1)[1].splitlines()[0]  # mode shown by machine
    page = report.read_text()
    assert page.startswith("<!DOCTYPE html>") and "Late jobs (6)" in page


def test_the_report_embeds_the_gantt_file_drawn_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With `--gantt x.png` and `--report` the Gantt chart by machine is drawn once and the
    page embeds the file's bytes (a drawing costs 0.3-0.7 s on a 1,500-operation plant)."""
    drawn: list[str] = []
    plot = importlib.import_module("scheduler.report.plot")
    html = importlib.import_module("scheduler.report.html")
    original = plot.gantt

    def counted(schedule: Any, path: Any = None, title: Any = None, by: str = "machine") -> Any:
        drawn.append(by)
        return original(schedule, path, title, by)  # type: ignore[arg-type]

    monkeypatch.setattr(plot, "gantt", counted)
    monkeypatch.setattr(html, "gantt", counted)
    chart, report = tmp_path / "g.png", tmp_path / "plan.html"
    argv = ["solve", str(DEMO), *FAST, "--quiet", "--gantt", str(chart), "--report", str(report)]
    assert main(argv) == 0
    assert sorted(drawn) == ["job", "machine"]
    assert base64.b64encode(chart.read_bytes()).decode() in report.read_text()
    drawn.clear()
    assert main([*argv[:-4], "--gantt", str(tmp_path / "g.svg"), "--report", str(report)]) == 0
    assert sorted(drawn) == ["job", "machine", "machine"]  # an SVG file cannot be embedded


def test_explain_in_words_and_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "s.csv"
    assert main(["solve", str(DEMO), *FAST, "--quiet", "--out", str(out)]) == 0
    assert main(["explain", str(DEMO), str(out)]) == 0
    text = capsys.readouterr().out
    assert "critical path (what fixes the makespan):" in text and "bottleneck machines" in text
    assert main(["explain", str(DEMO), str(out), "--json", "--objective", "makespan"]) == 0
    found: dict[str, Any] = json.loads(capsys.readouterr().out)
    for key in ("critical_path", "bottlenecks", "late_jobs", "terms", "power_binding"):
        assert key in found
    assert found["critical_path"][-1]["end"] == found["makespan"]
    assert main(["explain", str(DEMO), str(out), "--objective", "nonsense"]) == 2


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_is_a_bar_on_a_terminal_and_plain_lines_otherwise() -> None:
    terminal, pipe = _Terminal(), io.StringIO()
    for stream in (terminal, pipe):
        reporter = ProgressReporter(stream, time_limit=10)
        reporter.progress(Progress(0.1, 60, 40))
        reporter.log("solver note")
        reporter.progress(Progress(0.2, 55, 55))
        reporter.close()
    shown = terminal.getvalue()
    assert "\x1b[" in shown and "━" in shown  # a drawn bar
    assert "objective 55  bound 55  gap 0.0%" in shown and "s left" in shown
    assert "solver note" in shown
    lines = pipe.getvalue().splitlines()
    assert len(lines) == 3 and "\x1b" not in pipe.getvalue()
    assert lines[0].startswith("objective 60  bound 40  gap 33.3%") and lines[1] == "solver note"
