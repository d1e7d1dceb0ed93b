"""What every sub-command shares: exit codes, the bad-input error, argument types, the flags
of a command that runs a solver, solver options from `--option`, output path checks, number
formatting, and the clock and signals of a command (its time limit counts from its start;
Ctrl-C and SIGTERM end a solve cleanly)."""

from __future__ import annotations

import argparse
import inspect
import json
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar, cast

from scheduler.core.errors import InstanceError, SolverNotFoundError, UnsupportedFeatureError
from scheduler.core.solve import solve as solve_instance
from scheduler.io.formats import READERS

EXIT_SOLVED = 0
EXIT_VIOLATIONS = 1
EXIT_BAD_INPUT = 2
EXIT_INFEASIBLE = 3
EXIT_NO_SCHEDULE = 4
MAX_STARTUP_S = 60.0  # a longer process age is not a start-up (a reused process): ignored
WRITE_S_PER_OP = 2e-5  # seconds kept back from a solve for writing outputs, per operation
GANTT_S, GANTT_S_PER_OP = 0.3, 3e-5  # and for a Gantt chart (measured in-process: ta41
# 0.16 s, a 1,500-operation plant 0.35 s, the 2,000-job capped plant 0.76 s)
REPORT_S, REPORT_S_PER_OP = 1.3, 5e-5  # and for the HTML report, an explanation and four
# charts (in `solve`: ft06 0.61 s, ta41 0.68 s, 1,500 operations 1.37-1.50 s, 2,000 1.39 s,
# 5,000 1.56 s, the 2,000-job capped plant 2.0 s beside its Gantt chart, whose drawing it
# reuses; 1 s plus 1.5e-4 s an operation before was 2 s too much there and 0.2 s too little
# at 1,500)
SOLVE_FLOOR_S, SOLVE_FLOOR_SHARE = 1.0, 0.5  # where the outputs' cost leaves the solve less,
# it may still take this long, or this share of what reading left if more, as long as the
# command's end stays within GRACE_USE of the limit's grace (ta41 at 2 s with a report:
# 1 s of search and 2.5 s in all, against 2.1 s with 0.34 s of search and a makespan 24 %
# longer)
GRACE_USE = 0.75
MIN_SOLVE_S, MIN_SOLVE_S_PER_OP = 0.25, 1.5e-4  # and in any case about what a first schedule
# takes, up to that floor (while the kernels load, the list schedule: a capped
# 1,500-operation plant at 2 s with a report got one after 0.46 s of solve, a 2,000-operation
# one none with 0.35 s and a 5,000-operation one none with 0.6 s; the 1 s floor alone ended
# the first at 3.3-3.45 s, past the 1 s grace)
SIGNAL_POLL_S = 0.1  # how long the main thread waits at a time for a solve in its worker
T = TypeVar("T")
# the facade's own parameters, which `--option` must not pass as solver options
RESERVED_OPTIONS = frozenset(inspect.signature(solve_instance).parameters) - {"options"}


class BadInput(Exception):
    """A user error the command line finds itself (bad --option, unwritable output path)."""


USER_ERRORS = (BadInput, InstanceError, UnsupportedFeatureError, SolverNotFoundError, OSError)


def positive(kind: Callable[[str], float]) -> Callable[[str], float]:
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


def add_format(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--format",
        choices=tuple(READERS),
        help="instance format (default: from the suffix: .json, .jss/.txt, .fjs)",
    )


def add_run_options(
    parser: argparse.ArgumentParser,
    *,
    time_limit_help: str,
    workers_help: str,
    warm_start_help: str | None = None,
    option_help: str | None = None,
) -> None:
    """The flags of a command that runs a solver, in this order: `--time-limit`, `--workers`,
    `--seed`, and where their help is given `--warm-start` and `--option` (as read by
    `solver_options`); one definition so the commands parse them alike."""
    parser.add_argument("--time-limit", type=positive(float), metavar="S", help=time_limit_help)
    parser.add_argument("--workers", type=positive(int), metavar="N", help=workers_help)
    parser.add_argument("--seed", type=int, default=0, metavar="N", help="random seed")
    if warm_start_help is not None:
        parser.add_argument(
            "--warm-start",
            action=argparse.BooleanOptionalAction,
            default=True,
            help=warm_start_help,
        )
    if option_help is not None:
        parser.add_argument(
            "--option", action="append", default=[], metavar="KEY=VALUE", help=option_help
        )


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


