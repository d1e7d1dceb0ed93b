"""The instance as dense numpy arrays with integer indices: what every solver and Numba kernel
reads. Made once per instance; nothing downstream re-parses the `Instance`.

Conventions: operations are numbered in job order then operation order, so the operations of
job j are `job_op_ptr[j]:job_op_ptr[j+1]`. Modes are numbered globally; the modes of operation
o are `mode_ptr[o]:mode_ptr[o+1]`. "No value" is -1 for integer fields (due, deadline, family).
"""

from __future__ import annotations

from dataclasses import dataclass

import networkx as nx
import numpy as np

from scheduler.model import Instance, Profile

I64 = np.int64


@dataclass(frozen=True, eq=False)
class CompiledInstance:
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
    op_release: np.ndarray  # [n_ops] release of its job
    op_deadline: np.ndarray  # [n_ops] latest end: min(job deadline, horizon)
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
    head: np.ndarray  # [n_ops] earliest start by releases and precedences
    tail: np.ndarray  # [n_ops] shortest time from start to the end of all that follows
    critical_path_bound: int
    machine_load_bound: int

    @property
    def n_modes(self) -> int:
        return int(self.mode_machine.shape[0])

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
        return bool(np.any(self.job_deadline >= 0))

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


def unroll_profile(profile: Profile, horizon: int) -> tuple[np.ndarray, np.ndarray]:
    """Step starts and values covering [0, horizon), periodic profiles repeated; adjacent
    equal values merged."""
    steps = list(profile.steps)
    starts: list[int] = []
    values: list[float] = []
    if profile.period:
        base = 0
        while base < horizon:
            for s, v in steps:
                if base + s < horizon:
                    starts.append(base + s)
                    values.append(v)
            base += profile.period
    else:
        starts = [s for s, _ in steps if s < horizon]
        values = [v for s, v in steps if s < horizon]
    if not starts or starts[0] != 0:  # ticks before the first step take the first value
        starts.insert(0, 0)
        values.insert(0, steps[0][1])
    keep = [0] + [i for i in range(1, len(starts)) if values[i] != values[i - 1]]
    return np.array([starts[i] for i in keep], dtype=I64), np.array(
        [values[i] for i in keep], dtype=np.float64
    )


def dense_profile(starts: np.ndarray, values: np.ndarray, horizon: int) -> np.ndarray:
    """The per-tick values of an unrolled step profile over [0, horizon)."""
    out = np.empty(horizon, dtype=np.float64)
    bounds = np.append(starts, horizon)
    for i in range(starts.size):
        out[bounds[i] : bounds[i + 1]] = values[i]
    return out


