"""`scheduler solvers`: the registered solvers and the table of what each models."""

from __future__ import annotations

import argparse
import inspect
from typing import Any

from scheduler.cli.common import EXIT_SOLVED, one_line
from scheduler.core.protocol import FEATURES, Solver
from scheduler.core.registry import available_solvers, get_solver
from scheduler.core.terms import TERMS


def add_parser(commands: Any) -> None:
    """The `solvers` sub-command."""
    listing = commands.add_parser(
        "solvers", help="list the registered solvers and what each models"
    )
    listing.set_defaults(run=run_solvers)


def run_solvers(args: argparse.Namespace) -> int:
    """One line per registered solver (name and the first line of its description), then the
    table of what each models: instance features, objective terms and forms, options."""
    loaded: dict[str, Solver] = {}
    for name in available_solvers():
        try:
            solver = get_solver(name)
            doc = inspect.getdoc(type(solver)) or ""
            about = doc.splitlines()[0] if doc else ""
            loaded[name] = solver
        except Exception as error:  # a broken third-party plugin must not hide the others
            about = f"(cannot be loaded: {one_line(error)})"
        print(f"{name:<12} {about}".rstrip())
    if loaded:
        print()
        print(capability_table(loaded))
    return EXIT_SOLVED


def capability_table(solvers: dict[str, Solver]) -> str:
    """Rows: instance features, objective terms, objective forms and option counts; columns:
    the solvers; `yes` where the solver models it."""
    caps = {name: s.capabilities for name, s in solvers.items()}
    rows: list[tuple[str, list[str]]] = []
    for feature in FEATURES:
        rows.append((feature, ["yes" if feature in c.features else "-" for c in caps.values()]))
    for term in TERMS:
        rows.append((f"term {term}", ["yes" if term in c.terms else "-" for c in caps.values()]))
    rows.append(("weighted sums", ["yes" if c.weighted_sums else "-" for c in caps.values()]))
    rows.append(("lexicographic", ["yes" if c.lexicographic else "-" for c in caps.values()]))
    rows.append(("options", [", ".join(sorted(c.options)) or "-" for c in caps.values()]))
    width = max(len(label) for label, _ in rows)
    cols = [max(len(name), *(len(r[1][i]) for r in rows[:-1])) for i, name in enumerate(caps)]
    lines = [" ".join([" " * width, *(n.ljust(w) for n, w in zip(caps, cols, strict=True))])]
    for label, cells in rows[:-1]:
        lines.append(
            " ".join([label.ljust(width), *(c.ljust(w) for c, w in zip(cells, cols, strict=True))])
        )
    lines.append("")
    lines += [f"{name} options: {opts}" for name, opts in zip(caps, rows[-1][1], strict=True)]
    return "\n".join(line.rstrip() for line in lines)
