"""Consistency checks run when an `Instance` is built (DESIGN section 8). Each failure raises
`InstanceError` whose message starts with the path of the offending field."""

from __future__ import annotations

import math
from numbers import Integral, Real
from typing import TYPE_CHECKING, Any

import networkx as nx

from scheduler.errors import InstanceError

if TYPE_CHECKING:
    from scheduler.model import Instance, Profile


def _int(value: Any, where: str, minimum: int | None = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, Integral):
        raise InstanceError(f"{where}: expected an integer number of ticks, got {value!r}")
    if minimum is not None and value < minimum:
        raise InstanceError(f"{where}: must be >= {minimum}, got {value}")
    return int(value)


def _num(value: Any, where: str, minimum: float | None = 0.0) -> float:
    if isinstance(value, bool) or not isinstance(value, Real) or not math.isfinite(value):
        raise InstanceError(f"{where}: expected a finite number, got {value!r}")
    if minimum is not None and value < minimum:
        raise InstanceError(f"{where}: must be >= {minimum:g}, got {value}")
    return float(value)


def _id(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value:
        raise InstanceError(f"{where}: expected a non-empty string id, got {value!r}")
    return value


def _unique(ids: list[str], what: str) -> None:
    seen: set[str] = set()
    for i in ids:
        if i in seen:
            raise InstanceError(f"{what} {i!r}: id is used twice")
        seen.add(i)


def check_profile(profile: Profile, where: str, minimum: float | None = 0.0) -> None:
    """Steps non-empty, integer starts strictly increasing from 0, finite values, and a
    period longer than the last start."""
    if not profile.steps:
        raise InstanceError(f"{where}.steps: at least one [start, value] step is required")
    last = -1
    for i, step in enumerate(profile.steps):
        if len(step) != 2:
            raise InstanceError(f"{where}.steps[{i}]: expected [start_tick, value]")
        start = _int(step[0], f"{where}.steps[{i}] start")
        _num(step[1], f"{where}.steps[{i}] value", minimum)
        if i == 0 and start != 0:
            raise InstanceError(f"{where}.steps: the first step must start at tick 0, not {start}")
        if start <= last:
            raise InstanceError(
                f"{where}.steps: starts must be strictly increasing ({start} after {last})"
            )
        last = start
    if profile.period is not None:
        period = _int(profile.period, f"{where}.period", 1)
        if last >= period:
            raise InstanceError(
                f"{where}.period: {period} is not after the last step start {last}"
            )


def check_instance(inst: Instance) -> None:
    """Raise InstanceError for the first inconsistency found."""
    from scheduler.model import Profile

    if not isinstance(inst.name, str):
        raise InstanceError(f"name: expected a string, got {inst.name!r}")
    _num(inst.time_unit_minutes, "time_unit_minutes", None)
    if inst.time_unit_minutes <= 0:
        raise InstanceError(f"time_unit_minutes: must be > 0, got {inst.time_unit_minutes}")
    if inst.horizon is not None:
        _int(inst.horizon, "horizon", 1)
    if not inst.machines:
        raise InstanceError("machines: at least one machine is required")
    if not inst.jobs:
        raise InstanceError("jobs: at least one job is required")

    machine_ids = [_id(m.id, f"machines[{i}].id") for i, m in enumerate(inst.machines)]
    _unique(machine_ids, "machine")
    for m in inst.machines:
        _num(m.idle_power_kw, f"machine {m.id!r}: idle_power_kw")
        for k, window in enumerate(m.unavailable):
            where = f"machine {m.id!r}: unavailable[{k}]"
            if len(window) != 2:
                raise InstanceError(f"{where}: expected [start, end]")
            s, e = _int(window[0], where), _int(window[1], where)
            if e <= s:
                raise InstanceError(f"{where}: end {e} must be after start {s}")
    capacity = {}
    for i, r in enumerate(inst.resources):
        rid = _id(r.id, f"resources[{i}].id")
        if rid in capacity:
            raise InstanceError(f"resource {rid!r}: id is used twice")
        capacity[rid] = _int(r.capacity, f"resource {rid!r}: capacity")

    machines = set(machine_ids)
    _unique([_id(j.id, f"jobs[{i}].id") for i, j in enumerate(inst.jobs)], "job")
    op_ids = []
    for job in inst.jobs:
        jw = f"job {job.id!r}"
        release = _int(job.release, f"{jw}: release")
        if job.due is not None:
            _int(job.due, f"{jw}: due")
        if job.deadline is not None and _int(job.deadline, f"{jw}: deadline") <= release:
            raise InstanceError(f"{jw}: deadline {job.deadline} is not after release {release}")
        _num(job.weight, f"{jw}: weight")
        if not job.operations:
            raise InstanceError(f"{jw}: operations: at least one operation is required")
        for i, op in enumerate(job.operations):
            ow = f"{jw}, operation {_id(op.id, f'{jw}: operations[{i}].id')!r}"
            op_ids.append(op.id)
            if op.family is not None and not isinstance(op.family, str):
                raise InstanceError(f"{ow}: family: expected a string, got {op.family!r}")
            if not op.modes:
                raise InstanceError(f"{ow}: modes: at least one mode is required")
            for k, mode in enumerate(op.modes):
                mw = f"{ow}, mode {k}"
                if mode.machine not in machines:
                    raise InstanceError(f"{mw}: machine {mode.machine!r} is not a known machine")
                _int(mode.duration, f"{mw}: duration", 1)
                _num(mode.power_kw, f"{mw}: power_kw")
                for r, q in mode.resources.items():
                    if r not in capacity:
                        raise InstanceError(f"{mw}: resource {r!r} is not a known resource")
                    if _int(q, f"{mw}: resources[{r!r}]") > capacity[r]:
                        raise InstanceError(
                            f"{mw}: resources[{r!r}] demands {q}, above its capacity {capacity[r]}"
                        )
    _unique(op_ids, "operation")

    known_ops = set(op_ids)
    for job in inst.jobs:
        for op in job.operations:
            for k, pred in enumerate(op.predecessors or ()):
                pw = f"job {job.id!r}, operation {op.id!r}: predecessors[{k}]"
                if len(pred) != 2:
                    raise InstanceError(f"{pw}: expected an operation id or [id, lag]")
                if pred[0] not in known_ops:
                    raise InstanceError(f"{pw}: {pred[0]!r} is not a known operation")
                if pred[0] == op.id:
                    raise InstanceError(f"{pw}: an operation cannot precede itself")
                _int(pred[1], f"{pw}: lag")

    for m, table in inst.setup_times.items():
        if m not in machines:
            raise InstanceError(f"setup_times: {m!r} is not a known machine")
        for a, row in table.items():
            for b, ticks in row.items():
                _int(ticks, f"setup_times[{m!r}][{a!r}][{b!r}]")

    energy = inst.energy
    if isinstance(energy.power_cap_kw, Profile):
        check_profile(energy.power_cap_kw, "energy.power_cap_kw")
    elif energy.power_cap_kw is not None:
        _num(energy.power_cap_kw, "energy.power_cap_kw")
    if energy.tariff is not None:
        check_profile(energy.tariff, "energy.tariff", None)
    if energy.carbon_intensity is not None:
        check_profile(energy.carbon_intensity, "energy.carbon_intensity")
    if energy.carbon_cap_kg is not None:
        _num(energy.carbon_cap_kg, "energy.carbon_cap_kg")

    _check_precedence_times(inst)


def _check_precedence_times(inst: Instance) -> None:
    """No cycles; every job can meet its deadline and the horizon by minimal work alone."""
    graph = nx.DiGraph()
    for job in inst.jobs:
        for op in job.operations:
            graph.add_node(op.id)
    arcs = inst.precedences()
    for a, b, lag in arcs:
        graph.add_edge(a, b, lag=lag)
    try:
        cycle = nx.find_cycle(graph)
    except nx.NetworkXNoCycle:
        cycle = None
    if cycle:
        path = " -> ".join([u for u, _ in cycle] + [cycle[0][0]])
        raise InstanceError(f"predecessors: precedence cycle {path}")

    job_of = {op.id: job for job in inst.jobs for op in job.operations}
    min_dur = {
        op.id: min(m.duration for m in op.modes) for job in inst.jobs for op in job.operations
    }
    head = {o: job_of[o].release for o in graph.nodes}
    for o in nx.topological_sort(graph):
        for _, s, data in graph.out_edges(o, data=True):
            head[s] = max(head[s], head[o] + min_dur[o] + data["lag"])
    for job in inst.jobs:
        finish = max(head[op.id] + min_dur[op.id] for op in job.operations)
        if job.deadline is not None and finish > job.deadline:
            raise InstanceError(
                f"job {job.id!r}: deadline {job.deadline} is before its release plus minimal "
                f"work (it cannot end before {finish})"
            )
        if inst.horizon is not None and finish > inst.horizon:
            raise InstanceError(
                f"horizon: {inst.horizon} is before job {job.id!r} can end "
                f"(release plus minimal work: {finish})"
            )
