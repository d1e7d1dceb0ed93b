"""The JSON instance format of DESIGN section 4: reading with errors that name the field path
(`jobs[2] 'J3', operations[1] 'J3-2', modes[0]: duration: expected an integer >= 0, got -5`),
and writing that omits defaults, so user files survive a read/write round trip."""

from __future__ import annotations

import difflib
import functools
import json
import re
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import IO, Any

import numpy as np

from scheduler.core.bulk import gc_paused
from scheduler.core.clock import iso, parse_datetime
from scheduler.core.errors import InstanceError
from scheduler.core.limits import MAX_FILE_BYTES, MAX_JSON_DEPTH, quote
from scheduler.core.model import Energy, Instance, Job, Machine, Mode, Operation, Profile, Resource
from scheduler.io.atomic import atomic_write
from scheduler.io.clock_fields import ticks_from_clock
from scheduler.io.text import decode, read_text
from scheduler.io.values import as_id, as_int, as_list, as_num, parse_int, plain_number, show

TOP_KEYS = (
    "name",
    "description",
    "time_unit_minutes",
    "start",
    "horizon",
    "machines",
    "resources",
    "jobs",
    "setup_times",
    "energy",
)
MACHINE_KEYS = ("id", "idle_power_kw", "unavailable")
RESOURCE_KEYS = ("id", "capacity")
JOB_KEYS = ("id", "release", "due", "deadline", "weight", "operations")
OPERATION_KEYS = ("id", "family", "predecessors", "release", "deadline", "modes")
NO_DEMANDS: MappingProxyType[str, int] = MappingProxyType({})  # shared by modes without any
MODE_KEYS = ("machine", "duration", "power_kw", "resources")
ENERGY_KEYS = ("power_cap_kw", "tariff", "carbon_intensity", "carbon_cap_kg")
PROFILE_KEYS = ("steps", "period")


# -- reading -------------------------------------------------------------------------------
@gc_paused
def read_json(source: str | Path | Mapping[str, Any] | bytes | IO[str]) -> Instance:
    """An Instance from a path, a JSON text, an open file or an already parsed dict."""
    return instance_from_dict(_parse(source))


@gc_paused
def instance_from_dict(data: Any) -> Instance:
    """An Instance from parsed JSON; InstanceError names the field path of any problem."""
    top = _fields(data, "", TOP_KEYS, ("machines", "jobs"))
    name = top.get("name", "instance")
    if not isinstance(name, str):
        raise InstanceError(f"name: expected a string, got {show(name)}")
    if not isinstance(top.get("description", ""), str):
        raise InstanceError(f"description: expected a string, got {show(top['description'])}")
    time_unit = as_num(top.get("time_unit_minutes", 1.0), "time_unit_minutes", None)
    if time_unit <= 0:
        raise InstanceError(f"time_unit_minutes: expected a number > 0, got {time_unit:g}")
    start = None if "start" not in top else parse_datetime(top["start"], "start")
    top = ticks_from_clock(top, start, time_unit)
    horizon = top.get("horizon")
    return Instance(
        machines=tuple(_machine(m, i) for i, m in enumerate(as_list(top["machines"], "machines"))),
        jobs=tuple(_job(j, i) for i, j in enumerate(as_list(top["jobs"], "jobs"))),
        name=name,
        time_unit_minutes=time_unit,
        horizon=None if horizon is None else as_int(horizon, "horizon", 1),
        resources=tuple(
            _resource(r, i) for i, r in enumerate(as_list(top.get("resources", []), "resources"))
        ),
        setup_times=MappingProxyType(_setup_times(top.get("setup_times", {}))),
        energy=energy_from_dict(top.get("energy", {}), "energy"),
        start=start,
    )


def energy_from_dict(data: Any, where: str) -> Energy:
    """The `energy` section: a power cap (number or profile), tariff, carbon intensity, cap."""
    fields = _fields(data, where, ENERGY_KEYS)
    cap = fields.get("power_cap_kw")
    if isinstance(cap, Mapping):
        cap = _profile(cap, f"{where}.power_cap_kw", 0.0)
    elif cap is not None:
        cap = as_num(cap, f"{where}: power_cap_kw")
    tariff, carbon = fields.get("tariff"), fields.get("carbon_intensity")
    carbon_cap = fields.get("carbon_cap_kg")
    return Energy(
        power_cap_kw=cap,
        tariff=None if tariff is None else _profile(tariff, f"{where}.tariff", None),
        carbon_intensity=None
        if carbon is None
        else _profile(carbon, f"{where}.carbon_intensity", 0.0),
        carbon_cap_kg=None if carbon_cap is None else as_num(carbon_cap, f"{where}: carbon_cap_kg"),
    )


