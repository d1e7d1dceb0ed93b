"""Feasibility repair for the carbon cap. The dispatching rules aim at time and price, so on a
tight cap every rule schedule may emit too much. The repair decodes least-carbon serial plans
(the serial scheme of `decode` on the variant `carbon_problem`): the operations taken one at
a time in the order of a repair rule (most work left, shortest, first come, or most power
first, by the power of the least-energy mode: a clean tick saves the most carbon there), each
placed at its (mode, start) of least carbon (ties: less energy, then the earlier end) among
its candidate starts, which meet every hard limit the decoder keeps (precedences, machines,
setups, windows, resources, power cap): the earliest feasible start at or after its ready
time, and at or after each step start b and b - d of the carbon intensity (d: its duration)
and its latest deferred start, as long as it starts by that: the deferral horizon H (its
job's deadline when earlier) less its shortest remaining path, and no later than its own
deadline and a given horizon allow.

Deferring each operation as far as the horizon can crowd a successor out of the clean period
it needs, so H takes each time between the longest release plus remaining path and the
horizon where the intensity rises (a clean period ends), evenly picked so that at most
MAX_HORIZONS values are tried, the horizon last; the modes are either chosen so or fixed at
each operation's least-energy mode. Guarantee: when one of these plans meets the cap and
every deadline, the heuristic returns a schedule (`solver._repair` offers them, tightest H
first, until one does, unless the solve runs out of time or is stopped first).

When none does, a violation-minimising search follows (`repair_state`): simulated annealing
on the variant of the plan of least violation, from that plan, its acceptance comparing the
violation first and then the carbon, for `repair_moves` moves; every better schedule it finds
is offered (under the variant every hard limit of the problem is kept, so a schedule meeting
them there is valid), and it stops at the first that meets every hard limit. Without a time
limit its moves, temperatures and stops are the same for the same seed. It has no guarantee
of its own: it closes the plans' sampled misses (DESIGN, carbon repair)."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from scheduler.core.objective import Objective
from solvers.heuristics.annealing import SearchState, make_state, start_search
from solvers.heuristics.decode import ENERGY, FAILED, FIFO, SPT, decode
from solvers.heuristics.problem import SERIAL, STATIC, Problem, Workspace, level_matrix

# most work left first, shortest first, first come, most power first (static priorities)
REPAIR_RULES = (ENERGY, SPT, FIFO, STATIC)
MAX_HORIZONS = 12  # deferral horizons tried at most (the horizon itself always among them)
REPAIR_MOVES = 50  # moves per operation of the violation-minimising search
MAX_REPAIR_DECODES = 2_000_000  # operations that search decodes at most (budget x n_ops)
CARBON_LEVELS = level_matrix(Objective.parse("carbon"))  # after the violation: least carbon


def carbon_problem(p: Problem, until: int) -> Problem:
    """`p` as the least-carbon plans see it: the price is the carbon intensity alone and
    chooses the mode, every operation drawing power may be deferred until `until` (or its
    job's deadline when earlier) less its shortest remaining path."""
    due = np.where(p.job_deadline >= 0, np.minimum(p.job_deadline, until), until)
    return p._replace(
        price_tariff=0.0,
        price_carbon=1.0,
        hungry_kw=0.0,
        mode_by_price=True,
        job_due=due.astype(np.int64),
    )


def deferral_horizons(p: Problem) -> np.ndarray:
    """The deferral horizons to try, ascending: each time in [the longest release plus
    remaining path, the horizon) where the carbon intensity rises (a clean period ends), at
    most MAX_HORIZONS - 1 of them evenly picked, then the horizon."""
    rises = p.carbon_start[1:][np.diff(p.carbon_value) > 0]
    lower = int((p.op_release + p.op_tail).max()) if p.n_ops else 0
    rises = rises[(rises >= lower) & (rises < p.horizon)]
    if rises.size >= MAX_HORIZONS:
        rises = rises[np.linspace(0, rises.size - 1, MAX_HORIZONS - 1).round().astype(np.int64)]
    return np.append(rises, p.horizon).astype(np.int64)


def least_energy_modes(p: Problem) -> np.ndarray:
    """Per operation its mode of least processing energy (ties: the shorter, then the first)."""
    out = np.empty(p.n_ops, dtype=np.int64)
    for o in range(p.n_ops):
        modes = np.arange(p.mode_ptr[o], p.mode_ptr[o + 1])
        out[o] = modes[np.lexsort((modes, p.mode_duration[modes], p.mode_kwh[modes]))[0]]
    return out


def carbon_plans(
    p: Problem, w: Workspace, deadline: float
) -> Iterator[tuple[float, np.ndarray, np.ndarray, bool, int]]:
    """Decode the least-carbon plans into `w` one after another, tightest deferral horizon
    first, yielding after each its violation (under `p`'s hard limits, which the variant
    keeps), the modes it fixed (-1: the machine selection chose), its deferral flags, machine
    selection and deferral horizon, for replay (w.seq is its placement order); a decode the
    clock stopped at `deadline` yields ABORTED."""
    defer = np.ones(p.n_ops, dtype=np.bool_)  # (an op drawing no power is never deferred)
    least = least_energy_modes(p)
    power = p.mode_power[least]  # the static priorities: a clean tick saves most there
    modes = (np.full(p.n_ops, -1, dtype=np.int64), least)
    for until in deferral_horizons(p):
        variant = carbon_problem(p, int(until))
        for assign in modes:
            for rule in REPAIR_RULES:
                viol = decode(variant, w, SERIAL, rule, power, assign, True, defer, deadline)
                yield viol, assign, defer, True, int(until)


def repair_moves(p: Problem) -> int:
    """The move budget of the violation-minimising search: REPAIR_MOVES per operation, but
    no more than MAX_REPAIR_DECODES / n_ops moves (each decodes every operation) unless that
    is under 100, so that on a large plant it stays short without a time limit."""
    return min(REPAIR_MOVES * p.n_ops, max(100, MAX_REPAIR_DECODES // max(1, p.n_ops)))


def repair_state(
    p: Problem,
    w: Workspace,
    plan: tuple[np.ndarray, np.ndarray, np.ndarray, bool, int],
    caps: np.ndarray,
    seed: int,
) -> tuple[Problem, SearchState] | None:
    """The variant of `plan` (its placement order, fixed modes, deferral flags, machine
    selection and deferral horizon) and an annealing state on it that starts from `plan`:
    violation first (the search's acceptance), then carbon; every op drawing power may be
    deferred or not. None when the replay places no schedule."""
    seq, assign, defer, least, until = plan
    variant = carbon_problem(p, until)
    draws = np.maximum.reduceat(p.mode_power, p.mode_ptr[:-1]) > 0 if p.n_ops else np.zeros(0)
    st = make_state(variant, CARBON_LEVELS, caps, seq, assign, defer, seed)
    st = st._replace(hungry=np.flatnonzero(draws).astype(np.int64))
    if start_search(variant, w, st, SERIAL, least) == FAILED:
        return None
    return variant, st
