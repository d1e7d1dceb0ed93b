"""The benchmark runner: every (instance, solver, seed) of a selection solved through the facade
with the same time limit and worker count, on a local process pool or a dask cluster, into a CSV
of per-run metrics (see `scheduler.bench_metrics`) plus a Markdown summary and a gap-vs-time plot
(`scheduler.bench_report`). Solvers are found through the registry; `NAME+warm` runs the
registered solver with the heuristic warm start, plain `NAME` runs it cold.

Command line: `python -m scheduler bench --suite ft --solvers cpsat,baseline --time-limit 5`."""

from __future__ import annotations

import argparse
import contextlib
import json
import resource
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from scheduler.bench_metrics import DEFAULT_CHECKPOINTS, Point, checkpoint_column, measure
from scheduler.bench_report import run_metadata, write_report
from scheduler.bench_suites import (
    BenchInputError,
    BenchInstance,
    default_root,
    natural_key,
    resolve,
    suite_sizes,
)
from scheduler.errors import InstanceError, SolverNotFoundError, UnsupportedFeatureError
from scheduler.io.atomic import atomic_write
from scheduler.parallel import LOCAL, open_executor, run_bounded
from scheduler.registry import available_solvers

WARM = "+warm"
COMMAND_OPTIONS = (
    "suite", "instances", "select", "solvers", "time_limit", "workers", "tasks", "seeds",
    "objective", "executor", "checkpoints", "resume", "isolate", "instances_root", "out",
)  # fmt: skip
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


@dataclass(frozen=True)
class RunSpec:
    """One run: an instance, a solver label (`engine` or `engine+warm`) and a seed."""

    instance: BenchInstance
    solver: str
    seed: int
    time_limit: float
    workers: int
    objective: str = "makespan"
    checkpoints: tuple[float, ...] = DEFAULT_CHECKPOINTS

    @property
    def engine(self) -> str:
        return self.solver.removesuffix(WARM)

    @property
    def warm_start(self) -> bool:
        return self.solver.endswith(WARM)

    @property
    def key(self) -> tuple[str, ...]:
        i = self.instance
        values = (i.family, i.name, self.solver, self.seed, self.time_limit, self.workers)
        return tuple(str(v) for v in values) + (self.objective,)


def run_one(spec: RunSpec) -> dict[str, Any]:
    """Load, solve and measure one run (in a pool or cluster worker). Refusals and failures
    become the row's status (`unsupported`, `bad-input`, `error`) instead of raising."""
    from scheduler.io import load
    from scheduler.solve import solve

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


def warm_up(spec: RunSpec) -> float:
    """Solve a 2x2 job shop once per process and solver setting before the first timed run, so
    one-time costs (imports, Numba compilation) do not count as solve time; returns seconds."""
    from scheduler.model import Instance, Job, Machine, Mode, Operation
    from scheduler.solve import solve

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
    with contextlib.suppress(Exception):  # the timed run reports any failure itself
        solve(tiny, solver=spec.engine, objective=spec.objective, time_limit=0.5, workers=1,
              warm_start=spec.warm_start)  # fmt: skip
    return time.perf_counter() - started


