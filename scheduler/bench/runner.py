"""The benchmark runner: every (instance, solver, seed) of a selection solved through the facade
with the same time limit and worker count, on a local process pool or a dask cluster, into a CSV
of per-run metrics (see `scheduler.bench.metrics`) plus a Markdown summary and a gap-vs-time plot
(`scheduler.bench.report`). Solvers are found through the registry; `NAME+warm` runs the
registered solver with the heuristic warm start, plain `NAME` runs it cold.

Command line: `python -m scheduler bench --suite ft --solvers cpsat,baseline --time-limit 5`."""

from __future__ import annotations

import json
import resource
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

from scheduler.bench.metrics import Point, checkpoint_column, measure
from scheduler.bench.report import run_metadata, write_report
from scheduler.bench.settings import BenchSettings, RunSpec
from scheduler.bench.suites import (
    BenchInstance,
    natural_key,
)
from scheduler.core.errors import InstanceError, UnsupportedFeatureError
from scheduler.core.model import Instance, Job, Machine, Mode, Operation
from scheduler.core.parallel import open_executor, run_bounded
from scheduler.core.protocol import warm_up_solver
from scheduler.core.registry import get_solver
from scheduler.core.solve import solve
from scheduler.io import load
from scheduler.io.atomic import atomic_write

KEY = ["family", "instance", "solver", "seed", "time_limit_s", "workers", "objective"]
FIXED_COLUMNS = [
    "suite", "instance", "family", "solver", "engine", "warm_start", "seed", "time_limit_s",
    "workers", "objective", "status", "objective_value", "bound", "solver_gap", "best_known",
    "lower_bound", "optimum", "gap_bks", "gap_lb", "time_to_first_s", "time_to_best_s",
    "time_to_bks_s", "wall_time_s", "load_s", "warmup_s", "n_jobs", "n_operations", "n_machines",
    "peak_rss_mb", "message",
]  # fmt: skip


def columns(checkpoints: tuple[float, ...]) -> list[str]:
    """CSV columns in order: fixed ones, one per checkpoint, then the anytime curve."""
    return FIXED_COLUMNS + [checkpoint_column(t) for t in checkpoints] + ["trajectory"]


def run_one(spec: RunSpec) -> dict[str, Any]:
    """Load, solve and measure one run (in a pool or cluster worker). Refusals and failures
    become the row's status (`unsupported`, `bad-input`, `error`) instead of raising."""
    from scheduler.core.solve import solve

    reference = spec.instance.reference
    if reference is not None and reference.objective != spec.objective:
        reference = None  # bks.csv values are for another objective
    row: dict[str, Any] = {
        "suite": spec.instance.suite,
        "instance": spec.instance.name,
        "family": spec.instance.family,
        "solver": spec.solver,
        "engine": spec.engine,
        "warm_start": spec.warm_start,
        "seed": spec.seed,
        "time_limit_s": spec.time_limit,
        "workers": spec.workers,
        "objective": spec.objective,
        "best_known": reference.best_known if reference else None,
        "lower_bound": reference.lower_bound if reference else None,
        "optimum": reference.optimum if reference else None,
    }
    curve: list[Point] = []
    row["warmup_s"] = warm_up(spec)
    try:
        loading = time.perf_counter()
        instance = load(spec.instance.path)
        row["load_s"] = time.perf_counter() - loading
        row["n_jobs"] = len(instance.jobs)
        row["n_operations"] = sum(len(job.operations) for job in instance.jobs)
        row["n_machines"] = len(instance.machines)
        started = time.perf_counter()
        result = solve(
            instance,
            solver=spec.engine,
            objective=spec.objective,
            time_limit=spec.time_limit,
            workers=spec.workers,
            seed=spec.seed,
            warm_start=spec.warm_start,
            on_progress=lambda p: curve.append(
                (time.perf_counter() - started, p.objective, p.bound)
            ),
        )
        wall = time.perf_counter() - started
    except UnsupportedFeatureError as refusal:
        return {**row, "status": "unsupported", "message": str(refusal), **_memory()}
    except InstanceError as bad:
        return {**row, "status": "bad-input", "message": str(bad), **_memory()}
    except Exception as error:  # noqa: BLE001 - one failing run must not end a sweep
        return {**row, "status": "error", "message": f"{type(error).__name__}: {error}"}
    if not curve:  # a solver that reports no progress: its own trajectory
        curve = [(p.time_s, p.objective, p.bound) for p in result.trajectory]
    if result.objective is not None or result.bound is not None:
        curve.append((wall, result.objective, result.bound))
    row.update(
        status=result.status,
        objective_value=result.objective,
        bound=result.bound,
        solver_gap=result.gap,
        wall_time_s=wall,
        message=result.message,
        trajectory=json.dumps([[round(t, 4), o, b] for t, o, b in curve]),
        **_memory(),
    )
    row.update(measure(curve, result.objective, reference, spec.time_limit, spec.checkpoints))
    return row


_WARMED: set[tuple[str, bool, str]] = set()
WARM_UP_S = 120.0  # the longest a process's warm-up solves may take (a solver that cannot
# schedule a 2x2 job shop in 0.5 s costs this once per process)


