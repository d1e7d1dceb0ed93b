"""A solver from outside the project plugs in through the `scheduler.solvers` entry point:
the example package in this folder is installed into a temporary directory (pip, offline, no
dependencies) and, with that directory on PYTHONPATH, the command line lists it, solves with it
(a schedule the validator accepts), and the shared solver suite runs on it (`--solvers`)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from paths import INSTANCES, ROOT

PLUGIN = Path(__file__).resolve().parent


@pytest.fixture(scope="module")
def plugin_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The environment of a Python that sees the installed plug-in (and this project)."""
    target, source = tmp_path_factory.mktemp("site"), tmp_path_factory.mktemp("src") / "plugin"
    shutil.copytree(PLUGIN, source, ignore=shutil.ignore_patterns("test_*", "__pycache__"))
    install = [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-index"]
    install += ["--no-build-isolation", "--target", str(target), str(source)]
    subprocess.run(install, check=True, cwd=target, capture_output=True)
    assert list(target.glob("scheduler_plugin_example-*.dist-info/entry_points.txt"))
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(target), str(ROOT)])
    return env


def _run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )


def test_the_command_line_lists_and_runs_the_plugin(
    plugin_env: dict[str, str], tmp_path: Path
) -> None:
    listed = _run(plugin_env, "-m", "scheduler", "solvers")
    assert listed.returncode == 0 and "serial" in listed.stdout, listed.stderr
    ft06, out = str(INSTANCES / "jssp" / "ft06.txt"), str(tmp_path / "serial.csv")
    solved = _run(plugin_env, "-m", "scheduler", "solve", ft06, "--solver", "serial", "--out", out)
    assert solved.returncode == 0, solved.stderr
    checked = _run(plugin_env, "-m", "scheduler", "validate", ft06, out)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    refused = _run(plugin_env, "-m", "scheduler", "solve", ft06, "--solver", "serial",
                   "--objective", "energy")  # fmt: skip
    assert refused.returncode == 2 and "serial does not model" in refused.stderr


def test_the_shared_suite_runs_on_the_plugin(plugin_env: dict[str, str]) -> None:
    suite = str(ROOT / "tests" / "solvers" / "test_every_solver.py")
    ran = _run(
        plugin_env, "-m", "pytest", "-vv", "-p", "no:cacheprovider", suite, "--solvers", "serial"
    )
    assert ran.returncode == 0, ran.stdout[-3000:]
    assert len(re.findall(r"\[serial[^\]]*\] PASSED", ran.stdout)) >= 10, ran.stdout[-3000:]
