"""MILP against CP: `cpsat`, `milp` in both formulations (disjunctive and time-indexed) and the
`heuristic` on the same instances with the same time limit, workers and warm start (the
facade's default: the heuristic for min(2 s, 10 %) of the limit, for cpsat and milp alike).

Instances: la01-la10, ft10 (JSSP) and mk01-mk05 (FJSP) for the makespan; the energy set
(benchmarks/instances/energy/, week-long horizons of one-minute ticks with a power cap, a
tariff and a carbon cap) for the energy cost; and, for the energy cost too, four short energy
instances made here (`short_energy`: ft06, mk01, mk02, mk04 with their own tick durations,
a horizon of 1.5 x the best-known makespan, mode power 2 + 1.5 x (machine index mod 3) kW,
a tariff and a carbon intensity repeating every 24 ticks, and a power cap of 60 % of the
summed largest mode power per machine, 45 % during ticks 16-19 of each 24), the size where a
time-indexed model is small. Per run: status, objective, bound, gap, the
seconds from the call to the best schedule, and the MILP's model build time; a refusal is a row
too, with the solver's reason (e.g. the size a time-indexed model would need).
Writes a CSV and a Markdown table with the command, machine and versions.

    python benchmarks/bench_milp.py [--time-limit 60] [--workers 2]
        [--select la01,mk01,mk01-energy-week] [--out benchmarks/results/milp/milp_60s.md]

With `--build-times` it instead times building the disjunctive model (Pyomo) and compiling it
to matrix form on mk10 and ta21 (20x20), with the compiled windows (no makespan bound), and
writes benchmarks/results/milp/build_times.md.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import platform
import re
import shlex
import sys
import time
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout as a script

from scheduler.core.errors import UnsupportedFeatureError  # noqa: E402
from scheduler.core.model import Energy, Instance, Mode, Profile  # noqa: E402
from scheduler.core.result import Progress  # noqa: E402
from scheduler.core.solve import solve  # noqa: E402
from scheduler.io import load  # noqa: E402
from scheduler.io.atomic import atomic_write  # noqa: E402

HERE = Path(__file__).resolve().parent
INSTANCES = HERE / "instances"
SHOPS = [INSTANCES / f"jssp/la{i:02d}.txt" for i in range(1, 11)] + [INSTANCES / "jssp/ft10.txt"]
SHOPS += [INSTANCES / f"fjsp/brandimarte/mk{i:02d}.fjs" for i in range(1, 6)]
ENERGY = sorted((INSTANCES / "energy").glob("*-energy-week.json"))[:10]
SHORT = [INSTANCES / "jssp/ft06.txt"]
SHORT += [INSTANCES / f"fjsp/brandimarte/mk{i:02d}.fjs" for i in (1, 2, 4)]
BEST_KNOWN = {"ft06": 55, "mk01": 40, "mk02": 26, "mk04": 60}
TARIFF = Profile(((0, 0.10), (6, 0.24), (12, 0.16), (18, 0.24)), period=24)
CARBON = Profile(((0, 0.42), (8, 0.30), (16, 0.50)), period=24)
RUNS = {  # label -> (solver, options)
    "cpsat": ("cpsat", {}),
    "milp-disjunctive": ("milp", {"formulation": "disjunctive"}),
    "milp-time": ("milp", {"formulation": "time"}),
    "heuristic": ("heuristic", {}),
}
BUILT = re.compile(r"model built in ([\d.]+) s")


def short_energy(path: Path) -> Instance:
    """The instance at `path` with the short energy settings of the module docstring."""
    base = load(path)
    machine_index = {m.id: i for i, m in enumerate(base.machines)}

    def powered(mode: Mode) -> Mode:
        return dataclasses.replace(mode, power_kw=2.0 + 1.5 * (machine_index[mode.machine] % 3))

    jobs = tuple(
        dataclasses.replace(
            job,
            operations=tuple(
                dataclasses.replace(op, modes=tuple(powered(m) for m in op.modes))
                for op in job.operations
            ),
        )
        for job in base.jobs
    )
    peak: dict[str, float] = {}
    for job in jobs:
        for op in job.operations:
            for mode in op.modes:
                peak[mode.machine] = max(peak.get(mode.machine, 0.0), mode.power_kw)
    cap = sum(peak.values())
    power_cap = Profile(((0, 0.6 * cap), (16, 0.45 * cap), (20, 0.6 * cap)), period=24)
    return dataclasses.replace(
        base,
        name=f"{path.stem}-energy-short",
        jobs=jobs,
        horizon=int(1.5 * BEST_KNOWN[path.stem]),
        energy=Energy(power_cap_kw=power_cap, tariff=TARIFF, carbon_intensity=CARBON),
    )


def run_one(path: Path, label: str, time_limit: float, workers: int, short: bool) -> dict[str, Any]:
    """One solve and its row (`short`: the short energy variant of the instance)."""
    solver, options = RUNS[label]
    objective = "energy_cost" if path.suffix == ".json" or short else "makespan"
    instance = short_energy(path) if short else load(path)
    name = f"{path.stem}-energy-short" if short else path.stem
    row: dict[str, Any] = {"instance": name, "objective": objective, "run": label}
    started = time.perf_counter()
    best: list[tuple[float, float]] = []  # (seconds since the call, objective)
    logs: list[str] = []

    def seen(point: Progress) -> None:
        if point.objective is not None and (not best or point.objective < best[-1][1]):
            best.append((time.perf_counter() - started, point.objective))

    try:
        result = solve(
            instance,
            solver,
            objective,
            time_limit=time_limit,
            workers=workers,
            on_progress=seen,
            log=logs.append,
            **options,
        )
    except UnsupportedFeatureError as refusal:
        return {**row, "status": "refused", "message": str(refusal)}
    built = [float(m.group(1)) for line in logs if (m := BUILT.search(line))]
    reached = [
        t for t, value in best if result.objective is not None and value <= result.objective + 1e-9
    ]
    return {
        **row,
        "status": result.status,
        "value": result.objective,
        "bound": result.bound,
        "gap": result.gap,
        "time_to_best_s": reached[0] if reached else None,
        "build_s": built[0] if built else None,
        "wall_s": result.wall_time_s,
        "message": result.message if solver == "milp" else "",
    }


def _num(value: Any, digits: int = 2) -> str:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return "-"
    return f"{value:.{digits}f}" if isinstance(value, float) else str(value)


def markdown(frame: pd.DataFrame, meta: dict[str, Any]) -> str:
    """The table (one row per instance and run) with the run's provenance."""
    lines = [
        f"# MILP vs CP: {meta['time_limit']:g} s per run",
        "",
        f"Command: `{meta['command']}`  ",
        f"Date: {meta['date']}; machine: {meta['machine']}, {meta['cpus']} CPUs; workers "
        f"{meta['workers']}  ",
        f"Versions: {meta['versions']}",
        "",
        "Objective: makespan on the shops, energy cost on the energy set. `gap` = |value - bound|"
        " / |value|; time to best counts from the call (warm start included); build is the MILP "
        "model's construction. A refused run gives the solver's reason.",
        "",
        "| instance | objective | run | status | value | bound | gap % | to best s | build s |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in frame.to_dict("records"):
        gap = r.get("gap")
        gap_text = _num(100 * gap) if isinstance(gap, float) and not pd.isna(gap) else "-"
        lines.append(
            f"| {r['instance']} | {r['objective']} | {r['run']} | {r['status']} | "
            f"{_num(r.get('value'))} | {_num(r.get('bound'))} | {gap_text} | "
            f"{_num(r.get('time_to_best_s'))} | {_num(r.get('build_s'))} |"
        )
    refused = frame[frame["status"] == "refused"]
    if len(refused):
        lines += ["", "Refusals:", ""]
        lines += [
            f"- {r['instance']} {r['run']}: {r['message']}" for r in refused.to_dict("records")
        ]
    return "\n".join(lines) + "\n"


def build_times(out: Path, meta: dict[str, Any]) -> None:
    """Time the disjunctive model's build and its compilation to matrix form."""
    import pyomo.environ as pyo
    from pyomo.repn.plugins.standard_form import LinearStandardFormCompiler

    from scheduler.core.compile import compile_instance
    from solvers.cpsat.model import feasible_modes, time_windows
    from solvers.milp.disjunctive import build_disjunctive
    from solvers.milp.objectives import add_terms

    lines = [
        "# MILP model build times (disjunctive formulation, makespan)",
        "",
        f"Command: `{meta['command']}`  ",
        f"Date: {meta['date']}; machine: {meta['machine']}, {meta['cpus']} CPUs  ",
        f"Versions: {meta['versions']}",
        "",
        "Windows from releases, precedences and the derived horizon (no makespan bound, the "
        "largest model; with a warm start the horizon shrinks to its makespan).",
        "",
        "| instance | operations | modes | sequencing pairs | rows | columns | nonzeros | "
        "build s | compile s |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for path in (INSTANCES / "fjsp/brandimarte/mk10.fjs", INSTANCES / "jssp/ta21.txt"):
        c = compile_instance(load(path))
        earliest, latest = time_windows(c)
        began = time.perf_counter()
        mm = build_disjunctive(c, earliest, latest, feasible_modes(c, earliest, latest))
        makespan = add_terms(mm, c, frozenset({"makespan"}))["makespan"]
        mm.model.level = pyo.Objective(expr=makespan)
        built = time.perf_counter() - began
        began = time.perf_counter()
        repn = LinearStandardFormCompiler().write(mm.model, mixed_form=True, set_sense=None)
        compiled = time.perf_counter() - began
        rows, cols = repn.A.shape
        lines.append(
            f"| {path.stem} | {c.n_ops} | {c.n_modes} | {len(mm.model.pairs)} | {rows} | "
            f"{cols} | {repn.A.nnz} | {built:.2f} | {compiled:.2f} |"
        )
        print(lines[-1], flush=True)
    out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(out, "\n".join(lines) + "\n")


def metadata_of(args: argparse.Namespace) -> dict[str, Any]:
    versions = []
    for name in ("ortools", "pyomo", "highspy", "numba"):
        try:
            versions.append(f"{name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            versions.append(f"{name} (not installed)")
    return {
        "command": "python benchmarks/bench_milp.py " + shlex.join(sys.argv[1:]),
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": f"{platform.machine()}, {platform.platform()}",
        "cpus": os.cpu_count(),
        "workers": args.workers,
        "time_limit": args.time_limit,
        "versions": f"Python {platform.python_version()}, " + ", ".join(versions),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--time-limit", type=float, default=60.0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--select", default=None, help="comma-separated instance names")
    parser.add_argument("--runs", default=",".join(RUNS), help="comma-separated run labels")
    parser.add_argument("--out", type=Path, default=HERE / "results/milp/milp_60s.md")
    parser.add_argument("--build-times", action="store_true", help="time the model builds only")
    args = parser.parse_args(argv)
    if args.build_times:
        build_times(HERE / "results/milp/build_times.md", metadata_of(args))
        return
    cases = [(p, False) for p in SHOPS + ENERGY] + [(p, True) for p in SHORT]
    if args.select:
        wanted = set(args.select.split(","))
        known = {f"{p.stem}-energy-short" if short else p.stem for p, short in cases}
        if wanted - known:
            parser.error(f"--select: unknown instances {sorted(wanted - known)}")
        cases = [
            (p, short)
            for p, short in cases
            if (f"{p.stem}-energy-short" if short else p.stem) in wanted
        ]
    rows = []
    for path, short in cases:
        for label in args.runs.split(","):
            row = run_one(path, label, args.time_limit, args.workers, short)
            print(
                f"{row['instance']:<22} {label:<17} {row['status']:<10} "
                f"{_num(row.get('value'))} bound {_num(row.get('bound'))}",
                flush=True,
            )
            rows.append(row)
    frame = pd.DataFrame(rows)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(args.out.with_suffix(".csv"), frame.to_csv(index=False))
    atomic_write(args.out, markdown(frame, metadata_of(args)))


if __name__ == "__main__":
    main()
