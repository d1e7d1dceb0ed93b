"""The problem as users state it: machines, jobs, operations, modes, setups, resources, energy.

Ids are strings. Every object is immutable; an `Instance` checks its own consistency on
construction (see `scheduler.core.checks`) and raises `InstanceError` naming the field and reason.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from numbers import Real
from types import MappingProxyType
from typing import Any

from scheduler.core.checks import check_instance
from scheduler.core.clock import to_datetime
from scheduler.core.errors import InstanceError


@dataclass(frozen=True)
class Profile:
    """A step function of time: `steps` are (start_tick, value), each value holding until the
    next start; with `period` the profile repeats every `period` ticks."""

    steps: tuple[tuple[int, float], ...]
    period: int | None = None

    def value_at(self, tick: int) -> float:
        """The value in force at `tick` (ticks before the first step take the first value)."""
        t = tick % self.period if self.period else tick
        value = self.steps[0][1]
        for start, v in self.steps:
            if start > t:
                break
            value = v
        return value


@dataclass(frozen=True)
class Mode:
    """One way to run an operation: on `machine` for `duration` ticks at `power_kw`."""

    machine: str
    duration: int
    power_kw: float = 0.0
    resources: MappingProxyType[str, int] = field(default_factory=lambda: MappingProxyType({}))

    def __post_init__(self) -> None:
        if not isinstance(self.resources, MappingProxyType):
            object.__setattr__(self, "resources", MappingProxyType(dict(self.resources)))

    def __hash__(self) -> int:
        return hash((self.machine, self.duration, self.power_kw, tuple(self.resources.items())))


@dataclass(frozen=True)
class Operation:
    """An operation of a job. `predecessors` is None when not given (the job is then a chain);
    otherwise it lists (operation id, lag) pairs: this starts >= lag ticks after each ends.
    `release` and `deadline` bound this operation alone (start >= release, end <= deadline),
    on top of its job's; rescheduling pins operations with them."""

    id: str
    modes: tuple[Mode, ...]
    family: str | None = None
    predecessors: tuple[tuple[str, int], ...] | None = None
    release: int = 0
    deadline: int | None = None


@dataclass(frozen=True)
class Job:
    """A job: its operations, release (earliest start), soft due date, hard deadline, weight."""

    id: str
    operations: tuple[Operation, ...]
    release: int = 0
    due: int | None = None
    deadline: int | None = None
    weight: float = 1.0


@dataclass(frozen=True)
class Machine:
    """A machine with its idle power draw and [start, end) windows in which it cannot process."""

    id: str
    idle_power_kw: float = 0.0
    unavailable: tuple[tuple[int, int], ...] = ()


@dataclass(frozen=True)
class Resource:
    """A renewable resource (operators, tools): at every tick demand <= capacity."""

    id: str
    capacity: int


@dataclass(frozen=True)
class Energy:
    """Energy settings: power cap (kW, constant or profile), tariff (cost per kWh),
    carbon intensity (kg CO2 per kWh) and a hard cap on total processing carbon (kg)."""

    power_cap_kw: float | Profile | None = None
    tariff: Profile | None = None
    carbon_intensity: Profile | None = None
    carbon_cap_kg: float | None = None

    @property
    def is_empty(self) -> bool:
        return (
            self.power_cap_kw is None
            and self.tariff is None
            and self.carbon_intensity is None
            and self.carbon_cap_kg is None
        )


@dataclass(frozen=True)
class Instance:
    """A scheduling problem. Constructing one runs every consistency check of DESIGN section 8.
    `start` (optional) is the clock instant of tick 0; without it the plan speaks in ticks."""

    machines: tuple[Machine, ...]
    jobs: tuple[Job, ...]
    name: str = "instance"
    time_unit_minutes: float = 1.0
    horizon: int | None = None
    resources: tuple[Resource, ...] = ()
    setup_times: MappingProxyType[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    energy: Energy = field(default_factory=Energy)
    start: datetime | None = None

    def __post_init__(self) -> None:
        frozen_setups = MappingProxyType(
            {
                m: MappingProxyType({a: MappingProxyType(dict(row)) for a, row in table.items()})
                for m, table in dict(self.setup_times).items()
            }
        )
        object.__setattr__(self, "setup_times", frozen_setups)
        _check_parts(self)
        check_instance(self)

    def __hash__(self) -> int:
        return hash((self.name, self.machines, self.jobs))

    # -- lookups -------------------------------------------------------------------------
    @property
    def operations(self) -> list[tuple[Job, Operation]]:
        """All (job, operation) pairs in job order, then operation order."""
        return [(job, op) for job in self.jobs for op in job.operations]

    def setup(self, machine: str, before: str | None, after: str | None) -> int:
        """Setup ticks on `machine` between an operation of family `before` and one of `after`."""
        if before is None or after is None:
            return 0
        return int(self.setup_times.get(machine, {}).get(before, {}).get(after, 0))

    def precedences(self) -> list[tuple[str, str, int]]:
        """Every precedence as (predecessor op id, successor op id, lag): job chains for jobs
        that name no predecessors, exactly the named ones otherwise (cross-job links too)."""
        arcs: list[tuple[str, str, int]] = []
        for job in self.jobs:
            if any(op.predecessors is not None for op in job.operations):
                for op in job.operations:
                    for pred, lag in op.predecessors or ():
                        arcs.append((pred, op.id, lag))
            else:
                for a, b in zip(job.operations, job.operations[1:], strict=False):
                    arcs.append((a.id, b.id, 0))
        return arcs

    def clock(self, tick: int) -> datetime | None:
        """The instant of `tick` when the instance has a `start`, else None."""
        if self.start is None:
            return None
        return to_datetime(self.start, self.time_unit_minutes, tick)

    @property
    def hours_per_tick(self) -> float:
        """Hours in one tick: kW x ticks x this is kWh."""
        return self.time_unit_minutes / 60.0

    @property
    def has_energy(self) -> bool:
        return not self.energy.is_empty or any(m.idle_power_kw for m in self.machines)


def _is(value: Any, kind: type | tuple[type, ...], where: str) -> None:
    """Refuse an object of the wrong class (e.g. a dict where a `Job` belongs)."""
    if not isinstance(value, kind):
        names = " or ".join(k.__name__ for k in (kind if isinstance(kind, tuple) else (kind,)))
        raise InstanceError(f"{where}: expected a {names}, got {type(value).__name__}")


def _check_parts(inst: Instance) -> None:
    """Every part is an object of the model (e.g. not a dict where a `Job` belongs), so that
    `scheduler.core.checks` can check the values without knowing the classes."""
    for i, machine in enumerate(inst.machines or ()):
        _is(machine, Machine, f"machines[{i}]")
    for i, resource in enumerate(inst.resources or ()):
        _is(resource, Resource, f"resources[{i}]")
    for j, job in enumerate(inst.jobs or ()):
        _is(job, Job, f"jobs[{j}]")
        for k, op in enumerate(job.operations):
            _is(op, Operation, f"jobs[{j}], operations[{k}]")
            for n, mode in enumerate(op.modes):
                _is(mode, Mode, f"jobs[{j}], operations[{k}], modes[{n}]")
    _is(inst.energy, Energy, "energy")
    if inst.start is not None:
        _is(inst.start, datetime, "start")
    energy = inst.energy
    if energy.power_cap_kw is not None and not isinstance(energy.power_cap_kw, bool):
        _is(energy.power_cap_kw, (Real, Profile), "energy: power_cap_kw")
    for name in ("tariff", "carbon_intensity"):
        if getattr(energy, name) is not None:
            _is(getattr(energy, name), Profile, f"energy.{name}")
