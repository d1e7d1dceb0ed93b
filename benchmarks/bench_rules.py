"""Quality of each dispatching rule alone (no local search) against the best-known makespans.

    python benchmarks/bench_rules.py --select "mk*,ta01-ta30" \
        --out benchmarks/results/heuristics/rules.md

A rule's decode is deterministic and takes milliseconds, so the figure does not depend on a time
budget; the local search's gaps over time come from the benchmark runner (`scheduler bench`).
"""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

import pandas as pd

from scheduler.bench.suites import default_root, resolve
from scheduler.core.compile import compile_instance
from scheduler.core.solve import solve
from scheduler.io import atomic_write, load
from solvers.heuristics.decode import RULES


def _markdown(frame: pd.DataFrame) -> str:
    """A pipe table (pandas' to_markdown needs the optional tabulate package)."""
    header = ["instance", *map(str, frame.columns)]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for name, row in frame.iterrows():
        lines.append("| " + " | ".join([str(name), *(f"{v:.2f}" for v in row)]) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--suite", default="mk,ta")
    parser.add_argument("--select", default="mk*,ta01-ta30")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)

    rows = []
    for entry in resolve(args.suite, None, args.select, default_root()):
        compiled = compile_instance(load(entry.path))
        best = entry.reference.best_known if entry.reference else None
        for rule in RULES:
            result = solve(compiled, "heuristic", rule=rule, local_search=False, warm_start=False)
            if best and result.objective is not None:
                gap = 100 * (result.objective - best) / best
                rows.append({"instance": entry.name, "rule": rule, "gap": gap})
    frame = pd.DataFrame(rows)
    table = frame.pivot(index="instance", columns="rule", values="gap")
    mean = table.mean().rename("mean")
    command = shlex.join(["python", "benchmarks/bench_rules.py", *(argv or sys.argv[1:])])
    text = (
        "# Dispatching rules alone: gap to the best-known makespan (%)\n\n"
        f"Command: `{command}`\n\n"
        "Each rule decoded once by the serial scheme with earliest-finish machine selection, no "
        "local search (deterministic; milliseconds per instance).\n\n"
        + _markdown(pd.concat([table, mean.to_frame().T]).round(2))
        + "\n"
    )
    atomic_write(args.out, text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
