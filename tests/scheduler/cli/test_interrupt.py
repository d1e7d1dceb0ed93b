"""Ctrl-C (SIGINT) or SIGTERM during a solve ends it cleanly: the best schedule found so far is
written with its summary (exit 0), in every phase: the warm start, CP-SAT, the heuristic and
the default portfolio; and in the other commands that solve, `reschedule` and `pareto`."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from paths import INSTANCES

from scheduler.core.validate import validate
from scheduler.io import load, read_schedule_csv

INSTANCE = INSTANCES / "jssp" / "ta41.txt"  # 30 x 20: no solver finishes it in the time limit


def _interrupt(tmp_path: Path, args: list[str], sig: signal.Signals, wanted: str) -> dict:
    """Run `scheduler solve INSTANCE ARGS`, send `sig` once stderr shows a line containing
    `wanted`, and return the summary after checking exit 0 and a valid schedule CSV."""
    out, summary = tmp_path / "s.csv", tmp_path / "s.json"
    command = [sys.executable, "-m", "scheduler", "solve", str(INSTANCE), "--time-limit", "120",
               "--workers", "2", "--out", str(out), "--summary", str(summary), *args]  # fmt: skip
    process = subprocess.Popen(command, stderr=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert process.stderr is not None
    seen = []
    for line in process.stderr:
        seen.append(line)
        if wanted in line:
            break
    sent = time.perf_counter()
    process.send_signal(sig)
    stdout, stderr = process.communicate(timeout=60)
    stopped_in = time.perf_counter() - sent
    assert process.returncode == 0, "".join(seen) + stderr
    assert "Traceback" not in stderr
    assert stopped_in < 15, stopped_in
    instance = load(INSTANCE)
    assert validate(instance, read_schedule_csv(instance, out)) == []
    result = json.loads(summary.read_text())
    assert result["status"] == "feasible"
    return result


def test_sigint_during_the_warm_start_keeps_its_schedule(tmp_path: Path) -> None:
    _interrupt(tmp_path, ["--solver", "cpsat"], signal.SIGINT, "objective ")


def test_sigint_during_cpsat_keeps_its_schedule(tmp_path: Path) -> None:
    _interrupt(tmp_path, ["--solver", "cpsat", "--no-warm-start"], signal.SIGINT, "objective ")


def test_sigint_during_the_heuristic_keeps_its_schedule(tmp_path: Path) -> None:
    result = _interrupt(tmp_path, ["--solver", "heuristic"], signal.SIGINT, "objective ")
    assert result["solver"] == "heuristic"


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_the_default_solve_stops_on_a_signal(tmp_path: Path, sig: signal.Signals) -> None:
    assert _interrupt(tmp_path, [], sig, "objective ")["solver"] == "auto"


def test_a_reschedule_stops_on_ctrl_c(tmp_path: Path) -> None:
    from scheduler.cli import main

    plan, out, updated = tmp_path / "plan.csv", tmp_path / "new.csv", tmp_path / "new.json"
    solve = ["solve", str(INSTANCE), "--solver", "cpsat", "--no-warm-start", "--quiet"]
    assert main([*solve, "--time-limit", "3", "--workers", "2", "--out", str(plan)]) == 0
    command = [sys.executable, "-m", "scheduler", "reschedule", str(INSTANCE), str(plan),
               "--at", "200", "--time-limit", "120", "--workers", "2", "--out", str(out),
               "--out-instance", str(updated)]  # fmt: skip
    process = subprocess.Popen(command, stderr=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert process.stderr is not None
    for line in process.stderr:
        if "objective " in line:
            break
    sent = time.perf_counter()
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 0 and "Traceback" not in stderr, stderr
    assert time.perf_counter() - sent < 15  # it ran on to its 120 s limit before
    instance = load(updated)
    assert validate(instance, read_schedule_csv(instance, out)) == []


def test_a_pareto_curve_stops_on_a_signal(tmp_path: Path) -> None:
    instance, front = INSTANCES / "energy" / "mk10-energy-week.json", tmp_path / "front.csv"
    command = [sys.executable, "-m", "scheduler", "pareto", str(instance), "--objectives",
               "makespan,energy_cost", "--time-limit", "200", "--out", str(front)]  # fmt: skip
    process = subprocess.Popen(command, stderr=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    time.sleep(8)  # in the first extreme's solve, which has 100 s
    sent = time.perf_counter()
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode in (0, 4) and "Traceback" not in stderr, stderr
    assert time.perf_counter() - sent < 15  # it ran on to its 200 s limit before
    assert process.returncode == 4 or len(front.read_text().splitlines()) >= 3  # the extremes
