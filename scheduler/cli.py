"""The command line of DESIGN section 6: `solve`, `validate`, `solvers` and `pareto`.

Exit codes: 0 solved (a feasible schedule) or a valid schedule, 1 the schedule checked by
`validate` has violations, 2 bad input (one `error: ...` line on stderr, no traceback),
3 proven infeasible, 4 no schedule found in the time. When `solve` proves an instance with a
power or carbon cap infeasible, it says which cap is to blame (`scheduler.explain`). This
module is the one face above `scheduler` and the solvers, so it may import both; it stays thin
and delegates."""

from __future__ import annotations

import argparse
import inspect
import json
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TextIO

from scheduler.bench import add_bench_parser
from scheduler.errors import InstanceError, SolverNotFoundError, UnsupportedFeatureError
from scheduler.explain import explain_infeasibility
from scheduler.io import atomic_write, load, read_schedule_csv, write_schedule_csv, write_summary
from scheduler.kpi import compute_kpis
from scheduler.model import Instance
from scheduler.objective import TERMS, Objective
from scheduler.pareto import ParetoError, pareto, plot_pareto
from scheduler.registry import available_solvers, get_solver
from scheduler.result import Progress, Result
from scheduler.solve import solve as solve_instance
from scheduler.validate import validate

EXIT_SOLVED = 0
EXIT_VIOLATIONS = 1
EXIT_BAD_INPUT = 2
EXIT_INFEASIBLE = 3
EXIT_NO_SCHEDULE = 4
TABLE_MAX_ROWS = 40  # the schedule is printed as a table up to this many operations
EXPLAIN_TIME_LIMIT = 10.0  # seconds for each solve that explains a cap infeasibility
FORMATS = ("json", "jssp", "fjsp")
# the facade's own parameters, which `--option` must not pass as solver options
RESERVED_OPTIONS = frozenset(inspect.signature(solve_instance).parameters) - {"options"}


class BadInput(Exception):
    """A user error the command line finds itself (bad --option, unwritable output path)."""


USER_ERRORS = (BadInput, InstanceError, UnsupportedFeatureError, SolverNotFoundError, OSError)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line on `argv` (default: sys.argv[1:]) and return the exit code."""
    args = build_parser().parse_args(argv)
    try:
        code: int = args.run(args)
    except USER_ERRORS as error:
        print(f"error: {_one_line(error)}", file=sys.stderr)
        return EXIT_BAD_INPUT
    return code


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with its subcommands."""
    parser = argparse.ArgumentParser(
        prog="scheduler",
        description="Production scheduling: solve an instance, check a schedule, list solvers.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    solve = commands.add_parser("solve", help="solve an instance and write the schedule")
    solve.add_argument("instance", metavar="INSTANCE", type=Path)
    _add_format(solve)
    solve.add_argument("--solver", default="cpsat", help="registered solver (default: cpsat)")
    solve.add_argument(
        "--objective",
        default="makespan",
        help="a term, a weighted sum 'makespan=1,energy_cost=0.2' or a lexicographic order "
        "'makespan>carbon' (default: makespan)",
    )
    solve.add_argument(
        "--time-limit", type=_positive(float), metavar="S", help="seconds (default: none)"
    )
    solve.add_argument(
        "--workers", type=_positive(int), metavar="N", help="parallel search workers"
    )
    solve.add_argument("--seed", type=int, default=0, metavar="N", help="random seed")
    solve.add_argument(
        "--warm-start",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="run the heuristic first and hint its schedule (default: on)",
    )
    solve.add_argument(
        "--option",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="solver-specific option, repeatable; VALUE is read as JSON when it parses "
        "(3, 0.5, true, {...}), as text otherwise",
    )
    solve.add_argument("--rule", help="dispatching rule of the heuristic (same as --option rule=)")
    solve.add_argument("--out", type=Path, metavar="CSV", help="write the schedule CSV here")
    solve.add_argument("--summary", type=Path, metavar="JSON", help="write the summary JSON here")
    solve.add_argument("--gantt", type=Path, metavar="IMAGE", help="draw a Gantt chart (.png...)")
    solve.add_argument("--quiet", action="store_true", help="no progress and no summary output")
    solve.set_defaults(run=run_solve)

    check = commands.add_parser("validate", help="check a schedule CSV against an instance")
    check.add_argument("instance", metavar="INSTANCE", type=Path)
    check.add_argument("schedule", metavar="SCHEDULE.csv", type=Path)
    _add_format(check)
    check.set_defaults(run=run_validate)

    listing = commands.add_parser("solvers", help="list the registered solvers")
    listing.set_defaults(run=run_solvers)

    front = commands.add_parser(
        "pareto", help="trade two objectives off: the non-dominated schedules (epsilon constraint)"
    )
    front.add_argument("instance", metavar="INSTANCE", type=Path)
    _add_format(front)
    front.add_argument(
        "--objectives", default="makespan,carbon", help="two terms (default: makespan,carbon)"
    )
    front.add_argument(
        "--points", type=_positive(int), default=8, metavar="N", help="solves (default: 8)"
    )
    front.add_argument("--solver", default="cpsat", help="registered solver (default: cpsat)")
    front.add_argument(
        "--time-limit", type=_positive(float), metavar="S", help="seconds for the whole curve"
    )
    front.add_argument("--workers", type=_positive(int), metavar="N", help="search workers")
    front.add_argument("--seed", type=int, default=0, metavar="N", help="random seed")
    front.add_argument(
        "--warm-start",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="run the heuristic before each extreme and hint its schedule (default: on)",
    )
    front.add_argument("--out", type=Path, metavar="CSV", help="write the points here")
    front.add_argument("--plot", type=Path, metavar="IMAGE", help="draw the curve (.png...)")
    front.set_defaults(run=run_pareto)

    add_bench_parser(commands)
    return parser


def _positive(kind: Callable[[str], float]) -> Callable[[str], float]:
    """An argparse type: a number of `kind` that must be > 0."""

    def parse(text: str) -> float:
        try:
            value = kind(text)
        except ValueError:
            expected = "an integer" if kind is int else "a number"
            raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}") from None
        if not value > 0:
            raise argparse.ArgumentTypeError(f"must be > 0, got {text}")
        return value

    parse.__name__ = kind.__name__
    return parse


