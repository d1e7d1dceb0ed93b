"""The disruption events a re-plan takes in (DESIGN section 6, `scheduler reschedule`): a JSON
list of objects, each with a `type`, read with errors that name the event and the field
(`events[2] (machine_down): end: expected an integer >= 1, got 0`)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scheduler.core.errors import InstanceError
from scheduler.core.model import Job
from scheduler.io.instance_json import job_from_dict
from scheduler.io.text import read_text
from scheduler.io.values import as_id, as_int, show


@dataclass(frozen=True)
class MachineDown:
    """`machine` cannot process in [start, end); an operation running on it then is redone."""

    machine: str
    start: int
    end: int


@dataclass(frozen=True)
class OperationDelay:
    """`operation` takes longer: every mode lasts `duration` ticks, or `by` ticks more."""

    operation: str
    duration: int | None = None
    by: int | None = None


@dataclass(frozen=True)
class RushOrder:
    """A new job, released at the re-plan time at the earliest."""

    job: Job


@dataclass(frozen=True)
class Redo:
    """`operation` failed inspection: a copy of it runs after it, before its successors."""

    operation: str


@dataclass(frozen=True)
class CancelJob:
    """`job` is cancelled: its operations not yet done are dropped (a running one stops)."""

    job: str


Event = MachineDown | OperationDelay | RushOrder | Redo | CancelJob

# type -> (class, required keys, optional keys)
KINDS: dict[str, tuple[type, tuple[str, ...], tuple[str, ...]]] = {
    "machine_down": (MachineDown, ("machine", "start", "end"), ()),
    "operation_delay": (OperationDelay, ("operation",), ("duration", "by")),
    "rush_order": (RushOrder, ("job",), ()),
    "redo": (Redo, ("operation",), ()),
    "cancel_job": (CancelJob, ("job",), ()),
}


def read_events(source: str | Path | Sequence[Any]) -> tuple[Event, ...]:
    """Events from a JSON file path, a JSON text, or an already parsed list of objects (event
    objects pass through); InstanceError names the event index and the field."""
    if isinstance(source, Path) or (isinstance(source, str) and source.lstrip()[:1] != "["):
        text, label = read_text(source), str(source)
        source = _loads(text, label)
    elif isinstance(source, str):
        source = _loads(source, "events")
    if not isinstance(source, Sequence) or isinstance(source, (str, bytes)):
        raise InstanceError(f"events: expected a list of event objects, got {show(source)}")
    return tuple(_event(value, i) for i, value in enumerate(source))


def _loads(text: str, label: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InstanceError(
            f"{label}: invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}"
        ) from None


def _event(value: Any, index: int) -> Event:
    """One event from its JSON object (or an Event, returned as it is)."""
    if isinstance(value, (MachineDown, OperationDelay, RushOrder, Redo, CancelJob)):
        return value
    where = f"events[{index}]"
    if not isinstance(value, Mapping):
        raise InstanceError(f"{where}: expected an object with a 'type', got {show(value)}")
    kind = value.get("type")
    if kind not in KINDS:
        raise InstanceError(f"{where}: type: expected one of {', '.join(KINDS)}, got {show(kind)}")
    where = f"{where} ({kind})"
    cls, required, optional = KINDS[kind]
    for key in value:
        if key != "type" and key not in required + optional:
            allowed = ", ".join(("type", *required, *optional))
            raise InstanceError(f"{where}: unknown key {key!r}; allowed keys: {allowed}")
    for key in required:
        if value.get(key) is None:
            raise InstanceError(f"{where}: missing required key {key!r}")
    if cls is MachineDown:
        start = as_int(value["start"], f"{where}: start")
        end = as_int(value["end"], f"{where}: end")
        if end <= start:
            raise InstanceError(f"{where}: end: {end} must be after start {start}")
        return MachineDown(as_id(value["machine"], f"{where}: machine"), start, end)
    if cls is OperationDelay:
        given = [key for key in ("duration", "by") if value.get(key) is not None]
        if len(given) != 1:
            raise InstanceError(f"{where}: give exactly one of 'duration' and 'by'")
        duration, by = value.get("duration"), value.get("by")
        return OperationDelay(
            as_id(value["operation"], f"{where}: operation"),
            duration=None if duration is None else as_int(duration, f"{where}: duration", 1),
            by=None if by is None else as_int(by, f"{where}: by"),
        )
    if cls is RushOrder:
        return RushOrder(job_from_dict(value["job"], f"{where}: job"))
    if cls is Redo:
        return Redo(as_id(value["operation"], f"{where}: operation"))
    return CancelJob(as_id(value["job"], f"{where}: job"))
