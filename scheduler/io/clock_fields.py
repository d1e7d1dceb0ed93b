"""ISO datetimes where the instance formats take ticks: with a `start`, the horizon,
unavailability windows, profile step starts and job (and operation) releases, due dates and
deadlines may be given as datetimes; they become ticks before the format is read, exactly (a
datetime that is not a whole number of ticks from `start` is refused, naming the field)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from scheduler.core.clock import is_datetime_text, parse_datetime, to_tick
from scheduler.core.errors import InstanceError

JOB_TIMES = ("release", "due", "deadline")
PROFILES = ("power_cap_kw", "tariff", "carbon_intensity")

Convert = Callable[[Any, str], Any]


def converter(start: datetime | None, unit: float) -> Convert:
    """`convert(value, where)`: the tick of a datetime value, any other value unchanged; a
    datetime without `start` is refused (it has no tick 0 to count from)."""

    def convert(value: Any, where: str) -> Any:
        if not is_datetime_text(value):
            return value
        if start is None:
            try:
                parse_datetime(value, where)
            except InstanceError:
                return value  # not a datetime: the reader names what it expected
            raise InstanceError(
                f"{where}: {str(value)!r} is a datetime, which needs the instance's 'start' "
                "(the clock instant of tick 0)"
            )
        return to_tick(start, unit, value, where)

    return convert


def ticks_from_clock(data: Mapping[str, Any], start: datetime | None, unit: float) -> Any:
    """A copy of the parsed JSON `data` with every datetime in a tick field replaced by its
    tick."""
    convert = converter(start, unit)
    out = dict(data)
    if data.get("horizon") is not None:
        out["horizon"] = convert(data["horizon"], "horizon")
    if isinstance(data.get("machines"), list):
        out["machines"] = [_machine(m, i, convert) for i, m in enumerate(data["machines"])]
    if isinstance(data.get("jobs"), list):
        out["jobs"] = [_job(j, i, convert) for i, j in enumerate(data["jobs"])]
    if isinstance(data.get("energy"), Mapping):
        out["energy"] = energy_ticks(data["energy"], convert)
    return out


def energy_ticks(energy: Mapping[str, Any], convert: Convert) -> dict[str, Any]:
    """The JSON `energy` section with datetimes in its profiles' step starts as ticks."""
    out = dict(energy)
    for key in PROFILES:
        if isinstance(energy.get(key), Mapping):
            out[key] = _profile(energy[key], f"energy.{key}", convert)
    return out


def _named(where: str, value: Any) -> str:
    ident = value.get("id") if isinstance(value, Mapping) else None
    return f"{where} {ident!r}" if isinstance(ident, str) and ident else where


def _machine(value: Any, index: int, convert: Convert) -> Any:
    if not isinstance(value, Mapping) or not isinstance(value.get("unavailable"), list):
        return value
    where = _named(f"machines[{index}]", value)
    windows = [
        [convert(w[0], f"{ww} start"), convert(w[1], f"{ww} end")]
        if isinstance(w, list) and len(w) == 2
        else w
        for k, w in enumerate(value["unavailable"])
        for ww in [f"{where}: unavailable[{k}]"]
    ]
    return {**value, "unavailable": windows}


def _times(value: Mapping[str, Any], where: str, convert: Convert) -> dict[str, Any]:
    return {
        k: convert(v, f"{where}: {k}") if k in JOB_TIMES and v is not None else v
        for k, v in value.items()
    }


def _job(value: Any, index: int, convert: Convert) -> Any:
    if not isinstance(value, Mapping):
        return value
    where = _named(f"jobs[{index}]", value)
    out = _times(value, where, convert)
    if isinstance(value.get("operations"), list):
        out["operations"] = [
            _times(op, _named(f"{where}, operations[{k}]", op), convert)
            if isinstance(op, Mapping)
            else op
            for k, op in enumerate(value["operations"])
        ]
    return out


def _profile(value: Mapping[str, Any], where: str, convert: Convert) -> Any:
    if not isinstance(value.get("steps"), list):
        return value
    steps = [
        [convert(s[0], f"{where}: steps[{i}] start"), s[1]]
        if isinstance(s, (list, tuple)) and len(s) == 2
        else s
        for i, s in enumerate(value["steps"])
    ]
    return {**value, "steps": steps}
