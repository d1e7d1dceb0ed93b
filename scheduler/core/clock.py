"""Clock time for an instance with a `start`: ticks to ISO datetimes and back, exactly.

A tick is `time_unit_minutes` long and tick 0 is `start`. A datetime given where ticks are
expected (profile steps, windows, releases, due dates) must be a whole number of ticks from
`start`, so reading it is exact and writing the tick back gives the same instant."""

from __future__ import annotations

from datetime import datetime, timedelta
from fractions import Fraction
from typing import Any

from scheduler.core.errors import InstanceError

_MICROS_PER_MINUTE = 60_000_000


def parse_datetime(value: Any, where: str) -> datetime:
    """An ISO 8601 datetime (`2026-12-01T06:00:00`, with or without an offset), or a datetime
    as given; InstanceError naming `where` otherwise."""
    if isinstance(value, datetime):
        return value
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value.strip())
        except ValueError:
            pass
    raise InstanceError(
        f"{where}: expected an ISO 8601 datetime such as '2026-12-01T06:00:00', got {value!r}"
    )


def _micros_per_tick(time_unit_minutes: float) -> Fraction:
    return Fraction(time_unit_minutes) * _MICROS_PER_MINUTE


def to_datetime(start: datetime, time_unit_minutes: float, tick: int) -> datetime:
    """The instant of `tick` on the clock that starts at `start`."""
    micros = _micros_per_tick(time_unit_minutes) * int(tick)
    return start + timedelta(microseconds=round(micros))


def to_tick(start: datetime, time_unit_minutes: float, value: Any, where: str) -> int:
    """The tick of `value` (an ISO datetime text or a datetime); InstanceError naming `where`
    when it is not a datetime, mixes an offset with a naive `start` (or the other way round),
    or is not a whole number of ticks from `start`."""
    moment = parse_datetime(value, where)
    if (moment.utcoffset() is None) != (start.utcoffset() is None):
        has = "has no" if moment.utcoffset() is None else "has a"
        plan = "has one" if start.utcoffset() is not None else "has none"
        raise InstanceError(
            f"{where}: {moment.isoformat()} {has} UTC offset but the plan start "
            f"{start.isoformat()} {plan}"
        )
    delta = moment - start
    micros = (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
    ticks = Fraction(micros) / _micros_per_tick(time_unit_minutes)
    if ticks.denominator != 1:
        raise InstanceError(
            f"{where}: {moment.isoformat()} is not a whole number of ticks "
            f"({time_unit_minutes:g} min) from the start {start.isoformat()} "
            f"({float(ticks):g} ticks)"
        )
    return int(ticks)


def is_datetime_text(value: Any) -> bool:
    """True for a string or datetime that stands where a tick could (JSON, frame cells)."""
    return isinstance(value, (str, datetime))


def iso(moment: datetime) -> str:
    """ISO 8601 text, seconds precision unless the instant has microseconds."""
    return moment.isoformat(timespec="microseconds" if moment.microsecond else "seconds")
