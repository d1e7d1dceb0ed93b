"""The time-indexed formulation: a binary x[k, t] per feasible mode k and start tick t, so
every quantity that depends on when an operation runs is exact tick by tick: machine capacity
(and unavailability windows, by leaving out the starts that would meet one), the power cap
profile, renewable resources, the tariff cost and the carbon (each start's own integral of the
profile) and the carbon cap. Setups are not modelled (refused before building). Its size grows
with the horizon, so it is refused past `max_time_vars` binaries, naming the size it would
need."""

from __future__ import annotations

from typing import Any

import numpy as np
import pyomo.environ as pyo

from scheduler.core.compile import CompiledInstance, dense_profile
from scheduler.core.errors import UnsupportedFeatureError
from solvers.milp.model import MilpModel, add_precedences
from solvers.profiles import step_integrals


def count_starts(
    c: CompiledInstance, earliest: np.ndarray, latest: np.ndarray, modes: list[list[int]]
) -> int:
    """How many binaries x[k, t] the model would have (before leaving out window starts)."""
    return int(
        sum(
            max(0, int(latest[o] - c.mode_duration[k] - earliest[o]) + 1)
            for o, ks in enumerate(modes)
            for k in ks
        )
    )


def build_time_indexed(
    c: CompiledInstance,
    earliest: np.ndarray,
    latest: np.ndarray,
    modes: list[list[int]],
    max_vars: int,
) -> MilpModel | str:
    """The model over the ticks [0, max(latest)), or why it is infeasible (an operation with
    no start that fits); UnsupportedFeatureError past `max_vars`."""
    size = count_starts(c, earliest, latest, modes)
    horizon = int(latest.max()) if c.n_ops else 0
    if size > max_vars:
        raise UnsupportedFeatureError(
            f"milp formulation=time would need {size:,} binaries x[op, mode, t] over a horizon "
            f"of {horizon:,} ticks, over the limit of {max_vars:,} (option max_time_vars); give "
            "the instance a shorter horizon or use formulation=disjunctive"
        )
    dur = c.mode_duration
    var_op, var_mode, var_start = _starts(c, earliest, latest, modes)
    var_end = var_start + dur[var_mode]
    keys = list(zip(var_mode.tolist(), var_start.tolist(), strict=True))
    m = pyo.ConcreteModel("milp_time_indexed")
    m.ops = pyo.Set(initialize=range(c.n_ops))
    m.modes = pyo.Set(initialize=[k for ks in modes for k in ks])
    m.starts = pyo.Set(initialize=keys, dimen=2)
    m.x = pyo.Var(m.starts, within=pyo.Binary)
    xs = [m.x[key] for key in keys]  # by position: quicksum over lists builds fastest

    def total(vs: np.ndarray, coefs: np.ndarray | None = None) -> Any:
        if coefs is None:
            return pyo.quicksum(xs[v] for v in vs.tolist())
        return pyo.quicksum(
            float(q) * xs[v] for v, q in zip(vs.tolist(), coefs.tolist(), strict=True)
        )

    by_op = _groups(var_op, c.n_ops)
    for o, group in enumerate(by_op):
        if group.size == 0:
            return (
                f"operation {c.op_ids[o]!r} has no start in [{earliest[o]}, {latest[o]}) whose "
                "run meets no unavailability window of its machine"
            )
    by_mode = _groups(var_mode, c.n_modes)
    m.one_start = pyo.Constraint(m.ops, rule=lambda m, o: total(by_op[o]) == 1)
    m.use = pyo.Expression(m.modes, rule=lambda m, k: total(by_mode[k]))
    m.start = pyo.Expression(m.ops, rule=lambda m, o: total(by_op[o], var_start[by_op[o]]))
    m.end = pyo.Expression(m.ops, rule=lambda m, o: total(by_op[o], var_end[by_op[o]]))
    add_precedences(m, c)

    busy = np.flatnonzero(dur[var_mode] > 0)
    cover_var = np.repeat(busy, dur[var_mode[busy]])
    offsets = np.arange(cover_var.size) - np.repeat(
        np.cumsum(dur[var_mode[busy]]) - dur[var_mode[busy]], dur[var_mode[busy]]
    )
    cover_tick = var_start[cover_var] + offsets  # each busy x covers the ticks it runs in
    machine_rows = _rows(c.mode_machine[var_mode[cover_var]] * horizon + cover_tick, cover_var)
    m.machine_ticks = pyo.Set(initialize=range(len(machine_rows)))
    m.machine_capacity = pyo.Constraint(
        m.machine_ticks, rule=lambda m, r: total(machine_rows[r]) <= 1
    )
    _add_profile_caps(m, c, total, var_mode, cover_var, cover_tick, horizon)

    hours = c.hours_per_tick
    kwh_per_tick = c.mode_power[var_mode] * hours

    def priced(starts: np.ndarray, values: np.ndarray) -> Any:
        if starts.size == 0:
            return 0.0
        coef = kwh_per_tick * step_integrals(starts, values, var_start, var_end)
        used = np.flatnonzero(coef)
        return total(used, coef[used])

    energy_cost = priced(c.tariff_start, c.tariff_value)
    carbon = priced(c.carbon_start, c.carbon_value)
    if not np.isnan(c.carbon_cap_kg) and c.carbon_start.size and not isinstance(carbon, float):
        m.carbon_cap = pyo.Constraint(expr=carbon <= float(c.carbon_cap_kg))

    def set_schedule(mode: np.ndarray, start: np.ndarray) -> None:
        for v in m.x.values():
            v.set_value(0)
        for o in range(c.n_ops):
            key = (int(mode[o]), int(start[o]))
            if key in m.starts:
                m.x[key].set_value(1)

    return MilpModel(m, modes, earliest, latest, set_schedule, energy_cost, carbon)


