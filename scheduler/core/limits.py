"""The one table of input limits (DESIGN section 8): every number, text and file an instance
holds is bounded here, so that a placeholder such as 1e300 or a 5,000-digit integer is refused
with exit 2 naming the field, never a traceback, an overflow or runaway memory.

Read by `scheduler.core.checks` (every Instance, however built) and the readers in
`scheduler.io` (what must be refused before an Instance exists: file size, nesting, digits)."""

from __future__ import annotations

import math
from numbers import Real
from typing import Any

# Ticks: durations, lags, setups, releases, due dates, deadlines, horizons, window ends,
# profile step starts and periods. CP-SAT keeps int64 domains and sums many of them (a
# makespan, a sum of weighted completions over thousands of jobs); Numba kernels add them in
# int64; 2**40 (1.1e12: 35,000 years in seconds) leaves 2**23 of headroom for those sums.
MAX_TICKS = 2**40
# Integer amounts: resource capacities and demands (summed over operations by `cumulative`).
MAX_AMOUNT = 2**40
# Real quantities: power (kW) of a mode or an idle machine, tariff (currency per kWh), carbon
# intensity (kg per kWh), job weight. 1e6 kW is a gigawatt; products with ticks stay finite.
MAX_QUANTITY = 1e6
# Caps (power_cap_kw, carbon_cap_kg): any finite number >= 0 is taken; a cap that cannot bind
# (above what every operation together can draw or emit) is treated as absent at compile time.
# Length of one tick in minutes: from 60 microseconds to a week.
MIN_TIME_UNIT_MINUTES = 1e-6
MAX_TIME_UNIT_MINUTES = 1e4
# Text: ids, families and names; longer ones are refused, and messages quote a prefix.
MAX_ID_CHARS = 1_000
QUOTE_CHARS = 60
# Files: the size of an instance or schedule file, the nesting of JSON, the digits of a number.
MAX_FILE_BYTES = 2**26  # 64 MiB: a 20,000-operation plant is about 5 MB of JSON
MAX_JSON_DEPTH = 64  # the format itself nests 7 levels deep
MAX_NUMBER_CHARS = 40  # digits of one JSON number (2**40 has 13; 1e300 as an integer has 301)
# A given horizon up to this many ticks is kept; a longer one is clipped to the useful horizon
# (`scheduler.core.compile.useful_horizon`), so work follows the problem, not the tick count.
HORIZON_KEPT = 2**16
# Step profiles after unrolling a periodic one over the span a schedule can use.
MAX_PROFILE_STEPS = 2_000_000


def cut(text: str) -> str:
    """`text` cut to a bounded prefix (marked by `...`), for error messages."""
    return text if len(text) <= QUOTE_CHARS else text[: QUOTE_CHARS - 3] + "..."


def quote(value: Any) -> str:
    """`repr(value)` cut to a bounded prefix, for error messages that name a user's value."""
    if isinstance(value, str):
        return repr(cut(value)) if len(value) > QUOTE_CHARS else repr(value)
    if isinstance(value, int) and abs(value) >= 10**QUOTE_CHARS:  # (str() refuses 4,300+ digits)
        return f"an integer of about {value.bit_length() * math.log10(2):.0f} digits"
    return cut(repr(value))


def finite_number(value: Any) -> bool:
    """Whether `value` is a finite real number (a bool is not). Plain int and float are
    tested first, without the abstract-class checks that cost most of reading a large
    instance."""
    plain = type(value) in (int, float)
    return (plain or (isinstance(value, Real) and not isinstance(value, bool))) and bool(
        math.isfinite(value)
    )


def wanted(kind: str, minimum: float | None, unbounded: str | None = None) -> str:
    """What a number check wanted, for its message: `kind >= minimum`, or `unbounded` (else
    `kind`) without a minimum. Built only on failure: reading a large instance checks every
    field."""
    if minimum is None:
        return unbounded or kind
    return f"{kind} >= {minimum}" if isinstance(minimum, int) else f"{kind} >= {minimum:g}"


def describe_limit(limit: float) -> str:
    """A limit as people read it: 2**40 as `2^40`, 1e6 as `1e+06`."""
    if isinstance(limit, int) and limit > 1 and limit & (limit - 1) == 0:
        return f"2^{limit.bit_length() - 1}"
    return f"{limit:g}"
