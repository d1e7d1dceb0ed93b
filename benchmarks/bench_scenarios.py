"""Scenario-layer benchmarks (results in benchmarks/results/scenarios/):

    python benchmarks/bench_scenarios.py speed     # 1,000 right-shift replications of a 50x15 plan
    python benchmarks/bench_scenarios.py replan    # seconds per re-plan on a 50-job plant
    python benchmarks/bench_scenarios.py compare   # before vs after and one-lever profiles
    python benchmarks/bench_scenarios.py stability # right-shift vs re-optimise (vs + deviation)

`compare` runs mk01-mk10 (Brandimarte FJSP, ticks of a minute, no energy data) and three
generated plants (`plant_instance`: generate_plant.py with 50 jobs x 5 operations on 25
machines, 15-minute ticks so the plan spans about a week, the KEPCO summer time-of-use tariff
and the MCEE 2023 grid factor, idle power 20-40 % of processing power as generate_energy.py).
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from generate_plant import generate_plant  # noqa: E402

import scheduler  # noqa: E402
from scenarios import replan  # noqa: E402
from scenarios.compare import compare, summary  # noqa: E402
from scenarios.draws import replication_seeds  # noqa: E402
from scenarios.kpis import kpis  # noqa: E402
from scenarios.profile import BUNDLED, bundled_profile, parse_profile  # noqa: E402
from scenarios.report import LEVERS, markdown, plot  # noqa: E402
from scenarios.simulate import prepare, run  # noqa: E402
from scheduler.core.model import Energy, Instance, Profile  # noqa: E402
from scheduler.io.atomic import atomic_write  # noqa: E402

OUT = HERE / "results" / "scenarios"
MK = [f"mk{i:02d}" for i in range(1, 11)]
PLANTS = ["plant1", "plant2", "plant3"]
TICK_MINUTES = 15
# KEPCO industrial (gap) II, high-voltage A, option I, summer, KRW/kWh, from 2024-10-24 (GOV):
# light 22-08 h 95.7, mid 08-11, 12-13, 18-22 h 121.5, peak 11-12, 13-18 h 155.0
KEPCO_SUMMER = ((0, 95.7), (8, 121.5), (11, 155.0), (12, 121.5), (13, 155.0), (18, 121.5),
                (22, 95.7))  # fmt: skip
GRID_KG_PER_KWH = 0.4173  # MCEE consumption-side factor for 2023 (GOV)
IDLE_SHARE = (0.2, 0.4)
SUMMARY_KPIS = ("productivity", "on_time_rate", "energy_kwh", "energy_cost", "scrap_units")


def plant_instance(seed: int) -> Instance:
    """A 50-job plant of about a week with energy data (see the module docstring)."""
    base = generate_plant(seed, jobs=50, ops=5, machines=25)
    per_hour = 60 // TICK_MINUTES
    tariff = Profile(tuple((h * per_hour, v) for h, v in KEPCO_SUMMER), period=24 * per_hour)
    carbon = Profile(((0, GRID_KG_PER_KWH),))
    rng = np.random.default_rng(seed + 1000)
    machines = []
    for machine in base.machines:
        powers = [
            mode.power_kw for job in base.jobs for op in job.operations for mode in op.modes
            if mode.machine == machine.id
        ]  # fmt: skip
        idle = round(float(np.mean(powers or [0.0]) * rng.uniform(*IDLE_SHARE)), 2)
        machines.append(replace(machine, idle_power_kw=idle))
    return replace(
        base,
        name=f"plant{seed}-50x5-m25-week",
        machines=tuple(machines),
        time_unit_minutes=float(TICK_MINUTES),
        energy=Energy(tariff=tariff, carbon_intensity=carbon),
    )


def load_instance(name: str) -> Instance:
    if name.startswith("plant"):
        return plant_instance(int(name[5:]))
    return scheduler.load(HERE / "instances" / "fjsp" / "brandimarte" / f"{name}.fjs")


def jssp_50x15(seed: int = 1) -> Instance:
    """A random 50-job, 15-machine job shop (Taillard-like: durations 1-99, random routes)."""
    rng = np.random.default_rng(seed)
    rows = [
        " ".join(f"{m} {d}" for m, d in zip(rng.permutation(15), rng.integers(1, 100, 15),
                                             strict=True))
        for _ in range(50)
    ]  # fmt: skip
    return scheduler.read_jssp("\n".join(["50 15", *rows]))


def command() -> str:
    return "python " + " ".join(shlex.quote(a) for a in [f"benchmarks/{Path(__file__).name}",
                                                          *sys.argv[1:]])  # fmt: skip


def bench_speed(args: argparse.Namespace) -> None:
    """Right-shift replications of the `before` plan of a 50x15 job shop: wall time of the
    whole comparison call (pool start included) and of the replications alone in-process."""
    instance = jssp_50x15()
    profile = bundled_profile("before")
    prep = prepare(instance, profile)
    run(prep, replication_seeds(0, 1)[0])  # compile (or load) the kernels
    started = time.perf_counter()
    for seed in replication_seeds(args.seed, args.replications):
        kpis(run(prep, seed))
    inline = time.perf_counter() - started
    started = time.perf_counter()
    result = compare(instance, [profile], args.replications, args.seed)
    default = time.perf_counter() - started
    started = time.perf_counter()
    compare(instance, [profile], args.replications, args.seed, workers=args.workers)
    pooled = time.perf_counter() - started
    means = result.samples.mean(numeric_only=True)
    lines = [
        "# Scenario speed: right-shift replications of a 50x15 plan",
        "",
        f"Command: `{command()}`",
        "",
        f"Instance: random 50x15 job shop (seed 1, 750 operations); profile `before` (FIFO "
        f"plan, makespan {prep.makespan} ticks; breakdowns, lognormal durations CV 0.3, "
        "defects at 3 % a unit with final inspection).",
        "",
        "| what | replications | seconds |",
        "| --- | --- | --- |",
        f"| replications in one process (draws, Numba execution, KPIs) | {args.replications} "
        f"| {inline:.2f} |",
        f"| `scenarios.compare` by default (right-shift only: in this process; the FIFO plan "
        f"included) | {args.replications} | {default:.2f} |",
        f"| `scenarios.compare` on a pool of {args.workers} processes (spawn start, imports and "
        f"pickling included) | {args.replications} | {pooled:.2f} |",
        "",
        f"Load average while measuring (shared machine, 2 cores): {os.getloadavg()[0]:.1f}.",
        "",
        f"Mean executed makespan {means.makespan_h:.2f} h, downtime {means.downtime_h:.2f} h, "
        f"scrap {means.scrap_units:.2f} units, reworks {means.rework_ops:.2f} per replication.",
    ]
    write(OUT / "speed.md", "\n".join(lines) + "\n")


def bench_replan(args: argparse.Namespace) -> None:
    """Seconds per re-plan of the `after-scheduling-only` profile on plant 1."""
    instance = plant_instance(1)
    profile = bundled_profile("after-scheduling-only")
    prep = prepare(instance, profile, workers=2)
    run(prep, replication_seeds(args.seed + 1, 1)[0])  # compile (or load) the kernels
    replan.REPLAN_SECONDS.clear()
    per_rep, replans = [], []
    for seed in replication_seeds(args.seed, args.replications):
        started = time.perf_counter()
        replans.append(kpis(run(prep, seed))["replans"])
        per_rep.append(time.perf_counter() - started)
    times = np.array(replan.REPLAN_SECONDS)
    spec = profile.rescheduling
    lines = [
        "# Re-plan time on a 50-job plant",
        "",
        f"Command: `{command()}`",
        "",
        f"Instance {instance.name} (250 operations, 25 machines, 15-minute ticks); profile "
        f"`after-scheduling-only`: re-plan with `{spec.solver}` ({spec.options or 'defaults'}, "
        f"time limit {spec.time_limit} s) at every breakdown with work left on its machine.",
        "",
        "| replications | re-plans per replication (mean) | seconds per re-plan (mean / max) "
        "| seconds per replication (mean) |",
        "| --- | --- | --- | --- |",
        f"| {args.replications} | {np.mean(replans):.2f} | {times.mean():.3f} / {times.max():.3f} "
        f"| {np.mean(per_rep):.2f} |",
        "",
        f"A 200-replication before-vs-after comparison on 2 cores costs about "
        f"200 x {np.mean(per_rep):.2f} s / 2 = {100 * np.mean(per_rep) / 60:.1f} min of "
        "re-optimising replications (the right-shift ones take milliseconds).",
    ]
    write(OUT / "replan.md", "\n".join(lines) + "\n")


def bench_compare(args: argparse.Namespace) -> None:
    """Every bundled profile on each instance: CSV, report and figure per instance, and the
    summary table of productivity changes with the lever split."""
    names = args.instances.split(",") if args.instances else [*MK, *PLANTS]
    profiles = [bundled_profile(n) for n in BUNDLED]
    folder = OUT / "compare"
    folder.mkdir(parents=True, exist_ok=True)
    rows = []
    for name in names:
        instance = load_instance(name)
        started = time.perf_counter()
        result = compare(
            instance, profiles, args.replications, args.seed, workers=args.workers,
            progress=True, plan_workers=args.workers,
        )  # fmt: skip
        table = summary(result)
        atomic_write(folder / f"{name}.csv", table.to_csv(index=False, float_format="%.10g"))
        atomic_write(folder / f"{name}.md", f"Command: `{command()}`\n\n" + markdown(result))
        plot(result, folder / f"{name}.png")
        print(f"{name}: {time.perf_counter() - started:.0f} s", file=sys.stderr, flush=True)
    for name in [*MK, *PLANTS]:  # the summary of every instance run so far
        if not (folder / f"{name}.csv").exists():
            continue
        table = pd.read_csv(folder / f"{name}.csv")
        changes = table[table.statistic != "mean"]
        for row in changes[changes.kpi.isin(SUMMARY_KPIS)].itertuples():
            rows.append([name, row.profile, row.kpi, row.value, row.ci_low, row.ci_high])
    frame = pd.DataFrame(rows, columns=["instance", "profile", "kpi", "change", "low", "high"])
    atomic_write(OUT / "compare_summary.csv", frame.to_csv(index=False, float_format="%.6g"))
    write(OUT / "compare_summary.md", _summary_markdown(frame, args))


def _summary_markdown(frame: pd.DataFrame, args: argparse.Namespace) -> str:
    """Productivity change of `after` and of each lever alone, per instance, with intervals."""

    def cell(instance: str, profile: str, kpi: str) -> str:
        row = frame[(frame.instance == instance) & (frame.profile == profile) & (frame.kpi == kpi)]
        if row.empty or np.isnan(row.change.iloc[0]):
            return "n/a"
        r = row.iloc[0]
        return f"{100 * r.change:+.1f} [{100 * r.low:+.1f}, {100 * r.high:+.1f}]"

    profiles = ["after", *LEVERS]
    lines = [
        "# Before vs after AI adoption: productivity change (%, 95 % CI, paired)",
        "",
        f"Last command: `{command()}`; {args.replications} replications per profile, seed "
        f"{args.seed} (each instance's report names the command that made it). Per-instance "
        "tables, reports and figures: `compare/<instance>.*`.",
        "",
        "| instance | " + " | ".join(profiles) + " |",
        "|" + " --- |" * (1 + len(profiles)),
    ]
    for instance in dict.fromkeys(frame.instance):
        cells = [cell(instance, p, "productivity") for p in profiles]
        lines.append(f"| {instance} | " + " | ".join(cells) + " |")
    for kpi in ("energy_kwh", "energy_cost", "scrap_units", "on_time_rate"):
        lines += ["", f"## {kpi}", "", "| instance | " + " | ".join(profiles) + " |"]
        lines.append("|" + " --- |" * (1 + len(profiles)))
        for instance in dict.fromkeys(frame.instance):
            lines.append(
                f"| {instance} | " + " | ".join(cell(instance, p, kpi) for p in profiles) + " |"
            )
    return "\n".join(lines) + "\n"


def bench_stability(args: argparse.Namespace) -> None:
    """The same optimised plan executed with right-shift, re-optimisation, and
    re-optimisation with the deviation term: stability and delivery figures."""
    rows = []
    base = json.loads((HERE.parent / "scenarios/profiles/after-scheduling-only.json").read_text())
    variants = {
        "right_shift": {"policy": "right_shift"},
        "reoptimize": base["rescheduling"],
        "reoptimize+deviation": {**base["rescheduling"], "stability": args.stability},
    }
    profiles = []
    for label, section in variants.items():
        data = {**base, "name": label, "rescheduling": section}
        profiles.append(parse_profile(data, label))
    for name in args.instances.split(",") if args.instances else PLANTS:
        instance = load_instance(name)
        result = compare(
            instance, profiles, args.replications, args.seed, workers=args.workers,
            progress=True, plan_workers=args.workers,
        )  # fmt: skip
        table = summary(result, baseline="right_shift")
        means = table[table.statistic == "mean"]
        for label in variants:
            pick = means[means.profile == label].set_index("kpi")
            rows.append(
                [name, label]
                + [
                    f"{pick.loc[k, 'value']:.3g} [{pick.loc[k, 'ci_low']:.3g}, "
                    f"{pick.loc[k, 'ci_high']:.3g}]"
                    for k in (
                        "ops_moved",
                        "mean_shift_h",
                        "machines_changed",
                        "replans",
                        "makespan_h",
                        "on_time_rate",
                        "productivity",
                    )
                ]  # fmt: skip
            )
        folder = OUT / "stability"
        folder.mkdir(parents=True, exist_ok=True)
        atomic_write(folder / f"{name}.csv", table.to_csv(index=False, float_format="%.10g"))
        atomic_write(folder / f"{name}.rows.json", json.dumps(rows[-len(variants) :]))
    rows = [  # every instance run so far
        row
        for name in [*MK, *PLANTS]
        if (OUT / "stability" / f"{name}.rows.json").exists()
        for row in json.loads((OUT / "stability" / f"{name}.rows.json").read_text())
    ]
    header = ["instance", "policy", "ops moved (share)", "mean shift (h)", "machines changed",
              "re-plans", "makespan (h)", "on-time rate", "productivity"]  # fmt: skip
    lines = [
        "# Rescheduling stability: right-shift vs re-optimise vs re-optimise with deviation",
        "",
        f"Last command: `{command()}`; {args.replications} replications, seed {args.seed}; the "
        f"`after-scheduling-only` plan ({base['scheduling']['solver']}) executed under the "
        "`before` disruptions; "
        f"deviation weight {args.stability}. Stability is measured against the first plan.",
        "",
        "| " + " | ".join(header) + " |",
        "|" + " --- |" * len(header),
        *("| " + " | ".join(map(str, r)) + " |" for r in rows),
    ]
    write(OUT / "stability.md", "\n".join(lines) + "\n")


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, text)
    print(text)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("what", choices=("speed", "replan", "compare", "stability"))
    parser.add_argument("--replications", type=int)
    parser.add_argument("--seed", type=int, default=2025)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--instances", help="comma-separated (default: mk01-mk10 and 3 plants)")
    parser.add_argument("--stability", type=float, default=1.0, help="deviation weight")
    args = parser.parse_args()
    defaults = {"speed": 1000, "replan": 10, "compare": 200, "stability": 200}
    args.replications = args.replications or defaults[args.what]
    {"speed": bench_speed, "replan": bench_replan, "compare": bench_compare,
     "stability": bench_stability}[args.what](args)  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
