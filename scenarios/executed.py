"""An execution as a normal instance and schedule, so the independent validator and
`compute_kpis` can check it: the breakdowns become unavailability windows, each operation's
mode lasts what it actually took, a rework run is a copy of its operation right after it
(`<id>#rework`, before its successors). The shop floor does not stop for plan-level limits,
so the executed instance has no horizon, deadlines, power cap or carbon cap."""

from __future__ import annotations

from dataclasses import replace

from scenarios.simulate import Execution
from scheduler.core.model import Energy, Instance, Job, Operation
from scheduler.core.schedule import Assignment, Schedule

REWORK_SUFFIX = "#rework"


def _merged(windows: list[tuple[int, int]]) -> tuple[tuple[int, int], ...]:
    out: list[list[int]] = []
    for s, e in sorted(windows):
        if out and s <= out[-1][1]:
            out[-1][1] = max(out[-1][1], e)
        else:
            out.append([s, e])
    return tuple((s, e) for s, e in out)


def executed_instance_and_schedule(ex: Execution) -> tuple[Instance, Schedule]:
    """The executed instance and its schedule (see the module docstring)."""
    c = ex.compiled
    inst = c.instance
    machines = []
    for m, machine in enumerate(inst.machines):
        lo, hi = int(ex.down_ptr[m]), int(ex.down_ptr[m + 1])
        down = list(zip(ex.down_start[lo:hi].tolist(), ex.down_end[lo:hi].tolist(), strict=True))
        machines.append(replace(machine, unavailable=_merged(list(machine.unavailable) + down)))
    reworked = {c.op_ids[o] for o in range(c.n_ops) if ex.rend[o] >= 0}
    jobs, rows = [], []
    for j, job in enumerate(inst.jobs):
        ops: list[Operation] = []
        explicit = any(op.predecessors is not None for op in job.operations)
        for o in range(int(c.job_op_ptr[j]), int(c.job_op_ptr[j + 1])):
            op = job.operations[o - int(c.job_op_ptr[j])]
            k = int(ex.mode[o] - c.mode_ptr[o])
            start, end = int(ex.start[o]), int(ex.end[o])
            modes = list(op.modes)
            modes[k] = replace(modes[k], duration=end - start)
            preds = op.predecessors
            if preds is not None:
                preds = tuple((p + REWORK_SUFFIX if p in reworked else p, lag) for p, lag in preds)
            ops.append(_unpinned(replace(op, modes=tuple(modes), predecessors=preds)))
            machine_id = inst.machines[int(c.mode_machine[ex.mode[o]])].id
            rows.append(Assignment(job.id, op.id, machine_id, k, start, end))
            if ex.rend[o] >= 0:
                copy_id = op.id + REWORK_SUFFIX
                again = replace(modes[k], duration=int(ex.rend[o] - ex.rstart[o]))
                chained = ((op.id, 0),) if explicit else None
                ops.append(_unpinned(replace(op, id=copy_id, modes=(again,), predecessors=chained)))
                rows.append(
                    Assignment(job.id, copy_id, machine_id, 0, int(ex.rstart[o]), int(ex.rend[o]))
                )
        jobs.append(Job(job.id, tuple(ops), job.release, job.due, None, job.weight))
    executed = replace(
        inst,
        machines=tuple(machines),
        jobs=tuple(jobs),
        horizon=None,
        energy=Energy(tariff=inst.energy.tariff, carbon_intensity=inst.energy.carbon_intensity),
    )
    return executed, Schedule(executed, tuple(rows))


def _unpinned(op: Operation) -> Operation:
    """The operation without an operation-level deadline (a re-plan's pin), if it has one."""
    if getattr(op, "deadline", None) is not None:
        return replace(op, deadline=None)  # type: ignore[call-arg]
    return op
