"""What every sub-command shares: exit codes, the bad-input error, argument types, solver
options from `--option`, output path checks and number formatting."""

from __future__ import annotations

import argparse
import inspect
import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from scheduler.core.errors import InstanceError, SolverNotFoundError, UnsupportedFeatureError
from scheduler.core.solve import solve as solve_instance
from scheduler.io.formats import READERS

EXIT_SOLVED = 0
EXIT_VIOLATIONS = 1
EXIT_BAD_INPUT = 2
EXIT_INFEASIBLE = 3
EXIT_NO_SCHEDULE = 4
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
