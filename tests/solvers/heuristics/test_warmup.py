"""The kernels' warm-up: on an empty cache a child process compiles them, and it ends with the
process that started it, however that ends."""

from __future__ import annotations

import os
import subprocess
import sys
import time
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
time.sleep(1.0)
child = warmup._child[0]
print(child.pid, child.poll(), flush=True)  # None: still compiling as the process exits
"""


def _empty_cache(tmp_path: Path) -> dict[str, str]:
    return {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path / "cache")}


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    os.kill(pid, 9)  # not left compiling for minutes after a failed test
    return False


def test_the_tests_cache_holds_the_kernels() -> None:
    """conftest loads the kernels first, so the cache holds every one of them."""
    assert warmup._cached()


def test_an_empty_cache_compiles_in_a_child_that_ends_with_its_parent(tmp_path: Path) -> None:
    """With nothing cached the warm-up compiles in a child process (so that compiling does
    not hold this interpreter's lock for a minute), and exiting ends that child."""
    done = subprocess.run(
        [sys.executable, "-c", STARTS_AND_EXITS],
        env=_empty_cache(tmp_path),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    cached, pid, running = done.stdout.split()
    assert cached == "False"
    assert running == "None"  # the child was compiling, not dead at once
    assert _gone(int(pid)), "the compiling child outlived its parent"


def test_the_child_ends_when_its_parent_is_gone(tmp_path: Path) -> None:
    """The child exits as soon as its stdin closes, as it does when the parent is killed
    without running its exit handlers."""
    root = str(Path(warmup.__file__).resolve().parents[2])
    child = subprocess.Popen(
        [sys.executable, "-c", warmup.CHILD.format(root=root)],
        env=_empty_cache(tmp_path),
        stdin=subprocess.PIPE,
    )
    time.sleep(2.0)
    assert child.poll() is None  # compiling
    assert child.stdin is not None
    child.stdin.close()
    try:
        assert child.wait(timeout=20) == 1
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
