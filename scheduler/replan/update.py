"""The instance a re-plan at tick `at` solves: the old plan's past frozen, the events applied.

An operation that ended by `at` is kept exactly, and so is one running at `at` (start < at <
end) unless an event stops it: a kept operation keeps only the mode it runs in, with release =
its start and deadline = its end (the per-operation fields of DESIGN section 4), so every
solver must place it where it is. Every other operation gets release `at`. Events apply in
list order (see `scheduler.replan.events` and DESIGN section 6)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass, field

from scheduler.core.errors import InstanceError
from scheduler.core.model import Instance, Operation
from scheduler.core.schedule import Assignment, Schedule
from scheduler.core.validate import validate
from scheduler.replan.events import (
    CancelJob,
    Event,
    MachineDown,
    OperationDelay,
    Redo,
    RushOrder,
    read_events,
)

DONE, RUNNING, OPEN = "done", "running", "open"  # an operation's state at the re-plan time


@dataclass(frozen=True)
class Update:
    """The updated `instance`; `kept`: the operations frozen in it; `plan`: per operation of the
    updated instance that has a place in the old plan, (mode index in the updated instance,
    old start) (a redo copy inherits its original's), the order a right shift keeps."""

    instance: Instance
    kept: frozenset[str]
    plan: dict[str, tuple[int, int]] = field(default_factory=dict)


def update_instance(
    instance: Instance, schedule: Schedule, at: int, events: Iterable[object] = ()
) -> Update:
    """The instance to re-plan at tick `at` after `events` (objects or parsed JSON); raises
    InstanceError naming the event and field of a bad event, or when `schedule` is not a
    valid schedule of `instance`."""
    if isinstance(at, bool) or not isinstance(at, int) or at < 0:
        raise InstanceError(f"at: expected an integer tick >= 0, got {at!r}")
    violations = validate(instance, schedule)
    if violations:
        raise InstanceError(
            f"schedule: not a valid schedule of the instance ({len(violations)} violations, "
            f"first: {violations[0].message})"
        )
    state = _State(instance, schedule, at)
    for i, event in enumerate(read_events(list(events))):
        state.apply(event, f"events[{i}] ({_KIND[type(event)]})")
    return state.build()


_KIND: dict[type, str] = {
    MachineDown: "machine_down",
    OperationDelay: "operation_delay",
    RushOrder: "rush_order",
    Redo: "redo",
    CancelJob: "cancel_job",
}


class _State:
    """The instance being edited: operations by id, each job's operation ids, each operation's
    state at `at` and its row of the old plan."""

    def __init__(self, instance: Instance, schedule: Schedule, at: int) -> None:
        self.base = instance
        self.at = at
        self.machines = {m.id: m for m in instance.machines}
        self.jobs = {j.id: j for j in instance.jobs}
        self.job_ops = {j.id: [op.id for op in j.operations] for j in instance.jobs}
        self.ops: dict[str, Operation] = {op.id: op for _, op in instance.operations}
        self.op_job = {op.id: job.id for job, op in instance.operations}
        self.rows: dict[str, Assignment] = {a.operation: a for a in schedule.assignments}
        self.state = {o: _state(self.rows[o], at) for o in self.ops}
        self.copy_of: dict[str, str] = {}  # redo copy -> its original

    # -- events ------------------------------------------------------------------------
    def apply(self, event: Event, where: str) -> None:
        if isinstance(event, MachineDown):
            self._machine_down(event, where)
        elif isinstance(event, OperationDelay):
            self._delay(event, where)
        elif isinstance(event, RushOrder):
            self._rush(event, where)
        elif isinstance(event, Redo):
            self._redo(event, where)
        else:
            self._cancel(event, where)

    def _known_op(self, op_id: str, where: str) -> str:
        if op_id not in self.ops:
            raise InstanceError(f"{where}: operation: {op_id!r} is not a known operation")
        return op_id

    def _machine_down(self, event: MachineDown, where: str) -> None:
        machine = self.machines.get(event.machine)
        if machine is None:
            raise InstanceError(f"{where}: machine: {event.machine!r} is not a known machine")
        if event.start < self.at:
            raise InstanceError(
                f"{where}: start: {event.start} is before the re-plan time {self.at} "
                "(the past stays as it ran)"
            )
        windows = (*machine.unavailable, (event.start, event.end))
        self.machines[machine.id] = dataclasses.replace(machine, unavailable=windows)

    def _delay(self, event: OperationDelay, where: str) -> None:
        op = self.ops[self._known_op(event.operation, where)]
        if self.state[op.id] == DONE:
            raise InstanceError(
                f"{where}: operation: {op.id!r} ended by the re-plan time {self.at}"
            )
        modes = tuple(
            dataclasses.replace(m, duration=_delayed(m.duration, event)) for m in op.modes
        )
        self.ops[op.id] = dataclasses.replace(op, modes=modes)

    def _rush(self, event: RushOrder, where: str) -> None:
        job = event.job
        if job.id in self.jobs:
            raise InstanceError(f"{where}: job: id {job.id!r} is already used by a job")
        for k, op in enumerate(job.operations):
            ow = f"{where}: job: operations[{k}] {op.id!r}"
            if op.id in self.ops:
                raise InstanceError(f"{ow}: id {op.id!r} is already used by an operation")
            for n, mode in enumerate(op.modes):
                if mode.machine not in self.machines:
                    raise InstanceError(
                        f"{ow}, modes[{n}]: machine: {mode.machine!r} is not a known machine"
                    )
        self.jobs[job.id] = dataclasses.replace(job, release=max(job.release, self.at))
        self.job_ops[job.id] = [op.id for op in job.operations]
        for op in job.operations:
            self.ops[op.id] = op
            self.op_job[op.id] = job.id
            self.state[op.id] = OPEN

    def _redo(self, event: Redo, where: str) -> None:
        original = self.ops[self._known_op(event.operation, where)]
        job = self.op_job[original.id]
        n = 1
        while f"{original.id}-redo{n}" in self.ops:
            n += 1
        copy = Operation(
            id=f"{original.id}-redo{n}",
            modes=original.modes,
            family=original.family,
            predecessors=((original.id, 0),),
        )
        self._make_explicit(job)
        for other in self.ops.values():
            if self.state[other.id] != OPEN:
                continue  # what already ran did not wait for the redo
            lags = [lag for p, lag in other.predecessors or () if p == original.id]
            if lags:
                preds = (*(other.predecessors or ()), (copy.id, lags[0]))
                self.ops[other.id] = dataclasses.replace(other, predecessors=preds)
        ops = self.job_ops[job]
        ops.insert(ops.index(original.id) + 1, copy.id)
        self.ops[copy.id] = copy
        self.op_job[copy.id] = job
        self.state[copy.id] = OPEN
        self.copy_of[copy.id] = self.copy_of.get(original.id, original.id)

    def _make_explicit(self, job_id: str) -> None:
        """Give every operation of a chain job its predecessors explicitly (the chain arcs), so
        that an operation can be inserted without chaining it to what follows in the list."""
        ids = self.job_ops[job_id]
        if any(self.ops[o].predecessors is not None for o in ids):
            return
        for k, o in enumerate(ids):
            preds = ((ids[k - 1], 0),) if k else ()
            self.ops[o] = dataclasses.replace(self.ops[o], predecessors=preds)

    def _cancel(self, event: CancelJob, where: str) -> None:
        if event.job not in self.jobs:
            raise InstanceError(f"{where}: job: {event.job!r} is not a known job")
        dropped = {o for o in self.job_ops[event.job] if self.state[o] != DONE}
        for other in self.ops.values():
            if other.id in dropped:
                continue
            for pred, _ in other.predecessors or ():
                if pred in dropped:
                    raise InstanceError(
                        f"{where}: job: operation {other.id!r} of job "
                        f"{self.op_job[other.id]!r} depends on {pred!r}, which would be dropped"
                    )
        self.job_ops[event.job] = [o for o in self.job_ops[event.job] if o not in dropped]
        for o in dropped:
            del self.ops[o], self.state[o], self.op_job[o]
        if not self.job_ops[event.job]:
            del self.jobs[event.job], self.job_ops[event.job]

    # -- the result ----------------------------------------------------------------------
    def build(self) -> Update:
        """Pin what is kept, release the rest at `at`, and build the checked Instance."""
        self._interrupt()
        kept: set[str] = set()
        plan: dict[str, tuple[int, int]] = {}
        for o, op in list(self.ops.items()):
            row = self.rows.get(o)
            if self.state[o] == OPEN:
                self.ops[o] = dataclasses.replace(op, release=max(op.release, self.at))
                source = self.rows.get(self.copy_of.get(o, o))
                if source is not None:
                    plan[o] = (source.mode, source.start)
                continue
            assert row is not None
            mode = op.modes[row.mode]
            self.ops[o] = dataclasses.replace(
                op, modes=(mode,), release=row.start, deadline=row.start + mode.duration
            )
            kept.add(o)
            plan[o] = (0, row.start)
        jobs = tuple(
            dataclasses.replace(job, operations=tuple(self.ops[o] for o in self.job_ops[j]))
            for j, job in self.jobs.items()
        )
        try:
            instance = dataclasses.replace(
                self.base, machines=tuple(self.machines.values()), jobs=jobs
            )
        except InstanceError as error:
            raise InstanceError(f"updated instance: {error}") from None
        return Update(instance, frozenset(kept), plan)

    def _interrupt(self) -> None:
        """A running operation meeting an unavailability window of its machine (a new one, or
        an old one it now reaches after a delay) stops: it is redone from the start."""
        for o, op in self.ops.items():
            if self.state[o] != RUNNING:
                continue
            row = self.rows[o]
            mode = op.modes[row.mode]
            end = row.start + mode.duration
            windows = self.machines[mode.machine].unavailable
            if mode.duration > 0 and any(s < end and row.start < e for s, e in windows):
                self.state[o] = OPEN


def _delayed(duration: int, event: OperationDelay) -> int:
    return event.duration if event.duration is not None else duration + (event.by or 0)


def _state(row: Assignment, at: int) -> str:
    """DONE when it ended by `at`, RUNNING when it started before and ends after, else OPEN."""
    if row.end <= at:
        return DONE
    return RUNNING if row.start < at else OPEN
