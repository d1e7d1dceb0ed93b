"""The benchmark suites ship inside the package, so `scheduler bench` works from a wheel."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

from paths import ROOT


def test_the_wheel_carries_the_instance_sets(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
         "-w", str(tmp_path), str(ROOT)],
        check=True,
        capture_output=True,
    )  # fmt: skip
    (wheel,) = tmp_path.glob("prodsched-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    root = "scheduler/bench/instances/"
    for shipped in ("bks.csv", "jssp/ft06.txt", "fjsp/brandimarte/mk01.fjs", "energy/README.md"):
        assert root + shipped in names, shipped
    assert not any(n.startswith("tests/") or n.startswith("benchmarks/") for n in names)
