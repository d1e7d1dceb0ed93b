"""The command line of DESIGN section 6, one module per sub-command (`COMMANDS`: `solve`,
`validate`, `solvers`, `pareto`, `explain`, `reschedule`, `warmup`, `bench` and `scenario`).

Exit codes: 0 solved (a feasible schedule) or a valid schedule, 1 the schedule checked by
`validate` has violations, 2 bad input (one `error: ...` line on stderr, no traceback),
3 proven infeasible, 4 no schedule found in the time. This package is the one face above
`scheduler`, the solvers and the scenarios, so it may import all three; it stays thin and
delegates."""

from __future__ import annotations

import argparse
import atexit
import contextlib
import os
import sys
import threading
import time
from collections.abc import Sequence
from importlib import import_module, metadata
from typing import NoReturn

from scheduler.cli.common import (
    EXIT_BAD_INPUT,
    EXIT_NO_SCHEDULE,
    USER_ERRORS,
    one_line,
    process_started,
    stop_on_signals,
)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line on `argv` (default: sys.argv[1:]) and return the exit code."""
    # a command's time limit counts from the start of its process (from this call when the
    # command line is called in-process with explicit arguments, as tests do)
    started = process_started() if argv is None else time.perf_counter()
    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser(_command(argv)).parse_args(argv)
    args.started = started
    args.stop = threading.Event()  # set by Ctrl-C or SIGTERM: a solve ends with its best schedule
    try:
        with stop_on_signals(args.stop):
            code: int = args.run(args)
    except USER_ERRORS as error:
        print(f"error: {one_line(error)}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:  # a second Ctrl-C: stop at once, nothing (more) written
        print("interrupted", file=sys.stderr)
        return EXIT_NO_SCHEDULE
    return code


def run() -> NoReturn:
    """The console script and `python -m scheduler`: run the command line and exit with its code."""
    leave(main())


def leave(code: int) -> NoReturn:
    """Exit with `code`: run the exit handlers, flush and end the process at once, skipping the
    interpreter's finalisation, which frees every object one by one and unloads the Numba
    kernels (0.6-0.8 s after a solve of a 20,000-operation plant, measured, past the time
    limit the command promised) and waits for a daemon thread at work (the kernels compiling
    on the first run after an install) to let go of the GIL (0.5-0.7 s). The usual exit
    while another non-daemon thread runs, which it waits for, or under a profiler or tracer
    (`python -m cProfile`), which writes its output after the script returns."""
    main = threading.main_thread()
    others = any(t is not main and not t.daemon and t.is_alive() for t in threading.enumerate())
    if others or sys.getprofile() is not None or sys.gettrace() is not None:
        raise SystemExit(code)
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError, AttributeError):  # closed pipe or none
            stream.flush()
    os._exit(code)


def _version() -> str:
    """The installed distribution's version (package metadata)."""
    try:
        return metadata.version("prodsched")
    except metadata.PackageNotFoundError:
        return "(not installed)"


# sub-command -> (the module that adds its parser, that function, its one-line help); a command
# module is imported only when its command runs, so a command loads only what it uses
COMMANDS = {
    "solve": ("scheduler.cli.solve", "add_parser", "solve an instance and write the schedule"),
    "validate": (
        "scheduler.cli.validate",
        "add_parser",
        "check a schedule CSV against an instance",
    ),
    "solvers": (
        "scheduler.cli.solvers",
        "add_parser",
        "list the registered solvers and what each models",
    ),
    "pareto": (
        "scheduler.cli.pareto",
        "add_parser",
        "trade two objectives off: the non-dominated schedules (epsilon constraint)",
    ),
    "explain": (
        "scheduler.cli.explain",
        "add_parser",
        "explain a schedule: critical path, bottlenecks, late jobs, energy",
    ),
    "reschedule": (
        "scheduler.cli.reschedule",
        "add_parser",
        "re-plan a schedule at a tick after disruption events",
    ),
    "warmup": (
        "scheduler.cli.warmup",
        "add_parser",
        "compile the heuristic's kernels once after an install",
    ),
    "bench": ("scheduler.bench.cli", "add_bench_parser", "run a benchmark sweep"),
    "scenario": (
        "scenarios.cli",
        "add_scenario_parser",
        "simulate the plant before and after AI adoption, with intervals",
    ),
}


def _command(argv: Sequence[str]) -> str | None:
    """The sub-command named in `argv` (its first word that is one), if any."""
    return next((word for word in argv if word in COMMANDS), None)


def build_parser(command: str | None = None, every: bool = False) -> argparse.ArgumentParser:
    """The argument parser: the full parser of `command` (of every command with `every`), and
    for the others a stub with their help line, so that `scheduler --help` lists them all
    without importing what they use."""
    parser = argparse.ArgumentParser(
        prog="scheduler",
        description="Production scheduling: solve an instance, check a schedule, list solvers.",
    )
    parser.add_argument(
        "--version", action="version", version=f"%(prog)s {_version()}", help="show the version"
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (module, adder, about) in COMMANDS.items():
        if every or name == command:
            getattr(import_module(module), adder)(commands)
        else:
            commands.add_parser(name, help=about, add_help=False)
    return parser
