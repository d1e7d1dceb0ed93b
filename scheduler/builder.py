"""Building an instance in code, the way an MES script adds its orders one by one:

    m = Model("line-3", start="2026-12-01T06:00:00")
    saw = m.add_machine("SAW")
    job = m.add_job("J1", due=600)
    cut = m.add_operation(job, "J1-cut")
    m.add_mode(cut, saw, duration=30, power_kw=7.5)
    result = m.solve(time_limit=10)

The model is held in the JSON form of DESIGN section 4 and each call is checked as it is made
by the JSON reader's own item readers and the instance checks, so a bad value fails at the
call that gave it with the same message the JSON file would give; `instance()` reads the whole
through the JSON reader (cycles and deadlines are checked there)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from scheduler.core.checks import _check_mode, _first_repeat, check_profile
from scheduler.core.clock import iso, parse_datetime
from scheduler.core.errors import InstanceError
from scheduler.core.model import Instance, Profile
from scheduler.core.result import Result
from scheduler.core.solve import solve
from scheduler.io.atomic import atomic_write
from scheduler.io.clock_fields import converter, energy_ticks
from scheduler.io.instance_json import (
    _job,
    _machine,
    _mode,
    _operation,
    _predecessor,
    _resource,
    energy_from_dict,
    instance_from_dict,
    instance_to_dict,
    profile_to_dict,
    read_json,
)
from scheduler.io.values import as_id, as_int


@dataclass(frozen=True)
class MachineHandle:
    id: str


@dataclass(frozen=True)
class ResourceHandle:
    id: str


@dataclass(frozen=True)
class JobHandle:
    id: str


@dataclass(frozen=True)
class OperationHandle:
    id: str
    job: str


@dataclass(frozen=True)
class ModeHandle:
    """The `index`-th mode of `operation` (the `mode` column of the schedule)."""

    operation: str
    index: int


Ref = str | MachineHandle | ResourceHandle | JobHandle | OperationHandle
ProfileLike = Profile | Mapping[str, Any] | Sequence[Sequence[Any]]


def _ref(value: Ref) -> str:
    return value if isinstance(value, str) else value.id


class Model:
    """An instance under construction; every `add_*` returns a handle to pass to later calls
    (a plain id string works as well)."""

    def __init__(
        self,
        name: str = "instance",
        time_unit_minutes: float = 1.0,
        start: datetime | str | None = None,
        horizon: int | datetime | str | None = None,
    ) -> None:
        self._data: dict[str, Any] = {"name": name, "machines": [], "jobs": []}
        if time_unit_minutes != 1:
            self._data["time_unit_minutes"] = time_unit_minutes
        self._start = None if start is None else parse_datetime(start, "start")
        if self._start is not None:
            self._data["start"] = iso(self._start)
        self._convert = converter(self._start, float(time_unit_minutes))
        if horizon is not None:
            self._data["horizon"] = as_int(self._convert(horizon, "horizon"), "horizon", 1)
        self._jobs: dict[str, tuple[dict[str, Any], int]] = {}  # id -> (JSON dict, index)
        self._ops: dict[str, tuple[dict[str, Any], str]] = {}  # id -> (JSON dict, path)
        self._paths: dict[str, dict[str, str]] = {"machines": {}, "resources": {}, "jobs": {}}

    # -- plant ---------------------------------------------------------------------------------
    def add_machine(
        self,
        id: str,
        idle_power_kw: float = 0.0,
        unavailable: Sequence[tuple[Any, Any]] = (),
    ) -> MachineHandle:
        """A machine with its idle draw and [start, end) unavailability windows (ticks, or
        datetimes when the model has a start)."""
        index = len(self._data["machines"])
        where = f"machines[{index}] {id!r}" if isinstance(id, str) and id else f"machines[{index}]"
        value = {
            "id": id,
            "idle_power_kw": idle_power_kw,
            "unavailable": [
                [
                    self._convert(s, f"{where}: unavailable[{k}] start"),
                    self._convert(e, f"{where}: unavailable[{k}] end"),
                ]
                for k, (s, e) in enumerate(unavailable)
            ],
        }
        machine = _machine(value, index)
        self._unique("machines", machine.id, index)
        for k, (s, e) in enumerate(machine.unavailable):
            if e <= s:
                raise InstanceError(f"{where}: unavailable[{k}]: end {e} must be after start {s}")
        self._data["machines"].append(value)
        return MachineHandle(machine.id)

    def add_resource(self, id: str, capacity: int) -> ResourceHandle:
        """A renewable resource (operators, tools) of `capacity` units."""
        resources = self._data.setdefault("resources", [])
        value = {"id": id, "capacity": capacity}
        resource = _resource(value, len(resources))
        self._unique("resources", resource.id, len(resources))
        resources.append(value)
        return ResourceHandle(resource.id)

    def set_setup(self, machine: Ref, from_family: str, to_family: str, ticks: int) -> None:
        """The setup on `machine` between an operation of `from_family` and one of
        `to_family`."""
        m, a, b = _ref(machine), as_id(from_family, "from_family"), as_id(to_family, "to_family")
        if m not in self._paths["machines"]:
            raise InstanceError(f"setup_times: {m!r} is not a known machine")
        value = as_int(ticks, f"setup_times[{m!r}][{a!r}][{b!r}]")
        self._data.setdefault("setup_times", {}).setdefault(m, {}).setdefault(a, {})[b] = value

    def set_energy(
        self,
        power_cap_kw: float | ProfileLike | None = None,
        tariff: ProfileLike | None = None,
        carbon_intensity: ProfileLike | None = None,
        carbon_cap_kg: float | None = None,
    ) -> None:
        """The energy settings; a profile is a `Profile`, a JSON-shaped dict or a list of
        (start, value) steps (starts may be datetimes when the model has a start)."""
        given = {
            "power_cap_kw": power_cap_kw
            if power_cap_kw is None or isinstance(power_cap_kw, (int, float))
            else _profile_json(power_cap_kw),
            "tariff": None if tariff is None else _profile_json(tariff),
            "carbon_intensity": None
            if carbon_intensity is None
            else _profile_json(carbon_intensity),
            "carbon_cap_kg": carbon_cap_kg,
        }
        value = energy_ticks({k: v for k, v in given.items() if v is not None}, self._convert)
        energy = energy_from_dict(value, "energy")
        for name, minimum in (("power_cap_kw", 0.0), ("tariff", None), ("carbon_intensity", 0.0)):
            profile = getattr(energy, name)
            if isinstance(profile, Profile):
                check_profile(profile, f"energy.{name}", minimum)
        self._data["energy"] = value

    # -- orders --------------------------------------------------------------------------------
    def add_job(
        self,
        id: str,
        release: Any = 0,
        due: Any = None,
        deadline: Any = None,
        weight: float = 1.0,
    ) -> JobHandle:
        """A job (times in ticks, or datetimes when the model has a start); its operations are
        a chain in the order added unless a precedence names one of them as successor."""
        index = len(self._data["jobs"])
        where = f"jobs[{index}] {id!r}" if isinstance(id, str) and id else f"jobs[{index}]"
        value: dict[str, Any] = {"id": id, "weight": weight, "operations": []}
        for key, given in (("release", release), ("due", due), ("deadline", deadline)):
            if given is not None:
                value[key] = self._convert(given, f"{where}: {key}")
        job = _job(value, index)
        self._unique("jobs", job.id, index)
        if job.deadline is not None and job.deadline <= job.release:
            raise InstanceError(
                f"{where}: deadline: {job.deadline} is not after the release {job.release}"
            )
        self._data["jobs"].append(value)
        self._jobs[job.id] = (value, index)
        return JobHandle(job.id)

    def add_operation(self, job: Ref, id: str, family: str | None = None) -> OperationHandle:
        """An operation at the end of `job`; give it modes with `add_mode`."""
        j = _ref(job)
        if j not in self._jobs:
            raise InstanceError(f"job {j!r} is not a known job (add it with add_job first)")
        job_value, index = self._jobs[j]
        ops = job_value["operations"]
        value: dict[str, Any] = {"id": id, "modes": []}
        if family is not None:
            value["family"] = family
        op = _operation(value, f"jobs[{index}] {j!r}", len(ops))
        path = f"jobs[{index}] {j!r}, operations[{len(ops)}] {op.id!r}"
        if op.id in self._ops:
            raise InstanceError(f"{path}: id {op.id!r} is already used by {self._ops[op.id][1]}")
        ops.append(value)
        self._ops[op.id] = (value, path)
        return OperationHandle(op.id, j)

    def add_mode(
        self,
        operation: Ref,
        machine: Ref,
        duration: int,
        power_kw: float = 0.0,
        resources: Mapping[Ref, int] | None = None,
    ) -> ModeHandle:
        """One way to run `operation`: on `machine` for `duration` ticks at `power_kw`, taking
        `resources` ({resource: units}) while it runs."""
        value_op, path = self._op(operation)
        modes = value_op["modes"]
        where = f"{path}, modes[{len(modes)}]"
        value: dict[str, Any] = {"machine": _ref(machine), "duration": duration}
        if power_kw:
            value["power_kw"] = power_kw
        if resources:
            value["resources"] = {_ref(r): q for r, q in resources.items()}
        mode = _mode(value, where)
        machines = set(self._paths["machines"])
        capacity = {r["id"]: r["capacity"] for r in self._data.get("resources", [])}
        _check_mode(mode, where, machines, capacity)
        modes.append(value)
        return ModeHandle(value_op["id"], len(modes) - 1)

    def add_precedence(self, before: Ref, after: Ref, lag: int = 0) -> None:
        """`after` starts at least `lag` ticks after `before` ends. As in JSON, a job with an
        operation named as successor has exactly its listed precedences, not a chain."""
        value_after, path = self._op(after)
        preds = value_after.setdefault("predecessors", [])
        where = f"{path}: predecessors[{len(preds)}]"
        pred, ticks = _predecessor([_ref(before), lag], where)
        if pred not in self._ops:
            raise InstanceError(f"{where}: {pred!r} is not a known operation")
        if pred == value_after["id"]:
            raise InstanceError(f"{where}: an operation cannot precede itself")
        preds.append(pred if ticks == 0 else [pred, ticks])

    # -- results -------------------------------------------------------------------------------
    def instance(self) -> Instance:
        """The Instance, read through the JSON reader with every check."""
        return instance_from_dict(self._data)

    def solve(self, **options: Any) -> Result:
        """`scheduler.solve(self.instance(), **options)`."""
        return solve(self.instance(), **options)

    def to_json(self, path: str | Path | None = None) -> dict[str, Any]:
        """The JSON form of the instance (DESIGN section 4); also written to `path` if given."""
        data = instance_to_dict(self.instance())
        if path is not None:
            atomic_write(path, json.dumps(data, indent=2) + "\n")
        return data

    @classmethod
    def from_json(cls, source: str | Path | Mapping[str, Any]) -> Model:
        """A model holding the instance of a JSON file, text or dict, to add to."""
        return cls.from_instance(read_json(source))

    @classmethod
    def from_instance(cls, instance: Instance) -> Model:
        """A model holding `instance`, to add to."""
        data = instance_to_dict(instance)
        model = cls(instance.name, instance.time_unit_minutes, instance.start)
        model._data = {"name": instance.name, **data}
        for key in ("machines", "resources", "jobs"):
            for i, item in enumerate(model._data.get(key, [])):
                model._paths[key][item["id"]] = f"{key}[{i}] {item['id']!r}"
        for j, job in enumerate(model._data["jobs"]):
            model._jobs[job["id"]] = (job, j)
            for k, op in enumerate(job["operations"]):
                model._ops[op["id"]] = (
                    op,
                    f"jobs[{j}] {job['id']!r}, operations[{k}] {op['id']!r}",
                )
        return model

    def _op(self, operation: Ref) -> tuple[dict[str, Any], str]:
        o = _ref(operation)
        if o not in self._ops:
            raise InstanceError(f"operation {o!r} is not a known operation (add_operation first)")
        return self._ops[o]

    def _unique(self, key: str, ident: str, index: int) -> None:
        """Refuse an id already used among `key`, with the instance check's own message."""
        path = f"{key}[{index}] {ident!r}"
        known = self._paths[key]
        if ident in known:
            _first_repeat([ident, ident], [known[ident], path])
        known[ident] = path


def _profile_json(value: ProfileLike) -> dict[str, Any]:
    if isinstance(value, Profile):
        return profile_to_dict(value)
    if isinstance(value, Mapping):
        return dict(value)
    return {"steps": [list(step) for step in value]}