def _add_format(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--format",
        choices=FORMATS,
        help="instance format (default: from the suffix: .json, .jss/.txt, .fjs)",
    )


# -- solve ---------------------------------------------------------------------------------


def run_solve(args: argparse.Namespace) -> int:
    """Check every input and output path first, solve, write the outputs, report."""
    try:
        objective = Objective.parse(args.objective)
    except ValueError as error:
        raise BadInput(str(error)) from None
    options = solver_options(args.option, args.rule)
    get_solver(args.solver)  # an unknown solver is bad input, found before any work
    outputs = [p for p in (args.out, args.summary, args.gantt) if p is not None]
    check_outputs(args.instance, outputs)
    if args.gantt is not None:
        _gantt_format(args.gantt)
    instance = load(args.instance, format=args.format)

    reporter = None if args.quiet else ProgressReporter(sys.stderr)
    try:
        result = solve_instance(
            instance,
            solver=args.solver,
            objective=objective,
            time_limit=args.time_limit,
            workers=args.workers,
            seed=args.seed,
            warm_start=args.warm_start,
            on_progress=reporter.progress if reporter else None,
            log=reporter.log if reporter else None,
            **options,
        )
    finally:
        if reporter:
            reporter.close()

    if result.status == "infeasible" and _capped(instance):
        result.message = "; ".join([result.message, *explain_caps(instance, args)]).lstrip("; ")
    write_outputs(result, args)
    if not args.quiet:
        print(describe(instance, result, objective))
    if result.status == "infeasible":
        return EXIT_INFEASIBLE
    return EXIT_SOLVED if result.schedule is not None else EXIT_NO_SCHEDULE


def _capped(instance: Instance) -> bool:
    energy = instance.energy
    return energy.power_cap_kw is not None or energy.carbon_cap_kg is not None


def explain_caps(instance: Instance, args: argparse.Namespace) -> list[str]:
    """Why the power or carbon cap makes `instance` infeasible (`scheduler.explain`), each
    explaining solve limited to EXPLAIN_TIME_LIMIT seconds (or the solve's own limit)."""
    limit = min(EXPLAIN_TIME_LIMIT, args.time_limit or EXPLAIN_TIME_LIMIT)

    def solve_fn(variant: Instance, objective: str) -> Result:
        return solve_instance(
            variant,
            solver=args.solver,
            objective=objective,
            time_limit=limit,
            workers=args.workers,
            seed=args.seed,
            warm_start=args.warm_start,
        )

    try:
        return [f"why: {reason}" for reason in explain_infeasibility(instance, solve_fn)]
    except UnsupportedFeatureError as refusal:
        return [f"why: not explained ({args.solver} refused an explaining solve: {refusal})"]


