"""Benchmark reports: the provenance of a sweep (command, machine, versions), a Markdown summary
(mean/median gap per suite and solver, gaps at the checkpoints, wins/ties/losses and objective
ratios per pair of solvers, geometric-mean time to the optimum, one row per instance) and a plot
of the mean gap to the best-known value over time per solver."""

from __future__ import annotations

import json
import math
import os
import platform
import subprocess
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any, cast

import numpy as np
import pandas as pd

from scheduler.bench.metrics import objective_at
from scheduler.bench.settings import BenchSettings
from scheduler.core.parallel import Plan, available_cores
from scheduler.io.atomic import atomic_write

PACKAGES = ("prodsched", "ortools", "numpy", "numba", "pandas", "pyjobshop", "dask", "distributed")
NO_SCHEDULE_GAP = 1.0  # the plot counts a run without a schedule yet as 100 % from the BKS


def run_metadata(settings: BenchSettings, plan: Plan, in_flight: int, runs: int) -> dict[str, Any]:
    """Command, date, machine (cores, CPU, OS), package versions and git commit of a sweep."""
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return {
        "command": settings.command,
        "date_utc": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S"),
        "machine": {
            "cores_available": available_cores(),
            "cpu_count": os.cpu_count(),
            "cpu": _cpu_model(),
            "platform": platform.platform(),
            "python": platform.python_version(),
        },
        "versions": versions,
        "git_commit": _git_commit(),
        "executor": settings.executor,
        "parallel_runs": in_flight,
        "workers_per_run": plan.workers,
        "time_limit_s": settings.time_limit,
        "seeds": settings.seeds,
        "objective": settings.objective,
        "solvers": settings.solvers,
        "runs": runs,
        **settings.extra_meta,
    }


def _cpu_model() -> str:
    """The CPU model name from /proc/cpuinfo, else what `platform` knows."""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def _git_commit() -> str:
    """The source tree's commit (with `+dirty` for uncommitted changes), or `unknown`."""
    here = Path(__file__).resolve().parent
    try:
        head = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=here, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain"], cwd=here, capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + ("+dirty" if dirty else "")


def write_report(frame: pd.DataFrame, meta: dict[str, Any], markdown: Path, plot: Path) -> None:
    """The Markdown summary (with the metadata) and the gap-vs-time plot beside the CSV."""
    markdown.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(markdown.with_suffix(".meta.json"), json.dumps(meta, indent=2) + "\n")
    atomic_write(markdown, summary_markdown(frame, meta, plot.name))
    plot_gap_over_time(frame, float(meta["time_limit_s"]), plot)


def _pct(value: float | None) -> str:
    return "–" if value is None or value != value else f"{100 * value:.2f}"


def _num(value: float | None, digits: int = 2) -> str:
    return "–" if value is None or value != value else f"{value:.{digits}f}"


def _float(value: Any) -> float:
    """A float, NaN for None (columns without any reference value hold None)."""
    return float("nan") if value is None else float(value)


def _table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return "\n".join(lines + ["| " + " | ".join(r) + " |" for r in rows])


def geometric_mean(values: list[float], shift: float = 1.0) -> float | None:
    """Shifted geometric mean (shift 1 s, the usual choice for solve times)."""
    if not values:
        return None
    return float(math.exp(np.mean([math.log(v + shift) for v in values])) - shift)


def checkpoint_columns(frame: pd.DataFrame) -> list[str]:
    """The checkpoint gap columns that have at least one value."""
    return [c for c in frame.columns if c.startswith("gap_bks_at_") and frame[c].notna().any()]


def suite_summary(frame: pd.DataFrame) -> list[list[str]]:
    """Per suite and solver: runs, schedules, proven optima, BKS reached, gaps, checkpoint gaps
    (mean over runs holding a schedule, `k/n` when some had none), times."""
    rows = []
    points = checkpoint_columns(frame)
    for (suite, solver), group in frame.groupby(["suite", "solver"], sort=True):
        n = len(group)
        gaps = group["gap_bks"].dropna()
        at_points = []
        for column in points:
            values = group[column].dropna()
            share = "" if len(values) == n else f" ({len(values)}/{n})"
            at_points.append(_pct(values.mean() if len(values) else None) + share)
        closed = group[group["optimum"].notna()]
        limit = closed["time_limit_s"].astype(float)
        to_optimum = closed["time_to_bks_s"].astype(float).fillna(limit).tolist()
        rows.append(
            [
                str(suite),
                str(solver),
                str(n),
                str(int(group["objective_value"].notna().sum())),
                str(int((group["status"] == "optimal").sum())),
                str(int((group["gap_bks"].dropna() <= 1e-9).sum())),
                _pct(gaps.mean() if len(gaps) else None),
                _pct(gaps.median() if len(gaps) else None),
                _pct(group["gap_lb"].dropna().mean() if group["gap_lb"].notna().any() else None),
                *at_points,
                _num(group["time_to_first_s"].dropna().mean()),
                f"{_num(geometric_mean(to_optimum))} "
                f"({int(closed['time_to_bks_s'].notna().sum())}/{len(closed)})",
            ]
        )
    return rows


