"""Consistency checks run when an `Instance` is built (DESIGN section 8). Each failure raises
`InstanceError` whose message starts with the path of the offending field."""

from __future__ import annotations

import math
from numbers import Integral, Real
from typing import TYPE_CHECKING, Any, cast

from scheduler.core.bulk import gc_paused
from scheduler.core.errors import InstanceError
from scheduler.core.limits import (
    MAX_AMOUNT,
    MAX_ID_CHARS,
    MAX_QUANTITY,
    MAX_TICKS,
    MAX_TIME_UNIT_MINUTES,
    MIN_TIME_UNIT_MINUTES,
    cut,
    describe_limit,
    finite_number,
    quote,
    wanted,
)

if TYPE_CHECKING:
    from scheduler.core.model import Instance, Mode, Profile


def _int(value: Any, where: str, minimum: int | None = 0, maximum: int = MAX_TICKS) -> int:
    if type(value) is not int and (isinstance(value, bool) or not isinstance(value, Integral)):
        raise InstanceError(
            f"{where}: expected {wanted('an integer', minimum)}, got {quote(value)}"
        )
    number = int(value)
    if minimum is not None and number < minimum:
        raise InstanceError(
            f"{where}: expected {wanted('an integer', minimum)}, got {quote(number)}"
        )
    if number > maximum:
        raise InstanceError(
            f"{where}: {quote(number)} is above the limit {describe_limit(maximum)}"
        )
    return number


def _num(
    value: Any, where: str, minimum: float | None = 0.0, maximum: float = MAX_QUANTITY
) -> float:
    """A finite real number in [minimum, maximum] (no minimum when None: in [-max, max])."""
    if not finite_number(value):
        expected = wanted("a number", minimum, "a finite number")
        raise InstanceError(f"{where}: expected {expected}, got {quote(value)}")
    number = float(value)
    if minimum is not None and number < minimum:
        raise InstanceError(
            f"{where}: expected {wanted('a number', minimum, 'a finite number')}, got {number:g}"
        )
    if abs(number) > maximum:
        raise InstanceError(f"{where}: {number:g} is beyond the limit {describe_limit(maximum)}")
    return number


