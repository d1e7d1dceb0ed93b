"""Typed reading of single input values (JSON fields, frame cells) with errors that name where
the value sits: `<where>: expected an integer >= 1, got -5`."""

from __future__ import annotations

import json
import math
import operator
from collections.abc import Mapping
from numbers import Integral
from typing import Any

from scheduler.core.errors import InstanceError
from scheduler.core.limits import (
    MAX_NUMBER_CHARS,
    MAX_TICKS,
    describe_limit,
    finite_number,
    quote,
    wanted,
)


class LongNumber(str):
    """The text of a JSON number longer than MAX_NUMBER_CHARS characters, kept unconverted
    (Python refuses int() of 4,300+ digits); every typed reader refuses it naming the field."""


def parse_int(text: str) -> int | LongNumber:
    """A JSON integer literal, or a LongNumber when it has too many digits to be a value."""
    return LongNumber(text) if len(text) > MAX_NUMBER_CHARS else int(text)


def show(value: Any) -> str:
    """A short JSON-like rendering of a bad value for an error message."""
    if isinstance(value, LongNumber):
        return f"a number of {len(value.lstrip('-'))} digits"
    if isinstance(value, Mapping):
        return "an object"
    if isinstance(value, int) and not isinstance(value, bool):
        return quote(value)
    try:
        text = json.dumps(value, allow_nan=True)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def as_int(value: Any, where: str, minimum: int | None = 0, maximum: int = MAX_TICKS) -> int:
    """An integer of at most `maximum` (an integral float such as 30.0 is accepted; bools are
    not)."""
    if type(value) is int:  # the common case, without the slow abstract-class checks
        result = value
    elif isinstance(value, Integral) and not isinstance(value, bool):
        result = operator.index(value)
    elif isinstance(value, float) and math.isfinite(value) and value.is_integer():
        result = int(value)
    else:
        raise InstanceError(f"{where}: expected {wanted('an integer', minimum)}, got {show(value)}")
    if minimum is not None and result < minimum:
        raise InstanceError(
            f"{where}: expected {wanted('an integer', minimum)}, got {quote(result)}"
        )
    if result > maximum:
        raise InstanceError(f"{where}: {show(value)} is above the limit {describe_limit(maximum)}")
    return result


def as_num(value: Any, where: str, minimum: float | None = 0.0) -> float:
    """A finite number as a float, at least `minimum` unless that is None."""
    if not finite_number(value):
        raise InstanceError(f"{where}: expected {wanted('a number', minimum)}, got {show(value)}")
    if minimum is not None and value < minimum:
        raise InstanceError(f"{where}: expected {wanted('a number', minimum)}, got {value}")
    return float(value)


def as_id(value: Any, where: str) -> str:
    """A non-empty string id."""
    if not isinstance(value, str) or isinstance(value, LongNumber) or not value:
        raise InstanceError(f"{where}: expected a non-empty string, got {show(value)}")
    return value


def as_list(value: Any, where: str) -> list[Any]:
    """A JSON array."""
    if not isinstance(value, list):
        raise InstanceError(f"{where}: expected a list [...], got {show(value)}")
    return value


def plain_number(value: float) -> int | float:
    """An integral float as an int (so 2.0 is written `2`), anything else unchanged."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value)
    return value