def check_outputs(instance_path: Path, outputs: list[Path], image: Path | None = None) -> None:
    """Refuse outputs that would overwrite the instance or each other, or whose folder does
    not exist, and an `image` output (one of `outputs`) of a type matplotlib cannot write,
    before any time is spent solving."""
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
    if image is not None:
        image_format_check(image)


def image_format_check(path: Path) -> None:
    """Refuse a Gantt file type matplotlib cannot write (plot is imported only when asked)."""
    from scheduler.report.plot import image_format

    try:
        image_format(path)
    except ValueError as error:
        raise BadInput(str(error)) from None


def percent(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f}%"


def one_line(error: BaseException) -> str:
    """The error's message on one line (OSError gives its file name with the reason)."""
    if isinstance(error, OSError) and error.filename is not None:
        text = f"{error.filename}: {error.strerror or error}"
    else:
        text = str(error) or type(error).__name__
    return " ".join(text.split())


@contextmanager
def stop_on_signals(stop: threading.Event) -> Iterator[None]:
    """Within the block, SIGINT (Ctrl-C) and SIGTERM set `stop`, so a running solve ends with
    its best schedule; a second signal interrupts at once (KeyboardInterrupt). Signal handlers
    belong to the main thread: elsewhere the block changes nothing."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: object) -> None:
        if stop.is_set():
            raise KeyboardInterrupt
        stop.set()

    previous = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for s, old in previous.items():
            signal.signal(s, old)


def run_interruptibly(work: Callable[[], T]) -> T:
    """`work()` in a worker thread while the main thread waits in short slices, so that the
    signal handlers of `stop_on_signals` run at once even when `work` is inside a solver."""
    outcome: dict[str, Any] = {}

    def target() -> None:
        try:
            outcome["value"] = work()
        except BaseException as error:  # re-raised in the main thread
            outcome["error"] = error

    worker = threading.Thread(target=target, name="solve", daemon=True)
    worker.start()
    while worker.is_alive():
        worker.join(SIGNAL_POLL_S)
    if "error" in outcome:
        raise outcome["error"]
    return cast(T, outcome["value"])


def process_started() -> float:
    """The perf_counter reading at which this process started (from /proc on Linux, so the
    interpreter's start and the imports count against a command's time limit); now when the
    platform does not tell."""
    try:
        with open("/proc/self/stat") as stat, open("/proc/uptime") as uptime:
            ticks = int(stat.read().rsplit(")", 1)[1].split()[19])  # field 22: start time
            age = float(uptime.read().split()[0]) - ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return time.perf_counter()
    return time.perf_counter() - (age if 0.0 < age <= MAX_STARTUP_S else 0.0)


def output_reserve(
    n_ops: int,
    left: float | None,
    gantt: bool = False,
    report: bool = False,
    grace: float = 0.0,
) -> float:
    """Seconds kept back from the solve for writing the outputs of a plan of `n_ops`
    operations (the CSV and summary; a Gantt chart and the HTML report when asked), of what
    is `left` of the time limit (None: no limit). Where they leave the solve less than
    SOLVE_FLOOR_S or SOLVE_FLOOR_SHARE of `left`, the larger, the solve still gets as much of
    that as keeps the command's end within GRACE_USE of the limit's `grace`, and at least
    MIN_SOLVE_S plus MIN_SOLVE_S_PER_OP per operation (up to that floor): with a report the
    2,000-job plant's 10 s solve used to end 3.7 s past the limit, ta41's 2 s solve 1.4 s
    past it."""
    need = WRITE_S_PER_OP * n_ops
    need += (GANTT_S + GANTT_S_PER_OP * n_ops) if gantt else 0.0
    need += (REPORT_S + REPORT_S_PER_OP * n_ops) if report else 0.0
    if left is None:
        return need
    floor = max(SOLVE_FLOOR_S, SOLVE_FLOOR_SHARE * left)
    first = min(floor, MIN_SOLVE_S + MIN_SOLVE_S_PER_OP * n_ops)
    solve = max(left - need, min(floor, left + GRACE_USE * grace - need), first)
    return min(need, max(0.0, left - solve))


def promise_grace(time_limit: float) -> float:
    """The slack a time limit's promise allows past it: max(1 s, 10 %)."""
    return max(1.0, 0.1 * time_limit)


def time_left(time_limit: float | None, started: float, reserve: float = 0.0) -> float | None:
    """What is left of the command's `--time-limit`, counted from `started` (when the command
    began, perf_counter seconds), less `reserve` seconds kept for writing the outputs."""
    if time_limit is None:
        return None
    return max(0.0, time_limit - (time.perf_counter() - started) - reserve)
