"""Compare profiles on one instance: make each profile's plan, run the replications on a
concurrent.futures Executor (a local process pool, or a dask cluster by address) with common
random numbers, and summarise the KPIs as means with 95 % intervals and paired changes."""

from __future__ import annotations

import math
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from scenarios.draws import replication_seeds
from scenarios.kpis import KPI, NAMES, kpis
from scenarios.plan import ScenarioError, make_plan
from scenarios.profile import Profile
from scenarios.simulate import PlanData, Prepared, from_data, prepare_plan, run, to_data
from scenarios.stats import mean_ci, relative_change
from scheduler.core.model import Instance
from scheduler.core.parallel import open_executor, run_bounded

BASELINE = "before"
CHUNKS_PER_TASK = 4  # chunks of replications per parallel task and profile (load balance)
CHUNK_MAX = 50  # replications per task at most (a re-optimising profile's: 1, seconds each),
# so that a stop waits for little
SUMMARY_COLUMNS = ["profile", "kpi", "unit", "statistic", "value", "ci_low", "ci_high", "n"]


@dataclass
class Comparison:
    """Every replication's KPIs (`samples`: profile, replication, one column per KPI) and how
    each profile's plan was made (`plans`: profile -> solver, objective, status, seconds)."""

    instance: str
    seed: int
    replications: int
    profiles: list[str]
    samples: pd.DataFrame
    plans: dict[str, dict[str, Any]] = field(default_factory=dict)
    seconds: float = 0.0


def _plan_key(profile: Profile) -> str:
    """What the plan depends on: profiles equal in it share one plan (and so its noise)."""
    return repr((profile.scheduling, profile.energy, profile.maintenance.planned_windows))


def prepare_all(
    instance: Instance,
    profiles: list[Profile],
    seed: int,
    workers: int | None,
    stop: threading.Event | None = None,
) -> tuple[list[Prepared], dict[str, dict[str, Any]]]:
    """Each profile's plan (made once per distinct planning policy) as Prepared arrays; the
    solves end early once `stop` is set."""
    made: dict[str, Any] = {}
    prepared, info = [], {}
    for profile in profiles:
        key = _plan_key(profile)
        if key not in made:
            started = time.perf_counter()
            plan = make_plan(instance, profile, seed, workers, stop)
            made[key] = (plan, time.perf_counter() - started)
        (result, objective), seconds = made[key]
        prepared.append(prepare_plan(profile, result.schedule))
        info[profile.name] = {
            "solver": result.solver,
            "objective": objective,
            "status": result.status,
            "plan_makespan_h": result.kpis["makespan"] * instance.hours_per_tick,
            "plan_seconds": seconds,
        }
    return prepared, info


def _run_chunk(task: tuple[PlanData, list[tuple[int, np.random.SeedSequence]]]) -> list[dict]:
    """Replications of one profile (a picklable top-level task for the executor)."""
    data, items = task
    prep = from_data(data)
    rows = []
    for index, seed in items:
        row: dict[str, Any] = {"profile": prep.profile.name, "replication": index}
        row.update(kpis(run(prep, seed)))
        rows.append(row)
    return rows


def compare(
    instance: Instance,
    profiles: list[Profile],
    replications: int = 200,
    seed: int = 0,
    workers: int | None = None,
    executor: str | None = None,
    progress: bool = False,
    plan_workers: int | None = None,
    stop: threading.Event | None = None,
) -> Comparison:
    """Run every profile's replications with common random numbers (replication r uses the
    same seed in every profile), on `workers` processes or a dask cluster at `executor`.
    By default (`workers` None) a process pool on every core when a profile re-optimises
    (seconds per replication), else in this process: a right-shift replication takes about a
    millisecond, less than a pool's start. `progress` shows a bar on stderr. Once `stop` is
    set (Ctrl-C) no replication starts in this process, and no task on a pool (a task holds
    one replication of a re-optimising profile, else up to CHUNK_MAX): the comparison keeps
    the replications every profile finished (its `replications` then counts those)."""
    started = time.perf_counter()
    names = [p.name for p in profiles]
    if len(set(names)) != len(names):
        raise ScenarioError(f"profile names must differ, got {', '.join(names)}")
    prepared, plans = prepare_all(instance, profiles, seed, plan_workers, stop)
    seeds = list(enumerate(replication_seeds(seed, replications)))
    token = uuid.uuid4().hex
    data = [to_data(f"{token}-{i}", prep) for i, prep in enumerate(prepared)]
    bar = _bar(len(profiles) * replications, progress)
    rows: list[dict] = []
    try:
        replanning = any(p.rescheduling.policy == "reoptimize" for p in profiles)
        if executor is None and (workers == 1 or (workers is None and not replanning)):
            for item in seeds:  # replication by replication, so that a stop leaves pairs
                if stop is not None and stop.is_set():
                    break
                for item_data in data:
                    rows += _run_chunk((item_data, [item]))
                    bar.update(1)
        else:
            opened = open_executor(executor, workers=1, tasks=workers, keep_on_ctrl_c=True)
            with opened as (pool, in_flight, _):
                size = 1 if replanning else CHUNK_MAX
                size = max(1, min(size, math.ceil(replications / (in_flight * CHUNKS_PER_TASK))))
                tasks = [(d, seeds[i : i + size]) for i in range(0, len(seeds), size) for d in data]
                for chunk in run_bounded(
                    pool,
                    _run_chunk,
                    tasks,
                    in_flight,
                    lambda task, _: bar.update(len(task[1])),
                    stop,
                ):
                    rows += chunk
    finally:
        bar.close()
    samples = pd.DataFrame(rows, columns=["profile", "replication", *NAMES])
    done = samples.groupby("replication").profile.nunique() == len(names)  # in every profile
    samples = samples[samples.replication.isin(done.index[done])]
    return Comparison(
        instance=instance.name,
        seed=seed,
        replications=int(done.sum()),
        profiles=names,
        samples=samples.sort_values(["profile", "replication"], kind="stable").reset_index(
            drop=True
        ),
        plans=plans,
        seconds=time.perf_counter() - started,
    )


def _bar(total: int, show: bool) -> Any:
    """A tqdm progress bar on stderr (hidden unless `show` and stderr is a terminal)."""
    from tqdm import tqdm

    return tqdm(total=total, unit="rep", disable=None if show else True, leave=False)


def summary(comparison: Comparison, baseline: str = BASELINE) -> pd.DataFrame:
    """One row per profile and KPI (statistic `mean`: value with its 95 % interval), then one
    per other profile and KPI (statistic `change_vs_<baseline>`: the paired relative change)."""
    samples = comparison.samples
    by_profile = {name: samples[samples.profile == name] for name in comparison.profiles}
    rows = []
    for name, frame in by_profile.items():
        for kpi in NAMES:
            mean, low, high = mean_ci(frame[kpi].to_numpy())
            rows.append([name, kpi, KPI[kpi].unit, "mean", mean, low, high, len(frame)])
    if baseline in by_profile:
        base = by_profile[baseline]
        for name, frame in by_profile.items():
            if name == baseline:
                continue
            for kpi in NAMES:
                change, low, high = relative_change(frame[kpi].to_numpy(), base[kpi].to_numpy())
                rows.append(
                    [name, kpi, "relative", f"change_vs_{baseline}", change, low, high, len(frame)]
                )
    return pd.DataFrame(rows, columns=SUMMARY_COLUMNS)
