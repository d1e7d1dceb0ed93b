"""Energy accounting of one scheduled operation (DESIGN section 4): kWh, and cost and carbon
tick by tick. Shared by the schedule's frame and the KPIs, so both report the same numbers."""

from __future__ import annotations

import weakref
from typing import TYPE_CHECKING

from scheduler.core.model import Instance, Job, Operation
from scheduler.core.stepfun import integral

if TYPE_CHECKING:
    from scheduler.core.schedule import Assignment

_LOOKUPS: dict[int, tuple[weakref.ref[Instance], dict[str, tuple[Job, Operation]]]] = {}


def _operation_lookup(instance: Instance) -> dict[str, tuple[Job, Operation]]:
    """Operation id -> (job, operation), built once per live instance (per-row calls from
    `Schedule.to_frame` would otherwise rebuild it for every row)."""
    key = id(instance)
    entry = _LOOKUPS.get(key)
    if entry is not None and entry[0]() is instance:
        return entry[1]
    table = {op.id: (job, op) for job in instance.jobs for op in job.operations}
    _LOOKUPS[key] = (weakref.ref(instance, lambda _: _LOOKUPS.pop(key, None)), table)
    return table


def operation_energy(instance: Instance, assignment: Assignment) -> tuple[float, float, float]:
    """(kWh, cost, carbon kg) of one scheduled operation: power x duration x tu/60 kWh, and
    cost and carbon as each tick's energy share times the tariff / intensity at that tick."""
    found = _operation_lookup(instance).get(assignment.operation)
    if found is None:
        raise ValueError(f"operation {assignment.operation!r} is not in the instance")
    modes = found[1].modes
    if not 0 <= assignment.mode < len(modes):
        raise ValueError(f"operation {assignment.operation!r}: mode {assignment.mode} unknown")
    kwh_per_tick = modes[assignment.mode].power_kw * instance.hours_per_tick
    start, end = int(assignment.start), int(assignment.end)
    energy = instance.energy
    tariff, intensity = energy.tariff, energy.carbon_intensity
    cost = kwh_per_tick * integral(tariff, start, end) if tariff is not None else 0.0
    carbon = kwh_per_tick * integral(intensity, start, end) if intensity is not None else 0.0
    return kwh_per_tick * (end - start), cost, carbon
