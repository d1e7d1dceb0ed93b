"""The heuristic under hard deadlines: the tabu search (which keeps them), handing over to the
annealing once it stalls, against the annealing over priorities alone (all there was before),
on public instances given deadlines.

    python benchmarks/bench_deadlines.py --select "mk*,ta01-ta05" --time-limit 10 \
        --out benchmarks/results/heuristics/deadlines_10s.md

Every second job (the first, third, ...) gets a deadline at its completion in the `mwkr` rule's
schedule (no local search): that schedule proves them feasible, and a search must keep every
such job at least as early while it shortens the makespan. Both arms run the same seed and
limit; the annealing arm is the solver with the tabu search switched off. The annealing's
results vary by a few per cent from run to run, hence several seeds.
"""

from __future__ import annotations

import argparse
import contextlib
import shlex
import sys
from dataclasses import replace
from pathlib import Path
from unittest import mock

from scheduler.bench.suites import default_root, resolve
from scheduler.core.compile import CompiledInstance, compile_instance
from scheduler.core.model import Instance
from scheduler.core.solve import solve
from scheduler.io import atomic_write, load
from solvers.heuristics import solver as heuristic


def with_deadlines(instance: Instance) -> tuple[Instance, float]:
    """The instance with every second job due by its completion in the `mwkr` rule's schedule,
    and that schedule's makespan (which meets them)."""
    result = solve(instance, "heuristic", rule="mwkr", local_search=False, warm_start=False)
    assert result.schedule is not None and result.objective is not None
    done = result.schedule.to_frame().groupby("job")["end"].max().astype(int).to_dict()
    jobs = tuple(
        replace(job, deadline=done[job.id]) if i % 2 == 0 else job
        for i, job in enumerate(instance.jobs)
    )
    return replace(instance, jobs=jobs), result.objective


def _mean_makespan(compiled: CompiledInstance, args: argparse.Namespace, tabu: bool) -> float:
    """The mean makespan of the heuristic over the seeds, with or without the tabu search."""
    values = []
    for seed in range(args.seeds):
        off = mock.patch.object(heuristic, "_tabu_applies", lambda run: False)
        with contextlib.nullcontext() if tabu else off:
            result = solve(compiled, "heuristic", time_limit=args.time_limit, seed=seed)
        assert result.objective is not None
        values.append(result.objective)
    return sum(values) / len(values)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--suite", default="mk,ta")
    parser.add_argument("--select", default="mk*,ta01-ta05")
    parser.add_argument("--time-limit", type=float, default=10.0)
    parser.add_argument("--seeds", type=int, default=3, help="runs per arm (seeds 0, 1, ...)")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)

    lines = []
    wins = losses = 0
    for entry in resolve(args.suite, None, args.select, default_root()):
        instance, rule = with_deadlines(load(entry.path))
        compiled = compile_instance(instance)
        a, t = _mean_makespan(compiled, args, False), _mean_makespan(compiled, args, True)
        wins += t < a
        losses += t > a
        best = entry.reference.best_known if entry.reference else None
        known = f"{best:g}" if best else ""
        lines.append(
            f"| {entry.name} | {known} | {rule:g} | {a:.1f} | {t:.1f} | {100 * (t - a) / a:+.1f} |"
        )
        print(lines[-1], flush=True)
    command = shlex.join(["python", "benchmarks/bench_deadlines.py", *(argv or sys.argv[1:])])
    text = (
        f"# Makespan under hard deadlines: tabu search, then annealing, against annealing alone, "
        f"{args.time_limit:g} s\n\n"
        f"Command: `{command}`\n\n"
        "Every second job must end by its completion in the `mwkr` rule's schedule (column "
        "'rule'). 'best known' is the instance's best-known makespan without deadlines (a lower "
        f"bound here). Mean makespan of {args.seeds} runs per arm (seeds 0-{args.seeds - 1}), "
        "one worker; every schedule passed the validator "
        "(`scheduler.solve` checks each).\n\n"
        "| instance | best known | rule | annealing | tabu, then annealing | difference (%) |\n"
        "|---|---|---|---|---|---|\n" + "\n".join(lines) + "\n\n"
        f"Tabu search, then annealing, is shorter on {wins}, longer on {losses} of {len(lines)}.\n"
    )
    atomic_write(args.out, text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