def per_instance_objectives(frame: pd.DataFrame, order: list[str]) -> pd.DataFrame:
    """Mean objective over seeds per (suite, instance) x solver (NaN: no schedule); solvers in
    `order`, then any others (kept from a resumed sweep) alphabetically."""
    present = set(frame["solver"])
    columns = [s for s in order if s in present] + sorted(present - set(order))
    return frame.pivot_table(
        index=["suite", "instance"], columns="solver", values="objective_value", aggfunc="mean"
    ).reindex(columns=columns)


def pairwise(frame: pd.DataFrame, order: list[str]) -> list[list[str]]:
    """For each suite and pair (A, B), A listed before B in `order`: instances compared, A's
    wins/ties/losses against B (a schedule beats none), and the geometric mean of the A/B
    objective ratios (< 1: A better)."""
    table = per_instance_objectives(frame, order)
    solvers = [s for s in order if s in table.columns]
    rows = []
    for suite, block in table.groupby(level="suite"):
        for i, a in enumerate(solvers):
            for b in solvers[i + 1 :]:
                va, vb = block[a].to_numpy(float), block[b].to_numpy(float)
                either = ~(np.isnan(va) & np.isnan(vb))
                wins = int(np.sum((~np.isnan(va) & np.isnan(vb)) | (va < vb - 1e-9)))
                losses = int(np.sum((np.isnan(va) & ~np.isnan(vb)) | (va > vb + 1e-9)))
                both = ~np.isnan(va) & ~np.isnan(vb) & (vb > 0)
                ratio = float(np.exp(np.mean(np.log(va[both] / vb[both])))) if both.any() else None
                ties = int(either.sum()) - wins - losses
                rows.append(
                    [str(suite), a, b, str(int(either.sum())), f"{wins}/{ties}/{losses}",
                     _num(ratio, 4)]
                )  # fmt: skip
    return rows


def instance_rows(frame: pd.DataFrame, order: list[str]) -> tuple[list[str], list[list[str]]]:
    """Per instance: BKS, lower bound, and each solver's mean objective and gap."""
    table = per_instance_objectives(frame, order)
    refs: dict[tuple[str, str], tuple[float, float]] = {}
    for record in frame.to_dict("records"):
        key = (str(record["suite"]), str(record["instance"]))
        refs.setdefault(key, (_float(record["best_known"]), _float(record["lower_bound"])))
    header = ["suite", "instance", "BKS", "LB"] + [f"{s} (gap %)" for s in table.columns]
    rows = []
    for index, values in table.iterrows():
        suite, name = cast(tuple[str, str], index)
        bks, lb = refs[(suite, name)]
        cells = []
        for value in values:
            gap = (value - bks) / bks if value == value and bks == bks and bks else None
            cells.append("–" if value != value else f"{value:g} ({_pct(gap)})")
        rows.append([suite, name, _num(bks, 0), _num(lb, 0), *cells])
    return header, rows


