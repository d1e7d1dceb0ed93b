"""`scheduler scenario compare`: the table, figure and report are written; the same seed
gives the same CSV byte for byte; intervals use the right t quantiles."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from paths import INSTANCES

from scenarios.stats import mean_ci, relative_change, t975
from scheduler.cli import main

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