def warm_up(spec: RunSpec) -> float:
    """Solve a 2x2 job shop once per process and solver setting before the first timed run, so
    one-time costs (imports, Numba compilation) do not count as solve time; returns seconds.
    A solve that returns no schedule (the heuristic's kernels still loading: 1-2 s from the
    cache, minutes on the first run after an install) is repeated, up to WARM_UP_S: with a
    single 0.5 s solve the timed run waited for the kernels, loading beside the instance's
    reading, and its first schedule counted 1-3 s of them on the 20,000-operation plants.
    The solver's own warm-up (`warm_up_solver`) goes first: auto's tiny solves get a schedule
    from CP-SAT before the kernels are in, which then loaded during its timed run."""
    key = (spec.engine, spec.warm_start, spec.objective)
    if key in _WARMED:
        return 0.0
    _WARMED.add(key)
    started = time.perf_counter()
    tiny = Instance(
        (Machine("M0"), Machine("M1")),
        tuple(
            Job(f"J{j}", (Operation(f"J{j}-0", (Mode(a, 2),)), Operation(f"J{j}-1", (Mode(b, 3),))))
            for j, (a, b) in enumerate((("M0", "M1"), ("M1", "M0")))
        ),
        name="warm-up",
    )
    try:  # e.g. auto's kernels, which its own solves may not wait for
        warm_up_solver(get_solver(spec.engine))
    except Exception:  # noqa: BLE001 - the timed run reports any failure itself
        return time.perf_counter() - started
    solving = time.perf_counter()  # (compiling the kernels after an install may take minutes)
    while time.perf_counter() - solving < WARM_UP_S:
        try:
            result = solve(tiny, solver=spec.engine, objective=spec.objective, time_limit=0.5,
                           workers=1, warm_start=spec.warm_start)  # fmt: skip
        except Exception:  # noqa: BLE001 - the timed run reports any failure itself
            break
        if result.schedule is not None or result.status == "infeasible":
            break
    return time.perf_counter() - started


def _memory() -> dict[str, float]:
    """Peak resident memory of this process in MB (per run when runs are isolated)."""
    per_mb = 1024.0**2 if sys.platform == "darwin" else 1024.0  # ru_maxrss: bytes on macOS, else KB
    return {"peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / per_mb}


def run_bench(
    instances: list[BenchInstance],
    settings: BenchSettings,
    out: Path,
    resume: bool = False,
    log: Callable[[str], None] | None = None,
) -> pd.DataFrame:
    """Run the sweep, rewriting `out` (CSV) after every finished run, then write the Markdown
    summary (`out` with .md) and the gap-vs-time plot (.png). With `resume`, runs already in
    `out` without an error are kept and not repeated."""
    done: list[dict[str, Any]] = []
    if resume and out.exists():
        previous = pd.read_csv(out, keep_default_na=False, na_values=[""])
        records = [{str(k): v for k, v in r.items()} for r in previous.to_dict("records")]
        done = [r for r in records if r.get("status") != "error"]
    with open_executor(settings.executor, settings.workers, settings.tasks, settings.isolate) as (
        executor,
        in_flight,
        plan,
    ):
        specs = [
            RunSpec(inst, label, seed, settings.time_limit, plan.workers, settings.objective,
                    settings.checkpoints)
            for inst in instances for seed in range(settings.seeds) for label in settings.solvers
        ]  # fmt: skip
        finished = {tuple(str(r[k]) for k in KEY) for r in done}
        todo = [s for s in specs if s.key not in finished]
        rows = list(done)
        meta = run_metadata(settings, plan, in_flight, len(specs))
        say = log or (lambda _: None)
        say(
            f"{len(todo)} runs ({len(specs) - len(todo)} kept from {out}) on {settings.executor}: "
            f"{in_flight} in parallel x {plan.workers} CP-SAT workers"
        )

        def record(spec: RunSpec, row: dict[str, Any]) -> None:
            rows.append(row)
            _write_csv(rows, out, settings.checkpoints)
            count = len(specs) - len(todo) + len(rows) - len(done)  # of this selection
            say(f"[{count}/{len(specs)}] {_describe(row)}")

        run_bounded(executor, run_one, todo, in_flight, record)
    frame = _frame(rows, settings.checkpoints)
    _write_csv(rows, out, settings.checkpoints)
    write_report(frame, meta, out.with_suffix(".md"), out.with_suffix(".png"))
    return frame


def _frame(rows: list[dict[str, Any]], checkpoints: tuple[float, ...]) -> pd.DataFrame:
    """Rows in a fixed column order, sorted by suite, instance (natural order), solver, seed."""
    ordered = sorted(
        rows,
        key=lambda r: (str(r["suite"]), natural_key(str(r["instance"])), str(r["solver"]),
                       int(r["seed"])),
    )  # fmt: skip
    return pd.DataFrame(ordered, columns=columns(checkpoints))


def _write_csv(rows: list[dict[str, Any]], out: Path, checkpoints: tuple[float, ...]) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(out, _frame(rows, checkpoints).to_csv(index=False))


def _describe(row: dict[str, Any]) -> str:
    """One progress line: instance, solver, status, objective and gap."""
    gap = row.get("gap_bks")
    gap_text = f" gap {100 * gap:.2f}%" if isinstance(gap, float) and gap == gap else ""
    value = row.get("objective_value")
    value_text = f" {value:g}" if isinstance(value, float) and value == value else ""
    wall = row.get("wall_time_s")
    wall_text = f" in {wall:.1f} s" if isinstance(wall, float) else ""
    note = f" ({row['message']})" if row.get("status") in ("unsupported", "error") else ""
    return (
        f"{row['instance']} {row['solver']} seed {row['seed']}: "
        f"{row['status']}{value_text}{gap_text}{wall_text}{note}"
    )
