"""Time of the greedy list schedule (`solvers.cpsat.greedy`), CP-SAT's hint and `auto`'s
stand-in while the heuristic's kernels compile (the first run after an install), on
generated plants with setups, with and without the power cap.

    python benchmarks/bench_list_schedule.py [--jobs 200,500,1000,2000] [--seed 31]
        [--repeats 3] [--out benchmarks/results/list_schedule/list_schedule.md]

Each row: the plant, its operations, the list schedule's makespan and the median wall time of
`repeats` runs (one process, after a run that loads the modules)."""

from __future__ import annotations

import argparse
import hashlib
import statistics
import sys
import time
from pathlib import Path

from generate_plant import generate_plant  # a sibling script: run as a script, as scale.py

from scheduler.core.compile import compile_instance
from scheduler.core.protocol import SolveConfig
from scheduler.io.atomic import atomic_write
from solvers.cpsat import ListScheduleSolver

ROOT = Path(__file__).resolve().parent


def _row(jobs: int, seed: int, capped: bool, repeats: int) -> str:
    """One table row: the plant's list schedule, its makespan, a digest and the median time."""
    instance = generate_plant(seed, jobs, power_cap=capped)
    compiled = compile_instance(instance)
    times, result = [], None
    for _ in range(repeats):
        started = time.perf_counter()
        result = ListScheduleSolver().solve(compiled, SolveConfig())
        times.append(time.perf_counter() - started)
    assert result is not None and result.schedule is not None, result and result.message
    digest = hashlib.sha1(
        repr([(a.operation, a.mode, a.start) for a in result.schedule.assignments]).encode()
    ).hexdigest()[:10]
    cap = "cap" if capped else "-"
    return (
        f"| {jobs} | {cap} | {compiled.n_ops} | {result.objective:.0f} | {digest} "
        f"| {statistics.median(times):.2f} |"
    )


def main() -> None:
    """Time the list schedule on each plant and write the markdown table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", default="200,500,1000,2000")
    parser.add_argument("--seed", type=int, default=31)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=Path, default=ROOT / "results/list_schedule/list_schedule.md")
    args = parser.parse_args()
    ListScheduleSolver().solve(compile_instance(generate_plant(args.seed, 20)), SolveConfig())
    rows = [
        _row(int(jobs), args.seed, capped, args.repeats)
        for jobs in args.jobs.split(",")
        for capped in (False, True)
    ]
    command = " ".join(["python benchmarks/bench_list_schedule.py", *sys.argv[1:]])
    text = "\n".join(
        [
            "# Greedy list schedule: wall time",
            "",
            f"`{command}` (seed {args.seed}, median of {args.repeats})",
            "",
            "| jobs | power cap | operations | makespan | schedule digest | seconds |",
            "| ---: | --- | ---: | ---: | --- | ---: |",
            *rows,
            "",
        ]
    )
    atomic_write(args.out, lambda temp: temp.write_text(text, encoding="utf-8"))
    print(text)


if __name__ == "__main__":
    main()
