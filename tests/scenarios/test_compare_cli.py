"""`scheduler scenario compare`: the table, figure and report are written; the same seed
gives the same CSV byte for byte; intervals use the right t quantiles; Ctrl-C or SIGTERM
stops it with the replications every profile finished."""

from __future__ import annotations

import math
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from paths import INSTANCES

import scenarios.compare as compare_module
from scenarios.compare import compare
from scenarios.profile import bundled_profile
from scenarios.stats import mean_ci, relative_change, t975
from scheduler.cli import main
from scheduler.io import load

MK01 = INSTANCES / "fjsp" / "brandimarte" / "mk01.fjs"


def test_same_seed_gives_identical_csv_and_writes_every_output(tmp_path: Path) -> None:
    args = ["scenario", "compare", str(MK01), "--replications", "12", "--seed", "5", "--quiet"]
    profiles = ["--profiles", "before,after-quality-only,after-energy-only"]
    first, second = tmp_path / "a.csv", tmp_path / "b.csv"
    plot, report = tmp_path / "f.png", tmp_path / "r.md"
    assert main([*args, *profiles, "--workers", "1", "--out", str(first)]) == 0
    assert main(
        [*args, *profiles, "--workers", "2", "--out", str(second), "--plot", str(plot),
         "--report", str(report)]
    ) == 0  # fmt: skip
    assert first.read_bytes() == second.read_bytes()
    table = pd.read_csv(first)
    assert set(table.statistic) == {"mean", "change_vs_before"}
    assert len(table[table.statistic == "mean"]) == 3 * table.kpi.nunique()
    quality = table[(table.profile == "after-quality-only") & (table.kpi == "scrap_units")]
    assert (
        quality[quality.statistic == "mean"].value.iloc[0]
        <= (table[(table.profile == "before") & (table.kpi == "scrap_units")].value.iloc[0])
    )
    assert plot.read_bytes()[:4] == b"\x89PNG"
    text = report.read_text()
    assert "Lever by lever" in text and "after-quality-only" in text


def test_outputs_are_checked_before_running(tmp_path: Path) -> None:
    missing = tmp_path / "nope" / "k.csv"
    assert main(["scenario", "compare", str(MK01), "--out", str(missing)]) == 2
    assert main(["scenario", "compare", str(MK01), "--out", str(MK01)]) == 2


@pytest.mark.parametrize(
    ("df", "expected"),
    [(1, 12.7062047), (5, 2.5705818), (30, 2.0422725), (31, 2.0395134), (60, 2.0002978),
     (120, 1.9799304), (1000, 1.9623391)],
)  # fmt: skip
def test_t_quantiles(df: int, expected: float) -> None:
    assert math.isclose(t975(df), expected, rel_tol=2e-6)


def test_intervals_and_paired_change() -> None:
    rng = np.random.default_rng(0)
    before = rng.normal(10, 1, 50)
    after = 1.2 * before + rng.normal(0, 0.01, 50)
    mean, low, high = mean_ci(before)
    assert low < mean < high
    change, low, high = relative_change(after, before)
    assert low < 0.2 < high and high - low < 0.01  # pairing removes the shared noise
    assert all(math.isnan(v) for v in relative_change(after, np.zeros(50)))


def test_unreachable_dask_executor_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        ["scenario", "compare", str(MK01), "--replications", "2", "--profiles", "before",
         "--executor", "tcp://127.0.0.1:1", "--quiet"]
    )  # fmt: skip
    assert code == 2
    assert capsys.readouterr().err.startswith("error:")


@pytest.mark.parametrize("workers", [1, 2])
def test_a_stopped_comparison_keeps_the_replications_every_profile_finished(
    workers: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Stopped after its fifth replication in this process, or its fifth task on a pool
    (the progress bar sets the stop), a comparison keeps the replications every profile
    finished, the same as in a full run."""
    profiles = [bundled_profile("before"), bundled_profile("after-quality-only")]  # same plans
    full = compare(load(MK01), profiles, replications=40, seed=3, workers=workers)
    stop = threading.Event()

    class Bar:
        done = 0

        def update(self, n: int) -> None:
            self.done += 1
            if self.done == 5:
                stop.set()

        def close(self) -> None:
            pass

    monkeypatch.setattr(compare_module, "_bar", lambda total, show: Bar())
    stopped = compare(load(MK01), profiles, replications=40, seed=3, workers=workers, stop=stop)
    assert 0 < stopped.replications < 40
    kept = stopped.samples.groupby("profile").replication.apply(list)
    assert kept.iloc[0] == kept.iloc[1] and len(kept.iloc[0]) == stopped.replications
    same = full.samples[full.samples.replication.isin(kept.iloc[0])].reset_index(drop=True)
    pd.testing.assert_frame_equal(stopped.samples.reset_index(drop=True), same)
    assert full.replications == 40


@pytest.mark.parametrize("workers", ["1", "2"])
def test_ctrl_c_stops_a_comparison_and_writes_what_it_has(tmp_path: Path, workers: str) -> None:
    """Ctrl-C as a terminal sends it, to the whole process group (the pool's workers too):
    the outputs hold the replications every profile finished."""
    out = tmp_path / "k.csv"
    command = [sys.executable, "-m", "scheduler", "scenario", "compare", str(MK01),
               "--profiles", "before,after-quality-only", "--replications", "100000",
               "--workers", workers, "--out", str(out)]  # fmt: skip
    process = subprocess.Popen(
        command, stderr=subprocess.PIPE, stdout=subprocess.PIPE, text=True, start_new_session=True
    )
    time.sleep(10)  # the plans (under a second each), then replications
    sent = time.perf_counter()
    os.killpg(process.pid, signal.SIGINT)
    _, stderr = process.communicate(timeout=60)
    assert time.perf_counter() - sent < 10
    assert process.returncode == 0, stderr
    assert "Traceback" not in stderr and "stopped: the outputs hold the" in stderr
    table = pd.read_csv(out)
    assert 0 < table.n.max() < 100000
