"""`scheduler solve`: check every input and output path first, solve, write the outputs, and
print the summary; when an instance with a power or carbon cap is proven infeasible, say which
cap is to blame (`scheduler.report.explain`)."""

from __future__ import annotations

import argparse
import sys
import time
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
    output_reserve,
    promise_grace,
    run_interruptibly,
    solver_options,
    time_left,
)
from scheduler.cli.sources import add_plant_id, is_database_url, read_instance_arg, write_plan
from scheduler.cli.summary import ProgressReporter, describe
from scheduler.core.errors import UnsupportedFeatureError
from scheduler.core.model import Instance
from scheduler.core.objective import Objective
from scheduler.core.registry import get_solver
from scheduler.core.result import Result
from scheduler.core.solve import DEFAULT_SOLVER
from scheduler.core.solve import solve as solve_instance
from scheduler.io import atomic_write, write_schedule_csv, write_summary
from scheduler.report.explain import explain_infeasibility
from solvers.heuristics.warmup import start_warmup

COMPILE_S_PER_OP = 4e-5  # the least a solve takes, per operation: compiling the instance
# (0.6-0.8 s at 20,000 operations, measured)
USES_HEURISTIC = frozenset({"auto", "heuristic", "lns"})  # solvers that run the Numba kernels
EXPLAIN_TIME_LIMIT = 10.0  # seconds for each solve that explains a cap infeasibility


def add_parser(commands: Any) -> None:
    """The `solve` sub-command."""
    solve = commands.add_parser("solve", help="solve an instance and write the schedule")
    solve.add_argument(
        "instance", metavar="INSTANCE", help="instance file, or a database URL with --plant-id"
    )
    add_format(solve)
    add_plant_id(solve)
    solve.add_argument(
        "--solver",
        default=DEFAULT_SOLVER,
        help=f"registered solver (default: {DEFAULT_SOLVER}, the heuristic and CP-SAT in turns)",
    )
    solve.add_argument(
        "--objective",
        default="makespan",
        help="a term, a weighted sum 'makespan=1,energy_cost=0.2' or a lexicographic order "
        "'makespan>carbon' (default: makespan)",
    )
    add_run_options(
        solve,
        time_limit_help="seconds (default: none)",
        workers_help="parallel search workers",
        warm_start_help="run the heuristic first and hint its schedule (default: on)",
        option_help="solver-specific option, repeatable; VALUE is read as JSON when it parses "
        "(3, 0.5, true, {...}), as text otherwise",
    )
    solve.add_argument("--rule", help="dispatching rule of the heuristic (same as --option rule=)")
    solve.add_argument(
        "--out",
        metavar="CSV|URL",
        help="write the schedule CSV here, or store it in a database URL (with --plan-id)",
    )
    solve.add_argument(
        "--plan-id", help="the id of the plan stored when --out is a database URL (never reused)"
    )
    solve.add_argument("--summary", type=Path, metavar="JSON", help="write the summary JSON here")
    solve.add_argument("--gantt", type=Path, metavar="IMAGE", help="draw a Gantt chart (.png...)")
    solve.add_argument(
        "--report",
        type=Path,
        metavar="HTML",
        help="write one self-contained HTML page: KPIs, charts, late jobs, critical path",
    )
    solve.add_argument("--quiet", action="store_true", help="no progress and no summary output")
    solve.set_defaults(run=run_solve)


def run_solve(args: argparse.Namespace) -> int:
    """Check every input and output path first, solve, write the outputs, report."""
    try:
        objective = Objective.parse(args.objective)
    except ValueError as error:
        raise BadInput(str(error)) from None
    options = solver_options(args.option, args.rule)
    get_solver(args.solver)  # an unknown solver is bad input, found before any work
    args.out_db = args.out if args.out is not None and is_database_url(args.out) else None
    args.out = None if args.out is None or args.out_db else Path(args.out)
    if args.out_db and args.plan_id is None:
        raise BadInput("--out is a database: name the plan with --plan-id")
    outputs = [p for p in (args.out, args.summary, args.gantt, args.report) if p is not None]
    check_outputs(Path(args.instance), outputs, image=args.gantt)
    if args.warm_start or args.solver in USES_HEURISTIC:
        start_warmup()  # the heuristic's kernels load while the instance is read and compiled
    instance = read_instance_arg(args.instance, args.format, args.plant_id)
    read_s = time.perf_counter() - args.started

    n_ops = len(instance.operations)
    late = _too_late(args, n_ops, WRITE_S_PER_OP * n_ops)
    if late is not None:
        result = Result("unknown", args.solver, message=late)
    else:
        left = time_left(args.time_limit, args.started)
        grace = promise_grace(args.time_limit) if args.time_limit is not None else 0.0
        reserve = output_reserve(
            n_ops, left, args.gantt is not None, args.report is not None, grace
        )
        result = _solve(args, instance, objective, options, reserve)
        if result.status == "unknown" and result.schedule is None and args.time_limit:
            charts = reserve - WRITE_S_PER_OP * n_ops  # kept for the chart and report
            result.message = "; ".join(
                m for m in (result.message, _time_used(read_s, args.time_limit, charts)) if m
            )
    if result.status == "infeasible" and _capped(instance):
        reasons = [
            r for r in explain_caps(instance, args) if r[len("why: ") :] not in result.message
        ]
        result.message = "; ".join([result.message, *reasons]).lstrip("; ")
    write_outputs(result, args)
    if args.out_db and result.schedule is not None:
        write_plan(args.out_db, result, args.plan_id, args.plant_id)
    if not args.quiet:
        print(describe(instance, result, objective))
    if result.status == "infeasible":
        return EXIT_INFEASIBLE
    return EXIT_SOLVED if result.schedule is not None else EXIT_NO_SCHEDULE