def solver_options(pairs: Sequence[str], rule: str | None) -> dict[str, Any]:
    """The solver-specific options from `--option KEY=VALUE` flags and the `--rule` shortcut."""
    options: dict[str, Any] = {}
    for text in pairs:
        key, sep, raw = text.partition("=")
        key = key.strip()
        if not sep or not key:
            raise BadInput(f"--option {text!r}: expected KEY=VALUE")
        if key in RESERVED_OPTIONS:
            raise BadInput(f"--option {key}: not a solver option (solve has its own flag for it)")
        if key in options:
            raise BadInput(f"--option {key} given twice")
        options[key] = parse_value(raw.strip())
    if rule is not None:
        if "rule" in options:
            raise BadInput("the rule is given both by --rule and by --option rule=")
        options["rule"] = rule
    return options


def parse_value(raw: str) -> Any:
    """JSON when `raw` parses as JSON (numbers, true/false, lists, objects), else the text."""
    try:
        return json.loads(raw)
    except json.JSONDecodeError:
        return raw


def check_outputs(instance_path: Path, outputs: list[Path]) -> None:
    """Refuse outputs that would overwrite the instance or each other, or whose folder does
    not exist, before any time is spent solving."""
    seen = {instance_path.resolve(): "the instance"}
    for path in outputs:
        resolved = path.resolve()
        if resolved in seen:
            raise BadInput(f"output {path} would overwrite {seen[resolved]}")
        seen[resolved] = str(path)
        if not resolved.parent.is_dir():
            raise BadInput(f"cannot write {path}: folder {path.parent} does not exist")
        if resolved.is_dir():
            raise BadInput(f"cannot write {path}: it is a folder")


def _gantt_format(path: Path) -> None:
    """Refuse a Gantt file type matplotlib cannot write (plot is imported only when asked)."""
    from scheduler.plot import image_format

    try:
        image_format(path)
    except ValueError as error:
        raise BadInput(str(error)) from None


def write_outputs(result: Result, args: argparse.Namespace) -> None:
    """Write the summary always (when asked), the schedule and chart when there is one;
    each file atomically, so a failure leaves any earlier file of that name intact."""
    writers: list[tuple[Path | None, Callable[[Path], object]]] = [
        (args.summary, lambda path: write_summary(result, path))
    ]
    schedule = result.schedule
    if schedule is not None:
        writers.append((args.out, lambda path: write_schedule_csv(schedule, path)))
    if schedule is not None and args.gantt is not None:
        from scheduler.plot import gantt  # matplotlib is loaded only when a chart is asked for

        writers.append((args.gantt, lambda path: gantt(schedule, path)))
    for path, write in writers:
        if path is None:
            continue
        try:
            write(path)
        except OSError as error:
            raise BadInput(f"cannot write {path}: {error.strerror or error}") from None


