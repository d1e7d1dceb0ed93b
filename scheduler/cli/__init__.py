"""The command line of DESIGN section 6, one module per sub-command: `solve`, `validate`,
`solvers`, `pareto` and `bench` (`scheduler.bench.cli`).

Exit codes: 0 solved (a feasible schedule) or a valid schedule, 1 the schedule checked by
`validate` has violations, 2 bad input (one `error: ...` line on stderr, no traceback),
3 proven infeasible, 4 no schedule found in the time. This package is the one face above
`scheduler`, the solvers and the scenarios, so it may import all three; it stays thin and
delegates."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from importlib import metadata

from scenarios.cli import add_scenario_parser
from scheduler.bench.cli import add_bench_parser
from scheduler.cli import explain, pareto, solve, solvers, validate
from scheduler.cli.common import EXIT_BAD_INPUT, USER_ERRORS, one_line


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line on `argv` (default: sys.argv[1:]) and return the exit code."""
    args = build_parser().parse_args(argv)
    try:
        code: int = args.run(args)
    except USER_ERRORS as error:
        print(f"error: {one_line(error)}", file=sys.stderr)
        return EXIT_BAD_INPUT
    return code


def _version() -> str:
    """The installed distribution's version (package metadata)."""
    try:
        return metadata.version("prodsched")
    except metadata.PackageNotFoundError:
        return "(not installed)"


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with its subcommands (each module adds its own)."""
    parser = argparse.ArgumentParser(
        prog="scheduler",
        description="Production scheduling: solve an instance, check a schedule, list solvers.",
    )
    parser.add_argument(
        "--version", action="version", version=f"%(prog)s {_version()}", help="show the version"
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in (solve, validate, solvers, pareto, explain):
        command.add_parser(commands)
    add_bench_parser(commands)
    add_scenario_parser(commands)
    return parser
