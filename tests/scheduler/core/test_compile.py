"""The compiled arrays: index conventions, bounds, derived horizon and profiles."""

from __future__ import annotations

import numpy as np

from scheduler.core.compile import compile_instance, dense_profile, unroll_profile
from scheduler.core.limits import HORIZON_KEPT
from scheduler.core.model import Energy, Instance, Job, Machine, Mode, Operation, Profile


def _instance(**kwargs: object) -> Instance:
    machines = (Machine("M1"), Machine("M2", unavailable=((10, 12),)))
    jobs = (
        Job(
            "A",
            (
                Operation("A1", (Mode("M1", 3), Mode("M2", 5)), family="x"),
                Operation("A2", (Mode("M2", 4),), family="y"),
            ),
            release=2,
        ),
        Job(
            "B",
            (
                Operation("B1", (Mode("M2", 2),)),
                Operation("B2", (Mode("M1", 6),), predecessors=(("B1", 3), ("A1", 0))),
            ),
            due=20,
            deadline=40,
        ),
    )
    return Instance(machines, jobs, setup_times={"M2": {"x": {"y": 7}}}, **kwargs)  # type: ignore[arg-type]


def test_compiled_arrays_follow_the_conventions() -> None:
    c = compile_instance(_instance())
    assert c.op_ids == ["A1", "A2", "B1", "B2"]
    assert list(c.job_op_ptr) == [0, 2, 4]
    assert list(c.mode_ptr) == [0, 2, 3, 4, 5]
    assert list(c.mode_machine) == [0, 1, 1, 1, 0]
    assert list(c.mode_duration) == [3, 5, 4, 2, 6]
    # successors: A1 -> A2 (chain), A1 -> B2 (cross-job), B1 -> B2 lag 3
    succ = {
        (c.op_ids[o], c.op_ids[c.succ_op[i]], int(c.succ_lag[i]))
        for o in range(c.n_ops)
        for i in range(c.succ_ptr[o], c.succ_ptr[o + 1])
    }
    assert succ == {("A1", "A2", 0), ("A1", "B2", 0), ("B1", "B2", 3)}
    assert c.setup[1, c.family_ids.index("x"), c.family_ids.index("y")] == 7
    assert list(c.op_release) == [2, 2, 0, 0]
    assert list(c.op_deadline)[2:] == [40, 40]
    assert list(c.unav_start) == [10] and list(c.unav_end) == [12]
    order = list(c.topo_order)
    assert order.index(0) < order.index(1) and order.index(2) < order.index(3)


def test_bounds_are_critical_path_and_machine_load() -> None:
    c = compile_instance(_instance())
    # head(B2) = max(0 + 2 + 3, 2 + 3) = 5; B2 ends at 11 at the earliest
    assert c.head[3] == 5
    assert c.critical_path_bound == 11
    # M1 alone must run B2 (6); M2 alone must run A2 and B1 (4 + 2) after release 0
    assert c.machine_load_bound >= 6
    assert c.lower_bound == max(c.critical_path_bound, c.machine_load_bound)


def test_derived_horizon_fits_a_serial_schedule() -> None:
    c = compile_instance(_instance())
    assert not c.horizon_given
    assert c.horizon >= 12 + 5 + 4 + 2 + 6 + 3
    assert compile_instance(_instance(horizon=60)).horizon == 60
    assert compile_instance(_instance(horizon=HORIZON_KEPT + 10)).horizon == HORIZON_KEPT


def test_a_long_horizon_is_clipped_to_the_useful_one() -> None:
    # the latest window end 12, the longest modes 17, and per operation and one more an idle
    # stretch of L + setup 7 + lag 3, L the profiles' period (1 without one)
    assert compile_instance(_instance(horizon=10**9)).horizon == HORIZON_KEPT
    period = 100_000
    daily = Energy(tariff=Profile(((0, 0.1), (30_000, 0.2)), period=period))
    c = compile_instance(_instance(horizon=10**9, energy=daily))
    assert c.horizon == 12 + 17 + 5 * (period + 7 + 3)
    days = range(0, c.horizon, period)
    assert list(c.tariff_start) == sorted(t for d in days for t in (d, d + 30_000) if t < c.horizon)


def test_periodic_profile_unrolls_over_the_horizon() -> None:
    starts, values = unroll_profile(Profile(((0, 1.0), (3, 2.0)), period=5), 12)
    assert list(starts) == [0, 3, 5, 8, 10]
    assert list(values) == [1.0, 2.0, 1.0, 2.0, 1.0]
    dense = dense_profile(starts, values, 12)
    assert list(dense) == [1, 1, 1, 2, 2, 1, 1, 1, 2, 2, 1, 1]
    assert np.allclose(dense, [Profile(((0, 1.0), (3, 2.0)), 5).value_at(t) for t in range(12)])