# -- pareto --------------------------------------------------------------------------------


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
    check_outputs(args.instance, [p for p in (args.out, args.plot) if p is not None])
    if args.plot is not None:
        _gantt_format(args.plot)
    instance = load(args.instance, format=args.format)
    try:
        frame = pareto(
            instance,
            terms,
            points=args.points,
            solver=args.solver,
            time_limit=args.time_limit,
            workers=args.workers,
            seed=args.seed,
            warm_start=args.warm_start,
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


# -- validate and solvers ------------------------------------------------------------------


def run_validate(args: argparse.Namespace) -> int:
    """Print every violation (exit 1), or `valid` and the KPIs (exit 0)."""
    instance = load(args.instance, format=args.format)
    schedule = read_schedule_csv(instance, args.schedule)
    violations = validate(instance, schedule)
    for violation in violations:
        print(violation)
    if violations:
        print(f"{len(violations)} violation(s)")
        return EXIT_VIOLATIONS
    print("valid")
    print(format_kpis(compute_kpis(instance, schedule)))
    return EXIT_SOLVED


def run_solvers(args: argparse.Namespace) -> int:
    """One line per registered solver: its name and the first line of its description."""
    for name in available_solvers():
        try:
            doc = inspect.getdoc(type(get_solver(name))) or ""
            about = doc.splitlines()[0] if doc else ""
        except Exception as error:  # a broken third-party plugin must not hide the others
            about = f"(cannot be loaded: {_one_line(error)})"
        print(f"{name:<12} {about}".rstrip())
    return EXIT_SOLVED


# -- reporting -----------------------------------------------------------------------------


class ProgressReporter:
    """The live progress line on `stream`: rewritten in place on a terminal, one line per
    improvement otherwise. Thread-safe, since solvers report from their worker threads."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self._tty = stream.isatty()
        self._started = time.perf_counter()
        self._lock = threading.Lock()
        self._width = 0

    def progress(self, point: Progress) -> None:
        """Show the new best objective, bound, gap and the time since the solve began."""
        elapsed = time.perf_counter() - self._started
        text = (
            f"objective {_number(point.objective)}  bound {_number(point.bound)}  "
            f"gap {_percent(point.gap)}  {elapsed:.1f}s"
        )
        with self._lock:
            if self._tty:
                self._stream.write("\r" + text.ljust(self._width))
                self._width = len(text)
            else:
                self._stream.write(text + "\n")
            self._stream.flush()

    def log(self, message: str) -> None:
        """A solver's log line, on its own line below any progress line."""
        with self._lock:
            self._end_line()
            self._stream.write(message.rstrip("\n") + "\n")
            self._stream.flush()

    def close(self) -> None:
        """End an in-place progress line so later output starts on a fresh line."""
        with self._lock:
            self._end_line()
            self._stream.flush()

    def _end_line(self) -> None:
        if self._width:
            self._stream.write("\n")
            self._width = 0


def describe(instance: Instance, result: Result, objective: Objective) -> str:
    """The human summary: the instance, status, objective, bound, gap, time, KPIs, and the
    schedule as a table when it is small."""
    n_ops = len(instance.operations)
    lines = [
        f"instance   {instance.name}: {len(instance.jobs)} jobs, {n_ops} operations, "
        f"{len(instance.machines)} machines",
        f"solver     {result.solver}, objective {objective}",
        f"status     {result.status}" + (f" ({result.message})" if result.message else ""),
        f"objective  {_number(result.objective)}   bound {_number(result.bound)}   "
        f"gap {_percent(result.gap)}",
        f"time       {result.wall_time_s:.2f} s",
    ]
    if len(result.objectives) > 1:
        lines.append("levels     " + " > ".join(_number(v) for v in result.objectives))
    if result.schedule is None:
        return "\n".join(lines)
    lines.append(format_kpis(result.kpis))
    if len(result.schedule.assignments) <= TABLE_MAX_ROWS:
        frame = result.schedule.to_frame().sort_values(["start", "machine"], kind="stable")
        unused = [c for c in ("energy_kwh", "energy_cost", "carbon_kg") if not frame[c].any()]
        frame = frame.drop(columns=unused)
        lines += ["", frame.to_string(index=False, float_format=lambda v: f"{v:.3g}")]
    return "\n".join(lines)


def format_kpis(kpis: dict[str, Any]) -> str:
    """The key KPIs on a few lines: time, delivery, utilisation, and energy when there is any."""
    lines = [
        f"makespan   {kpis['makespan']}   total flow time {kpis['total_flow_time']}   "
        f"weighted tardiness {_number(kpis['weighted_tardiness'])}",
        f"delivery   on time {_percent(kpis['on_time_rate'])}   late jobs {kpis['n_late']}"
        f"   mean utilisation {_percent(kpis['mean_utilisation'])}",
    ]
    if kpis["total_energy"]:
        energy = f"energy     {kpis['energy']:.4g} kWh processing"
        if kpis["idle_energy"]:
            energy += f" + {kpis['idle_energy']:.4g} kWh idle"
        if kpis["energy_cost"]:
            energy += f"   cost {kpis['energy_cost']:.4g}"
        if kpis["carbon"]:
            energy += f"   carbon {kpis['carbon']:.4g} kg"
        lines.append(energy)
    return "\n".join(lines)


def _number(value: float | None) -> str:
    if value is None:
        return "-"
    return str(int(value)) if float(value).is_integer() else f"{value:.6g}"


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f}%"


def _one_line(error: BaseException) -> str:
    """The error's message on one line (OSError gives its file name with the reason)."""
    if isinstance(error, OSError) and error.filename is not None:
        text = f"{error.filename}: {error.strerror or error}"
    else:
        text = str(error) or type(error).__name__
    return " ".join(text.split())
