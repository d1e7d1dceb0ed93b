"""The flat arrays the Numba kernels read (`Problem`) and the scratch arrays one decoder thread
writes (`Workspace`), both built from a `CompiledInstance` once per solve.

Every field has a fixed dtype and layout so that all instances share one compiled signature
(and one entry in Numba's on-disk cache)."""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from scheduler.core.compile import CompiledInstance, ReferencePlan, unroll_profile, useful_horizon
from scheduler.core.errors import InstanceError, UnsupportedFeatureError
from scheduler.core.limits import HORIZON_KEPT
from scheduler.core.model import Profile
from scheduler.core.objective import Objective
from scheduler.core.terms import TERM_INDEX, TERMS, TIME_TERMS

I64 = np.int64
F64 = np.float64
POWER_TOL = 1e-10  # relative slack on the power cap (the validator allows 1e-9)
CARBON_TOL = 1e-10  # relative slack on the carbon cap
SERIAL, APPEND, STATIC = 0, 3, 0  # the decoders' codes shared by both (see `decode`)
FAILED = math.inf  # violation of a decode that could not place every op within the span
MAX_TIMELINE_CELLS = 2**24  # ticks x (resources + power cap) of the time lines of one decoder
ABORTED = -1.0  # what a decode returns when it reaches its deadline
NO_DEADLINE = math.inf  # the deadline of a kernel when the run has no time limit
CLOCK_EVERY = 256  # placements between two looks at the clock inside a kernel


class Problem(NamedTuple):
    """Read-only arrays of one instance (conventions of `scheduler.core.compile`), plus what the
    rules and the energy-aware placement derive from them."""

    n_ops: int
    n_jobs: int
    n_machines: int
    n_res: int
    horizon: int
    defer_to_horizon: bool  # deferral without due dates may reach the given horizon
    span: int  # length of the time lines (see `_span`)
    op_job: np.ndarray
    op_family: np.ndarray
    op_release: np.ndarray
    op_deadline: np.ndarray  # latest end: the job's and its own deadline, the horizon if given
    has_deadlines: bool  # a job or an operation has a hard deadline
    op_pmin: np.ndarray  # float: shortest mode duration
    op_tail: np.ndarray  # shortest time from the op's start to the end of all that follows
    op_hungry: np.ndarray  # bool: a mode draws >= hungry_kw and the price is not flat zero
    mode_ptr: np.ndarray
    mode_machine: np.ndarray
    mode_duration: np.ndarray
    mode_power: np.ndarray
    mode_kwh: np.ndarray  # processing energy of the mode
    mode_demand: np.ndarray  # [n_modes, n_res]
    res_capacity: np.ndarray
    pred_ptr: np.ndarray
    pred_op: np.ndarray
    pred_lag: np.ndarray
    succ_ptr: np.ndarray
    succ_op: np.ndarray
    succ_lag: np.ndarray
    job_op_ptr: np.ndarray
    job_release: np.ndarray
    job_due: np.ndarray  # -1: none
    job_deadline: np.ndarray  # -1: none
    job_target: np.ndarray  # due, else deadline, else horizon: what EDD, CR and ATC aim at
    job_weight: np.ndarray
    job_work: np.ndarray  # float: sum of the shortest durations of the job's ops
    setup: np.ndarray  # [n_machines, n_families, n_families]
    has_setups: bool
    unav_ptr: np.ndarray
    unav_start: np.ndarray
    unav_end: np.ndarray
    idle_power: np.ndarray
    machine_slots: int  # most operations any machine can receive
    has_cap: bool
    cap_tick: np.ndarray  # [span] power cap per tick
    cap_tol: np.ndarray  # [span] the slack a draw may take past it: POWER_TOL x max(1, cap)
    plain: bool  # no setups, windows, resources or power cap: the fast decoder applies
    tariff_start: np.ndarray  # profiles unrolled over [0, span)
    tariff_value: np.ndarray
    carbon_start: np.ndarray
    carbon_value: np.ndarray
    hours_per_tick: float
    carbon_cap: float  # nan: none
    price_tariff: float  # weight of the tariff in the energy-aware placement's price
    price_carbon: float  # weight of the carbon intensity in that price
    hungry_kw: float  # ops drawing at least this much power are deferred by the energy rule
    mode_by_price: bool  # the machine selection takes the mode of least price at its start
    atc_scale: float  # k x mean shortest duration, the look-ahead of ATC
    ref_start: np.ndarray  # the `deviation` term's reference plan: start, -1 where none
    ref_machine: np.ndarray  # machine in the reference plan (-1: none)
    ref_cost: np.ndarray  # cost of a machine change: the reference duration


