"""Schedule CSV and summary JSON files (DESIGN section 5), written atomically."""

from __future__ import annotations

import csv
import io
import json
import math
import os
from pathlib import Path
from typing import Any

import numpy as np

from scheduler.core.errors import InstanceError
from scheduler.core.limits import MAX_ID_CHARS, MAX_TICKS, describe_limit, quote
from scheduler.core.model import Instance
from scheduler.core.result import Result
from scheduler.core.schedule import Assignment, Schedule
from scheduler.io.atomic import atomic_write
from scheduler.io.text import read_text

ID_COLUMNS = ("job", "operation", "machine")
INT_COLUMNS = ("mode", "start", "end")


def write_schedule_csv(schedule: Schedule, path: str | Path) -> Path:
    """The schedule's contract columns (with derived energy, cost, carbon) as CSV, by the csv
    module: importing pandas for it cost a command 0.4 s."""
    rows = schedule.rows()

    def write(temp: Path) -> None:
        with open(temp, "w", newline="", encoding="utf-8") as out:
            writer = csv.DictWriter(out, schedule.columns, lineterminator=os.linesep)
            writer.writeheader()
            writer.writerows(rows)

    return atomic_write(path, write)


def read_schedule_csv(instance: Instance, path: str | Path) -> Schedule:
    """A schedule from CSV, rows kept as given (a wrong machine or end is for `validate` to
    report); the derived energy columns and any others are ignored. A missing column or a
    cell that is not an integer raises InstanceError naming the line and column."""
    try:
        return _read_rows(instance, read_text(path), str(path))
    except csv.Error as error:  # a cell over the csv module's field limit, a stray NUL...
        raise InstanceError(f"{path}: not a readable CSV file ({error})") from None


def _read_rows(instance: Instance, text: str, path: str) -> Schedule:
    """The rows of schedule CSV `text` (see `read_schedule_csv`)."""
    reader = csv.DictReader(io.StringIO(text, newline=""), skipinitialspace=True)
    header = [h.strip() for h in reader.fieldnames or []]
    missing = [c for c in (*ID_COLUMNS, *INT_COLUMNS) if c not in header]
    if missing:
        raise InstanceError(
            f"{path}: missing column{'s' if len(missing) > 1 else ''} {', '.join(missing)} "
            f"(a schedule CSV has {', '.join((*ID_COLUMNS, *INT_COLUMNS))})"
        )
    reader.fieldnames = header
    rows = []
    for record in reader:
        where = f"{path}: line {reader.line_num}"
        job, operation, machine = (
            _text(record.get(c), f"{where}, column {c!r}") for c in ID_COLUMNS
        )
        mode, start, end = (_integer(record.get(c), f"{where}, column {c!r}") for c in INT_COLUMNS)
        rows.append(Assignment(job, operation, machine, mode, start, end))
    return Schedule(instance, tuple(rows))


def write_summary(result: Result, path: str | Path) -> Path:
    """`Result.summary()` as JSON; numpy values become plain numbers, NaN/inf become null."""
    text = json.dumps(json_safe(result.summary()), indent=2, allow_nan=False)
    return atomic_write(path, text + "\n")


def _text(value: str | None, where: str) -> str:
    if value is None or not value.strip():
        raise InstanceError(f"{where}: empty cell (an id is required)")
    if len(value.strip()) > MAX_ID_CHARS:
        raise InstanceError(f"{where}: an id of {len(value.strip()):,} characters, above the limit")
    return value.strip()


def _integer(value: str | None, where: str) -> int:
    """An integer cell; `12.0` (as spreadsheets write it) is accepted, `12.5` is not."""
    text = (value or "").strip()
    try:
        number = int(text)
    except ValueError:
        try:
            real = float(text)
        except ValueError:
            real = math.nan
        if not real.is_integer():
            raise InstanceError(f"{where}: expected an integer, got {quote(text)}") from None
        number = int(real)
    if abs(number) > MAX_TICKS:
        raise InstanceError(
            f"{where}: {quote(text)} is above the limit {describe_limit(MAX_TICKS)}"
        )
    return number


def json_safe(value: Any) -> Any:
    """JSON-safe copy: numpy scalars and arrays as Python values, non-finite floats as None."""
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    if isinstance(value, np.ndarray):
        return json_safe(value.tolist())
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
