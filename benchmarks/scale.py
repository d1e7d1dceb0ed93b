"""Scale benchmark: seeded large plant instances (benchmarks/generate_plant.py, default 2,000
jobs x 10 operations on 50 machines with alternatives and setups) solved by each solver in a
fresh process; reports the time to the first valid schedule, the objective after the time limit
(60 s by default) and the peak memory, next to the full benchmark CSV/Markdown of the runner.

    python benchmarks/scale.py --out benchmarks/results/scale/plant.csv [--seeds 1] [--power-cap]
        [--no-setups]

`--power-cap` adds the site power cap (an energy constraint); `--no-setups` makes changeovers
free, the size at which cpsat builds its model (with setups its circuits would need some 30
million arcs, and it refuses)."""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import pandas as pd
from generate_plant import generate_plant  # a sibling script: run as python benchmarks/scale.py

from scheduler.bench.runner import BenchSettings, parse_solvers, run_bench
from scheduler.bench.suites import BenchInstance
from scheduler.io import write_json
from scheduler.io.atomic import atomic_write


def scale_table(frame: pd.DataFrame, time_limit: float) -> str:
    """Markdown: per instance and solver, size, status, time to first schedule, objective at the
    time limit, best bound, peak memory."""
    lines = [
        f"| instance | jobs | operations | machines | solver | status | time to first "
        f"schedule s | objective at {time_limit:g} s | bound | peak memory MB | load s |",
        "|" + "---|" * 11,
    ]
    for r in frame.to_dict("records"):
        cells = [r["instance"], r["n_jobs"], r["n_operations"], r["n_machines"], r["solver"]]
        cells += [r["status"], _fmt(r["time_to_first_s"]), _fmt(r["objective_value"], 0)]
        cells += [_fmt(r["bound"], 0), _fmt(r["peak_rss_mb"], 0), _fmt(r["load_s"])]
        lines.append("| " + " | ".join(str(c) for c in cells) + " |")
    refused = [r for r in frame.to_dict("records") if r["status"] in ("unsupported", "error")]
    lines += [""] + [f"- {r['instance']} {r['solver']}: {r['message']}" for r in refused]
    return "\n".join(lines) + "\n"


def _fmt(value: object, digits: int = 2) -> str:
    if not isinstance(value, (int, float)) or value != value:
        return "–"
    return f"{value:.{digits}f}"


def main(argv: list[str] | None = None) -> int:
    """Generate the plants, run the solvers isolated, write CSV, report and the scale table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/scale/plant.csv"))
    parser.add_argument("--solvers", default="heuristic,cpsat,cpsat+warm")
    parser.add_argument("--time-limit", type=float, default=60.0)
    parser.add_argument("--workers", type=int, help="CP-SAT workers per run (default: cores)")
    parser.add_argument("--seeds", type=int, default=1, help="plant instances, seeds 1..K")
    parser.add_argument("--jobs", type=int, default=2000)
    parser.add_argument("--ops", type=int, default=10)
    parser.add_argument("--machines", type=int, default=50)
    parser.add_argument("--power-cap", action="store_true")
    parser.add_argument("--no-setups", action="store_true", help="free changeovers")
    parser.add_argument("--objective", default="makespan")
    args = parser.parse_args(argv)
    settings = BenchSettings(
        solvers=parse_solvers(args.solvers),
        time_limit=args.time_limit,
        workers=args.workers,
        tasks=1,  # one run at a time: the memory and the first-schedule time are per run
        objective=args.objective,
        isolate=True,
        command="python benchmarks/scale.py " + " ".join(argv or sys.argv[1:]),
        extra_meta={"generator": vars(args) | {"out": str(args.out)}},
    )
    with tempfile.TemporaryDirectory(prefix="plants-") as folder:
        instances = []
        for seed in range(1, args.seeds + 1):
            plant = generate_plant(
                seed, args.jobs, args.ops, args.machines, 3, args.power_cap, not args.no_setups
            )
            path = Path(folder) / f"{plant.name}.json"
            write_json(plant, path)
            instances.append(BenchInstance("plant", plant.name, "plant", str(path), None))
        frame = run_bench(instances, settings, args.out, log=print)
    table = scale_table(frame, args.time_limit)
    atomic_write(args.out.with_name(args.out.stem + "-scale.md"), table)
    print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