def _parse(source: Any) -> Any:
    """Parsed JSON from any accepted source; file and syntax problems become InstanceError."""
    if isinstance(source, Mapping):
        return source
    if isinstance(source, (bytes, bytearray)):
        text, label = decode(bytes(source), "JSON text"), "JSON text"
    elif isinstance(source, str) and source.lstrip().startswith(("{", "[")):
        text, label = source, "JSON text"
    elif isinstance(source, (str, Path)):
        text, label = read_text(source), str(source)
    elif hasattr(source, "read"):
        text, label = source.read(), str(getattr(source, "name", "JSON stream"))
    else:
        raise InstanceError(f"expected a path, a JSON text or a dict, got {type(source).__name__}")
    _check_nesting(text, label)
    try:
        return json.loads(
            text,
            object_pairs_hook=_no_duplicates,
            parse_constant=_no_constant,
            parse_int=parse_int,
        )
    except json.JSONDecodeError as exc:
        raise InstanceError(
            f"{label}: invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}"
        ) from None
    except InstanceError as exc:
        raise InstanceError(f"{label}: {exc}") from None


_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"')  # a JSON string, escapes included
_DEPTH_STEP = np.zeros(256, dtype=np.int8)  # per byte: +1 opens an array or object, -1 closes
_DEPTH_STEP[[ord("["), ord("{")]] = 1
_DEPTH_STEP[[ord("]"), ord("}")]] = -1