def _id(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value:
        raise InstanceError(f"{where}: expected a non-empty string id, got {quote(value)}")
    if len(value) > MAX_ID_CHARS:
        raise InstanceError(
            f"{where}: {quote(value)} is {len(value)} characters long, above the limit "
            f"{MAX_ID_CHARS}"
        )
    return value


def _first_repeat(ids: list[str], paths: list[str]) -> None:
    """Refuse an id used twice, naming both places."""
    first: dict[str, str] = {}
    for i, path in zip(ids, paths, strict=True):
        if i in first:
            raise InstanceError(f"{path}: id {quote(i)} is already used by {first[i]}")
        first[i] = path


def check_profile(
    profile: Profile, where: str, minimum: float | None = 0.0, maximum: float = MAX_QUANTITY
) -> None:
    """Steps non-empty, integer starts strictly increasing from 0, finite values within the
    limits, and a period longer than the last start."""
    if not profile.steps:
        raise InstanceError(f"{where}: steps: at least one [start, value] step is required")
    last = -1
    for i, step in enumerate(profile.steps):
        if not isinstance(step, (tuple, list)) or len(step) != 2:
            raise InstanceError(
                f"{where}: steps[{i}]: expected [start_tick, value], got {quote(step)}"
            )
        start = _int(step[0], f"{where}: steps[{i}] start")
        _num(step[1], f"{where}: steps[{i}] value", minimum, maximum)
        if i == 0 and start != 0:
            raise InstanceError(f"{where}: steps: the first step must start at tick 0, not {start}")
        if start <= last:
            raise InstanceError(
                f"{where}: steps: starts must be strictly increasing ({start} after {last})"
            )
        last = start
    if profile.period is not None:
        period = _int(profile.period, f"{where}: period", 1)
        if last >= period:
            raise InstanceError(
                f"{where}: period: {period} is not after the last step start {last}"
            )


CYCLE_SHOWN = 8  # operations of a precedence cycle named in its message


def job_path(inst: Instance, j: int) -> str:
    """`jobs[j] 'id'`: the path of job j, as the JSON reader names it."""
    return f"jobs[{j}] {quote(inst.jobs[j].id)}"


@gc_paused
def check_instance(inst: Instance) -> None:
    """Raise InstanceError for the first inconsistency found. Messages start with the path of
    the field as in the JSON format: `jobs[0] 'J1', operations[1] 'J1-2', modes[0]: ...`."""
    if not isinstance(inst.name, str):
        raise InstanceError(f"name: expected a string, got {quote(inst.name)}")
    if len(inst.name) > MAX_ID_CHARS:
        raise InstanceError(
            f"name: {len(inst.name)} characters long, above the limit {MAX_ID_CHARS}"
        )
    _num(inst.time_unit_minutes, "time_unit_minutes", None, math.inf)
    if not MIN_TIME_UNIT_MINUTES <= inst.time_unit_minutes <= MAX_TIME_UNIT_MINUTES:
        raise InstanceError(
            f"time_unit_minutes: expected a number in [{MIN_TIME_UNIT_MINUTES:g}, "
            f"{MAX_TIME_UNIT_MINUTES:g}], got {inst.time_unit_minutes:g}"
        )
    if inst.horizon is not None:
        _int(inst.horizon, "horizon", 1)
    if not inst.machines:
        raise InstanceError("machines: at least one machine is required")
    if not inst.jobs:
        raise InstanceError("jobs: at least one job is required")
    machines = _check_machines(inst)
    capacity = _check_resources(inst)
    _check_jobs(inst, machines, capacity)
    _check_predecessors(inst)
    _check_setups(inst, machines)
    _check_energy(inst)
    _check_precedence_times(inst)


def _check_machines(inst: Instance) -> set[str]:
    """Unique ids, idle power, well-formed windows; returns the machine ids."""
    ids = [_id(m.id, f"machines[{i}]: id") for i, m in enumerate(inst.machines)]
    paths = [f"machines[{i}] {quote(mid)}" for i, mid in enumerate(ids)]
    _first_repeat(ids, paths)
    for machine, path in zip(inst.machines, paths, strict=True):
        _num(machine.idle_power_kw, f"{path}: idle_power_kw")
        for k, window in enumerate(machine.unavailable):
            where = f"{path}: unavailable[{k}]"
            if not isinstance(window, (tuple, list)) or len(window) != 2:
                raise InstanceError(f"{where}: expected [start, end], got {quote(window)}")
            s, e = _int(window[0], f"{where} start"), _int(window[1], f"{where} end")
            if e <= s:
                raise InstanceError(f"{where}: end {e} must be after start {s}")
    return set(ids)


def _check_resources(inst: Instance) -> dict[str, int]:
    """Unique ids and capacities >= 0; returns the capacity per resource id."""
    ids = [_id(r.id, f"resources[{i}]: id") for i, r in enumerate(inst.resources)]
    paths = [f"resources[{i}] {quote(rid)}" for i, rid in enumerate(ids)]
    _first_repeat(ids, paths)
    return {
        rid: _int(r.capacity, f"{path}: capacity", 0, MAX_AMOUNT)
        for rid, r, path in zip(ids, inst.resources, paths, strict=True)
    }


def _check_jobs(inst: Instance, machines: set[str], capacity: dict[str, int]) -> None:
    """Job fields, operation ids (unique across the instance), families and every mode."""
    _first_repeat(
        [_id(job.id, f"jobs[{j}]: id") for j, job in enumerate(inst.jobs)],
        [job_path(inst, j) for j in range(len(inst.jobs))],
    )
    op_ids, op_paths = [], []
    for j, job in enumerate(inst.jobs):
        jw = job_path(inst, j)
        release = _int(job.release, f"{jw}: release")
        if job.due is not None:
            _int(job.due, f"{jw}: due")
        if job.deadline is not None and _int(job.deadline, f"{jw}: deadline") <= release:
            raise InstanceError(
                f"{jw}: deadline: {job.deadline} is not after the release {release}"
            )
        _num(job.weight, f"{jw}: weight")
        if not job.operations:
            raise InstanceError(f"{jw}: operations: at least one operation is required")
        for k, op in enumerate(job.operations):
            ow = f"{jw}, operations[{k}] {quote(_id(op.id, f'{jw}, operations[{k}]: id'))}"
            op_ids.append(op.id)
            op_paths.append(ow)
            if op.family is not None:
                _id(op.family, f"{ow}: family")
            op_release = _int(op.release, f"{ow}: release")
            if op.deadline is not None and _int(op.deadline, f"{ow}: deadline") < op_release:
                raise InstanceError(
                    f"{ow}: deadline: {op.deadline} is before the release {op_release}"
                )
            if not op.modes:
                raise InstanceError(f"{ow}: modes: at least one mode is required")
            for n, mode in enumerate(op.modes):
                _check_mode(mode, f"{ow}, modes[{n}]", machines, capacity)
    _first_repeat(op_ids, op_paths)


def _check_mode(mode: Mode, mw: str, machines: set[str], capacity: dict[str, int]) -> None:
    """A known machine, duration >= 0, power >= 0, known resources within their capacity."""
    if mode.machine not in machines:
        raise InstanceError(f"{mw}: machine: {quote(mode.machine)} is not a known machine")
    _int(mode.duration, f"{mw}: duration", 0)
    _num(mode.power_kw, f"{mw}: power_kw")
    for r, q in mode.resources.items():
        if r not in capacity:
            raise InstanceError(f"{mw}: resources: {quote(r)} is not a known resource")
        if _int(q, f"{mw}: resources[{quote(r)}]", 0, MAX_AMOUNT) > capacity[r]:
            raise InstanceError(
                f"{mw}: resources[{quote(r)}]: demands {q}, above the capacity {capacity[r]} "
                f"of resource {quote(r)}"
            )


def _check_predecessors(inst: Instance) -> None:
    """Each predecessor is an (operation id, lag >= 0) pair naming another known operation."""
    known = {op.id for job in inst.jobs for op in job.operations}
    for j, job in enumerate(inst.jobs):
        for k, op in enumerate(job.operations):
            for n, pred in enumerate(op.predecessors or ()):
                pw = f"{job_path(inst, j)}, operations[{k}] {quote(op.id)}: predecessors[{n}]"
                if not isinstance(pred, (tuple, list)) or len(pred) != 2:
                    raise InstanceError(
                        f"{pw}: expected an (operation id, lag) pair, got {quote(pred)}"
                    )
                if pred[0] not in known:
                    raise InstanceError(f"{pw}: {quote(pred[0])} is not a known operation")
                if pred[0] == op.id:
                    raise InstanceError(f"{pw}: an operation cannot precede itself")
                _int(pred[1], f"{pw} lag")


def _check_setups(inst: Instance, machines: set[str]) -> None:
    """Setup tables name known machines and hold integers >= 0."""
    for m, table in inst.setup_times.items():
        if m not in machines:
            raise InstanceError(f"setup_times: {quote(m)} is not a known machine")
        for a, row in table.items():
            for b, ticks in row.items():
                _int(ticks, f"setup_times[{quote(m)}][{quote(a)}][{quote(b)}]")


def _check_energy(inst: Instance) -> None:
    """Profiles well formed; caps and carbon intensities >= 0 (tariffs may be negative)."""
    energy = inst.energy
    if isinstance(energy.power_cap_kw, Real):  # caps of any size: compile drops what cannot bind
        _num(energy.power_cap_kw, "energy: power_cap_kw", 0.0, math.inf)
    elif energy.power_cap_kw is not None:  # a Profile: the model checked the class
        check_profile(cast("Profile", energy.power_cap_kw), "energy.power_cap_kw", 0.0, math.inf)
    if energy.tariff is not None:
        check_profile(energy.tariff, "energy.tariff", None)
    if energy.carbon_intensity is not None:
        check_profile(energy.carbon_intensity, "energy.carbon_intensity")
    if energy.carbon_cap_kg is not None:
        _num(energy.carbon_cap_kg, "energy: carbon_cap_kg", 0.0, math.inf)


def _check_precedence_times(inst: Instance) -> None:
    """No cycles; every job can meet its deadline and the horizon by minimal work alone
    (earliest starts by a longest-path pass over the precedences in topological order)."""
    succ: dict[str, list[tuple[str, int]]] = {op.id: [] for _, op in inst.operations}
    indegree = dict.fromkeys(succ, 0)
    for a, b, lag in inst.precedences():
        succ[a].append((b, lag))
        indegree[b] += 1
    head = {op.id: max(job.release, op.release) for job, op in inst.operations}
    min_dur = {op.id: min(m.duration for m in op.modes) for _, op in inst.operations}
    ready = [o for o, d in indegree.items() if d == 0]
    done = 0
    while ready:
        o = ready.pop()
        done += 1
        for s, lag in succ[o]:
            head[s] = max(head[s], head[o] + min_dur[o] + lag)
            indegree[s] -= 1
            if indegree[s] == 0:
                ready.append(s)
    if done < len(succ):
        _raise_cycle(inst, succ, {o for o, d in indegree.items() if d > 0})
    for j, job in enumerate(inst.jobs):
        for k, op in enumerate(job.operations):
            if op.deadline is not None and head[op.id] + min_dur[op.id] > op.deadline:
                raise InstanceError(
                    f"{job_path(inst, j)}, operations[{k}] {quote(op.id)}: deadline: {op.deadline} "
                    f"is before its release plus minimal work (it cannot end before "
                    f"{head[op.id] + min_dur[op.id]})"
                )
        finish = max(head[op.id] + min_dur[op.id] for op in job.operations)
        if job.deadline is not None and finish > job.deadline:
            raise InstanceError(
                f"{job_path(inst, j)}: deadline: {job.deadline} is before its release plus "
                f"minimal work (it cannot end before {finish})"
            )
        if inst.horizon is not None and finish > inst.horizon:
            raise InstanceError(
                f"horizon: {inst.horizon} is before job {quote(job.id)} can end "
                f"(release plus minimal work: {finish})"
            )


def _raise_cycle(inst: Instance, succ: dict[str, list[tuple[str, int]]], left: set[str]) -> None:
    """Name one precedence cycle among the operations a topological sort could not place
    (each has a predecessor among them, so walking back from any one must repeat), at the
    first of its operations in instance order, whose predecessors close the cycle."""
    pred: dict[str, str] = {}
    for a in left:
        for b, _ in succ[a]:
            if b in left:
                pred.setdefault(b, a)
    paths = {
        op.id: f"{job_path(inst, j)}, operations[{k}] {quote(op.id)}"
        for j, job in enumerate(inst.jobs)
        for k, op in enumerate(job.operations)
    }
    order = {o: i for i, o in enumerate(paths)}
    walk = [min(left, key=order.__getitem__)]
    seen = {walk[0]: 0}
    while (prev := pred[walk[-1]]) not in seen:
        seen[prev] = len(walk)
        walk.append(prev)
    cycle = walk[seen[prev] :][::-1]  # in precedence order
    first = min(cycle, key=order.__getitem__)
    at = cycle.index(first) - 1
    cycle = cycle[at:] + cycle[:at]  # starts with the predecessor of `first`
    shown = [cut(o) for o in cycle[:CYCLE_SHOWN]] + (["..."] if len(cycle) > CYCLE_SHOWN else [])
    path = " -> ".join([*shown, cut(cycle[0])])
    raise InstanceError(f"{paths[first]}: predecessors: the precedences form a cycle {path}")