def _memory() -> dict[str, float]:
    """Peak resident memory of this process in MB (per run when runs are isolated)."""
    per_mb = 1024.0**2 if sys.platform == "darwin" else 1024.0  # ru_maxrss: bytes on macOS, else KB
    return {"peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / per_mb}


def parse_solvers(text: str) -> list[str]:
    """Solver labels from `cpsat,cpsat+warm,baseline`; each engine must be registered."""
    labels = [s.strip() for s in text.split(",") if s.strip()]
    if not labels:
        raise BenchInputError("--solvers: give at least one solver name")
    known = available_solvers()
    for label in labels:
        if label.removesuffix(WARM) not in known:
            raise BenchInputError(
                f"--solvers: {label.removesuffix(WARM)!r} is not registered "
                f"(registered: {', '.join(known)}; add {WARM} for a warm start)"
            )
    return list(dict.fromkeys(labels))


@dataclass
class BenchSettings:
    """Everything a sweep needs besides the instances; `executor` is `local` or a dask
    scheduler address; `tasks`/`workers` default to a split of the cores (scheduler.parallel)."""

    solvers: list[str]
    time_limit: float
    seeds: int = 1
    workers: int | None = None
    tasks: int | None = None
    objective: str = "makespan"
    executor: str = LOCAL
    isolate: bool = False
    checkpoints: tuple[float, ...] = DEFAULT_CHECKPOINTS
    command: str = ""
    extra_meta: dict[str, Any] = field(default_factory=dict)


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
            say(f"[{len(rows)}/{len(specs)}] {_describe(row)}")

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


# -- command line -----------------------------------------------------------------------------


def add_bench_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add the `bench` sub-command to an argparse sub-parsers object (dispatch: `args.run`)."""
    parser = subparsers.add_parser(
        "bench",
        help="run a benchmark sweep",
        description="Solve benchmark instances with several solvers under the same time limit "
        "and worker count; write per-run CSV, a Markdown summary and a gap-vs-time plot.",
    )
    add_bench_arguments(parser)
    parser.set_defaults(run=run_bench_cli)
    return parser


def add_bench_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of `bench` (shared by the sub-command and `python -m scheduler.bench`)."""
    parser.add_argument("--suite", help="comma-separated suites (see --list-suites)")
    parser.add_argument("--instances", metavar="GLOB", help="instance files (json/txt/fjs)")
    parser.add_argument("--select", metavar="PATTERNS", help="names to keep: la0*,ta01-ta30")
    parser.add_argument("--solvers", default="cpsat", help="e.g. cpsat,cpsat+warm,baseline")
    parser.add_argument("--time-limit", type=float, default=10.0, help="seconds per run")
    parser.add_argument("--workers", type=int, help="CP-SAT workers per run")
    parser.add_argument("--tasks", type=int, help="runs in parallel per node")
    parser.add_argument("--seeds", type=int, default=1, help="seeds 0..K-1 per instance/solver")
    parser.add_argument("--objective", default="makespan")
    parser.add_argument("--out", type=Path, default=Path("results.csv"), help="per-run CSV")
    parser.add_argument("--executor", default=LOCAL, help="local or a dask scheduler address")
    parser.add_argument("--checkpoints", default=",".join(f"{t:g}" for t in DEFAULT_CHECKPOINTS))
    parser.add_argument("--resume", action="store_true", help="keep finished runs in --out")
    parser.add_argument("--isolate", action="store_true", help="a fresh process per run")
    parser.add_argument("--instances-root", type=Path, help="folder with bks.csv and the sets")
    parser.add_argument("--list-suites", action="store_true", help="list suites and exit")
    parser.add_argument("--quiet", action="store_true")


def run_bench_cli(args: argparse.Namespace) -> int:
    """Run `bench` from parsed arguments. Exit codes: 0 every run finished (refusals
    included), 1 some run failed with an error, 2 bad input."""
    root = args.instances_root or default_root()
    if args.list_suites:
        for name, size in suite_sizes(root).items():
            print(f"{name:14s} {size:4d} instances")
        return 0
    try:
        if args.time_limit <= 0 or args.seeds < 1:
            raise BenchInputError("--time-limit must be > 0 and --seeds >= 1")
        checkpoints = tuple(float(t) for t in args.checkpoints.split(",") if t.strip())
        instances = resolve(args.suite, args.instances, args.select, root)
        settings = BenchSettings(
            solvers=parse_solvers(args.solvers),
            time_limit=args.time_limit,
            seeds=args.seeds,
            workers=args.workers,
            tasks=args.tasks,
            objective=args.objective,
            executor=args.executor,
            isolate=args.isolate,
            checkpoints=checkpoints,
            command=_command(args),
        )
        log = None if args.quiet else (lambda line: print(line, flush=True))
        frame = run_bench(instances, settings, args.out, args.resume, log)
    except (BenchInputError, SolverNotFoundError, ValueError, OSError) as bad:
        print(f"error: {bad}", file=sys.stderr)
        return 2
    if not args.quiet:
        print(f"wrote {args.out}, {args.out.with_suffix('.md')}, {args.out.with_suffix('.png')}")
    return 1 if (frame["status"] == "error").any() else 0


def _command(args: argparse.Namespace) -> str:
    """The sweep as a full command line (every option, defaults included), for provenance."""
    import shlex

    words = ["python", "-m", "scheduler", "bench"]
    for dest in COMMAND_OPTIONS:
        value = getattr(args, dest, None)
        flag = "--" + dest.replace("_", "-")
        if value is True:
            words.append(flag)
        elif value not in (None, False):
            words += [flag, f"{value:g}" if isinstance(value, float) else str(value)]
    return shlex.join(words)


def main(argv: list[str] | None = None) -> int:
    """`python -m scheduler.bench ...`: the same as `python -m scheduler bench ...`."""
    parser = argparse.ArgumentParser(prog="python -m scheduler bench")
    add_bench_arguments(parser)
    return run_bench_cli(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
