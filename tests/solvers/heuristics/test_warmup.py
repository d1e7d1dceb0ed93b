"""The kernels' warm-up: on an empty cache a child process compiles them, and it ends with the
process that started it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from solvers.heuristics import warmup

STARTS_AND_EXITS = """
import time
from solvers.heuristics import warmup
print(warmup._cached(), flush=True)
warmup.start_warmup()
for _ in range(200):  # the child starts at once: the cache has no kernel
    if warmup._child:
        break
    time.sleep(0.05)
print(warmup._child[0].pid if warmup._child else -1, flush=True)
"""


def test_the_tests_cache_holds_the_kernels() -> None:
    """conftest loads the kernels first, so the cache holds every one of them."""
    assert warmup._cached()


def test_an_empty_cache_compiles_in_a_child_that_ends_with_its_parent(tmp_path: Path) -> None:
    """With nothing cached the warm-up compiles in a child process (so that compiling does
    not hold this interpreter's lock for a minute), and exiting ends that child."""
    done = subprocess.run(
        [sys.executable, "-c", STARTS_AND_EXITS],
        env={**os.environ, "NUMBA_CACHE_DIR": str(tmp_path / "cache")},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    cached, pid = done.stdout.split()
    assert cached == "False"
    assert int(pid) > 0
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return
    raise AssertionError(f"the compiling child {pid} outlived its parent")
