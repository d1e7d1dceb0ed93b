"""`scheduler warmup`: compile the heuristic's Numba kernels into Numba's on-disk cache now.

The first process after an install compiles them (about 80 s of CPU); every later one loads
them in 0.5-2 s. A solve compiles them in the background too, but a time-limited one ends
without them (`auto` then has only CP-SAT or the list schedule), so the README's install
line runs this once."""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

from scheduler.cli.common import EXIT_NO_SCHEDULE, EXIT_SOLVED
from solvers.heuristics.warmup import first_call_seconds, kernels_ready


def add_parser(commands: Any) -> None:
    """The `warmup` sub-command."""
    warm = commands.add_parser(
        "warmup",
        help="compile the heuristic's kernels once after an install (about 80 s; later "
        "processes load them from the cache in a second or two)",
    )
    warm.set_defaults(run=run_warmup)


def run_warmup(args: argparse.Namespace) -> int:
    """Wait for the kernels (compiled, or loaded from the cache); exit 4 when interrupted
    first (what was compiled by then stays cached)."""
    started = time.perf_counter()
    if not kernels_ready(None, args.stop):
        print("interrupted: the kernels compiled so far stay cached", file=sys.stderr)
        return EXIT_NO_SCHEDULE
    first_call_seconds()  # raises what stopped a kernel from building
    print(f"numba kernels ready in {time.perf_counter() - started:.1f} s")
    return EXIT_SOLVED
