"""The shared profile sums equal a tick-by-tick sum, vectorised, plain and compiled alike."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from solvers.heuristics.evaluate import step_integral as compiled_step_integral
from solvers.profiles import step_integral, step_integrals


@st.composite
def profiles(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray]:
    gaps = draw(st.lists(st.integers(1, 9), min_size=0, max_size=5))
    starts = np.concatenate(([0], np.cumsum(gaps))).astype(np.int64)
    values = np.array(draw(st.lists(st.floats(-5, 5), min_size=starts.size, max_size=starts.size)))
    return starts, values


@settings(max_examples=60, deadline=None)
@given(profiles(), st.lists(st.tuples(st.integers(0, 60), st.integers(0, 20)), max_size=6))
def test_profile_sums_equal_the_tick_by_tick_sum(
    profile: tuple[np.ndarray, np.ndarray], ranges: list[tuple[int, int]]
) -> None:
    starts, values = profile
    per_tick = [values[np.searchsorted(starts, t, side="right") - 1] for t in range(100)]
    a = np.array([s for s, _ in ranges], dtype=np.int64)
    b = a + np.array([d for _, d in ranges], dtype=np.int64)
    together = step_integrals(starts, values, a, b)
    for i, (lo, hi) in enumerate(zip(a, b, strict=True)):
        want = float(sum(per_tick[lo:hi]))
        assert np.isclose(step_integral(starts, values, int(lo), int(hi)), want, atol=1e-9)
        assert np.isclose(compiled_step_integral(starts, values, lo, hi), want, atol=1e-9)
        assert np.isclose(together[i], want, atol=1e-9)
