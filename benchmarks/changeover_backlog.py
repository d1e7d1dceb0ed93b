"""Fluid estimate of the changeover backlog of the generated plants (no power cap): how far above
the work-centre bound the makespan is carried by changeovers alone. An estimate, not a bound.

The generator releases jobs uniformly over about the plant's load, so a bottleneck machine is
kept busy by arrivals until the last release and every changeover it makes adds to its queue,
its backlog b. Queues let a machine batch: the model takes the best case, every family's whole
share of the queue run at once, so a run holds max(1, b / (p x F)) operations (p the mean least
duration, F the families) and costs one changeover of the mean length s between two different
families. Per tick the backlog then grows by s / (s + p x run). Its value at the last release,
added to the work-centre bound (`scheduler.core.bounds.work_centre_bound`), is the estimate.
It ignores that an operation may use only some machines (fewer runs to batch: higher) and that
a schedule picks the cheaper changeovers and drains the queue after the last release (lower).

    python benchmarks/changeover_backlog.py --jobs 200,500,1000,2000,5000 --seeds 41 \
        --out benchmarks/results/scale/changeover-backlog.md
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from generate_plant import generate_plant

from scheduler.core.bounds import work_centre_bound
from scheduler.core.compile import compile_instance
from scheduler.io.atomic import atomic_write


def fluid_backlog(duration: float, setup: float, families: int, spread: int) -> float:
    """The backlog (ticks) after `spread` ticks of arrivals at the machine's pace, starting empty,
    when each run of one family takes max(1, backlog / (duration x families)) operations of
    `duration` ticks and one changeover of `setup` ticks."""
    backlog = 0.0
    for _ in range(spread):
        run = max(1.0, backlog / (duration * families))
        backlog += setup / (setup + duration * run)
    return backlog


def estimate(jobs: int, seed: int) -> dict[str, float]:
    """The plant's work-centre bound, its fluid changeover backlog and their sum."""
    plant = generate_plant(seed, jobs)
    c = compile_instance(plant)
    present = np.unique(c.op_family[c.op_family >= 0])
    between = c.setup[np.ix_(np.arange(c.n_machines), present, present)]
    setup = float(between[:, ~np.eye(present.size, dtype=bool)].mean())
    spread = max(job.release for job in plant.jobs)
    backlog = fluid_backlog(float(c.min_duration.mean()), setup, present.size, spread)
    bound = work_centre_bound(c)
    return {"jobs": jobs, "seed": seed, "spread": spread, "bound": bound, "backlog": backlog}


def main(argv: list[str] | None = None) -> int:
    """Print (and with --out write) the estimate per plant size and seed as a Markdown table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", default="200,500,1000,2000,5000")
    parser.add_argument("--seeds", default="41", help="comma-separated generator seeds")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    lines = [
        "# Fluid estimate of the changeover backlog (no power cap)",
        "",
        f"`python benchmarks/changeover_backlog.py {' '.join(argv or sys.argv[1:])}`",
        "",
        "| jobs | seed | last release | work-centre bound | backlog | estimate | above the "
        "bound % | bound + 7 % |",
        "|" + "---|" * 8,
    ]
    for jobs in (int(j) for j in args.jobs.split(",")):
        for seed in (int(s) for s in args.seeds.split(",")):
            e = estimate(jobs, seed)
            total = e["bound"] + e["backlog"]
            cells = [jobs, seed, e["spread"], e["bound"], f"{e['backlog']:.0f}", f"{total:.0f}"]
            cells += [f"{100 * e['backlog'] / e['bound']:.1f}", f"{1.07 * e['bound']:.0f}"]
            lines.append("| " + " | ".join(str(c) for c in cells) + " |")
    table = "\n".join(lines) + "\n"
    if args.out is not None:
        atomic_write(args.out, table)
    print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
