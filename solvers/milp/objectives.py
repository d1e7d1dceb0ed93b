"""The objective terms as Pyomo expressions over either formulation's `start`, `end` and `use`,
with the auxiliary variables they need (makespan, completions, tardiness, each machine's first
start and last end) made only for the terms asked for. Every expression is at least the term's
true value and equal to it at an optimum, so holding a level or a bound at a value is exact."""

from __future__ import annotations

from typing import Any

import numpy as np
import pyomo.environ as pyo

from scheduler.core.compile import CompiledInstance
from solvers.milp.model import MilpModel


def add_terms(mm: MilpModel, c: CompiledInstance, needed: frozenset[str]) -> dict[str, Any]:
    """Expressions of the terms in `needed` (energy cost and carbon from the formulation)."""
    m = mm.model
    hi = int(mm.latest.max()) if c.n_ops else 0
    hours = c.hours_per_tick
    exprs: dict[str, Any] = {}
    if "makespan" in needed:
        m.sinks = pyo.Set(
            initialize=[o for o in range(c.n_ops) if c.succ_ptr[o] == c.succ_ptr[o + 1]]
        )
        m.makespan = pyo.Var(bounds=(0, hi))
        m.makespan_def = pyo.Constraint(m.sinks, rule=lambda m, o: m.makespan >= m.end[o])
        exprs["makespan"] = m.makespan
    if needed & {"weighted_tardiness", "total_flow_time"}:
        last = [(j, int(o)) for j in range(c.n_jobs) for o in c.job_last_ops(j)]
        m.jobs = pyo.Set(initialize=range(c.n_jobs))
        m.job_last = pyo.Set(initialize=last, dimen=2)
        m.completion = pyo.Var(m.jobs, bounds=(0, hi))
        m.completion_def = pyo.Constraint(
            m.job_last, rule=lambda m, j, o: m.completion[j] >= m.end[o]
        )
        release = c.job_release
        exprs["total_flow_time"] = sum(m.completion[j] - int(release[j]) for j in m.jobs)
        m.due_jobs = pyo.Set(initialize=np.flatnonzero(c.job_due >= 0).tolist())
        m.tardiness = pyo.Var(m.due_jobs, bounds=(0, hi))
        m.tardiness_def = pyo.Constraint(
            m.due_jobs, rule=lambda m, j: m.tardiness[j] >= m.completion[j] - int(c.job_due[j])
        )
        weight = c.job_weight
        exprs["weighted_tardiness"] = sum(float(weight[j]) * m.tardiness[j] for j in m.due_jobs)
    if "energy" in needed:
        kwh = c.mode_power * c.mode_duration * hours
        exprs["energy"] = sum(float(kwh[k]) * m.use[k] for ks in mm.modes for k in ks if kwh[k])
    if "energy_cost" in needed:
        exprs["energy_cost"] = mm.energy_cost
    if "carbon" in needed:
        exprs["carbon"] = mm.carbon
    if "idle_energy" in needed:
        exprs["idle_energy"] = _idle_energy(mm, c, hi, hours)
    return exprs


def _idle_energy(mm: MilpModel, c: CompiledInstance, hi: int, hours: float) -> Any:
    """Idle kW x (last end - first start - busy ticks) per machine with idle power, as
    `solvers.cpsat.terms.schedule_terms` counts it (every mode on the machine, zero-duration
    ones too, marks its span); span >= busy keeps an unused machine at 0."""
    m = mm.model
    idle = [mach for mach in range(c.n_machines) if c.machine_idle_power[mach] > 0]
    here: dict[tuple[int, int], list[int]] = {}
    for o, ks in enumerate(mm.modes):
        for k in ks:
            if c.mode_machine[k] in idle:
                here.setdefault((o, int(c.mode_machine[k])), []).append(k)
    m.idle_machines = pyo.Set(initialize=sorted({mach for _, mach in here}))
    m.idle_ops = pyo.Set(initialize=sorted(here), dimen=2)
    m.first_start = pyo.Var(m.idle_machines, bounds=(0, hi))
    m.last_end = pyo.Var(m.idle_machines, bounds=(0, hi))

    def away(o: int, mach: int) -> Any:
        ks = here[(o, mach)]
        return 0 if len(ks) == len(mm.modes[o]) else 1 - sum(m.use[k] for k in ks)

    m.last_end_def = pyo.Constraint(
        m.idle_ops,
        rule=lambda m, o, mach: m.last_end[mach] >= m.end[o] - int(mm.latest[o]) * away(o, mach),
    )
    m.first_start_def = pyo.Constraint(
        m.idle_ops,
        rule=lambda m, o, mach: (
            m.first_start[mach] <= m.start[o] + (hi - int(mm.earliest[o])) * away(o, mach)
        ),
    )
    dur = c.mode_duration

    def busy(mach: int) -> Any:
        return sum(
            int(dur[k]) * m.use[k] for (_, mm_), ks in here.items() if mm_ == mach for k in ks
        )

    m.span_def = pyo.Constraint(
        m.idle_machines, rule=lambda m, mach: m.last_end[mach] - m.first_start[mach] >= busy(mach)
    )
    return sum(
        float(c.machine_idle_power[mach])
        * hours
        * (m.last_end[mach] - m.first_start[mach] - busy(mach))
        for mach in m.idle_machines
    )


def set_term_values(
    mm: MilpModel, c: CompiledInstance, mode: np.ndarray, start: np.ndarray
) -> None:
    """Set the auxiliary variables of `add_terms` to their values for the schedule."""
    m = mm.model
    end = start + c.mode_duration[mode]
    if hasattr(m, "makespan"):
        m.makespan.set_value(int(end.max()), skip_validation=True)
    if hasattr(m, "completion"):
        completion = np.maximum.reduceat(end, c.job_op_ptr[:-1])
        for j in m.jobs:
            m.completion[j].set_value(int(completion[j]), skip_validation=True)
        for j in m.due_jobs:
            m.tardiness[j].set_value(
                max(0, int(completion[j] - c.job_due[j])), skip_validation=True
            )
    if hasattr(m, "idle_machines"):
        machine = c.mode_machine[mode]
        for mach in m.idle_machines:
            on = machine == mach
            first, last = (int(start[on].min()), int(end[on].max())) if on.any() else (0, 0)
            m.first_start[mach].set_value(first, skip_validation=True)
            m.last_end[mach].set_value(last, skip_validation=True)