def _check_nesting(text: str, label: str) -> None:
    """Refuse text over MAX_FILE_BYTES, or nesting arrays and objects deeper than
    MAX_JSON_DEPTH (the parser would recurse until RecursionError): a scan of the brackets
    outside strings, before any parsing."""
    if len(text) > MAX_FILE_BYTES:
        raise InstanceError(
            f"{label}: {len(text):,} characters, above the limit {MAX_FILE_BYTES:,}"
        )
    codes = np.frombuffer(_STRING.sub("", text).encode(), dtype=np.uint8)
    deepest = int(np.cumsum(_DEPTH_STEP[codes], dtype=np.int64).max(initial=0))
    if deepest > MAX_JSON_DEPTH:
        raise InstanceError(
            f"{label}: arrays and objects nested {deepest} deep, above the limit {MAX_JSON_DEPTH}"
        )


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A JSON object, refusing a key given twice (the parser would silently keep the last)."""
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise InstanceError(f"invalid JSON: key {quote(key)} appears twice in one object")
        out[key] = value
    return out


def _no_constant(name: str) -> Any:
    """Refuse NaN and Infinity, which are not JSON."""
    raise InstanceError(f"invalid JSON: {name} is not a JSON number")


def _fields(
    value: Any, where: str, allowed: tuple[str, ...], required: tuple[str, ...] = ()
) -> dict[str, Any]:
    """A JSON object with only `allowed` keys and every `required` one; null means absent."""
    place = where or "top level"
    if type(value) is not dict or not value.keys() <= _key_set(allowed):  # else quick: all known
        if not isinstance(value, Mapping):
            raise InstanceError(f"{place}: expected an object {{...}}, got {show(value)}")
        for key in value:
            if key not in allowed:
                close = difflib.get_close_matches(str(key), allowed, n=1) if len(key) < 100 else []
                hint = f" (did you mean {quote(close[0])}?)" if close else ""
                raise InstanceError(
                    f"{place}: unknown key {quote(key)}{hint}; allowed keys: {', '.join(allowed)}"
                )
    for key in required:
        if value.get(key) is None:
            raise InstanceError(f"{place}: missing required key {quote(key)}")
    if type(value) is dict and not any(v is None for v in value.values()):
        return value  # the caller's own dict: the readers must only read the fields
    return {k: v for k, v in value.items() if v is not None}


@functools.cache
def _key_set(keys: tuple[str, ...]) -> frozenset[str]:
    """The allowed keys as a set, made once per tuple."""
    return frozenset(keys)


def _item(where: str, key: str, index: int, ident: Any = None) -> str:
    """The path of list item `key[index]`, with its id when it has a usable one."""
    base = f"{where}, {key}[{index}]" if where else f"{key}[{index}]"
    return f"{base} {quote(ident)}" if isinstance(ident, str) and ident else base


def _ident(value: Any) -> Any:
    return value.get("id") if type(value) is dict or isinstance(value, Mapping) else None


def _machine(value: Any, index: int) -> Machine:
    where = _item("", "machines", index, _ident(value))
    fields = _fields(value, where, MACHINE_KEYS, ("id",))
    windows = []
    for k, window in enumerate(as_list(fields.get("unavailable", []), f"{where}: unavailable")):
        ww = f"{where}: unavailable[{k}]"
        if not isinstance(window, list) or len(window) != 2:
            raise InstanceError(f"{ww}: expected [start, end], got {show(window)}")
        windows.append((as_int(window[0], f"{ww} start"), as_int(window[1], f"{ww} end")))
    return Machine(
        id=as_id(fields["id"], f"{where}: id"),
        idle_power_kw=as_num(fields.get("idle_power_kw", 0.0), f"{where}: idle_power_kw"),
        unavailable=tuple(windows),
    )


def _resource(value: Any, index: int) -> Resource:
    where = _item("", "resources", index, _ident(value))
    fields = _fields(value, where, RESOURCE_KEYS, ("id", "capacity"))
    return Resource(
        id=as_id(fields["id"], f"{where}: id"),
        capacity=as_int(fields["capacity"], f"{where}: capacity"),
    )


def _job(value: Any, index: int) -> Job:
    return job_from_dict(value, _item("", "jobs", index, _ident(value)))


def job_from_dict(value: Any, where: str) -> Job:
    """A job from its JSON object (an entry of `jobs`); errors start with `where`."""
    fields = _fields(value, where, JOB_KEYS, ("id", "operations"))
    ops = as_list(fields["operations"], f"{where}: operations")
    due, deadline = fields.get("due"), fields.get("deadline")
    return Job(
        id=as_id(fields["id"], f"{where}: id"),
        operations=tuple(_operation(op, where, k) for k, op in enumerate(ops)),
        release=as_int(fields.get("release", 0), f"{where}: release"),
        due=None if due is None else as_int(due, f"{where}: due"),
        deadline=None if deadline is None else as_int(deadline, f"{where}: deadline"),
        weight=as_num(fields.get("weight", 1.0), f"{where}: weight"),
    )


def _operation(value: Any, job_where: str, index: int) -> Operation:
    where = _item(job_where, "operations", index, _ident(value))
    fields = _fields(value, where, OPERATION_KEYS, ("id", "modes"))
    family = fields.get("family")
    if family is not None:
        family = as_id(family, f"{where}: family")
    preds = fields.get("predecessors")
    modes = as_list(fields["modes"], f"{where}: modes")
    deadline = fields.get("deadline")
    return Operation(
        id=as_id(fields["id"], f"{where}: id"),
        modes=tuple(_mode(m, _item(where, "modes", k)) for k, m in enumerate(modes)),
        family=family,
        predecessors=None
        if preds is None
        else tuple(
            _predecessor(p, f"{where}: predecessors[{k}]")
            for k, p in enumerate(as_list(preds, f"{where}: predecessors"))
        ),
        release=as_int(fields.get("release", 0), f"{where}: release"),
        deadline=None if deadline is None else as_int(deadline, f"{where}: deadline"),
    )


def _predecessor(value: Any, where: str) -> tuple[str, int]:
    """`"OP"` or `["OP", lag]`."""
    if isinstance(value, str):
        return as_id(value, where), 0
    if not isinstance(value, list) or len(value) != 2:
        raise InstanceError(f'{where}: expected "OP" or ["OP", lag], got {show(value)}')
    return as_id(value[0], f"{where} operation"), as_int(value[1], f"{where} lag")


def _mode(value: Any, where: str) -> Mode:
    fields = _fields(value, where, MODE_KEYS, ("machine", "duration"))
    demands = fields.get("resources", {})
    if type(demands) is not dict and not isinstance(demands, Mapping):
        raise InstanceError(f"{where}: resources: expected an object {{id: amount}}")
    return Mode(
        machine=as_id(fields["machine"], f"{where}: machine"),
        duration=as_int(fields["duration"], f"{where}: duration"),
        power_kw=as_num(fields.get("power_kw", 0.0), f"{where}: power_kw"),
        resources=MappingProxyType(
            {r: as_int(q, f"{where}: resources[{quote(r)}]") for r, q in demands.items()}
        )
        if demands
        else NO_DEMANDS,
    )


def _setup_times(value: Any) -> dict[str, dict[str, dict[str, int]]]:
    """`{machine: {from_family: {to_family: ticks}}}`."""
    where = "setup_times"
    if not isinstance(value, Mapping):
        raise InstanceError(f"{where}: expected an object {{machine: {{from: {{to: ticks}}}}}}")
    table: dict[str, dict[str, dict[str, int]]] = {}
    for machine, rows in value.items():
        mw = f"{where}[{quote(machine)}]"
        if not isinstance(rows, Mapping):
            raise InstanceError(f"{mw}: expected an object {{from_family: {{to_family: ticks}}}}")
        table[machine] = {}
        for before, row in rows.items():
            rw = f"{mw}[{quote(before)}]"
            if not isinstance(row, Mapping):
                raise InstanceError(f"{rw}: expected an object {{to_family: ticks}}")
            table[machine][before] = {
                after: as_int(ticks, f"{rw}[{quote(after)}]") for after, ticks in row.items()
            }
    return table


def _profile(value: Any, where: str, minimum: float | None) -> Profile:
    """`{"steps": [[start, value], ...], "period": P}`; order is checked by the Instance."""
    fields = _fields(value, where, PROFILE_KEYS, ("steps",))
    steps = []
    for i, step in enumerate(as_list(fields["steps"], f"{where}: steps")):
        sw = f"{where}: steps[{i}]"
        if not isinstance(step, list) or len(step) != 2:
            raise InstanceError(f"{sw}: expected [start_tick, value], got {show(step)}")
        steps.append((as_int(step[0], f"{sw} start"), as_num(step[1], f"{sw} value", minimum)))
    period = fields.get("period")
    return Profile(tuple(steps), None if period is None else as_int(period, f"{where}: period", 1))


# -- writing -------------------------------------------------------------------------------
def instance_to_dict(inst: Instance) -> dict[str, Any]:
    """The JSON form of `inst`, leaving out every field equal to its default."""
    out: dict[str, Any] = {}
    if inst.name != "instance":
        out["name"] = inst.name
    if inst.time_unit_minutes != 1:
        out["time_unit_minutes"] = plain_number(inst.time_unit_minutes)
    if inst.start is not None:
        out["start"] = iso(inst.start)
    if inst.horizon is not None:
        out["horizon"] = inst.horizon
    out["machines"] = [_machine_dict(m) for m in inst.machines]
    if inst.resources:
        out["resources"] = [{"id": r.id, "capacity": r.capacity} for r in inst.resources]
    out["jobs"] = [_job_dict(j) for j in inst.jobs]
    if inst.setup_times:
        out["setup_times"] = {
            m: {a: dict(row) for a, row in table.items()} for m, table in inst.setup_times.items()
        }
    energy = _energy_dict(inst.energy)
    if energy:
        out["energy"] = energy
    return out


def write_json(inst: Instance, path: str | Path) -> Path:
    """Write `inst` as JSON (atomically) and return the path."""
    return atomic_write(path, json.dumps(instance_to_dict(inst), indent=2) + "\n")


def _machine_dict(machine: Machine) -> dict[str, Any]:
    out: dict[str, Any] = {"id": machine.id}
    if machine.idle_power_kw:
        out["idle_power_kw"] = plain_number(machine.idle_power_kw)
    if machine.unavailable:
        out["unavailable"] = [[s, e] for s, e in machine.unavailable]
    return out


def _job_dict(job: Job) -> dict[str, Any]:
    out: dict[str, Any] = {"id": job.id}
    if job.release:
        out["release"] = job.release
    if job.due is not None:
        out["due"] = job.due
    if job.deadline is not None:
        out["deadline"] = job.deadline
    if job.weight != 1:
        out["weight"] = plain_number(job.weight)
    out["operations"] = [_operation_dict(op) for op in job.operations]
    return out


def _operation_dict(op: Operation) -> dict[str, Any]:
    out: dict[str, Any] = {"id": op.id}
    if op.family is not None:
        out["family"] = op.family
    if op.predecessors is not None:
        out["predecessors"] = [p if lag == 0 else [p, lag] for p, lag in op.predecessors]
    if op.release:
        out["release"] = op.release
    if op.deadline is not None:
        out["deadline"] = op.deadline
    out["modes"] = [_mode_dict(m) for m in op.modes]
    return out


def _mode_dict(mode: Mode) -> dict[str, Any]:
    out: dict[str, Any] = {"machine": mode.machine, "duration": mode.duration}
    if mode.power_kw:
        out["power_kw"] = plain_number(mode.power_kw)
    if mode.resources:
        out["resources"] = dict(mode.resources)
    return out


def _energy_dict(energy: Energy) -> dict[str, Any]:
    out: dict[str, Any] = {}
    cap = energy.power_cap_kw
    if cap is not None:
        if isinstance(cap, Profile):
            out["power_cap_kw"] = profile_to_dict(cap)
        else:
            out["power_cap_kw"] = plain_number(cap)
    if energy.tariff is not None:
        out["tariff"] = profile_to_dict(energy.tariff)
    if energy.carbon_intensity is not None:
        out["carbon_intensity"] = profile_to_dict(energy.carbon_intensity)
    if energy.carbon_cap_kg is not None:
        out["carbon_cap_kg"] = plain_number(energy.carbon_cap_kg)
    return out


def profile_to_dict(profile: Profile) -> dict[str, Any]:
    """`{"steps": [[start, value], ...]}` plus `"period"` when the profile repeats."""
    out: dict[str, Any] = {"steps": [[s, plain_number(v)] for s, v in profile.steps]}
    if profile.period is not None:
        out["period"] = profile.period
    return out