def _csr(n: int, arcs: list[tuple[int, int, int]]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    arcs = sorted(arcs)
    ptr = np.zeros(n + 1, dtype=I64)
    for a, _, _ in arcs:
        ptr[a + 1] += 1
    return (
        np.cumsum(ptr).astype(I64),
        np.array([b for _, b, _ in arcs], dtype=I64),
        np.array([lag for _, _, lag in arcs], dtype=I64),
    )


def compile_instance(instance: Instance) -> CompiledInstance:
    """Build the dense arrays (see the module docstring for the conventions)."""
    machine_ids = [m.id for m in instance.machines]
    machine_index = {m: i for i, m in enumerate(machine_ids)}
    resource_ids = [r.id for r in instance.resources]
    resource_index = {r: i for i, r in enumerate(resource_ids)}
    families: dict[str, int] = {}
    for _, op in instance.operations:
        if op.family is not None:
            families.setdefault(op.family, len(families))
    for table in instance.setup_times.values():
        for a, row in table.items():
            families.setdefault(a, len(families))
            for b in row:
                families.setdefault(b, len(families))

    op_ids: list[str] = []
    op_job, op_family, job_op_ptr = [], [], [0]
    mode_ptr, mode_op, mode_machine, mode_duration, mode_power = [0], [], [], [], []
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
    n_ops, n_machines, n_jobs = len(op_ids), len(machine_ids), len(instance.jobs)
    op_index = {o: i for i, o in enumerate(op_ids)}

    arcs = [(op_index[a], op_index[b], lag) for a, b, lag in instance.precedences()]
    succ_ptr, succ_op, succ_lag = _csr(n_ops, arcs)
    pred_ptr, pred_op, pred_lag = _csr(n_ops, [(b, a, lag) for a, b, lag in arcs])
    graph = nx.DiGraph()
    graph.add_nodes_from(range(n_ops))
    graph.add_edges_from((a, b) for a, b, _ in arcs)
    topo = np.array(list(nx.lexicographical_topological_sort(graph)), dtype=I64)

    n_fam = len(families)
    setup = np.zeros((n_machines, n_fam, n_fam), dtype=I64)
    for machine_id, table in instance.setup_times.items():
        for a, row in table.items():
            for b, ticks in row.items():
                setup[machine_index[machine_id], families[a], families[b]] = ticks

    unav_ptr, unav_start, unav_end = [0], [], []
    for machine in instance.machines:
        merged: list[list[int]] = []
        for s, e in sorted(machine.unavailable):
            if merged and s <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], e)
            elif e > s:
                merged.append([s, e])
        unav_start += [s for s, _ in merged]
        unav_end += [e for _, e in merged]
        unav_ptr.append(len(unav_start))

    mode_ptr_a = np.array(mode_ptr, dtype=I64)
    dur = np.array(mode_duration, dtype=I64)
    min_dur = np.array([dur[mode_ptr[o] : mode_ptr[o + 1]].min() for o in range(n_ops)], dtype=I64)
    max_dur = np.array([dur[mode_ptr[o] : mode_ptr[o + 1]].max() for o in range(n_ops)], dtype=I64)
    job_release = np.array([j.release for j in instance.jobs], dtype=I64)
    op_release = job_release[np.array(op_job, dtype=I64)] if n_ops else np.zeros(0, dtype=I64)

    head = op_release.copy()
    for o in topo:
        for i in range(succ_ptr[o], succ_ptr[o + 1]):
            s = succ_op[i]
            head[s] = max(head[s], head[o] + min_dur[o] + succ_lag[i])
    tail = min_dur.copy()
    for o in topo[::-1]:
        for i in range(succ_ptr[o], succ_ptr[o + 1]):
            tail[o] = max(tail[o], min_dur[o] + succ_lag[i] + tail[succ_op[i]])
    critical = int((head + tail).max()) if n_ops else 0

    # machine load: work that can only go to machine m, after the earliest such release
    load_bound = 0
    for m in range(n_machines):
        only = [
            o
            for o in range(n_ops)
            if all(mode_machine[k] == m for k in range(mode_ptr[o], mode_ptr[o + 1]))
        ]
        if only:
            load_bound = max(load_bound, int(op_release[only].min() + min_dur[only].sum()))
    if n_machines:
        earliest = int(op_release.min()) if n_ops else 0
        load_bound = max(load_bound, earliest + -(-int(min_dur.sum()) // n_machines))

    # a safe horizon: after every window and release, all operations one after another
    max_setup = int(setup.max()) if setup.size else 0
    if instance.horizon is not None:
        horizon = int(instance.horizon)
    else:
        latest_window = max(unav_end, default=0)
        lags = sum(max(0, lag) for _, _, lag in arcs)
        horizon = max(latest_window, int(job_release.max()) if n_jobs else 0) + int(
            max_dur.sum() + n_ops * max_setup + lags
        )
        horizon = max(horizon, 1)

    deadlines = np.array(
        [j.deadline if j.deadline is not None else -1 for j in instance.jobs], dtype=I64
    )
    op_deadline = np.full(n_ops, horizon, dtype=I64)
    for o in range(n_ops):
        d = deadlines[op_job[o]]
        if d >= 0:
            op_deadline[o] = min(horizon, d)

    energy = instance.energy
    empty_i, empty_f = np.zeros(0, dtype=I64), np.zeros(0, dtype=np.float64)
    cap = energy.power_cap_kw
    if cap is None:
        cap_s, cap_v = empty_i, empty_f
    elif isinstance(cap, Profile):
        cap_s, cap_v = unroll_profile(cap, horizon)
    else:
        cap_s, cap_v = np.zeros(1, dtype=I64), np.array([float(cap)])
    tar_s, tar_v = unroll_profile(energy.tariff, horizon) if energy.tariff else (empty_i, empty_f)
    car_s, car_v = (
        unroll_profile(energy.carbon_intensity, horizon)
        if energy.carbon_intensity
        else (empty_i, empty_f)
    )

    return CompiledInstance(
        instance=instance,
        n_ops=n_ops,
        n_jobs=n_jobs,
        n_machines=n_machines,
        n_resources=len(resource_ids),
        n_families=n_fam,
        op_ids=op_ids,
        job_ids=[j.id for j in instance.jobs],
        machine_ids=machine_ids,
        resource_ids=resource_ids,
        family_ids=list(families),
        op_index=op_index,
        machine_index=machine_index,
        op_job=np.array(op_job, dtype=I64),
        op_family=np.array(op_family, dtype=I64),
        op_release=op_release,
        op_deadline=op_deadline,
        job_op_ptr=np.array(job_op_ptr, dtype=I64),
        mode_ptr=mode_ptr_a,
        mode_op=np.array(mode_op, dtype=I64),
        mode_machine=np.array(mode_machine, dtype=I64),
        mode_duration=dur,
        mode_power=np.array(mode_power, dtype=np.float64),
        mode_demand=np.array(demand_rows, dtype=I64).reshape(len(mode_op), len(resource_ids)),
        resource_capacity=np.array([r.capacity for r in instance.resources], dtype=I64),
        succ_ptr=succ_ptr,
        succ_op=succ_op,
        succ_lag=succ_lag,
        pred_ptr=pred_ptr,
        pred_op=pred_op,
        pred_lag=pred_lag,
        topo_order=topo,
        job_release=job_release,
        job_due=np.array([j.due if j.due is not None else -1 for j in instance.jobs], dtype=I64),
        job_deadline=deadlines,
        job_weight=np.array([j.weight for j in instance.jobs], dtype=np.float64),
        setup=setup,
        has_setups=bool(setup.any()),
        unav_ptr=np.array(unav_ptr, dtype=I64),
        unav_start=np.array(unav_start, dtype=I64),
        unav_end=np.array(unav_end, dtype=I64),
        machine_idle_power=np.array([m.idle_power_kw for m in instance.machines]),
        horizon=horizon,
        horizon_given=instance.horizon is not None,
        time_unit_minutes=float(instance.time_unit_minutes),
        power_cap_start=cap_s,
        power_cap_value=cap_v,
        tariff_start=tar_s,
        tariff_value=tar_v,
        carbon_start=car_s,
        carbon_value=car_v,
        carbon_cap_kg=float(energy.carbon_cap_kg)
        if energy.carbon_cap_kg is not None
        else float("nan"),
        min_duration=min_dur,
        head=head,
        tail=tail,
        critical_path_bound=critical,
        machine_load_bound=load_bound,
    )
