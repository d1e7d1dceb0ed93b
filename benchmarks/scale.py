"""Scale benchmark: seeded large plant instances (benchmarks/generate_plant.py, default 2,000
jobs x 10 operations on 50 machines with alternatives and setups) solved by each solver in a
fresh process; reports the time to the first valid schedule, the objective after the time limit
(60 s by default) and the peak memory, next to the full benchmark CSV/Markdown of the runner.
The scale table also gives each makespan run's gap to the yardstick of issue 14: the plain
energy bound under a power cap (the least energy drawn at the cap), else the work-centre bound.

    python benchmarks/scale.py --out benchmarks/results/scale/plant.csv [--seeds 1]
        [--first-seed 1] [--power-cap] [--no-setups]
    python benchmarks/scale.py --move-table 2000,5000,20000 [--power-cap] [--no-setups]

`--move-table` instead times, per plant size (operations), the first schedule (the setup-aware
batching decode), one more batching decode (a move of the setup-aware search), one LNS part
(CP-SAT on a part, with the compaction and exact scoring) and the peak memory.

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

from scheduler.bench.runner import run_bench
from scheduler.bench.settings import BenchSettings, parse_solvers
from scheduler.bench.suites import BenchInstance
from scheduler.core.bounds import power_cap_bound, work_centre_bound
from scheduler.core.compile import compile_instance
from scheduler.core.model import Instance
from scheduler.io import write_json
from scheduler.io.atomic import atomic_write


def scale_table(
    frame: pd.DataFrame, time_limit: float, yardsticks: dict[str, tuple[str, int]]
) -> str:
    """Markdown: per instance and solver, size, status, time to first schedule, objective at the
    time limit, best bound, the instance's yardstick (`yardstick`) and the gap to it, peak
    memory."""
    lines = [
        f"| instance | jobs | operations | machines | solver | status | time to first "
        f"schedule s | objective at {time_limit:g} s | bound | yardstick | gap to it % "
        "| peak memory MB | load s |",
        "|" + "---|" * 13,
    ]
    for r in frame.to_dict("records"):
        kind, value = yardsticks.get(r["instance"], ("", 0))  # none: not a makespan run
        gap = 100 * (r["objective_value"] - value) / value if value > 0 else float("nan")
        cells = [r["instance"], r["n_jobs"], r["n_operations"], r["n_machines"], r["solver"]]
        cells += [r["status"], _fmt(r["time_to_first_s"]), _fmt(r["objective_value"], 0)]
        cells += [_fmt(r["bound"], 0), f"{value} ({kind})" if value > 0 else "–", _fmt(gap, 1)]
        cells += [_fmt(r["peak_rss_mb"], 0), _fmt(r["load_s"])]
        lines.append("| " + " | ".join(str(c) for c in cells) + " |")
    refused = [r for r in frame.to_dict("records") if r["status"] in ("unsupported", "error")]
    lines += [""] + [f"- {r['instance']} {r['solver']}: {r['message']}" for r in refused]
    return "\n".join(lines) + "\n"


def yardstick(plant: Instance) -> tuple[str, int]:
    """The bound issue 14 measures a plant's makespan against: the plain energy bound under a
    power cap, else the work-centre bound (`scheduler.core.bounds`)."""
    c = compile_instance(plant)
    if c.power_cap_start.size:
        return "energy", power_cap_bound(c)
    return "work centre", work_centre_bound(c)


def move_table(sizes: list[int], ops: int, machines: int, cap: bool, setups: bool) -> str:
    """Markdown: per plant size, seconds of the first schedule, of a batching decode, of a tabu
    search iteration (where it applies: no power cap) and of an LNS part (median of 5), and the
    peak memory of this process so far."""
    import resource
    import time

    import numpy as np

    from scheduler.core.compile import compile_instance
    from scheduler.core.objective import Objective
    from scheduler.core.protocol import SolveConfig
    from solvers.heuristics.problem import NO_DEADLINE, make_problem, make_workspace
    from solvers.heuristics.regroup import NOISE, rng_for, run_variant, variants
    from solvers.heuristics.solver import TABU_STALL
    from solvers.heuristics.tabu import make_tabu_state, start_tabu, tabu_search
    from solvers.heuristics.warmup import kernels_ready

    kernels_ready(None)  # loaded (or compiled) first: the first row would time their loading
    from solvers.lns.solver import _Search

    lines = [
        "| operations | jobs | machines | compile s | first schedule s | batching decode s "
        "| tabu iteration ms | LNS part s | makespan | peak memory MB |",
        "|" + "---|" * 10,
    ]
    for n in sizes:
        jobs = max(1, n // ops)
        m = max(machines, 5 * ops, 5 * (jobs * ops // 400 // 5))  # about 400 ops per machine
        plant = generate_plant(31, jobs, ops, m, 3, cap, setups)
        tick = time.perf_counter()
        c = compile_instance(plant)
        compiled_s = time.perf_counter() - tick
        p = make_problem(c, Objective.parse("makespan"))
        w = make_workspace(p)
        rng = rng_for(0)
        first = next(variants(p, False))
        tick = time.perf_counter()
        run_variant(p, w, first, 0.0, rng, NO_DEADLINE)
        first_s = time.perf_counter() - tick
        decodes = []
        for _ in range(3):
            tick = time.perf_counter()
            run_variant(p, w, first, NOISE, rng, NO_DEADLINE)
            decodes.append(time.perf_counter() - tick)
        run_variant(p, w, first, 0.0, rng, NO_DEADLINE)
        tabu = "-"  # the tabu search does not take a power cap
        if not cap:
            st = make_tabu_state(p, w.mode.copy(), w.start.copy(), 0)
            start_tabu(p, st)
            stall = TABU_STALL[0] + TABU_STALL[1] * p.n_ops
            rounds = []
            for _ in range(5):
                done, tick = int(st.counters[2]), time.perf_counter()
                tabu_search(p, st, 200, stall)
                rounds.append((time.perf_counter() - tick) / max(1, int(st.counters[2]) - done))
            tabu = f"{1000 * np.median(rounds):.2f}"
        config = SolveConfig(time_limit=60.0)
        search = _Search(c, config, (w.mode.copy(), w.start.copy()), time.perf_counter(), [], 0)
        parts = []
        for _ in range(5):
            tick = time.perf_counter()
            search.step(search.size, 2.0)
            parts.append(time.perf_counter() - tick)
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        cells = [n, jobs, m, f"{compiled_s:.2f}", f"{first_s:.2f}", f"{np.median(decodes):.3f}"]
        cells += [tabu, f"{np.median(parts):.2f}", int(search.vals[0]), f"{peak:.0f}"]
        lines.append("| " + " | ".join(str(x) for x in cells) + " |")
        print(lines[-1], flush=True)
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
    parser.add_argument("--seeds", type=int, default=1, help="plant instances, K seeds")
    parser.add_argument("--first-seed", type=int, default=1, help="the first of the seeds")
    parser.add_argument("--jobs", type=int, default=2000)
    parser.add_argument("--ops", type=int, default=10)
    parser.add_argument("--machines", type=int, default=50)
    parser.add_argument("--power-cap", action="store_true")
    parser.add_argument("--no-setups", action="store_true", help="free changeovers")
    parser.add_argument("--objective", default="makespan")
    parser.add_argument("--move-table", help="comma-separated operation counts to time")
    args = parser.parse_args(argv)
    if args.move_table:
        sizes = [int(x) for x in args.move_table.split(",")]
        table = move_table(sizes, args.ops, args.machines, args.power_cap, not args.no_setups)
        table += f"\ncommand: python benchmarks/scale.py {' '.join(argv or sys.argv[1:])}\n"
        atomic_write(args.out.with_name(args.out.stem + "-moves.md"), table)
        print(table)
        return 0
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
        instances, yardsticks = [], {}
        for seed in range(args.first_seed, args.first_seed + args.seeds):
            plant = generate_plant(
                seed, args.jobs, args.ops, args.machines, 3, args.power_cap, not args.no_setups
            )
            path = Path(folder) / f"{plant.name}.json"
            write_json(plant, path)
            if args.objective == "makespan":  # the yardstick bounds the makespan only
                yardsticks[plant.name] = yardstick(plant)
            instances.append(BenchInstance("plant", plant.name, "plant", str(path), None))
        frame = run_bench(instances, settings, args.out, log=print)
    table = scale_table(frame, args.time_limit, yardsticks)
    atomic_write(args.out.with_name(args.out.stem + "-scale.md"), table)
    print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
