"""`scheduler reschedule`: re-plan a schedule at tick `--at` after the disruption events of a
JSON file (`scheduler.replan`), and write the new schedule and the updated instance, which
together pass `scheduler validate`."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from scheduler.cli.common import (
    EXIT_INFEASIBLE,
    EXIT_NO_SCHEDULE,
    EXIT_SOLVED,
    WRITE_S_PER_OP,
    BadInput,
    add_format,
    add_run_options,
    check_outputs,
    run_interruptibly,
    solver_options,
    time_left,
)
from scheduler.cli.summary import ProgressReporter, describe
from scheduler.core.objective import Objective
from scheduler.core.registry import get_solver
from scheduler.core.solve import DEFAULT_SOLVER
from scheduler.io import load, read_schedule_csv, write_json, write_schedule_csv, write_summary
from scheduler.replan import POLICIES, Replan, read_events, reschedule
from scheduler.replan.reschedule import with_stability


def _tick(text: str) -> int:
    """An argparse type: an integer tick >= 0."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer tick, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {value}")
    return value


def add_parser(commands: Any) -> None:
    """The `reschedule` sub-command."""
    re = commands.add_parser(
        "reschedule", help="re-plan a schedule at a tick after disruption events"
    )
    re.add_argument("instance", metavar="INSTANCE", type=Path, help="the instance file")
    re.add_argument("schedule", metavar="SCHEDULE.csv", type=Path, help="the plan now running")
    add_format(re)
    re.add_argument("--at", type=_tick, required=True, metavar="T", help="re-plan tick")
    re.add_argument(
        "--events",
        type=Path,
        metavar="EVENTS.json",
        help="JSON list of events: machine_down, operation_delay, rush_order, redo, cancel_job",
    )
    re.add_argument(
        "--solver",
        default=DEFAULT_SOLVER,
        help=f"registered solver (default: {DEFAULT_SOLVER}, the heuristic and CP-SAT in turns)",
    )
    re.add_argument(
        "--objective",
        default="makespan",
        help="a term, weighted sum or lexicographic order, e.g. 'makespan>deviation' "
        "(default: makespan)",
    )
    re.add_argument(
        "--stability",
        type=float,
        metavar="W",
        help="add the deviation term (shift from the old plan) with weight W to the first level",
    )
    re.add_argument(
        "--policy",
        choices=POLICIES,
        default="reoptimize",
        help="right_shift: push the old plan later (no solver); reoptimize (default): solve "
        "the rest, warm-started from the right shift",
    )
    add_run_options(
        re,
        time_limit_help="seconds",
        workers_help="parallel search workers",
        option_help="solver option",
    )
    re.add_argument("--out", type=Path, metavar="CSV", help="write the new schedule CSV here")
    re.add_argument(
        "--out-instance", type=Path, metavar="JSON", help="write the updated instance here"
    )
    re.add_argument("--summary", type=Path, metavar="JSON", help="write the summary JSON here")
    re.add_argument("--quiet", action="store_true", help="no progress and no summary output")
    re.set_defaults(run=run_reschedule)


def run_reschedule(args: argparse.Namespace) -> int:
    """Check every input and output first, re-plan, write the outputs, report."""
    try:
        objective = with_stability(Objective.parse(args.objective), args.stability)
    except ValueError as error:
        raise BadInput(str(error)) from None
    options = solver_options(args.option, None)
    if args.policy == "reoptimize":
        get_solver(args.solver)  # an unknown solver is bad input, found before any work
    outputs = [p for p in (args.out, args.out_instance, args.summary) if p is not None]
    check_outputs(args.instance, outputs)
    instance = load(args.instance, format=args.format)
    schedule = read_schedule_csv(instance, args.schedule)
    events = read_events(args.events) if args.events is not None else ()
    reporter = None if args.quiet else ProgressReporter(sys.stderr)
    reserve = WRITE_S_PER_OP * len(instance.operations)  # for the CSVs and the summary
    try:
        replan = run_interruptibly(
            lambda: reschedule(
                instance,
                schedule,
                at=args.at,
                events=events,
                solver=args.solver,
                objective=objective,
                policy=args.policy,
                time_limit=time_left(args.time_limit, args.started, reserve),
                workers=args.workers,
                seed=args.seed,
                on_progress=reporter.progress if reporter else None,
                log=reporter.log if reporter else None,
                stop=args.stop,
                **options,
            )
        )
    finally:
        if reporter:
            reporter.close()
    _write(replan, args)
    result = replan.result
    if not args.quiet:
        print(describe(replan.instance, result, objective))
        print(_stability_line(replan))
    if result.status == "infeasible":
        return EXIT_INFEASIBLE
    return EXIT_SOLVED if result.schedule is not None else EXIT_NO_SCHEDULE


def _stability_line(replan: Replan) -> str:
    kpis = replan.result.kpis
    if "ops_moved" not in kpis:
        return f"kept       {len(replan.kept)} operations frozen"
    return (
        f"kept       {len(replan.kept)} operations frozen; moved {kpis['ops_moved']}, "
        f"{kpis['machines_changed']} on another machine, total shift {kpis['total_shift']} "
        f"ticks (deviation {kpis['deviation']})"
    )


def _write(replan: Replan, args: argparse.Namespace) -> None:
    """Write the updated instance and summary always (when asked), the schedule when there is
    one; each file atomically."""
    schedule = replan.result.schedule
    writers: list[tuple[Path | None, Callable[[Path], object]]] = [
        (args.out_instance, lambda path: write_json(replan.instance, path)),
        (args.summary, lambda path: write_summary(replan.result, path)),
    ]
    if schedule is not None:
        writers.append((args.out, lambda path: write_schedule_csv(schedule, path)))
    for path, write in writers:
        if path is None:
            continue
        try:
            write(path)
        except OSError as error:
            raise BadInput(f"cannot write {path}: {error.strerror or error}") from None
