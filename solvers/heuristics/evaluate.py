"""Objective terms of a decoded schedule (Numba), indexed as in `scheduler.core.terms`,
and the lexicographic comparison the search uses."""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from scheduler.core.terms import TERM_INDEX, TERMS
from solvers import profiles
from solvers.heuristics.problem import CARBON_TOL, Problem

N_TERMS = len(TERMS)
# term positions in the value arrays (Numba freezes these globals as constants)
MAKESPAN = TERM_INDEX["makespan"]
WEIGHTED_TARDINESS = TERM_INDEX["weighted_tardiness"]
TOTAL_FLOW_TIME = TERM_INDEX["total_flow_time"]
ENERGY = TERM_INDEX["energy"]
ENERGY_COST = TERM_INDEX["energy_cost"]
CARBON = TERM_INDEX["carbon"]
IDLE_ENERGY = TERM_INDEX["idle_energy"]
DEVIATION = TERM_INDEX["deviation"]
REL_EQ = 1e-9  # level values closer than this (relative) count as equal
BOUND_TOL = 1e-10  # relative slack on the `bounds` option


step_integral = njit(cache=True)(profiles.step_integral)  # the shared helper, compiled


@njit(cache=True)
def processing_carbon(p: Problem, start: np.ndarray, mode: np.ndarray) -> float:
    """Carbon (kg) of processing every placed op (mode >= 0), from the intensity steps."""
    total = 0.0
    if p.carbon_start.size == 0:
        return total
    for o in range(p.n_ops):
        k = mode[o]
        if k >= 0 and p.mode_power[k] > 0:
            s = start[o]
            area = step_integral(p.carbon_start, p.carbon_value, s, s + p.mode_duration[k])
            total += p.mode_power[k] * p.hours_per_tick * area
    return total


@njit(cache=True)
def violation(p: Problem, start: np.ndarray, end: np.ndarray, mode: np.ndarray) -> float:
    """Ticks past deadlines and the given horizon, plus `carbon_violation`; 0 when every hard
    limit is met."""
    total = 0.0
    for o in range(p.n_ops):
        total += max(0, end[o] - p.op_deadline[o])
    return total + carbon_violation(p, start, mode)


@njit(cache=True)
def carbon_violation(p: Problem, start: np.ndarray, mode: np.ndarray) -> float:
    """The carbon over its cap scaled to ticks (the relative excess times the horizon)."""
    if math.isnan(p.carbon_cap):
        return 0.0
    excess = processing_carbon(p, start, mode) - p.carbon_cap
    if excess > CARBON_TOL * max(1.0, p.carbon_cap):
        return excess / max(p.carbon_cap, 1e-9) * p.horizon
    return 0.0


@njit(cache=True)
def terms(p: Problem, start: np.ndarray, mode: np.ndarray, out: np.ndarray) -> None:
    """Fill out[:N_TERMS] with the term values of the schedule (start, global mode) per op."""
    out[:] = 0.0
    first = np.full(p.n_machines, -1, dtype=np.int64)
    last = np.zeros(p.n_machines, dtype=np.int64)
    busy = np.zeros(p.n_machines, dtype=np.int64)
    for j in range(p.n_jobs):
        done = -1
        for o in range(p.job_op_ptr[j], p.job_op_ptr[j + 1]):
            done = max(done, start[o] + p.mode_duration[mode[o]])
        if done < 0:
            continue
        out[MAKESPAN] = max(out[MAKESPAN], float(done))
        if p.job_due[j] >= 0:
            out[WEIGHTED_TARDINESS] += p.job_weight[j] * max(0, done - p.job_due[j])
        out[TOTAL_FLOW_TIME] += done - p.job_release[j]
    for o in range(p.n_ops):
        k = mode[o]
        s = start[o]
        e = s + p.mode_duration[k]
        out[ENERGY] += p.mode_kwh[k]
        if p.tariff_start.size > 0 and p.mode_power[k] > 0:
            area = step_integral(p.tariff_start, p.tariff_value, s, e)
            out[ENERGY_COST] += p.mode_power[k] * p.hours_per_tick * area
        m = p.mode_machine[k]
        first[m] = s if first[m] < 0 else min(first[m], s)
        last[m] = max(last[m], e)
        busy[m] += e - s
        if p.ref_start[o] >= 0:  # scheduler.core.kpi.stability_kpis: shift + machine change
            out[DEVIATION] += abs(s - p.ref_start[o])
            if m != p.ref_machine[o]:
                out[DEVIATION] += p.ref_cost[o]
    out[CARBON] = processing_carbon(p, start, mode)
    for m in range(p.n_machines):
        if first[m] >= 0:
            idle = last[m] - first[m] - busy[m]
            out[IDLE_ENERGY] += p.idle_power[m] * max(0, idle) * p.hours_per_tick


@njit(cache=True)
def score(
    p: Problem,
    start: np.ndarray,
    mode: np.ndarray,
    levels: np.ndarray,
    caps: np.ndarray,
    term_buf: np.ndarray,
    out: np.ndarray,
) -> float:
    """Level values of the schedule into out[l] (sum of levels[l, i] x term i); returns how
    far the terms exceed their caps (the `bounds` option, inf: none), each excess relative to
    its cap and scaled to ticks by the horizon like the carbon cap's."""
    terms(p, start, mode, term_buf)
    for lv in range(levels.shape[0]):
        total = 0.0
        for i in range(levels.shape[1]):
            if levels[lv, i] != 0.0:
                total += levels[lv, i] * term_buf[i]
        out[lv] = total
    excess = 0.0
    for i in range(N_TERMS):
        over = term_buf[i] - caps[i]
        if over > BOUND_TOL * max(1.0, abs(caps[i])):
            excess += over / max(abs(caps[i]), 1.0) * p.horizon
    return excess


@njit(cache=True)
def relative_delta(viol_new: float, new: np.ndarray, viol_old: float, old: np.ndarray) -> float:
    """Relative change from (viol_old, old) to (viol_new, new) at the first component that
    differs: violation first, then each level; < 0 is better, 0 equal."""
    if viol_new != viol_old:
        if math.isinf(viol_new) or math.isinf(viol_old):
            return math.inf if math.isinf(viol_new) else -math.inf
        return (viol_new - viol_old) / max(viol_old, 1.0)
    for lv in range(new.size):
        scale = max(abs(old[lv]), 1e-9)
        delta = (new[lv] - old[lv]) / scale
        if abs(delta) > REL_EQ:
            return delta
    return 0.0
