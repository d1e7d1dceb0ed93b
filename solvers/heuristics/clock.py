"""The clock inside the Numba kernels: a decode of a large plant can take seconds, longer than
what is left of a time limit, so the decoders look at the clock every CLOCK_EVERY placements
and stop at their deadline (a perf_counter reading; NO_DEADLINE without a time limit)."""

from __future__ import annotations

import time

from numba import njit, objmode


@njit(cache=True)
def clock() -> float:
    """time.perf_counter() from inside a kernel (one call in object mode, a few microseconds;
    it takes the GIL, which is why kernels call it only every CLOCK_EVERY placements)."""
    with objmode(now="float64"):
        now = time.perf_counter()
    return now
