"""Key performance indicators of a schedule: time (makespan, tardiness, flow time, throughput),
energy (processing kWh, cost, carbon, idle kWh), machine utilisation and, against a reference
plan, stability (operations moved, machines changed, total shift, deviation).

The keys include every term name of `scheduler.core.terms.TERMS` (`deviation` when a reference
is given), so `Objective.value(kpis)` scores a schedule from its KPIs."""

from __future__ import annotations

from typing import Any

from scheduler.core.accounting import operation_energy
from scheduler.core.model import Instance
from scheduler.core.schedule import Schedule


def compute_kpis(
    instance: Instance, schedule: Schedule, reference: Schedule | None = None
) -> dict[str, Any]:
    """Every KPI of a (valid) schedule; see the module docstring for the groups. With a
    `reference` plan the stability KPIs (`stability_kpis`) are added."""
    rows = schedule.assignments
    hours_per_tick = instance.hours_per_tick
    makespan = max((int(a.end) for a in rows), default=0)

    completion: dict[str, int] = {}
    for a in rows:
        completion[a.job] = max(completion.get(a.job, int(a.end)), int(a.end))
    weighted_tardiness = total_tardiness = 0.0
    total_flow_time = n_late = n_due = 0
    for job in instance.jobs:
        if job.id not in completion:
            continue
        done = completion[job.id]
        total_flow_time += done - job.release
        if job.due is not None:
            n_due += 1
            tardiness = max(0, done - job.due)
            total_tardiness += tardiness
            weighted_tardiness += job.weight * tardiness
            n_late += tardiness > 0

    energy = cost = carbon = 0.0
    busy = {m.id: 0 for m in instance.machines}
    first: dict[str, int] = {}
    last: dict[str, int] = {}
    for a in rows:
        kwh, eur, kg = operation_energy(instance, a)
        energy, cost, carbon = energy + kwh, cost + eur, carbon + kg
        busy[a.machine] = busy.get(a.machine, 0) + int(a.end) - int(a.start)
        first[a.machine] = min(first.get(a.machine, int(a.start)), int(a.start))
        last[a.machine] = max(last.get(a.machine, int(a.end)), int(a.end))
    idle_energy = sum(
        m.idle_power_kw * max(0, last[m.id] - first[m.id] - busy[m.id]) * hours_per_tick
        for m in instance.machines
        if m.id in first
    )
    utilisation = {m.id: busy[m.id] / makespan if makespan else 0.0 for m in instance.machines}
    n_jobs = len(instance.jobs)
    stability = stability_kpis(reference, schedule) if reference is not None else {}
    return stability | {
        "makespan": makespan,
        "weighted_tardiness": weighted_tardiness,
        "total_tardiness": total_tardiness,
        "total_flow_time": total_flow_time,
        "n_late": n_late,
        "on_time_rate": 1.0 - n_late / n_due if n_due else 1.0,
        "n_jobs": n_jobs,
        "throughput_per_hour": n_jobs / (makespan * hours_per_tick) if makespan else 0.0,
        "energy": energy,
        "energy_cost": cost,
        "carbon": carbon,
        "idle_energy": idle_energy,
        "total_energy": energy + idle_energy,
        "utilisation": utilisation,
        "mean_utilisation": sum(utilisation.values()) / len(utilisation),
    }


def stability_kpis(reference: Schedule, schedule: Schedule) -> dict[str, int]:
    """How far `schedule` departs from `reference`, over the operations both hold (by id):
    `ops_moved` (start or machine changed), `machines_changed`, `total_shift` (sum of
    |start - reference start|) and the objective term `deviation`: total_shift plus, for each
    operation on another machine, its duration in the reference (a machine change weighs as
    much as shifting the operation by its own length)."""
    before = {a.operation: a for a in reference.assignments}
    moved = changed = shift = change_cost = 0
    for a in schedule.assignments:
        old = before.get(a.operation)
        if old is None:
            continue
        delta = abs(int(a.start) - int(old.start))
        other_machine = a.machine != old.machine
        moved += delta > 0 or other_machine
        changed += other_machine
        shift += delta
        change_cost += (int(old.end) - int(old.start)) * other_machine
    return {
        "ops_moved": moved,
        "machines_changed": changed,
        "total_shift": shift,
        "deviation": shift + change_cost,
    }
