"""The instance as dense numpy arrays with integer indices: what every solver and Numba kernel
reads. Made once per instance; nothing downstream re-parses the `Instance`.

Conventions: operations are numbered in job order then operation order, so the operations of
job j are `job_op_ptr[j]:job_op_ptr[j+1]`. Modes are numbered globally; the modes of operation
o are `mode_ptr[o]:mode_ptr[o+1]`. "No value" is -1 for integer fields (due, deadline, family).
"""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from scheduler.core.bulk import gc_paused
from scheduler.core.errors import InstanceError
from scheduler.core.limits import HORIZON_KEPT, MAX_PROFILE_STEPS, MAX_TICKS, describe_limit
from scheduler.core.model import Energy, Instance, Profile

if TYPE_CHECKING:
    from scheduler.core.schedule import Schedule

I64 = np.int64


@dataclass(frozen=True, eq=False)
class CompiledInstance:
    """One instance as dense integer-indexed arrays, built once so no solver re-parses it."""

    instance: Instance
    # sizes and id maps
    n_ops: int
    n_jobs: int
    n_machines: int
    n_resources: int
    n_families: int
    op_ids: list[str]
    job_ids: list[str]
    machine_ids: list[str]
    resource_ids: list[str]
    family_ids: list[str]
    op_index: dict[str, int]
    machine_index: dict[str, int]
    # operations
    op_job: np.ndarray  # [n_ops] job index
    op_family: np.ndarray  # [n_ops] family index or -1
    op_release: np.ndarray  # [n_ops] earliest start: max(its job's release, its own)
    op_deadline: np.ndarray  # [n_ops] latest end: min(job deadline, own deadline, horizon)
    op_hard_deadline: np.ndarray  # [n_ops] min(job deadline, own deadline) or -1: none
    job_op_ptr: np.ndarray  # [n_jobs+1]
    # modes (CSR by operation)
    mode_ptr: np.ndarray  # [n_ops+1]
    mode_op: np.ndarray  # [n_modes]
    mode_machine: np.ndarray  # [n_modes]
    mode_duration: np.ndarray  # [n_modes]
    mode_power: np.ndarray  # [n_modes] kW
    mode_demand: np.ndarray  # [n_modes, n_resources]
    resource_capacity: np.ndarray  # [n_resources]
    # precedences (CSR): successors of o are succ_op[succ_ptr[o]:succ_ptr[o+1]] with lags
    succ_ptr: np.ndarray
    succ_op: np.ndarray
    succ_lag: np.ndarray
    pred_ptr: np.ndarray
    pred_op: np.ndarray
    pred_lag: np.ndarray
    topo_order: np.ndarray  # [n_ops] a topological order of the precedence DAG
    # jobs
    job_release: np.ndarray
    job_due: np.ndarray  # -1: none
    job_deadline: np.ndarray  # -1: none
    job_weight: np.ndarray  # float
    # machines
    setup: np.ndarray  # [n_machines, n_families, n_families] ticks
    has_setups: bool
    unav_ptr: np.ndarray  # [n_machines+1] CSR of sorted, merged [start, end) windows
    unav_start: np.ndarray
    unav_end: np.ndarray
    machine_idle_power: np.ndarray  # [n_machines] kW
    # time and energy
    horizon: int
    horizon_given: bool
    time_unit_minutes: float
    power_cap_start: np.ndarray  # step starts unrolled over [0, horizon); empty: no cap
    power_cap_value: np.ndarray
    tariff_start: np.ndarray  # empty: no tariff
    tariff_value: np.ndarray
    carbon_start: np.ndarray  # empty: no carbon profile
    carbon_value: np.ndarray
    carbon_cap_kg: float  # nan: no cap
    # bounds
    min_duration: np.ndarray  # [n_ops] shortest mode
    max_duration: np.ndarray  # [n_ops] longest mode
    head: np.ndarray  # [n_ops] earliest start by releases and precedences
    tail: np.ndarray  # [n_ops] shortest time from start to the end of all that follows
    critical_path_bound: int
    machine_load_bound: int

    @property
    def n_modes(self) -> int:
        return int(self.mode_machine.shape[0])

    @property
    def hours_per_tick(self) -> float:
        """Hours in one tick: kW x ticks x this is kWh."""
        return self.time_unit_minutes / 60.0

    @property
    def mode_kwh(self) -> np.ndarray:
        """Per mode, the processing energy it draws (kW x its duration, in kWh)."""
        return self.mode_power * self.mode_duration * self.hours_per_tick

    @property
    def lower_bound(self) -> int:
        """A makespan lower bound: the larger of the critical path and the machine load bound."""
        return max(self.critical_path_bound, self.machine_load_bound)

    @property
    def has_energy(self) -> bool:
        return (
            self.power_cap_start.size > 0
            or self.tariff_start.size > 0
            or self.carbon_start.size > 0
            or not np.isnan(self.carbon_cap_kg)
            or bool(np.any(self.machine_idle_power > 0))
        )

    @property
    def has_resources(self) -> bool:
        return self.n_resources > 0

    @property
    def has_unavailability(self) -> bool:
        return self.unav_start.size > 0

    @property
    def has_deadlines(self) -> bool:
        return bool(np.any(self.op_hard_deadline >= 0))

    def job_last_ops(self, j: int) -> np.ndarray:
        """Operations of job j that have no successor within the job (its completion ops)."""
        ops = np.arange(self.job_op_ptr[j], self.job_op_ptr[j + 1])
        return np.array(
            [
                o
                for o in ops
                if not any(
                    self.op_job[s] == j
                    for s in self.succ_op[self.succ_ptr[o] : self.succ_ptr[o + 1]]
                )
            ],
            dtype=I64,
        )


