"""One replication of a profile's plan on the shop floor: draw the replication's disruptions
(common random numbers, `scenarios.draws`), execute the plan (`scenarios.kernel`, right-shift;
or re-planned at each breakdown with `scheduler.reschedule`, `scenarios.replan`) and measure
its KPIs (`scenarios.kpis`)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from scenarios.draws import Draws, actual_durations, breakdown_windows, draw, multipliers
from scenarios.kernel import execute
from scenarios.plan import ScenarioError, make_plan, ticks_per_hour
from scenarios.profile import Profile
from scheduler.core.compile import CompiledInstance, compile_instance
from scheduler.core.model import Instance
from scheduler.core.schedule import Schedule
from scheduler.io.instance_json import instance_from_dict, instance_to_dict

MAX_REACH_DOUBLINGS = 12
_PREPARED: dict[str, Prepared] = {}  # per worker process: plans already rebuilt, by key


@dataclass(frozen=True)
class Prepared:
    """A profile's plan as the arrays its executions read (picklable, sent to workers)."""

    profile: Profile
    compiled: CompiledInstance  # the planned instance (with the planned windows)
    plan: Schedule
    mode: np.ndarray  # global mode per operation
    start: np.ndarray  # planned start per operation
    order: np.ndarray  # operations by planned start, ties in topological order
    defect_p: np.ndarray  # per-operation defect probability
    ticks_per_hour: float
    makespan: int  # of the plan

    @property
    def machine(self) -> np.ndarray:
        return self.compiled.mode_machine[self.mode]


@dataclass(frozen=True)
class Execution:
    """What happened in one replication: per operation its start and end and its rework run
    (-1: none), the machine and mode it ran in, the breakdown windows (CSR by machine), the
    planned starts and machines it is measured against, and each job's quality outcome."""

    compiled: CompiledInstance  # the instance the operations belong to (plan or last re-plan)
    mode: np.ndarray
    start: np.ndarray
    end: np.ndarray
    rstart: np.ndarray
    rend: np.ndarray
    down_ptr: np.ndarray
    down_start: np.ndarray
    down_end: np.ndarray
    planned_start: np.ndarray
    planned_machine: np.ndarray
    scrapped: np.ndarray  # per job
    escaped: np.ndarray  # per job: shipped with an undetected defect
    replans: int = 0


def prepare(
    instance: Instance, profile: Profile, seed: int = 0, workers: int | None = None
) -> Prepared:
    """Make the profile's plan and the arrays every replication reads."""
    result, _ = make_plan(instance, profile, seed, workers)
    assert result.schedule is not None
    return prepare_plan(profile, result.schedule)


def prepare_plan(profile: Profile, plan: Schedule) -> Prepared:
    """The arrays of an existing plan (a schedule of the profile's planned instance)."""
    compiled = compile_instance(plan.instance)
    mode, start = plan.to_arrays(compiled)
    sizes = np.diff(compiled.job_op_ptr)[compiled.op_job]
    defect_p = 1.0 - (1.0 - profile.quality.defect_rate) ** (1.0 / np.maximum(sizes, 1))
    return Prepared(
        profile=profile,
        compiled=compiled,
        plan=plan,
        mode=mode,
        start=start,
        order=plan_order(compiled, start),
        defect_p=defect_p,
        ticks_per_hour=ticks_per_hour(plan.instance),
        makespan=int(plan.makespan),
    )


@dataclass(frozen=True)
class PlanData:
    """A Prepared plan in picklable form (instances hold mapping proxies): the planned
    instance as a JSON dict and the plan's arrays; `key` names it in a worker's cache."""

    key: str
    instance: dict
    profile: Profile
    mode: np.ndarray
    start: np.ndarray


def to_data(key: str, prep: Prepared) -> PlanData:
    return PlanData(
        key, instance_to_dict(prep.compiled.instance), prep.profile, prep.mode, prep.start
    )


