"""The `scheduler bench` sub-command: its options and the run from parsed arguments. Exit codes:
0 every run finished (refusals included), 1 some run failed with an error, 2 bad input."""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path
from typing import Any

from scheduler.bench.metrics import DEFAULT_CHECKPOINTS
from scheduler.bench.runner import run_bench
from scheduler.bench.settings import BenchSettings, parse_solvers
from scheduler.bench.suites import BenchInputError, default_root, resolve, suite_sizes
from scheduler.core.errors import SolverNotFoundError
from scheduler.core.parallel import LOCAL

COMMAND_OPTIONS = (
    "suite", "instances", "select", "solvers", "time_limit", "workers", "tasks", "seeds",
    "objective", "executor", "checkpoints", "resume", "isolate", "instances_root", "out",
)  # fmt: skip


def add_bench_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add the `bench` sub-command to an argparse sub-parsers object (dispatch: `args.run`)."""
    parser = subparsers.add_parser(
        "bench",
        help="run a benchmark sweep",
        description="Solve benchmark instances with several solvers under the same time limit "
        "and worker count; write per-run CSV, a Markdown summary and a gap-vs-time plot.",
    )
    add_bench_arguments(parser)
    parser.set_defaults(run=run_bench_cli)
    return parser


def add_bench_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of `bench` ."""
    parser.add_argument("--suite", help="comma-separated suites (see --list-suites)")
    parser.add_argument("--instances", metavar="GLOB", help="instance files (json/txt/fjs)")
    parser.add_argument("--select", metavar="PATTERNS", help="names to keep: la0*,ta01-ta30")
    parser.add_argument("--solvers", default="cpsat", help="e.g. cpsat,cpsat+warm,baseline")
    parser.add_argument("--time-limit", type=float, default=10.0, help="seconds per run")
    parser.add_argument("--workers", type=int, help="CP-SAT workers per run")
    parser.add_argument("--tasks", type=int, help="runs in parallel per node")
    parser.add_argument("--seeds", type=int, default=1, help="seeds 0..K-1 per instance/solver")
    parser.add_argument("--objective", default="makespan", help="objective (default: makespan)")
    parser.add_argument("--out", type=Path, default=Path("results.csv"), help="per-run CSV")
    parser.add_argument("--executor", default=LOCAL, help="local or a dask scheduler address")
    parser.add_argument(
        "--checkpoints",
        default=",".join(f"{t:g}" for t in DEFAULT_CHECKPOINTS),
        help="comma-separated seconds at which the best objective is recorded",
    )
    parser.add_argument("--resume", action="store_true", help="keep finished runs in --out")
    parser.add_argument("--isolate", action="store_true", help="a fresh process per run")
    parser.add_argument("--instances-root", type=Path, help="folder with bks.csv and the sets")
    parser.add_argument("--list-suites", action="store_true", help="list suites and exit")
    parser.add_argument("--quiet", action="store_true", help="no progress lines")


def run_bench_cli(args: argparse.Namespace) -> int:
    """Run `bench` from parsed arguments. Exit codes: 0 every run finished (refusals
    included), 1 some run failed with an error, 2 bad input."""
    root = args.instances_root or default_root()
    if args.list_suites:
        for name, size in suite_sizes(root).items():
            print(f"{name:14s} {size:4d} instances")
        return 0
    try:
        if args.time_limit <= 0 or args.seeds < 1:
            raise BenchInputError("--time-limit must be > 0 and --seeds >= 1")
        checkpoints = tuple(float(t) for t in args.checkpoints.split(",") if t.strip())
        instances = resolve(args.suite, args.instances, args.select, root)
        settings = BenchSettings(
            solvers=parse_solvers(args.solvers),
            time_limit=args.time_limit,
            seeds=args.seeds,
            workers=args.workers,
            tasks=args.tasks,
            objective=args.objective,
            executor=args.executor,
            isolate=args.isolate,
            checkpoints=checkpoints,
            command=_command(args),
        )
        log = None if args.quiet else (lambda line: print(line, flush=True))
        frame = run_bench(instances, settings, args.out, args.resume, log)
    except (BenchInputError, SolverNotFoundError, ValueError, OSError) as bad:
        print(f"error: {bad}", file=sys.stderr)
        return 2
    if not args.quiet:
        print(f"wrote {args.out}, {args.out.with_suffix('.md')}, {args.out.with_suffix('.png')}")
    return 1 if (frame["status"] == "error").any() else 0


def _command(args: argparse.Namespace) -> str:
    """The sweep as a full command line (every option, defaults included), for provenance."""
    words = ["python", "-m", "scheduler", "bench"]
    for dest in COMMAND_OPTIONS:
        value = getattr(args, dest, None)
        flag = "--" + dest.replace("_", "-")
        if value is True:
            words.append(flag)
        elif value not in (None, False):
            words += [flag, f"{value:g}" if isinstance(value, float) else str(value)]
    return shlex.join(words)
