"""The shop-floor execution of a plan (Numba): operations start in the plan's order, each on its
planned machine no earlier than planned (right-shift), after its predecessors (with lags) and
its machine's previous operation and setup, and never across an unavailability window (planned
maintenance or a breakdown: an operation a breakdown would interrupt restarts from scratch
after the repair, which is the same as starting then). A reworked operation runs again on its
machine right after itself; its successors wait for the rework."""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True)
def _first_fit(t, d, m, a_ptr, a_start, a_end, b_ptr, b_start, b_end):  # type: ignore[no-untyped-def]
    """The first tick >= t at which [t, t + d) meets no window of machine m in either list."""
    moved = True
    while moved:
        moved = False
        for i in range(a_ptr[m], a_ptr[m + 1]):
            if a_start[i] >= t + d:
                break
            if a_end[i] > t:
                t = a_end[i]
                moved = True
        for i in range(b_ptr[m], b_ptr[m + 1]):
            if b_start[i] >= t + d:
                break
            if b_end[i] > t:
                t = b_end[i]
                moved = True
    return t


@njit(cache=True)
def _after_setup(free, setup, m, a_ptr, a_start, a_end, b_ptr, b_start, b_end):  # type: ignore[no-untyped-def]
    """The earliest start once a window-free setup stretch of `setup` ticks fits after `free`."""
    if setup <= 0:
        return free
    return _first_fit(free, setup, m, a_ptr, a_start, a_end, b_ptr, b_start, b_end) + setup


@njit(cache=True)
def execute(  # type: ignore[no-untyped-def]
    order,
    machine,
    planned_start,
    duration,
    family,
    release,
    frozen,
    pred_ptr,
    pred_op,
    pred_lag,
    setup,
    n_machines,
    win_ptr,
    win_start,
    win_end,
    down_ptr,
    down_start,
    down_end,
    rework,
    rework_duration,
):
    """Start and end of every operation, and of its rework run (-1 when none), executing the
    plan in `order` (operations by planned start). `frozen` operations start exactly at their
    planned start (the past of a re-plan)."""
    n = order.shape[0]
    start = np.full(n, -1, dtype=np.int64)
    end = np.full(n, -1, dtype=np.int64)
    rstart = np.full(n, -1, dtype=np.int64)
    rend = np.full(n, -1, dtype=np.int64)
    free = np.zeros(n_machines, dtype=np.int64)
    last_family = np.full(n_machines, -1, dtype=np.int64)
    used = np.zeros(n_machines, dtype=np.bool_)
    for i in range(n):
        o = order[i]
        m = machine[o]
        t = max(planned_start[o], release[o])
        for k in range(pred_ptr[o], pred_ptr[o + 1]):
            p = pred_op[k]
            done = rend[p] if rend[p] >= 0 else end[p]
            t = max(t, done + pred_lag[k])
        d = duration[o]
        if frozen[o]:
            t = planned_start[o]
        elif d > 0:
            s = 0
            if used[m] and family[o] >= 0 and last_family[m] >= 0:
                s = setup[m, last_family[m], family[o]]
            ready = _after_setup(
                free[m], s, m, win_ptr, win_start, win_end, down_ptr, down_start, down_end
            )
            t = _first_fit(
                max(t, ready), d, m, win_ptr, win_start, win_end, down_ptr, down_start, down_end
            )
        start[o] = t
        end[o] = t + d
        if d == 0:
            continue
        free[m] = t + d
        used[m] = True
        last_family[m] = family[o]
        if rework[o]:
            s = setup[m, family[o], family[o]] if family[o] >= 0 else 0
            ready = _after_setup(
                t + d, s, m, win_ptr, win_start, win_end, down_ptr, down_start, down_end
            )
            r = _first_fit(
                ready,
                rework_duration[o],
                m,
                win_ptr,
                win_start,
                win_end,
                down_ptr,
                down_start,
                down_end,
            )
            rstart[o] = r
            rend[o] = r + rework_duration[o]
            free[m] = rend[o]
    return start, end, rstart, rend


@njit(cache=True)
def measure(  # type: ignore[no-untyped-def]
    start,
    end,
    rstart,
    rend,
    machine,
    power,
    op_job,
    job_due,
    n_jobs,
    n_machines,
    idle_power,
    kwh_per_kw_tick,
    tariff_sum,
    carbon_sum,
    down_ptr,
    down_start,
    down_end,
):
    """Time and energy figures of an executed plan: makespan, total tardiness, late jobs,
    processing kWh, cost and carbon (prefix sums of the per-tick tariff and intensity), idle
    kWh, busy ticks per machine and breakdown ticks within the makespan."""
    n = start.shape[0]
    makespan = 0
    completion = np.zeros(n_jobs, dtype=np.int64)
    busy = np.zeros(n_machines, dtype=np.int64)
    first = np.full(n_machines, -1, dtype=np.int64)
    last = np.zeros(n_machines, dtype=np.int64)
    energy = 0.0
    cost = 0.0
    carbon = 0.0
    for o in range(n):
        runs = 2 if rend[o] >= 0 else 1
        for r in range(runs):
            s = start[o] if r == 0 else rstart[o]
            e = end[o] if r == 0 else rend[o]
            makespan = max(makespan, e)
            completion[op_job[o]] = max(completion[op_job[o]], e)
            if e == s:
                continue
            m = machine[o]
            busy[m] += e - s
            if first[m] < 0 or s < first[m]:
                first[m] = s
            last[m] = max(last[m], e)
            k = power[o] * kwh_per_kw_tick
            energy += k * (e - s)
            if tariff_sum.shape[0] > 0:
                cost += k * (tariff_sum[e] - tariff_sum[s])
            if carbon_sum.shape[0] > 0:
                carbon += k * (carbon_sum[e] - carbon_sum[s])
    tardiness = 0
    late = 0
    with_due = 0
    for j in range(n_jobs):
        if job_due[j] >= 0:
            with_due += 1
            if completion[j] > job_due[j]:
                tardiness += completion[j] - job_due[j]
                late += 1
    idle = 0.0
    for m in range(n_machines):
        if first[m] >= 0:
            idle += idle_power[m] * kwh_per_kw_tick * max(0, last[m] - first[m] - busy[m])
    down = 0
    for m in range(n_machines):
        for i in range(down_ptr[m], down_ptr[m + 1]):
            down += max(0, min(down_end[i], makespan) - down_start[i])
    return makespan, tardiness, late, with_due, energy, cost, carbon, idle, busy, down