class Workspace(NamedTuple):
    """Scratch of one decoder: the partial schedule, the time lines and the eligible set."""

    mach_ops: np.ndarray  # [n_machines, machine_slots] ops on each machine in start order
    mach_cnt: np.ndarray
    start: np.ndarray
    end: np.ndarray
    mode: np.ndarray
    ready: np.ndarray  # earliest start by release and placed predecessors
    npred: np.ndarray  # predecessors not placed yet
    elig: np.ndarray  # eligible ops in elig[:state[1]]: a list, or a heap keyed by heap_key
    heap_key: np.ndarray
    rank_op: np.ndarray  # the op of each priority rank, for the fast decoder (`plain`)
    seq: np.ndarray  # ops in the order they were placed
    job_work_left: np.ndarray
    job_ops_left: np.ndarray
    res_rem: np.ndarray  # [n_res, span] capacity left per tick
    pow_rem: np.ndarray  # [span] power cap left per tick (empty without a cap)
    cand_start: np.ndarray  # placements of the eligible ops (active / non-delay schemes)
    cand_mode: np.ndarray
    state: np.ndarray  # [0] ticks [0, state[0]) of the time lines in use, [1] n eligible,
    # [2] latest end placed so far


def _i64(values: object) -> np.ndarray:
    return np.ascontiguousarray(values, dtype=I64)


def _f64(values: object) -> np.ndarray:
    return np.ascontiguousarray(values, dtype=F64)


def _price_weights(compiled: CompiledInstance, objective: Objective) -> tuple[float, float]:
    """Weights of tariff and carbon intensity in the price that energy-aware deferral
    minimises: the objective's own weights of energy_cost and carbon; when it names neither,
    the carbon intensity alone under a carbon cap, else each profile over its mean. Under a
    carbon cap the carbon intensity always counts, at least on a par with the tariff."""
    weights = {term: 0.0 for term in ("energy_cost", "carbon")}
    for level in objective.levels:
        for term, w in level:
            if term in weights:
                weights[term] = max(weights[term], w)
    tariff_mean = float(np.abs(compiled.tariff_value).mean()) if compiled.tariff_value.size else 0
    carbon_mean = float(np.abs(compiled.carbon_value).mean()) if compiled.carbon_value.size else 0
    capped = not np.isnan(compiled.carbon_cap_kg) and carbon_mean > 0
    w_tariff, w_carbon = weights["energy_cost"], weights["carbon"]
    if w_tariff == 0 and w_carbon == 0:
        w_carbon = 1.0 / carbon_mean if carbon_mean > 0 else 0.0
        w_tariff = 0.0 if capped or tariff_mean == 0 else 1.0 / tariff_mean
    elif capped and w_carbon == 0:
        w_carbon = w_tariff * tariff_mean / carbon_mean
    return (w_tariff if tariff_mean > 0 else 0.0, w_carbon if carbon_mean > 0 else 0.0)


def _span(c: CompiledInstance) -> int:
    """How far the time lines reach. With a given horizon: the horizon, or the serial bound of
    DESIGN section 11 when longer (ops past the horizon are placed and count as violations,
    which guides the search). Without one the derived horizon is no constraint: twice the
    latest of it, the due dates and the deadlines, room for deferral and tight power caps."""
    if not c.horizon_given:  # no further than some optimal schedule needs (`useful_horizon`)
        dates = np.concatenate(([c.horizon], c.job_due, c.job_deadline, c.op_hard_deadline))
        useful = useful_horizon(
            c.instance, c.op_release, c.max_duration, c.succ_lag, c.setup, c.unav_end
        )
        return int(min(2 * dates.max(), max(useful, c.horizon, HORIZON_KEPT)))
    max_setup = int(c.setup.max()) if c.setup.size else 0
    latest = max(
        int(c.unav_end.max()) if c.unav_end.size else 0,
        int(c.op_release.max()) if c.n_ops else 0,
    )
    lags = int(np.maximum(c.succ_lag, 0).sum())
    serial = latest + int(c.max_duration.sum()) + c.n_ops * max_setup + lags
    return max(c.horizon, serial, 1)


