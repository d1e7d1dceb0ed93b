"""Translate a CompiledInstance into a PyJobShop model (PyJobShop is imported by the caller, so
this module only runs when the optional package is installed).

Mapped: machines (unavailability windows as breaks the operations may not span), renewable
resources, alternative modes, precedences with lags (cross-job too), releases, deadlines, the
horizon, sequence-dependent setups, and single-level objectives made of makespan,
weighted_tardiness and total_flow_time with integral weights. Refused: energy constraints and
terms, lexicographic objectives, setups together with windows (PyJobShop lets a setup overlap a
break; DESIGN section 11 does not), fractional weights."""

from __future__ import annotations

from typing import Any

import numpy as np

from scheduler.core.compile import CompiledInstance
from scheduler.core.errors import UnsupportedFeatureError
from scheduler.core.objective import Objective

WHAT = "the pyjobshop peer does not model"
TERM_WEIGHTS = {
    "makespan": "weight_makespan",
    "weighted_tardiness": "weight_total_tardiness",
    "total_flow_time": "weight_total_flow_time",
}


def objective_weights(compiled: CompiledInstance, objective: Objective) -> dict[str, int]:
    """PyJobShop's `set_objective` keyword weights for a single-level objective of the terms in
    TERM_WEIGHTS (its capabilities refuse others), or a refusal of what the weights cannot say."""
    weights: dict[str, int] = {}
    for term, weight in objective.levels[0]:
        if not float(weight).is_integer():
            raise UnsupportedFeatureError(f"{WHAT} fractional objective weights ({term}={weight})")
        weights[TERM_WEIGHTS[term]] = int(weight)
    job_weights = compiled.job_weight
    if "weight_total_tardiness" in weights and not np.all(job_weights == np.round(job_weights)):
        raise UnsupportedFeatureError(f"{WHAT} fractional job weights with weighted_tardiness")
    if (
        "weight_total_tardiness" in weights
        and "weight_total_flow_time" in weights
        and np.any(job_weights != 1)
    ):
        raise UnsupportedFeatureError(
            f"{WHAT} total_flow_time (unweighted) beside weighted_tardiness with job weights != 1"
        )
    return weights


def refuse_unsupported(compiled: CompiledInstance, objective: Objective) -> dict[str, int]:
    """Refuse the combinations the mapping leaves out (its capabilities refuse the single
    features and terms); return the objective weights."""
    if compiled.has_setups and compiled.has_unavailability:
        raise UnsupportedFeatureError(
            f"{WHAT} setups together with unavailability windows (its setups may overlap breaks)"
        )
    return objective_weights(compiled, objective)


def build_model(pyjobshop: Any, compiled: CompiledInstance, weights: dict[str, int]) -> Any:
    """A `pyjobshop.Model` whose task i is operation i and whose mode k is global mode k."""
    c = compiled
    model = pyjobshop.Model()
    tardiness = "weight_total_tardiness" in weights
    jobs = []
    for j in range(c.n_jobs):
        due = int(c.job_due[j])
        deadline = int(c.job_deadline[j])
        jobs.append(
            model.add_job(
                weight=int(c.job_weight[j]) if tardiness else 1,
                release_date=int(c.job_release[j]),
                deadline=min(deadline, c.horizon) if deadline >= 0 else c.horizon,
                due_date=(due if due >= 0 else c.horizon) if tardiness else None,
                name=c.job_ids[j],
            )
        )
    machines = []
    for m in range(c.n_machines):
        lo, hi = int(c.unav_ptr[m]), int(c.unav_ptr[m + 1])
        breaks = [(int(c.unav_start[i]), int(c.unav_end[i])) for i in range(lo, hi)]
        machines.append(model.add_machine(breaks=breaks, name=c.machine_ids[m]))
    renewables = [
        model.add_renewable(int(c.resource_capacity[r]), name=c.resource_ids[r])
        for r in range(c.n_resources)
    ]
    tasks = [
        model.add_task(
            jobs[int(c.op_job[o])],
            earliest_start=int(c.op_release[o]),
            latest_end=int(c.op_deadline[o]),
            name=c.op_ids[o],
        )
        for o in range(c.n_ops)
    ]
    for k in range(c.n_modes):
        needs = [r for r in range(c.n_resources) if c.mode_demand[k, r] > 0]
        model.add_mode(
            tasks[int(c.mode_op[k])],
            [machines[int(c.mode_machine[k])]] + [renewables[r] for r in needs],
            int(c.mode_duration[k]),
            [0] + [int(c.mode_demand[k, r]) for r in needs],
        )
    for o in range(c.n_ops):
        for i in range(int(c.succ_ptr[o]), int(c.succ_ptr[o + 1])):
            model.add_end_before_start(tasks[o], tasks[int(c.succ_op[i])], int(c.succ_lag[i]))
    if c.has_setups:
        _add_setups(model, c, machines, tasks)
    model.set_objective(**weights)
    return model


def _add_setups(model: Any, c: CompiledInstance, machines: list[Any], tasks: list[Any]) -> None:
    """One SetupTime per machine and ordered pair of operations that both may run on it."""
    for m in range(c.n_machines):
        on_m = sorted({int(c.mode_op[k]) for k in np.flatnonzero(c.mode_machine == m)})
        for a in on_m:
            for b in on_m:
                fa, fb = int(c.op_family[a]), int(c.op_family[b])
                if a != b and fa >= 0 and fb >= 0 and c.setup[m, fa, fb] > 0:
                    model.add_setup_time(machines[m], tasks[a], tasks[b], int(c.setup[m, fa, fb]))
