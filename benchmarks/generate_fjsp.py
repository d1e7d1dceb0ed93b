"""Seeded generator of large, highly flexible FJSP instances in the Brandimarte `.fjs` format,
for the heuristic's races beyond the public sets (whose largest have 500 operations).

Each job has `ops` operations in a fixed order; each operation may run on 1 to `alternatives`
distinct machines (uniformly many, uniformly chosen), at a base time drawn uniformly from
DURATION scaled per machine by a factor drawn from SPEED, so that modes differ modestly, as in
the Dauzere-Peres and Paulli sets. The header's third field is the most alternatives an
operation may have (the public files disagree on it; the loader reads only the first two).

    python benchmarks/generate_fjsp.py --seed 1 --jobs 100 --ops 20 --machines 60 \\
        --alternatives 30 --out big.fjs
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

DURATION = (10, 80)  # base processing time of an operation, ticks
SPEED = (0.8, 1.25)  # per (operation, machine) factor on the base time


def generate_fjsp(seed: int, jobs: int, ops: int, machines: int, alternatives: int) -> str:
    """The text of a reproducible `.fjs` instance: the same arguments give the same text."""
    if min(jobs, ops, machines, alternatives) < 1 or alternatives > machines:
        raise ValueError("jobs, ops, machines, alternatives must be >= 1; alternatives <= machines")
    rng = np.random.default_rng(seed)
    lines = [f"{jobs} {machines} {alternatives}"]
    for _ in range(jobs):
        row = [str(ops)]
        for _ in range(ops):
            count = int(rng.integers(1, alternatives + 1))
            chosen = rng.choice(machines, size=count, replace=False)
            base = int(rng.integers(DURATION[0], DURATION[1] + 1))
            times = np.maximum(1, np.rint(base * rng.uniform(*SPEED, size=count))).astype(int)
            row.append(str(count))
            row += [f"{m + 1} {t}" for m, t in zip(chosen, times, strict=True)]
        lines.append(" ".join(row))
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Write one generated instance to --out (or stdout)."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--jobs", type=int, default=100)
    ap.add_argument("--ops", type=int, default=20)
    ap.add_argument("--machines", type=int, default=60)
    ap.add_argument("--alternatives", type=int, default=30)
    ap.add_argument("--out", type=Path)
    args = ap.parse_args(argv)
    try:
        text = generate_fjsp(args.seed, args.jobs, args.ops, args.machines, args.alternatives)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.out is None:
        sys.stdout.write(text)
    else:
        args.out.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