def _starts(
    c: CompiledInstance, earliest: np.ndarray, latest: np.ndarray, modes: list[list[int]]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(op, mode, start) of every x: each start in the op's window whose run [t, t + d) meets
    no unavailability window of the mode's machine."""
    ops, mode_list, starts = [], [], []
    for o, ks in enumerate(modes):
        for k in ks:
            d = int(c.mode_duration[k])
            ts = np.arange(int(earliest[o]), int(latest[o]) - d + 1, dtype=np.int64)
            mach = c.mode_machine[k]
            if d > 0:
                for i in range(c.unav_ptr[mach], c.unav_ptr[mach + 1]):
                    ts = ts[(ts >= c.unav_end[i]) | (ts + d <= c.unav_start[i])]
            ops.append(np.full(ts.size, o, dtype=np.int64))
            mode_list.append(np.full(ts.size, k, dtype=np.int64))
            starts.append(ts)
    empty = [np.zeros(0, dtype=np.int64)]
    return (
        np.concatenate(ops + empty),
        np.concatenate(mode_list + empty),
        np.concatenate(starts + empty),
    )


def _groups(labels: np.ndarray, n: int) -> list[np.ndarray]:
    """Indices of `labels` grouped by label 0..n-1."""
    order = np.argsort(labels, kind="stable")
    bounds = np.searchsorted(labels[order], np.arange(n + 1))
    return [order[bounds[i] : bounds[i + 1]] for i in range(n)]


def _rows(row_key: np.ndarray, var: np.ndarray, min_size: int = 2) -> list[np.ndarray]:
    """The variables grouped by row key, keeping rows with at least `min_size` of them."""
    order = np.argsort(row_key, kind="stable")
    keys, first = np.unique(row_key[order], return_index=True)
    groups = np.split(var[order], first[1:]) if keys.size else []
    return [g for g in groups if g.size >= min_size]


def _add_profile_caps(
    m: pyo.ConcreteModel,
    c: CompiledInstance,
    total: Any,
    var_mode: np.ndarray,
    cover_var: np.ndarray,
    cover_tick: np.ndarray,
    horizon: int,
) -> None:
    """The power cap at every tick and each resource's capacity at every tick, as rows only
    where the variables covering the tick could together exceed it."""
    rows: list[tuple[np.ndarray, np.ndarray, float]] = []  # (vars, coefficients, cap)
    if c.power_cap_start.size:
        cap = dense_profile(c.power_cap_start, c.power_cap_value, max(horizon, 1))
        rows += _loaded_rows(cover_var, cover_tick, c.mode_power[var_mode[cover_var]], cap)
    for r in range(c.n_resources):
        demand = c.mode_demand[var_mode[cover_var], r].astype(np.float64)
        capacity = np.full(max(horizon, 1), float(c.resource_capacity[r]))
        rows += _loaded_rows(cover_var, cover_tick, demand, capacity)
    m.load_rows = pyo.Set(initialize=range(len(rows)))
    m.load_cap = pyo.Constraint(
        m.load_rows,
        rule=lambda m, r: total(rows[r][0], rows[r][1]) <= rows[r][2],
    )


def _loaded_rows(
    cover_var: np.ndarray, cover_tick: np.ndarray, load: np.ndarray, cap: np.ndarray
) -> list[tuple[np.ndarray, np.ndarray, float]]:
    """Per tick whose summed possible load exceeds cap[tick]: its (vars, loads, cap)."""
    keep = load > 0
    var, tick, load = cover_var[keep], cover_tick[keep], load[keep]
    total = np.bincount(tick, weights=load, minlength=cap.size)
    over = np.flatnonzero(total > cap)
    out = []
    order = np.argsort(tick, kind="stable")
    starts = np.searchsorted(tick[order], over)
    ends = np.searchsorted(tick[order], over, side="right")
    for t, a, b in zip(over.tolist(), starts.tolist(), ends.tolist(), strict=True):
        sel = order[a:b]
        out.append((var[sel], load[sel], float(cap[t])))
    return out
