"""`scheduler pareto`: the trade-off curve of two objectives (`scheduler.report.pareto`)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from scheduler.cli.common import (
    EXIT_INFEASIBLE,
    EXIT_NO_SCHEDULE,
    EXIT_SOLVED,
    BadInput,
    add_format,
    add_run_options,
    check_outputs,
    positive,
    run_interruptibly,
    time_left,
)
from scheduler.core.registry import get_solver
from scheduler.core.solve import DEFAULT_SOLVER
from scheduler.core.terms import TERMS
from scheduler.io import atomic_write, load
from scheduler.report.pareto import ParetoError, pareto, plot_pareto


def add_parser(commands: Any) -> None:
    """The `pareto` sub-command."""
    front = commands.add_parser(
        "pareto", help="trade two objectives off: the non-dominated schedules (epsilon constraint)"
    )
    front.add_argument("instance", metavar="INSTANCE", type=Path, help="the instance file")
    add_format(front)
    front.add_argument(
        "--objectives", default="makespan,carbon", help="two terms (default: makespan,carbon)"
    )
    front.add_argument(
        "--points", type=positive(int), default=8, metavar="N", help="solves (default: 8)"
    )
    front.add_argument(
        "--solver",
        default=DEFAULT_SOLVER,
        help=f"registered solver (default: {DEFAULT_SOLVER}, as for solve)",
    )
    add_run_options(
        front,
        time_limit_help="seconds for the whole curve",
        workers_help="search workers",
        warm_start_help="run the heuristic before each extreme and hint its schedule (default: on)",
    )
    front.add_argument("--out", type=Path, metavar="CSV", help="write the points here")
    front.add_argument("--plot", type=Path, metavar="IMAGE", help="draw the curve (.png...)")
    front.set_defaults(run=run_pareto)


def run_pareto(args: argparse.Namespace) -> int:
    """Check the arguments and output paths, trace the curve, write the CSV and plot, print it."""
    terms = tuple(t.strip() for t in args.objectives.split(","))
    if len(terms) != 2 or terms[0] == terms[1] or not set(terms) <= set(TERMS):
        raise BadInput(
            f"--objectives {args.objectives!r}: expected two different terms of "
            f"{', '.join(TERMS)}, e.g. makespan,carbon"
        )
    if args.points < 2:
        raise BadInput(f"--points must be at least 2, got {args.points}")
    get_solver(args.solver)
    outputs = [p for p in (args.out, args.plot) if p is not None]
    check_outputs(args.instance, outputs, image=args.plot)
    instance = load(args.instance, format=args.format)
    try:
        frame = run_interruptibly(
            lambda: pareto(
                instance,
                terms,
                points=args.points,
                solver=args.solver,
                time_limit=time_left(args.time_limit, args.started),
                workers=args.workers,
                seed=args.seed,
                warm_start=args.warm_start,
                stop=args.stop,
            )
        )
    except ParetoError as error:
        print(f"no trade-off curve: {error}", file=sys.stderr)
        return EXIT_INFEASIBLE if error.status == "infeasible" else EXIT_NO_SCHEDULE
    table = frame.drop(columns="schedule")
    try:
        if args.out is not None:
            atomic_write(args.out, table.to_csv(index=False))
        if args.plot is not None:
            plot_pareto(frame, args.plot, title=f"{instance.name}: {terms[0]} vs {terms[1]}")
    except OSError as error:
        raise BadInput(f"cannot write: {error.strerror or error}") from None
    print(table.to_string(index=False, float_format=lambda v: f"{v:.6g}"))
    return EXIT_SOLVED