def summary_markdown(frame: pd.DataFrame, meta: dict[str, Any], plot_name: str) -> str:
    """The whole Markdown report."""
    machine = meta["machine"]
    versions = ", ".join(f"{k} {v}" for k, v in meta["versions"].items())
    points = [c.removeprefix("gap_bks_at_") for c in checkpoint_columns(frame)]
    failed = frame[frame["status"].isin(["error", "unsupported", "bad-input"])]
    parts = [
        f"# Benchmark: {', '.join(sorted(frame['suite'].unique()))}, "
        f"{meta['time_limit_s']:g} s per run",
        "",
        f"- Command: `{meta['command']}`",
        f"- Date (UTC): {meta['date_utc']}; git commit {meta['git_commit']}",
        f"- Machine: {machine['cores_available']} cores available ({machine['cpu']}), "
        f"{machine['platform']}, Python {machine['python']}",
        f"- Parallelism: {meta['parallel_runs']} runs at a time x {meta['workers_per_run']} "
        f"workers per run, executor `{meta['executor']}`",
        f"- Versions: {versions}",
        f"- Objective: {meta['objective']}; seeds per instance: {meta['seeds']}",
        "",
        "Gaps are (objective - reference) / reference in %, against the best-known value (BKS) "
        "and the best lower bound (LB) of `bks.csv` in the instance root (`benchmarks/instances/` "
        "unless the command names `--instances-root`). Time to optimum: "
        "shifted (1 s) geometric mean over instances with a known optimum of the time the run "
        "first held an optimal schedule, a run that never did counting as the time limit; "
        "(k/n) = reached / instances.",
        "",
        "## Per suite and solver",
        "",
        _table(
            [
                "suite",
                "solver",
                "runs",
                "schedules",
                "proven optimal",
                "at BKS",
                "mean gap %",
                "median gap %",
                "mean gap to LB %",
            ]
            + [f"gap @{p} %" for p in points]
            + ["mean time to first s", "geo-mean time to optimum s"],
            suite_summary(frame),
        ),  # fmt: skip
        "",
        "## Solver against solver",
        "",
        "Per instance the mean objective over seeds is compared (A before B in the order of "
        "--solvers). W/T/L: wins, ties, losses of A against B; ratio: geometric mean of "
        "objective(A) / objective(B) over instances where both found a schedule (< 1: A better).",
        "",
        _table(
            ["suite", "A", "B", "instances", "W/T/L", "ratio A/B"], pairwise(frame, meta["solvers"])
        ),
        "",
        f"## Gap over time\n\n![gap to BKS over time]({plot_name})",
        "",
        "## Per instance",
        "",
        _table(*instance_rows(frame, meta["solvers"])),
        "",
    ]
    if len(failed):
        parts += ["## Runs without a result", ""]
        parts.append(
            _table(
                ["instance", "solver", "seed", "status", "message"],
                [
                    [str(r.instance), str(r.solver), str(r.seed), str(r.status), str(r.message)]
                    for r in failed.itertuples()
                ],
            )  # fmt: skip
        )
        parts.append("")
    return "\n".join(parts)


def gap_curve(frame: pd.DataFrame, grid: np.ndarray) -> np.ndarray:
    """Mean gap to the BKS over the runs of `frame` at each time of `grid`; a run without a
    schedule yet counts as NO_SCHEDULE_GAP, gaps are capped there too."""
    curves = []
    for row in frame.to_dict("records"):
        best_known = row["best_known"]
        if best_known != best_known or not best_known or not isinstance(row["trajectory"], str):
            continue
        curve = [(float(t), o, b) for t, o, b in json.loads(row["trajectory"])]
        values = []
        for t in grid:
            value = objective_at(curve, float(t))
            gap = NO_SCHEDULE_GAP if value is None else (value - best_known) / best_known
            values.append(min(gap, NO_SCHEDULE_GAP))
        curves.append(values)
    return np.mean(curves, axis=0) if curves else np.full(grid.shape, np.nan)


def plot_gap_over_time(frame: pd.DataFrame, time_limit: float, path: Path) -> None:
    """One panel per suite: mean gap to BKS (%) against time (log scale), one line per solver."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    suites = sorted(frame["suite"].unique())
    grid = np.geomspace(0.01, time_limit, 200)
    fig, axes = plt.subplots(1, len(suites), figsize=(5.5 * len(suites), 4), squeeze=False)
    for ax, suite in zip(axes[0], suites, strict=True):
        block = frame[frame["suite"] == suite]
        lowest = 0.0
        for solver, group in block.groupby("solver", sort=True):
            curve = 100 * gap_curve(group, grid)
            ax.step(grid, curve, where="post", label=str(solver))
            lowest = min(lowest, float(np.nanmin(curve, initial=0.0)))
        ax.set_xscale("log")
        ax.set_yscale("symlog", linthresh=1.0)  # linear below 1 %, log above: tails stay visible
        ax.set_ylim(bottom=lowest)
        ax.set_title(f"{suite} ({block['instance'].nunique()} instances)")
        ax.set_xlabel("time since the solve call (s)")
        ax.set_ylabel("mean gap to BKS (%), no schedule = 100")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend()
    fig.tight_layout()
    atomic_write(path, lambda temp: fig.savefig(temp, dpi=120))
    plt.close(fig)
