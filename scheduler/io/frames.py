"""Building an Instance from pandas DataFrames, the way MES scripts hold orders and plant data.

Frames and their columns (required in bold words, others optional):
- operations: job, operation, machine, duration, power_kw, family, and one `res:<resource>`
  column per resource giving the demand (blank or 0: none). One row per (operation, mode):
  the rows of an operation in frame order are its modes; a job's operations are in the order
  of their first row; jobs and (without a machines frame) machines in order of first row.
- jobs: job, release, due, deadline, weight (blank cells take the JSON defaults).
- precedences: predecessor, successor, lag. As in JSON, a job whose operations appear as
  successors has exactly the listed precedences instead of its chain; a row with a blank
  predecessor marks its successor as naming no predecessors.
- setups: machine, from_family, to_family, ticks.
- machines: machine, idle_power_kw.   unavailable: machine, start, end ([start, end) windows).
- resources: resource, capacity.
- energy: an `Energy`, or a dict shaped like the JSON `energy` section whose profiles may also
  be `Profile` objects or frames with columns start, value.
With `start` (the clock instant of tick 0, a datetime or ISO text), the window starts and ends,
job release, due and deadline and profile step starts may be datetimes (whole ticks from it).
Cells are coerced from numpy types; ids become strings (1 and 1.0 both become "1").
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType
from typing import Any

import pandas as pd

from scheduler.core.clock import parse_datetime
from scheduler.core.errors import InstanceError
from scheduler.core.limits import quote
from scheduler.core.model import Energy, Instance, Job, Machine, Mode, Operation, Profile, Resource
from scheduler.io.clock_fields import JOB_TIMES, Convert, converter, energy_ticks
from scheduler.io.instance_json import energy_from_dict, profile_to_dict
from scheduler.io.values import as_int, as_num, show

RES_PREFIX = "res:"
_Row = tuple[str, dict[str, Any]]  # (where, cells)


@dataclass
class _Op:
    """An operation being gathered from its rows."""

    job: str
    family: str | None
    modes: list[Mode] = field(default_factory=list)


def from_frames(
    operations: pd.DataFrame,
    machines: pd.DataFrame | None = None,
    precedences: pd.DataFrame | None = None,
    setups: pd.DataFrame | None = None,
    jobs: pd.DataFrame | None = None,
    resources: pd.DataFrame | None = None,
    energy: Energy | Mapping[str, Any] | None = None,
    unavailable: pd.DataFrame | None = None,
    *,
    name: str = "instance",
    time_unit_minutes: float = 1.0,
    horizon: int | None = None,
    start: datetime | str | None = None,
) -> Instance:
    """An Instance from frames (see the module docstring for their columns)."""
    clock = None if start is None else parse_datetime(start, "start")
    convert = converter(clock, time_unit_minutes)
    unavailable = frame_ticks(unavailable, "unavailable", ("start", "end"), convert)
    jobs = frame_ticks(jobs, "jobs", JOB_TIMES, convert)
    ops, job_order, machine_order = _operations(operations)
    preds = _precedences(precedences, ops)
    job_rows = _jobs(jobs, set(job_order))
    ops_of: dict[str, list[Operation]] = {j: [] for j in job_order}
    for o, op in ops.items():
        named = tuple(preds[o]) if o in preds else None
        ops_of[op.job].append(Operation(o, tuple(op.modes), op.family, named))
    return Instance(
        machines=_machines(machines, unavailable, machine_order),
        jobs=tuple(Job(j, tuple(ops_of[j]), **job_rows.get(j, {})) for j in job_order),
        name=name,
        time_unit_minutes=time_unit_minutes,
        horizon=horizon,
        resources=tuple(
            Resource(
                _id(row["resource"], f"{w}: resource"), as_int(row["capacity"], f"{w}: capacity")
            )
            for w, row in _rows(resources, "resources", ("resource", "capacity"))
        ),
        setup_times=MappingProxyType(_setups(setups)),
        energy=_energy(energy, convert),
        start=clock,
    )


def _operations(frame: pd.DataFrame) -> tuple[dict[str, _Op], list[str], list[str]]:
    """Operations with their modes (in first-row order), job order and machine order."""
    required = ("job", "operation", "machine", "duration")
    rows = _rows(frame, "operations", required, ("power_kw", "family"), RES_PREFIX)
    ops: dict[str, _Op] = {}
    jobs: dict[str, None] = {}
    machines: dict[str, None] = {}
    for where, row in rows:
        job = _id(row["job"], f"{where}: job")
        op_id = _id(row["operation"], f"{where}: operation")
        family = None if row.get("family") is None else _id(row["family"], f"{where}: family")
        mode = Mode(
            machine=_id(row["machine"], f"{where}: machine"),
            duration=as_int(row["duration"], f"{where}: duration"),
            power_kw=as_num(_or(row.get("power_kw"), 0.0), f"{where}: power_kw"),
            resources=MappingProxyType(
                {
                    column[len(RES_PREFIX) :]: amount
                    for column, value in row.items()
                    if column.startswith(RES_PREFIX)
                    and (amount := as_int(_or(value, 0), f"{where}: {column}"))
                }
            ),
        )
        op = ops.setdefault(op_id, _Op(job, family))
        if op.job != job:
            raise InstanceError(
                f"{where}: operation {quote(op_id)} is already in job {quote(op.job)}"
            )
        if op.family != family:
            raise InstanceError(
                f"{where}: family: {quote(family or '(blank)')} differs from "
                f"{quote(op.family or '(blank)')} on an earlier row of operation {quote(op_id)} "
                "(one family per operation)"
            )
        op.modes.append(mode)
        jobs.setdefault(job)
        machines.setdefault(mode.machine)
    if not ops:
        raise InstanceError("operations frame: no rows")
    return ops, list(jobs), list(machines)


def _precedences(
    frame: pd.DataFrame | None, ops: dict[str, _Op]
) -> dict[str, list[tuple[str, int]]]:
    """Per successor, its (predecessor, lag) list; a blank predecessor adds no arc."""
    preds: dict[str, list[tuple[str, int]]] = {}
    for where, row in _rows(frame, "precedences", ("predecessor", "successor"), ("lag",)):
        succ = _id(row["successor"], f"{where}: successor")
        if succ not in ops:
            raise InstanceError(f"{where}: successor: {quote(succ)} is not in the operations frame")
        arcs = preds.setdefault(succ, [])
        if row["predecessor"] is None:
            continue
        pred = _id(row["predecessor"], f"{where}: predecessor")
        if pred not in ops:
            raise InstanceError(
                f"{where}: predecessor: {quote(pred)} is not in the operations frame"
            )
        arcs.append((pred, as_int(_or(row.get("lag"), 0), f"{where}: lag")))
    return preds


def _jobs(frame: pd.DataFrame | None, known: set[str]) -> dict[str, dict[str, Any]]:
    """Per job, the Job keyword arguments its row gives."""
    out: dict[str, dict[str, Any]] = {}
    for where, row in _rows(frame, "jobs", ("job",), ("release", "due", "deadline", "weight")):
        job = _id(row["job"], f"{where}: job")
        if job not in known:
            raise InstanceError(f"{where}: job {quote(job)} has no rows in the operations frame")
        if job in out:
            raise InstanceError(f"{where}: job {quote(job)} has a second row")
        kwargs: dict[str, Any] = {}
        for key in ("release", "due", "deadline"):
            if row.get(key) is not None:
                kwargs[key] = as_int(row[key], f"{where}: {key}")
        if row.get("weight") is not None:
            kwargs["weight"] = as_num(row["weight"], f"{where}: weight")
        out[job] = kwargs
    return out


def _machines(
    frame: pd.DataFrame | None, windows: pd.DataFrame | None, used: list[str]
) -> tuple[Machine, ...]:
    """Machines of the machines frame (or, without one, those the operations use), each with
    its idle power and its unavailability windows."""
    idle: dict[str, float] = {}
    for where, row in _rows(frame, "machines", ("machine",), ("idle_power_kw",)):
        machine = _id(row["machine"], f"{where}: machine")
        if machine in idle:
            raise InstanceError(f"{where}: machine {quote(machine)} has a second row")
        idle[machine] = as_num(_or(row.get("idle_power_kw"), 0.0), f"{where}: idle_power_kw")
    order = list(idle) if frame is not None else used
    spans: dict[str, list[tuple[int, int]]] = {m: [] for m in order}
    for where, row in _rows(windows, "unavailable", ("machine", "start", "end")):
        machine = _id(row["machine"], f"{where}: machine")
        if machine not in spans:
            raise InstanceError(f"{where}: machine: {quote(machine)} is not a known machine")
        spans[machine].append(
            (as_int(row["start"], f"{where}: start"), as_int(row["end"], f"{where}: end"))
        )
    return tuple(Machine(m, idle.get(m, 0.0), tuple(spans[m])) for m in order)


def _setups(frame: pd.DataFrame | None) -> dict[str, dict[str, dict[str, int]]]:
    """`{machine: {from_family: {to_family: ticks}}}`; a pair given twice is refused."""
    table: dict[str, dict[str, dict[str, int]]] = {}
    columns = ("machine", "from_family", "to_family", "ticks")
    for where, row in _rows(frame, "setups", columns):
        machine = _id(row["machine"], f"{where}: machine")
        before = _id(row["from_family"], f"{where}: from_family")
        after = _id(row["to_family"], f"{where}: to_family")
        cell = table.setdefault(machine, {}).setdefault(before, {})
        if after in cell:
            raise InstanceError(
                f"{where}: setup {quote(machine)} {quote(before)} -> {quote(after)} is given twice"
            )
        cell[after] = as_int(row["ticks"], f"{where}: ticks")
    return table


def _energy(energy: Energy | Mapping[str, Any] | None, convert: Convert) -> Energy:
    """An Energy as given, or parsed from a JSON-shaped dict whose profiles may be frames."""
    if energy is None:
        return Energy()
    if isinstance(energy, Energy):
        return energy
    if not isinstance(energy, Mapping):
        raise InstanceError(f"energy: expected an Energy or a dict, got {show(energy)}")
    profiles = {k: _profile_json(v, k) for k, v in energy.items()}
    return energy_from_dict(energy_ticks(profiles, convert), "energy")


def _profile_json(value: Any, key: str) -> Any:
    """A Profile or a (start, value) frame as the JSON profile dict; other values unchanged."""
    if isinstance(value, Profile):
        return profile_to_dict(value)
    if isinstance(value, pd.DataFrame):
        rows = _rows(value, f"energy {key}", ("start", "value"))
        return {"steps": [[row["start"], row["value"]] for _, row in rows]}
    return value


def _rows(
    frame: pd.DataFrame | None,
    what: str,
    required: tuple[str, ...],
    optional: tuple[str, ...] = (),
    prefix: str | None = None,
) -> list[_Row]:
    """The frame's rows as (where, {column: plain Python value or None}), after checking that
    every required column is there and no unknown one is (a typo must not drop a field)."""
    if frame is None:
        return []
    place = f"{what} frame"
    if not isinstance(frame, pd.DataFrame):
        raise InstanceError(f"{place}: expected a pandas DataFrame, got {type(frame).__name__}")
    columns = [str(c) for c in frame.columns]
    for column in required:
        if column not in columns:
            raise InstanceError(
                f"{place}: missing column {quote(column)} (it has: {', '.join(columns) or 'none'})"
            )
    allowed = required + optional
    for column in columns:
        if column not in allowed and not (prefix and column.startswith(prefix)):
            extra = f", {prefix}<id>" if prefix else ""
            raise InstanceError(
                f"{place}: unknown column {quote(column)}; allowed: {', '.join(allowed)}{extra}"
            )
    return [
        (f"{place}, row {label}", {c: _cell(v) for c, v in zip(columns, values, strict=True)})
        for label, values in zip(frame.index, frame.itertuples(index=False, name=None), strict=True)
    ]


def _cell(value: Any) -> Any:
    """A plain Python value; blanks (None, NaN, NA) become None."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def _id(value: Any, where: str) -> str:
    """An id as a string: integral numbers without a decimal point, blanks refused."""
    if value is None or isinstance(value, bool):
        raise InstanceError(f"{where}: expected an id, got {show(value)}")
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value)
    if not text:
        raise InstanceError(f"{where}: expected a non-empty id")
    return text


def _or(value: Any, default: Any) -> Any:
    return default if value is None else value


def frame_ticks(
    frame: pd.DataFrame | None, what: str, columns: tuple[str, ...], convert: Convert
) -> pd.DataFrame | None:
    """A copy of `frame` with datetime cells of `columns` as ticks (errors name the row)."""
    if frame is None or not isinstance(frame, pd.DataFrame):
        return frame
    present = [c for c in columns if c in frame.columns]
    if not present:
        return frame
    out = frame.copy()
    for column in present:
        out[column] = [
            convert(v, f"{what} frame, row {label}: {column}")
            for label, v in zip(frame.index, frame[column], strict=True)
        ]
    return out
