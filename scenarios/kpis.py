"""The KPIs of one executed replication, with their units and which way is better. Time and
energy figures follow `scheduler.compute_kpis` on the executed schedule (the tests check it);
output counts only good units (neither scrapped nor shipped with a defect)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from scenarios.executed import REWORK_SUFFIX
from scenarios.kernel import measure
from scenarios.simulate import Execution
from scheduler.core.model import Profile


@dataclass(frozen=True)
class Kpi:
    name: str
    unit: str
    higher_is_better: bool
    description: str


KPIS: tuple[Kpi, ...] = (
    Kpi("makespan_h", "h", False, "end of the last operation"),
    Kpi("throughput_per_h", "good units/h", True, "good units per hour of makespan"),
    Kpi("productivity", "good units/machine-h", True, "good units per machine-hour"),
    Kpi("on_time_rate", "share", True, "jobs with a due date done by it"),
    Kpi("total_tardiness_h", "h", False, "sum over jobs of lateness past due"),
    Kpi("energy_kwh", "kWh", False, "processing and idle energy"),
    Kpi("energy_cost", "currency", False, "processing energy at the tariff"),
    Kpi("carbon_kg", "kg CO2", False, "processing energy times the carbon intensity"),
    Kpi("utilisation", "share", True, "mean share of the makespan machines process"),
    Kpi("downtime_h", "h", False, "breakdown hours within the makespan, all machines"),
    Kpi("good_units", "units", True, "jobs done without a defect"),
    Kpi("scrap_units", "units", False, "jobs scrapped at final inspection"),
    Kpi("escaped_units", "units", False, "jobs shipped with an undetected defect"),
    Kpi("rework_ops", "operations", False, "operations reworked at their station"),
    Kpi("ops_moved", "share", False, "operations that started off their planned start"),
    Kpi("mean_shift_h", "h", False, "mean |actual - planned start| over operations"),
    Kpi("machines_changed", "share", False, "operations run on another machine than planned"),
    Kpi("replans", "re-plans", False, "re-plans made (re-optimising policy)"),
)
NAMES = tuple(k.name for k in KPIS)
KPI = {k.name: k for k in KPIS}


def per_tick_sum(profile: Profile | None, length: int) -> np.ndarray:
    """Prefix sums of a step profile's per-tick values over [0, length] (empty: no profile)."""
    if profile is None:
        return np.zeros(0)
    starts = np.array([s for s, _ in profile.steps], dtype=np.int64)
    values = np.array([v for _, v in profile.steps], dtype=np.float64)
    ticks = np.arange(length, dtype=np.int64)
    if profile.period:
        ticks %= profile.period
    index = np.maximum(np.searchsorted(starts, ticks, side="right") - 1, 0)
    return np.concatenate(([0.0], np.cumsum(values[index])))


def kpis(ex: Execution) -> dict[str, float]:
    """Every KPI of KPIS for one executed replication."""
    c = ex.compiled
    instance = c.instance
    horizon = max(int(ex.end.max(initial=0)), int(ex.rend.max(initial=0))) + 1
    energy = instance.energy
    machine = c.mode_machine[ex.mode]
    kwh_per_kw_tick = instance.hours_per_tick
    makespan, tardiness, late, with_due, kwh, cost, carbon, idle, busy, down = measure(
        ex.start, ex.end, ex.rstart, ex.rend, machine, c.mode_power[ex.mode], c.op_job,
        c.job_due, c.n_jobs, c.n_machines, c.machine_idle_power, kwh_per_kw_tick,
        per_tick_sum(energy.tariff, horizon), per_tick_sum(energy.carbon_intensity, horizon),
        ex.down_ptr, ex.down_start, ex.down_end,
    )  # fmt: skip
    hours = makespan * kwh_per_kw_tick
    good = int(c.n_jobs - ex.scrapped.sum() - ex.escaped.sum())
    planned = ex.planned_start >= 0  # operations of the first plan (not added by a re-plan)
    shift = np.abs(ex.start[planned] - ex.planned_start[planned])
    return {
        "makespan_h": hours,
        "throughput_per_h": good / hours if hours else 0.0,
        "productivity": good / (hours * c.n_machines) if hours else 0.0,
        "on_time_rate": 1.0 - late / with_due if with_due else 1.0,
        "total_tardiness_h": tardiness * kwh_per_kw_tick,
        "energy_kwh": kwh + idle,
        "energy_cost": cost,
        "carbon_kg": carbon,
        "utilisation": float(busy.sum()) / (makespan * c.n_machines) if makespan else 0.0,
        "downtime_h": down * kwh_per_kw_tick,
        "good_units": float(good),
        "scrap_units": float(ex.scrapped.sum()),
        "escaped_units": float(ex.escaped.sum()),
        "rework_ops": float(
            (ex.rend >= 0).sum() + sum(o.endswith(REWORK_SUFFIX) for o in c.op_ids)
        ),
        "ops_moved": float(np.mean(shift > 0)) if shift.size else 0.0,
        "mean_shift_h": float(np.mean(shift)) * kwh_per_kw_tick if shift.size else 0.0,
        "machines_changed": float(np.mean(machine[planned] != ex.planned_machine[planned]))
        if shift.size
        else 0.0,
        "replans": float(ex.replans),
    }