def unroll_profile(
    profile: Profile, horizon: int, where: str = "profile"
) -> tuple[np.ndarray, np.ndarray]:
    """Step starts and values covering [0, horizon), periodic profiles repeated; adjacent
    equal values merged. More than MAX_PROFILE_STEPS steps is an InstanceError naming `where`
    (the horizon is clipped to what a schedule can use first, see `useful_horizon`)."""
    starts = np.array([s for s, _ in profile.steps], dtype=I64)
    values = np.array([v for _, v in profile.steps], dtype=np.float64)
    if profile.period:
        repeats = -(-horizon // profile.period)
        if repeats * starts.size > MAX_PROFILE_STEPS:
            raise InstanceError(
                f"{where}: its period {profile.period} repeats {repeats:,} times within the "
                f"{horizon:,} ticks a schedule can span: more than {MAX_PROFILE_STEPS:,} steps; "
                "use a longer period, a coarser tick or a shorter horizon"
            )
        base = np.arange(repeats, dtype=I64)[:, None] * profile.period
        starts = (base + starts[None, :]).ravel()
        values = np.tile(values, repeats)
    inside = starts < horizon
    starts, values = starts[inside], values[inside]
    if starts.size == 0 or starts[0] != 0:  # ticks before the first step take the first value
        starts = np.concatenate(([0], starts)).astype(I64)
        values = np.concatenate(([profile.steps[0][1]], values))
    keep = np.concatenate(([True], values[1:] != values[:-1]))
    return starts[keep], values[keep]


def useful_horizon(
    instance: Instance,
    op_release: np.ndarray,
    max_duration: np.ndarray,
    succ_lag: np.ndarray,
    setup: np.ndarray,
    unav_end: np.ndarray,
) -> int:
    """A time by which some optimal schedule ends, whatever the given horizon (DESIGN section
    8): after E, the latest window end, release or non-periodic profile step, an idle stretch
    of G = L + largest setup + largest lag ticks (L the lcm of the profile periods) can be
    cut by L, moving every later operation L earlier: precedences, setups, windows, releases,
    caps and prices still hold (every profile repeats every L ticks after E) and no objective
    term grows. So some optimal schedule ends by E + the longest modes + (n_ops + 1) x G."""
    energy = instance.energy
    profiles = [
        p
        for p in (energy.power_cap_kw, energy.tariff, energy.carbon_intensity)
        if isinstance(p, Profile)
    ]
    latest = max(
        int(unav_end.max(initial=0)),
        int(op_release.max(initial=0)),
        *(p.steps[-1][0] for p in profiles if not p.period),
    )
    period = math.lcm(1, *(p.period for p in profiles if p.period))
    gap = period + int(setup.max(initial=0)) + int(np.maximum(succ_lag, 0).max(initial=0))
    return latest + int(max_duration.sum()) + (op_release.size + 1) * gap


def dense_profile(starts: np.ndarray, values: np.ndarray, horizon: int) -> np.ndarray:
    """The per-tick values of an unrolled step profile over [0, horizon)."""
    out = np.empty(horizon, dtype=np.float64)
    bounds = np.append(starts, horizon)
    for i in range(starts.size):
        out[bounds[i] : bounds[i + 1]] = values[i]
    return out


class _Operations(NamedTuple):
    """The operation and mode arrays, built in one pass over the jobs (module conventions)."""

    op_ids: list[str]
    op_index: dict[str, int]
    op_job: np.ndarray
    op_family: np.ndarray
    job_op_ptr: np.ndarray
    mode_ptr: np.ndarray
    mode_op: np.ndarray
    mode_machine: np.ndarray
    mode_duration: np.ndarray
    mode_power: np.ndarray
    mode_demand: np.ndarray


class _Precedences(NamedTuple):
    """Successor and predecessor lists in CSR form, with a topological order of the DAG."""

    succ_ptr: np.ndarray
    succ_op: np.ndarray
    succ_lag: np.ndarray
    pred_ptr: np.ndarray
    pred_op: np.ndarray
    pred_lag: np.ndarray
    topo_order: np.ndarray


class _Unavailability(NamedTuple):
    """Each machine's sorted, merged [start, end) windows in CSR form by machine."""

    ptr: np.ndarray
    start: np.ndarray
    end: np.ndarray


class _Bounds(NamedTuple):
    """Shortest and longest durations, heads and tails, and the two makespan lower bounds
    the shortest give."""

    min_duration: np.ndarray
    max_duration: np.ndarray
    head: np.ndarray
    tail: np.ndarray
    critical_path_bound: int
    machine_load_bound: int


class _Profiles(NamedTuple):
    """The energy step profiles unrolled over [0, horizon); empty arrays where absent."""

    power_cap_start: np.ndarray
    power_cap_value: np.ndarray
    tariff_start: np.ndarray
    tariff_value: np.ndarray
    carbon_start: np.ndarray
    carbon_value: np.ndarray


@gc_paused
def compile_instance(instance: Instance) -> CompiledInstance:
    """Build the dense arrays (see the module docstring for the conventions)."""
    machine_ids = [m.id for m in instance.machines]
    machine_index = {m: i for i, m in enumerate(machine_ids)}
    resource_ids = [r.id for r in instance.resources]
    families = _family_numbers(instance)
    ops = _operations_and_modes(instance, machine_index, resource_ids, families)
    prec = _precedences(instance, ops.op_index)
    setup = _setup_matrix(instance, machine_index, families)
    unav = _unavailability(instance)
    job_release = np.array([j.release for j in instance.jobs], dtype=I64)
    job_deadline = np.array(
        [j.deadline if j.deadline is not None else -1 for j in instance.jobs], dtype=I64
    )
    own_release = np.array([op.release for _, op in instance.operations], dtype=I64)
    op_release = np.maximum(job_release[ops.op_job], own_release)
    hard_deadline = _hard_deadlines(instance, ops.op_job, job_deadline)
    bounds = _bounds(ops, prec, op_release, len(machine_ids))
    horizon = _horizon(instance, bounds.max_duration, prec, setup, unav, op_release)
    if horizon > MAX_TICKS:
        raise InstanceError(
            f"horizon: the derived horizon {horizon:,} (the latest window end or release plus "
            f"every operation's longest mode, largest setup and lag) is above the limit "
            f"{describe_limit(MAX_TICKS)}"
        )
    if instance.horizon is not None:  # only work that grows with the problem, not the ticks
        useful = useful_horizon(
            instance, op_release, bounds.max_duration, prec.succ_lag, setup, unav.end
        )
        horizon = max(1, min(horizon, max(useful, HORIZON_KEPT)))
    profiles = _energy_profiles(instance.energy, horizon, ops)
    carbon_cap = _binding_carbon_cap(instance, ops, profiles)

    return CompiledInstance(
        instance=instance,
        n_ops=len(ops.op_ids),
        n_jobs=len(instance.jobs),
        n_machines=len(machine_ids),
        n_resources=len(resource_ids),
        n_families=len(families),
        op_ids=ops.op_ids,
        job_ids=[j.id for j in instance.jobs],
        machine_ids=machine_ids,
        resource_ids=resource_ids,
        family_ids=list(families),
        op_index=ops.op_index,
        machine_index=machine_index,
        op_job=ops.op_job,
        op_family=ops.op_family,
        op_release=op_release,
        op_deadline=np.where(hard_deadline >= 0, np.minimum(hard_deadline, horizon), horizon),
        op_hard_deadline=hard_deadline,
        job_op_ptr=ops.job_op_ptr,
        mode_ptr=ops.mode_ptr,
        mode_op=ops.mode_op,
        mode_machine=ops.mode_machine,
        mode_duration=ops.mode_duration,
        mode_power=ops.mode_power,
        mode_demand=ops.mode_demand,
        resource_capacity=np.array([r.capacity for r in instance.resources], dtype=I64),
        succ_ptr=prec.succ_ptr,
        succ_op=prec.succ_op,
        succ_lag=prec.succ_lag,
        pred_ptr=prec.pred_ptr,
        pred_op=prec.pred_op,
        pred_lag=prec.pred_lag,
        topo_order=prec.topo_order,
        job_release=job_release,
        job_due=np.array([j.due if j.due is not None else -1 for j in instance.jobs], dtype=I64),
        job_deadline=job_deadline,
        job_weight=np.array([j.weight for j in instance.jobs], dtype=np.float64),
        setup=setup,
        has_setups=bool(setup.any()),
        unav_ptr=unav.ptr,
        unav_start=unav.start,
        unav_end=unav.end,
        machine_idle_power=np.array([m.idle_power_kw for m in instance.machines]),
        horizon=horizon,
        horizon_given=instance.horizon is not None,
        time_unit_minutes=float(instance.time_unit_minutes),
        power_cap_start=profiles.power_cap_start,
        power_cap_value=profiles.power_cap_value,
        tariff_start=profiles.tariff_start,
        tariff_value=profiles.tariff_value,
        carbon_start=profiles.carbon_start,
        carbon_value=profiles.carbon_value,
        carbon_cap_kg=carbon_cap,
        min_duration=bounds.min_duration,
        max_duration=bounds.max_duration,
        head=bounds.head,
        tail=bounds.tail,
        critical_path_bound=bounds.critical_path_bound,
        machine_load_bound=bounds.machine_load_bound,
    )


def _family_numbers(instance: Instance) -> dict[str, int]:
    """Number the setup families: those of operations first, then any only in setup tables."""
    families: dict[str, int] = {}
    for _, op in instance.operations:
        if op.family is not None:
            families.setdefault(op.family, len(families))
    for table in instance.setup_times.values():
        for a, row in table.items():
            families.setdefault(a, len(families))
            for b in row:
                families.setdefault(b, len(families))
    return families


def _operations_and_modes(
    instance: Instance,
    machine_index: dict[str, int],
    resource_ids: list[str],
    families: dict[str, int],
) -> _Operations:
    """Number operations in job order and modes globally, with the arrays indexed by them."""
    resource_index = {r: i for i, r in enumerate(resource_ids)}
    op_ids: list[str] = []
    op_job: list[int] = []
    op_family: list[int] = []
    job_op_ptr = [0]
    mode_ptr = [0]
    mode_op: list[int] = []
    mode_machine: list[int] = []
    mode_duration: list[int] = []
    mode_power: list[float] = []
    demand_rows: list[list[int]] = []
    for j, job in enumerate(instance.jobs):
        for op in job.operations:
            o = len(op_ids)
            op_ids.append(op.id)
            op_job.append(j)
            op_family.append(families[op.family] if op.family is not None else -1)
            for mode in op.modes:
                mode_op.append(o)
                mode_machine.append(machine_index[mode.machine])
                mode_duration.append(mode.duration)
                mode_power.append(mode.power_kw)
                row = [0] * len(resource_ids)
                for r, q in mode.resources.items():
                    row[resource_index[r]] = q
                demand_rows.append(row)
            mode_ptr.append(len(mode_op))
        job_op_ptr.append(len(op_ids))
    return _Operations(
        op_ids=op_ids,
        op_index={o: i for i, o in enumerate(op_ids)},
        op_job=np.array(op_job, dtype=I64),
        op_family=np.array(op_family, dtype=I64),
        job_op_ptr=np.array(job_op_ptr, dtype=I64),
        mode_ptr=np.array(mode_ptr, dtype=I64),
        mode_op=np.array(mode_op, dtype=I64),
        mode_machine=np.array(mode_machine, dtype=I64),
        mode_duration=np.array(mode_duration, dtype=I64),
        mode_power=np.array(mode_power, dtype=np.float64),
        mode_demand=np.array(demand_rows, dtype=I64).reshape(len(mode_op), len(resource_ids)),
    )


def _precedences(instance: Instance, op_index: dict[str, int]) -> _Precedences:
    """The precedence arcs as CSR successor and predecessor lists, and a topological order."""
    n_ops = len(op_index)
    arcs = [(op_index[a], op_index[b], lag) for a, b, lag in instance.precedences()]
    successors = _csr(n_ops, arcs)
    predecessors = _csr(n_ops, [(b, a, lag) for a, b, lag in arcs])
    return _Precedences(*successors, *predecessors, _topological_order(n_ops, *successors[:2]))


def _topological_order(n: int, ptr: np.ndarray, heads: np.ndarray) -> np.ndarray:
    """The smallest-index-first topological order of the arcs (CSR `ptr`, `heads`): Kahn's
    algorithm with a heap. The instance checks have refused cycles already."""
    indegree = np.bincount(heads, minlength=n).tolist()
    ptr_list, head_list = ptr.tolist(), heads.tolist()
    ready = [o for o in range(n) if indegree[o] == 0]
    order: list[int] = []
    while ready:
        o = heapq.heappop(ready)
        order.append(o)
        for s in head_list[ptr_list[o] : ptr_list[o + 1]]:
            indegree[s] -= 1
            if indegree[s] == 0:
                heapq.heappush(ready, s)
    if len(order) != n:
        raise InstanceError("predecessors: the precedences form a cycle")
    return np.array(order, dtype=I64)


def _csr(n: int, arcs: list[tuple[int, int, int]]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pointer, head and lag arrays of (tail, head, lag) arcs grouped by tail, heads sorted."""
    arcs = sorted(arcs)
    ptr = np.zeros(n + 1, dtype=I64)
    for a, _, _ in arcs:
        ptr[a + 1] += 1
    return (
        np.cumsum(ptr).astype(I64),
        np.array([b for _, b, _ in arcs], dtype=I64),
        np.array([lag for _, _, lag in arcs], dtype=I64),
    )


def _setup_matrix(
    instance: Instance, machine_index: dict[str, int], families: dict[str, int]
) -> np.ndarray:
    """Setup ticks [machine, from family, to family]; 0 where the tables give none."""
    n_fam = len(families)
    setup = np.zeros((len(machine_index), n_fam, n_fam), dtype=I64)
    for machine_id, table in instance.setup_times.items():
        for a, row in table.items():
            for b, ticks in row.items():
                setup[machine_index[machine_id], families[a], families[b]] = ticks
    return setup


def _unavailability(instance: Instance) -> _Unavailability:
    """Each machine's windows sorted, overlapping or touching ones merged, empty ones dropped."""
    ptr, starts, ends = [0], [], []
    for machine in instance.machines:
        merged: list[list[int]] = []
        for s, e in sorted(machine.unavailable):
            if merged and s <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], e)
            elif e > s:
                merged.append([s, e])
        starts += [s for s, _ in merged]
        ends += [e for _, e in merged]
        ptr.append(len(starts))
    return _Unavailability(
        np.array(ptr, dtype=I64), np.array(starts, dtype=I64), np.array(ends, dtype=I64)
    )


