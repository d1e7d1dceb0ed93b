"""Gaps to the best lower bound for instances without a best-known value (generated plants):
per instance of a runner CSV, the highest bound any run reported, each solver's objective and
its gap to that bound, and the mean gap per solver, as a Markdown table.

    python benchmarks/bound_gaps.py benchmarks/results/scale/mid/mid_60s.csv [more.csv ...]
"""

from __future__ import annotations

import sys

import pandas as pd


def bound_gap_table(frame: pd.DataFrame) -> str:
    """Markdown: instance, operations, best bound, then per solver `objective (gap %)`."""
    solvers = list(dict.fromkeys(frame["solver"]))
    lines = [
        "| instance | operations | best bound | " + " | ".join(solvers) + " |",
        "|" + "---|" * (3 + len(solvers)),
    ]
    gaps: dict[str, list[float]] = {s: [] for s in solvers}
    for name, runs in frame.groupby("instance", sort=True):
        bound = float(runs["bound"].max())
        cells = []
        for solver in solvers:
            value = float(runs.loc[runs["solver"] == solver, "objective_value"].mean())
            gap = 100 * (value - bound) / bound if bound > 0 else float("nan")
            gaps[solver].append(gap)
            cells.append(f"{value:.0f} ({gap:.1f} %)")
        size = int(runs["n_operations"].iloc[0])
        lines.append(f"| {name} | {size} | {bound:.0f} | " + " | ".join(cells) + " |")
    means = [f"{sum(g) / len(g):.2f} %" for g in gaps.values()]
    lines.append("| mean gap to the bound | | | " + " | ".join(means) + " |")
    return "\n".join(lines) + "\n"


def main(argv: list[str]) -> int:
    """Print the table of each CSV named on the command line."""
    for path in argv:
        print(f"\n`{path}`\n\n{bound_gap_table(pd.read_csv(path))}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
