"""Taillard's job shops rebuilt from their seeds: the shipped ta01-ta50 exactly, and a held-back
set the benchmark runner reads with its optima."""

from __future__ import annotations

from pathlib import Path

import pytest
from paths import INSTANCES, benchmark_script

from scheduler.bench.suites import resolve

taillard = benchmark_script("generate_taillard")


@pytest.mark.parametrize("number", range(1, 51))
def test_the_seeds_rebuild_the_shipped_instance(number: int) -> None:
    shipped = (INSTANCES / "jssp" / f"ta{number:02d}.txt").read_text()
    assert taillard.text(number).split() == shipped.split()


def test_a_held_back_set_is_a_suite_with_its_optima(tmp_path: Path) -> None:
    assert taillard.main(["--out", str(tmp_path), "--select", "ta51,ta71-ta72"]) == 0
    found = resolve("ta", None, None, tmp_path)
    assert [i.name for i in found] == ["ta51", "ta71", "ta72"]
    assert [i.reference.best_known for i in found if i.reference] == [2760, 5464, 5181]
    jobs, machines = (tmp_path / "jssp" / "ta71.txt").read_text().split("\n", 1)[0].split()
    assert (jobs, machines) == ("100", "20")


@pytest.mark.parametrize("select", ["ta81", "ta00", "tax"])
def test_a_number_out_of_range_is_refused(tmp_path: Path, select: str) -> None:
    assert taillard.main(["--out", str(tmp_path), "--select", select]) == 2
    assert not (tmp_path / "bks.csv").exists()
