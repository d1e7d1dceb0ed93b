"""Feasibility repair for the carbon cap. The dispatching rules aim at time and price, so on a
tight cap every rule schedule may emit too much. The repair decodes again with the least-carbon
choices first: every operation in its mode of least energy (or the machine selection by least
energy), every operation that draws power deferred to the start of least carbon intensity up to
its deadline or the horizon (due dates are soft, so they do not hold a deferral back), priced
by carbon alone. When a plan that places each operation at its cleanest feasible start in
turn meets the cap, one of these decodes finds it."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from solvers.heuristics.decode import ENERGY, FIFO, SPT, decode
from solvers.heuristics.problem import SERIAL, Problem, Workspace

REPAIR_RULES = (ENERGY, SPT, FIFO)  # most work left first, shortest first, first come


def carbon_problem(p: Problem) -> Problem:
    """`p` as the carbon-first decodes see it: the price is the carbon intensity alone, every
    operation drawing power may be deferred, up to its deadline or the horizon."""
    return p._replace(
        price_tariff=0.0,
        price_carbon=1.0,
        hungry_kw=0.0,
        defer_to_horizon=True,
        job_due=np.full(p.n_jobs, -1, dtype=np.int64),
    )


def least_energy_modes(p: Problem) -> np.ndarray:
    """Per operation its mode of least processing energy (ties: the shorter, then the first)."""
    out = np.empty(p.n_ops, dtype=np.int64)
    for o in range(p.n_ops):
        modes = np.arange(p.mode_ptr[o], p.mode_ptr[o + 1])
        out[o] = modes[np.lexsort((modes, p.mode_duration[modes], p.mode_kwh[modes]))[0]]
    return out


def carbon_plans(p: Problem, w: Workspace) -> Iterator[tuple[float, np.ndarray, np.ndarray, bool]]:
    """Decode the carbon-first plans into `w` one after another, yielding after each its
    violation (under `p`'s hard limits, which the variant keeps), the modes it fixed (-1: the
    machine selection chose), its deferral flags and machine selection, for replay by `p`."""
    variant = carbon_problem(p)
    defer = np.ones(p.n_ops, dtype=np.bool_)  # (an op drawing no power is never deferred)
    no_prio = np.zeros(p.n_ops)
    for assign, least in ((least_energy_modes(p), True), (np.full(p.n_ops, -1), True)):
        for rule in REPAIR_RULES:
            viol = decode(variant, w, SERIAL, rule, no_prio, assign, least, defer, 0)
            yield viol, assign, defer, least