def _per_op(ops: _Operations, reduce: np.ufunc) -> np.ndarray:
    """`reduce` (np.minimum or np.maximum) over each operation's mode durations, one value per
    operation (every operation has a mode: the instance checks require one)."""
    if not len(ops.op_ids):
        return np.zeros(0, dtype=I64)
    return reduce.reduceat(ops.mode_duration, ops.mode_ptr[:-1]).astype(I64)


def _bounds(
    ops: _Operations, prec: _Precedences, op_release: np.ndarray, n_machines: int
) -> _Bounds:
    """Shortest and longest modes, heads and tails by the shortest, and the critical-path and
    machine-load bounds."""
    min_dur = _per_op(ops, np.minimum)
    head, tail = _heads_and_tails(prec, op_release, min_dur)
    return _Bounds(
        min_duration=min_dur,
        max_duration=_per_op(ops, np.maximum),
        head=head,
        tail=tail,
        critical_path_bound=int((head + tail).max()) if len(ops.op_ids) else 0,
        machine_load_bound=_machine_load_bound(ops, op_release, min_dur, n_machines),
    )


def _heads_and_tails(
    prec: _Precedences, op_release: np.ndarray, min_dur: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Earliest starts by releases and lags; shortest times from start to the end of all after."""
    topo, succ_ptr, succ_op, succ_lag = prec.topo_order, prec.succ_ptr, prec.succ_op, prec.succ_lag
    head = op_release.copy()
    for o in topo:
        for i in range(succ_ptr[o], succ_ptr[o + 1]):
            s = succ_op[i]
            head[s] = max(head[s], head[o] + min_dur[o] + succ_lag[i])
    tail = min_dur.copy()
    for o in topo[::-1]:
        for i in range(succ_ptr[o], succ_ptr[o + 1]):
            tail[o] = max(tail[o], min_dur[o] + succ_lag[i] + tail[succ_op[i]])
    return head, tail


def _machine_load_bound(
    ops: _Operations, op_release: np.ndarray, min_dur: np.ndarray, n_machines: int
) -> int:
    """The work only machine m can do, after its earliest release; and all work spread evenly."""
    n_ops = len(ops.op_ids)
    bound = 0
    if n_ops:
        starts = ops.mode_ptr[:-1]
        lowest = np.minimum.reduceat(ops.mode_machine, starts)
        bound_to_one = lowest == np.maximum.reduceat(ops.mode_machine, starts)
        for m in np.unique(lowest[bound_to_one]):
            only = bound_to_one & (lowest == m)
            bound = max(bound, int(op_release[only].min() + min_dur[only].sum()))
    if n_machines:
        earliest = int(op_release.min()) if n_ops else 0
        bound = max(bound, earliest + -(-int(min_dur.sum()) // n_machines))
    return bound


def _horizon(
    instance: Instance,
    max_duration: np.ndarray,
    prec: _Precedences,
    setup: np.ndarray,
    unav: _Unavailability,
    op_release: np.ndarray,
) -> int:
    """The given horizon, else a safe one: after every window and release, all ops in a row."""
    if instance.horizon is not None:
        return int(instance.horizon)
    n_ops = max_duration.size
    max_setup = int(setup.max()) if setup.size else 0
    latest_window = int(unav.end.max()) if unav.end.size else 0
    latest_release = int(op_release.max()) if op_release.size else 0
    lags = int(np.maximum(prec.succ_lag, 0).sum())
    serial = int(max_duration.sum() + n_ops * max_setup + lags)
    return max(max(latest_window, latest_release) + serial, 1)


def _hard_deadlines(instance: Instance, op_job: np.ndarray, job_deadline: np.ndarray) -> np.ndarray:
    """Each operation's hard latest end: the earlier of its job's and its own deadline, or -1."""
    own = np.array(
        [-1 if op.deadline is None else op.deadline for _, op in instance.operations], dtype=I64
    )
    job = job_deadline[op_job]
    both = np.where(job < 0, own, np.where(own < 0, job, np.minimum(job, own)))
    return both.astype(I64)


def _energy_profiles(energy: Energy, horizon: int, ops: _Operations) -> _Profiles:
    """The power cap (a constant cap is one step), tariff and carbon profiles over the horizon.
    A power cap is clipped to the most all operations together can draw (so 1e20 kW, a "no
    cap" placeholder, is the same as no cap) and dropped when it cannot bind."""
    empty = np.zeros(0, dtype=I64), np.zeros(0, dtype=np.float64)
    cap = energy.power_cap_kw
    if cap is None:
        cap_steps = empty
    elif isinstance(cap, Profile):
        cap_steps = unroll_profile(cap, horizon, "energy.power_cap_kw")
    else:
        cap_steps = np.zeros(1, dtype=I64), np.array([float(cap)])
    demand = float(_per_op_power(ops).sum())
    if cap_steps[1].size and cap_steps[1].min() >= demand:
        cap_steps = empty
    elif cap_steps[1].size:
        cap_steps = _clipped(cap_steps, demand)
    tariff = unroll_profile(energy.tariff, horizon, "energy.tariff") if energy.tariff else empty
    carbon = (
        unroll_profile(energy.carbon_intensity, horizon, "energy.carbon_intensity")
        if energy.carbon_intensity
        else empty
    )
    return _Profiles(*cap_steps, *tariff, *carbon)


def _clipped(steps: tuple[np.ndarray, np.ndarray], ceiling: float) -> tuple[np.ndarray, np.ndarray]:
    """A step profile with every value clipped to `ceiling`, adjacent equal values merged."""
    starts, values = steps[0], np.minimum(steps[1], ceiling)
    keep = np.concatenate(([True], values[1:] != values[:-1]))
    return starts[keep], values[keep]


def _per_op_power(ops: _Operations) -> np.ndarray:
    """The largest power any mode of each operation draws (kW)."""
    ptr, power = ops.mode_ptr, ops.mode_power
    return np.array([power[ptr[o] : ptr[o + 1]].max() for o in range(len(ops.op_ids))])


def _binding_carbon_cap(instance: Instance, ops: _Operations, profiles: _Profiles) -> float:
    """The carbon cap (kg), or nan when there is none or it cannot bind: at or above what
    every operation emits in its most emitting mode at the highest carbon intensity (so
    1e15 kg, a "no cap" placeholder, is the same as no cap)."""
    cap = instance.energy.carbon_cap_kg
    if cap is None:
        return float("nan")
    intensity = float(profiles.carbon_value.max(initial=0.0))
    kwh = ops.mode_power * ops.mode_duration * instance.hours_per_tick
    ptr = ops.mode_ptr
    most = sum(float(kwh[ptr[o] : ptr[o + 1]].max()) for o in range(len(ops.op_ids)))
    return float("nan") if float(cap) >= most * intensity else float(cap)


class ReferencePlan(NamedTuple):
    """A reference plan on the operation indices (what the `deviation` term measures from):
    start (-1 where the plan does not hold the operation), machine index (-1: none or unknown)
    and the cost of a machine change: the operation's duration in the plan."""

    start: np.ndarray
    machine: np.ndarray
    change_cost: np.ndarray


def compile_reference(c: CompiledInstance, reference: Schedule) -> ReferencePlan:
    """`reference` matched to the operations of `c` by id (`scheduler.core.kpi.stability_kpis`
    defines the deviation it serves)."""
    start = np.full(c.n_ops, -1, dtype=I64)
    machine = np.full(c.n_ops, -1, dtype=I64)
    cost = np.zeros(c.n_ops, dtype=I64)
    for a in reference.assignments:
        o = c.op_index.get(a.operation)
        if o is not None:
            start[o] = int(a.start)
            machine[o] = c.machine_index.get(a.machine, -1)
            cost[o] = int(a.end) - int(a.start)
    return ReferencePlan(start, machine, cost)