def from_data(data: PlanData) -> Prepared:
    """The Prepared plan of `data`, rebuilt once per process."""
    if data.key not in _PREPARED:
        compiled = compile_instance(instance_from_dict(data.instance))
        plan = Schedule.from_arrays(compiled, data.mode, data.start)
        _PREPARED.clear()
        _PREPARED[data.key] = prepare_plan(data.profile, plan)
    return _PREPARED[data.key]


def plan_order(compiled: CompiledInstance, start: np.ndarray) -> np.ndarray:
    """Operations by planned start, ties broken by topological rank (zero-duration chains)."""
    rank = np.empty(compiled.n_ops, dtype=np.int64)
    rank[compiled.topo_order] = np.arange(compiled.n_ops)
    return np.lexsort((rank, start)).astype(np.int64)


def quality(prep: Prepared, draws: Draws, durations: np.ndarray) -> tuple[np.ndarray, ...]:
    """(rework per op, scrapped per job, escaped per job): a defective operation is caught at
    its station (reworked) or passes on; a job with a defect passed on is scrapped when final
    inspection catches it, else shipped defective. The rework itself is assumed good."""
    spec = prep.profile.quality
    c = prep.compiled
    defect = (draws.defect_u < prep.defect_p) & (durations > 0)
    caught = defect & (draws.station_u < spec.station_detection)
    passed = np.zeros(c.n_jobs, dtype=bool)
    np.logical_or.at(passed, c.op_job, defect & ~caught)
    found = draws.final_u < spec.final_detection
    return caught, passed & found, passed & ~found


def run(prep: Prepared, seed: np.random.SeedSequence) -> Execution:
    """Execute the plan in one replication (right-shift, or re-planned at breakdowns)."""
    if prep.profile.rescheduling.policy == "reoptimize":
        from scenarios.replan import run_reoptimized

        return run_reoptimized(prep, seed)
    return run_right_shift(prep, seed)


def run_right_shift(prep: Prepared, seed: np.random.SeedSequence) -> Execution:
    """Execute the plan keeping every sequence, pushing operations later as needed."""
    c, profile = prep.compiled, prep.profile
    blocks, reach = 1, 2 * max(prep.makespan, 1)
    draws = draw(seed, c, blocks)
    planned_dur = c.mode_duration[prep.mode]
    dur = actual_durations(planned_dur, multipliers(profile.processing_cv, draws.dur_z))
    rdur = actual_durations(planned_dur, multipliers(profile.processing_cv, draws.rework_z))
    rework, scrapped, escaped = quality(prep, draws, dur)
    machine = prep.machine
    frozen = np.zeros(c.n_ops, dtype=np.bool_)
    for _ in range(MAX_REACH_DOUBLINGS):
        ptr, dstart, dend, covered = breakdown_windows(profile, draws, prep.ticks_per_hour, reach)
        if not covered:
            blocks += 1
            draws = draw(seed, c, blocks)
            continue
        start, end, rstart, rend = execute(
            prep.order, machine, prep.start, dur, c.op_family, c.op_release, frozen,
            c.pred_ptr, c.pred_op, c.pred_lag, c.setup, c.n_machines,
            c.unav_ptr, c.unav_start, c.unav_end, ptr, dstart, dend, rework, rdur,
        )  # fmt: skip
        if max(int(end.max(initial=0)), int(rend.max(initial=0))) < reach:
            return Execution(
                compiled=c, mode=prep.mode, start=start, end=end, rstart=rstart, rend=rend,
                down_ptr=ptr, down_start=dstart, down_end=dend, planned_start=prep.start,
                planned_machine=machine, scrapped=scrapped, escaped=escaped,
            )  # fmt: skip
        reach *= 2
    raise ScenarioError(
        f"profile {profile.name!r}: an operation finds no gap between the planned and "
        "breakdown windows long enough for it (windows too frequent for the durations)"
    )