def _profile(profile: Profile | float | None, span: int) -> tuple[np.ndarray, np.ndarray]:
    """Step starts and values over [0, span) (the compiled ones stop at the horizon)."""
    if profile is None:
        return _i64([]), _f64([])
    if isinstance(profile, Profile):
        starts, values = unroll_profile(profile, span)
        return _i64(starts), _f64(values)
    return _i64([0]), _f64([float(profile)])


def make_problem(
    compiled: CompiledInstance, objective: Objective, reference: ReferencePlan | None = None
) -> Problem:
    """The kernel arrays of `compiled`; `objective` sets the energy-aware rule's price;
    `reference` is the plan the `deviation` term measures from (None: no operation has one)."""
    c = compiled
    if reference is None:
        none = np.full(c.n_ops, -1, dtype=I64)
        reference = ReferencePlan(none, none, np.zeros(c.n_ops, dtype=I64))
    span = _span(c)
    lines = span * (c.n_resources + (c.power_cap_start.size > 0))
    if lines > MAX_TIMELINE_CELLS:
        raise UnsupportedFeatureError(
            f"heuristic: its per-tick time lines of the power cap and resources would hold "
            f"{lines:,} cells ({span:,} ticks), above its limit of {MAX_TIMELINE_CELLS:,}; "
            "use cpsat, or a coarser tick"
        )
    energy = c.instance.energy
    try:  # a cap that cannot bind was dropped by compile (`_energy_profiles`)
        cap_start, cap_value = _profile(
            energy.power_cap_kw if c.power_cap_start.size else None, span
        )
        tariff_start, tariff_value = _profile(energy.tariff, span)
        carbon_start, carbon_value = _profile(energy.carbon_intensity, span)
    except InstanceError as error:  # too many steps over the span, more than compile unrolled
        raise UnsupportedFeatureError(f"heuristic: {error}") from None
    op_deadline = (
        c.op_deadline
        if c.horizon_given
        else np.where(c.op_hard_deadline >= 0, c.op_hard_deadline, span)
    )
    pmin = c.min_duration.astype(F64)
    job_work = np.zeros(c.n_jobs, dtype=F64)
    np.add.at(job_work, c.op_job, pmin)
    deadline_or_horizon = np.where(c.job_deadline >= 0, c.job_deadline, c.horizon)
    target = np.where(c.job_due >= 0, c.job_due, deadline_or_horizon)
    has_cap = cap_start.size > 0
    cap_tick = _f64([])
    if has_cap:
        cap_tick = _f64(np.repeat(cap_value, np.diff(np.append(cap_start, span))))
    slots = np.zeros(c.n_machines, dtype=I64)
    for o in range(c.n_ops):
        for m in set(c.mode_machine[c.mode_ptr[o] : c.mode_ptr[o + 1]].tolist()):
            slots[m] += 1
    positive = c.mode_power[c.mode_power > 0]
    hungry_kw = float(positive.mean()) if positive.size else 0.0
    price_tariff, price_carbon = _price_weights(c, objective)
    hungry = np.zeros(c.n_ops, dtype=np.bool_)
    if price_tariff > 0 or price_carbon > 0:
        np.logical_or.at(hungry, c.mode_op, (c.mode_power > 0) & (c.mode_power >= hungry_kw))
    hours = c.hours_per_tick
    return Problem(
        n_ops=c.n_ops,
        n_jobs=c.n_jobs,
        n_machines=c.n_machines,
        n_res=c.n_resources,
        horizon=int(c.horizon),
        defer_to_horizon=c.horizon_given and not TIME_TERMS & {t for t, _ in objective.levels[0]},
        span=int(span),
        op_job=_i64(c.op_job),
        op_family=_i64(c.op_family),
        op_release=_i64(c.op_release),
        op_deadline=_i64(op_deadline),
        has_deadlines=c.has_deadlines,
        op_pmin=_f64(pmin),
        op_tail=_i64(c.tail),
        op_hungry=np.ascontiguousarray(hungry),
        mode_ptr=_i64(c.mode_ptr),
        mode_machine=_i64(c.mode_machine),
        mode_duration=_i64(c.mode_duration),
        mode_power=_f64(c.mode_power),
        mode_kwh=_f64(c.mode_kwh),
        mode_demand=_i64(c.mode_demand.reshape(c.n_modes, c.n_resources)),
        res_capacity=_i64(c.resource_capacity),
        pred_ptr=_i64(c.pred_ptr),
        pred_op=_i64(c.pred_op),
        pred_lag=_i64(c.pred_lag),
        succ_ptr=_i64(c.succ_ptr),
        succ_op=_i64(c.succ_op),
        succ_lag=_i64(c.succ_lag),
        job_op_ptr=_i64(c.job_op_ptr),
        job_release=_i64(c.job_release),
        job_due=_i64(c.job_due),
        job_deadline=_i64(c.job_deadline),
        job_target=_i64(target),
        job_weight=_f64(c.job_weight),
        job_work=_f64(job_work),
        setup=_i64(c.setup),
        has_setups=bool(c.has_setups),
        unav_ptr=_i64(c.unav_ptr),
        unav_start=_i64(c.unav_start),
        unav_end=_i64(c.unav_end),
        idle_power=_f64(c.machine_idle_power),
        machine_slots=int(max(1, slots.max() if slots.size else 1)),
        has_cap=bool(has_cap),
        cap_tick=cap_tick,
        cap_tol=POWER_TOL * np.maximum(1.0, cap_tick),
        plain=not (c.has_setups or c.unav_ptr[-1] > 0 or c.n_resources > 0 or has_cap),
        tariff_start=tariff_start,
        tariff_value=tariff_value,
        carbon_start=carbon_start,
        carbon_value=carbon_value,
        hours_per_tick=float(hours),
        carbon_cap=float(c.carbon_cap_kg),
        price_tariff=float(price_tariff),
        price_carbon=float(price_carbon),
        hungry_kw=hungry_kw,
        mode_by_price=False,
        atc_scale=float(max(2.0 * pmin.mean(), 1.0)) if c.n_ops else 1.0,
        ref_start=_i64(reference.start),
        ref_machine=_i64(reference.machine),
        ref_cost=_i64(reference.change_cost),
    )