def _time_used(read_s: float, time_limit: float, charts_s: float = 0.0) -> str:
    """Why a solve may have found no schedule: how much of the limit went before it, and how
    much was kept back for the chart and report (`charts_s`)."""
    kept = f", {charts_s:.1f} s were kept for the chart and report" if charts_s >= 0.05 else ""
    return (
        f"starting and reading the instance took {read_s:.1f} s of the {time_limit:g} s time "
        f"limit{kept}; a longer --time-limit may find a schedule"
    )


def _too_late(args: argparse.Namespace, n_ops: int, reserve: float) -> str | None:
    """Why no solve starts: reading the instance took so much of `--time-limit` that
    compiling it alone would overrun the limit's promise (the limit plus max(1 s, 10 %), half of
    which is kept for the rest: the bounds, the outputs, the interpreter's exit); None when a
    solve fits."""
    if args.time_limit is None:
        return None
    used = time.perf_counter() - args.started
    grace = promise_grace(args.time_limit)
    if used + reserve + COMPILE_S_PER_OP * n_ops <= args.time_limit + grace / 2:
        return None
    return (
        f"no time left to solve: {used:.1f} s of the {args.time_limit:g} s time limit had gone "
        "when the instance was read (start-up included)"
    )


def _solve(
    args: argparse.Namespace,
    instance: Instance,
    objective: Objective,
    options: dict[str, Any],
    reserve: float,
) -> Result:
    """The solve the command asks for, its progress shown unless --quiet, within what is left
    of the time limit less `reserve` (for writing the outputs)."""
    reporter = None if args.quiet else ProgressReporter(sys.stderr, args.time_limit)
    try:
        return run_interruptibly(
            lambda: solve_instance(
                instance,
                solver=args.solver,
                objective=objective,
                time_limit=time_left(args.time_limit, args.started, reserve),
                workers=args.workers,
                seed=args.seed,
                warm_start=args.warm_start,
                on_progress=reporter.progress if reporter else None,
                log=reporter.log if reporter else None,
                stop=args.stop,
                **options,
            )
        )
    finally:
        if reporter:
            reporter.close()


def _capped(instance: Instance) -> bool:
    energy = instance.energy
    return energy.power_cap_kw is not None or energy.carbon_cap_kg is not None


def explain_caps(instance: Instance, args: argparse.Namespace) -> list[str]:
    """Why the power or carbon cap makes `instance` infeasible (`scheduler.report.explain`), each
    explaining solve limited to EXPLAIN_TIME_LIMIT seconds and to what is left of the
    command's own time limit."""

    def solve_fn(variant: Instance, objective: str) -> Result:
        left = time_left(args.time_limit, args.started)
        return solve_instance(
            variant,
            solver=args.solver,
            objective=objective,
            time_limit=EXPLAIN_TIME_LIMIT if left is None else min(EXPLAIN_TIME_LIMIT, left),
            stop=args.stop,
            workers=args.workers,
            seed=args.seed,
            warm_start=args.warm_start,
        )

    try:
        return [f"why: {reason}" for reason in explain_infeasibility(instance, solve_fn)]
    except UnsupportedFeatureError as refusal:
        return [f"why: not explained ({args.solver} refused an explaining solve: {refusal})"]


def write_outputs(result: Result, args: argparse.Namespace) -> None:
    """Write the summary always (when asked), the schedule and chart when there is one;
    each file atomically, so a failure leaves any earlier file of that name intact."""
    writers: list[tuple[Path | None, Callable[[Path], object]]] = [
        (args.summary, lambda path: write_summary(result, path))
    ]
    schedule = result.schedule
    if schedule is not None:
        writers.append((args.out, lambda path: write_schedule_csv(schedule, path)))
    drawn: list[bytes] = []  # the Gantt chart as PNG, drawn once for the file and the report
    if schedule is not None and args.gantt is not None:
        # matplotlib is loaded only when a chart is asked for
        from scheduler.report.plot import gantt, image_format, png_bytes

        def write_gantt(path: Path) -> object:
            if args.report is None or image_format(path) != "png":
                return gantt(schedule, path)
            drawn.append(png_bytes(gantt(schedule)))
            return atomic_write(path, drawn[0])

        writers.append((args.gantt, write_gantt))
    if schedule is not None and args.report is not None:
        from scheduler.report.html import write_report

        objective = Objective.parse(args.objective)
        writers.append(
            (args.report, lambda path: write_report(result, path, objective, *drawn[:1]))
        )
    for path, write in writers:
        if path is None:
            continue
        try:
            write(path)
        except OSError as error:
            raise BadInput(f"cannot write {path}: {error.strerror or error}") from None
