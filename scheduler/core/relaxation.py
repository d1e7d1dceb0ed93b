"""The load relaxation of an instance: each operation's modes taken in fractions so that every
machine's load (and, under a power cap, the plant's energy) fits in the least makespan T, a
linear program solved by HiGHS. Its T counts what the other makespan bounds miss: which
machines an operation may use and how fast each runs it, and the changeovers each machine's
own families force (on the 2,000-job setup plants it is 1.4-4.0 % above the work-centre
bound), and under a cap the trade-off between the two limits, as the modes that draw least
energy crowd the lean machines. Its mode shares guide the heuristic's mode choice under a cap
(`solvers.heuristics.regroup`)."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

import numpy as np

from scheduler.core.compile import CompiledInstance
from scheduler.core.highs import new_highs

if TYPE_CHECKING:
    import highspy

LP_SECONDS = 10.0  # HiGHS's limit, past which the relaxation gives nothing (1 s at 40,000 modes)


def relaxes(c: CompiledInstance) -> bool:
    """Whether the relaxation can say more than the compiled bounds: some operation has a
    choice of modes, changeovers take time, or a power cap binds the energy."""
    return c.n_ops > 0 and (c.n_modes > c.n_ops or c.has_setups or c.power_cap_start.size > 0)


def largest_shares(c: CompiledInstance, x: np.ndarray) -> np.ndarray:
    """Per operation, its global mode of largest share in the mode shares `x` (`load_lp`'s):
    an assignment of machines that balances their loads."""
    order = np.lexsort((-x, c.mode_op))  # by op, then by share, largest first
    return order[c.mode_ptr[:-1]].astype(np.int64)


def forced_setups(c: CompiledInstance) -> np.ndarray:
    """Per machine, the least changeover time its families force: the operations that can
    run nowhere else bring their families to it, and every family after its first costs at
    least the least changeover between two different families there (0 without setups)."""
    n_families = c.setup.shape[1]  # (compiled as [machines, families, families], always)
    if not c.has_setups or n_families < 2:
        return np.zeros(c.n_machines)
    only = np.flatnonzero(np.diff(c.mode_ptr) == 1)  # ops with a single mode
    mode = c.mode_ptr[only]
    keep = (c.mode_duration[mode] > 0) & (c.op_family[only] >= 0)
    pairs = np.unique(c.mode_machine[mode[keep]] * n_families + c.op_family[only[keep]])
    families = np.bincount(pairs // n_families, minlength=c.n_machines)
    other = ~np.eye(n_families, dtype=bool)
    least = c.setup[:, other].min(axis=1)  # per machine, over pairs of different families
    return np.maximum(families - 1, 0) * least.astype(np.float64)


def load_lp(
    c: CompiledInstance,
    load_share: float = 1.0,
    time_limit: float = LP_SECONDS,
    highs: highspy.Highs | None = None,
    energy_weight: float = 0.0,
) -> tuple[float, np.ndarray] | None:
    """(T, x): the least T with, for some mode shares x (summing to 1 per operation), every
    machine's load within `load_share` x T once its idle head and tail (the least head and
    tail of the operations that may use it) and its forced changeovers (`forced_setups`) are
    counted, and, under a power cap, the energy (kW x ticks) within the highest cap x T.
    `load_share` 1 gives a makespan lower bound; below 1 it leaves the machines room for the
    timing the cap forces (a mode choice, not a bound). `energy_weight` > 0 minimises T plus
    that weight x the modes' kWh instead (the weighted sum of an objective: a mode choice, not
    a bound). None when it does not apply (`relaxes`) or HiGHS ends without an optimum.
    `highs`: the (fresh) HiGHS to solve it with."""
    if not relaxes(c):
        return None
    import highspy

    capped = c.power_cap_start.size > 0
    n, m_count, k_count = c.n_ops, c.n_machines, c.n_modes
    duration = c.mode_duration.astype(np.float64)
    idle = np.full(m_count, np.inf)  # per machine: least head + least tail after its ops
    np.minimum.at(idle, c.mode_machine, c.head[c.mode_op].astype(np.float64))
    after = np.full(m_count, np.inf)
    np.minimum.at(after, c.mode_machine, (c.tail - c.min_duration)[c.mode_op].astype(np.float64))
    idle = np.where(np.isfinite(idle), idle, 0.0) + np.where(np.isfinite(after), after, 0.0)
    idle += forced_setups(c)  # (a machine's changeovers lie between its first and last op)
    # columns: the mode shares x_k, then T; rows: one per op (= 1), per machine, the energy
    n_rows = n + m_count + int(capped)
    rows = [c.mode_op, n + c.mode_machine, n + np.arange(m_count)]
    cols = [np.arange(k_count), np.arange(k_count), np.full(m_count, k_count)]
    values = [np.ones(k_count), duration, np.full(m_count, -load_share)]
    upper = [np.ones(n), -idle]
    if capped:
        cap = float(c.power_cap_value.max())
        rows += [np.full(k_count + 1, n + m_count)]
        cols += [np.append(np.arange(k_count), k_count)]
        values += [np.append(c.mode_power * duration, -cap)]
        upper += [np.zeros(1)]
    row, col, value = np.concatenate(rows), np.concatenate(cols), np.concatenate(values)
    order = np.lexsort((row, col))
    lp = highspy.HighsLp()
    lp.num_col_ = k_count + 1
    lp.num_row_ = n_rows
    lp.col_cost_ = np.append(energy_weight * c.mode_kwh, 1.0)
    lp.col_lower_ = np.zeros(k_count + 1)
    lp.col_upper_ = np.append(np.ones(k_count), highspy.kHighsInf)
    lp.row_lower_ = np.concatenate([np.ones(n), np.full(n_rows - n, -highspy.kHighsInf)])
    lp.row_upper_ = np.concatenate(upper)
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = np.searchsorted(col[order], np.arange(k_count + 2))
    lp.a_matrix_.index_ = row[order]
    lp.a_matrix_.value_ = value[order]
    h = new_highs() if highs is None else highs
    h.setOptionValue("output_flag", False)
    h.setOptionValue("time_limit", max(0.01, float(time_limit)))
    if h.passModel(lp) == highspy.HighsStatus.kError:  # e.g. coefficients past HiGHS's range
        return None
    # in a thread of its own: HiGHS sets up its task scheduler per thread on the first run and
    # then refuses runs with another `threads` in that thread (the MILP solver's, Pyomo's)
    solving = threading.Thread(target=h.run, name="relaxation-lp")
    solving.start()
    solving.join()
    if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
        return None
    x = np.asarray(h.getSolution().col_value, dtype=np.float64)
    return float(x[-1]), x[:-1]