def make_workspace(p: Problem) -> Workspace:
    """Fresh scratch for one decoder thread (time lines start at full capacity)."""
    n = p.n_ops
    res_rem = np.empty((p.n_res, p.span), dtype=I64)
    res_rem[:] = p.res_capacity[:, None]
    return Workspace(
        mach_ops=np.zeros((p.n_machines, p.machine_slots), dtype=I64),
        mach_cnt=np.zeros(p.n_machines, dtype=I64),
        start=np.full(n, -1, dtype=I64),
        end=np.full(n, -1, dtype=I64),
        mode=np.full(n, -1, dtype=I64),
        ready=np.zeros(n, dtype=I64),
        npred=np.zeros(n, dtype=I64),
        elig=np.zeros(n, dtype=I64),
        heap_key=np.zeros(n, dtype=F64),
        rank_op=np.zeros(n, dtype=I64),
        seq=np.zeros(n, dtype=I64),
        job_work_left=np.zeros(p.n_jobs, dtype=F64),
        job_ops_left=np.zeros(p.n_jobs, dtype=I64),
        res_rem=res_rem,
        pow_rem=p.cap_tick.copy(),
        cand_start=np.zeros(n, dtype=I64),
        cand_mode=np.zeros(n, dtype=I64),
        state=np.zeros(3, dtype=I64),
    )


def term_caps(bounds: dict[str, float]) -> np.ndarray:
    """[len(TERMS)] upper bounds on the terms (the `bounds` option), inf where none."""
    caps = np.full(len(TERMS), np.inf)
    for term, bound in bounds.items():
        caps[TERM_INDEX[term]] = bound
    return caps


def level_matrix(objective: Objective) -> np.ndarray:
    """[n_levels, len(TERMS)] weights: level values are this matrix times the term values."""
    out = np.zeros((len(objective.levels), len(TERMS)), dtype=F64)
    for i, level in enumerate(objective.levels):
        for term, w in level:
            out[i, TERM_INDEX[term]] = w
    return out
