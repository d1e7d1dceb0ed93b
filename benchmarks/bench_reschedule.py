"""Rescheduling stability benchmark: one machine breakdown in the middle of a plan, re-planned
by four policies, on Brandimarte mk01-mk05 (or `--select`).

Per instance: a makespan plan (cpsat, `--plan-time` seconds); at t = half its makespan the
machine with the most planned work after t goes down for 10 % of the makespan
(`machine_down`, start t). Then `scheduler.replan.reschedule` with
1. right_shift: the old plan pushed later (no solver);
2. reoptimize makespan (cpsat, `--time-limit` s, warm-started from the right shift);
3. reoptimize makespan>deviation (lexicographic: the least deviation among the shortest plans);
4. reoptimize makespan=1,deviation=W (weighted, `--weight`).
Every schedule passes the validator for the updated instance. Writes a CSV and a Markdown table
(makespan, operations moved, machines changed, total shift, deviation, seconds per re-plan) with
the command, machine and versions.

    python benchmarks/bench_reschedule.py [--select mk01,mk02] [--time-limit 10] [--workers 2]
        [--weight 0.1] [--out benchmarks/results/reschedule/stability.md]
"""

from __future__ import annotations

import argparse
import os
import platform
import shlex
import sys
import time
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any

import pandas as pd

from scheduler.core.schedule import Schedule
from scheduler.core.solve import solve
from scheduler.core.validate import validate
from scheduler.io import load
from scheduler.io.atomic import atomic_write
from scheduler.replan import reschedule

ROOT = Path(__file__).resolve().parent
FJSP = ROOT.parent / "scheduler" / "bench" / "instances" / "fjsp" / "brandimarte"
DEFAULT_OUT = ROOT / "results" / "reschedule" / "stability.md"


def _args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--select", default="mk01,mk02,mk03,mk04,mk05")
    parser.add_argument("--plan-time", type=float, default=10.0, help="seconds for the plan")
    parser.add_argument("--time-limit", type=float, default=10.0, help="seconds per re-plan")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--weight", type=float, default=0.1, help="deviation weight")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    return parser.parse_args(argv)


def _breakdown(plan: Schedule) -> dict[str, Any]:
    """The machine with the most planned work after half the makespan, down from then for 10 %
    of the makespan."""
    at = plan.makespan // 2
    work: dict[str, int] = {}
    for a in plan.assignments:
        work[a.machine] = work.get(a.machine, 0) + max(0, a.end - max(a.start, at))
    machine = max(sorted(work), key=work.__getitem__)
    length = max(1, plan.makespan // 10)
    return {"type": "machine_down", "machine": machine, "start": at, "end": at + length}


def run(args: argparse.Namespace) -> pd.DataFrame:
    """One row per instance and policy."""
    rows = []
    policies = [
        ("right_shift", "right_shift", "makespan"),
        ("reoptimize makespan", "reoptimize", "makespan"),
        ("reoptimize makespan>deviation", "reoptimize", "makespan>deviation"),
        (
            f"reoptimize makespan=1,deviation={args.weight:g}",
            "reoptimize",
            f"makespan=1,deviation={args.weight:g}",
        ),
    ]
    for name in args.select.split(","):
        instance = load(FJSP / f"{name}.fjs")
        plan = solve(instance, time_limit=args.plan_time, workers=args.workers, solver="cpsat")
        assert plan.schedule is not None
        event = _breakdown(plan.schedule)
        for label, policy, objective in policies:
            started = time.perf_counter()
            replan = reschedule(
                instance,
                plan.schedule,
                at=event["start"],
                events=[event],
                solver="cpsat",
                objective=objective,
                policy=policy,  # type: ignore[arg-type]
                time_limit=args.time_limit,
                workers=args.workers,
            )
            seconds = time.perf_counter() - started
            result = replan.result
            assert result.schedule is not None and not validate(replan.instance, result.schedule)
            kpis = result.kpis
            rows.append(
                {
                    "instance": name,
                    "plan_makespan": plan.schedule.makespan,
                    "event": f"{event['machine']} down [{event['start']}, {event['end']})",
                    "policy": label,
                    "status": result.status,
                    "makespan": kpis["makespan"],
                    "ops_moved": kpis["ops_moved"],
                    "machines_changed": kpis["machines_changed"],
                    "total_shift": kpis["total_shift"],
                    "deviation": kpis["deviation"],
                    "seconds": round(seconds, 2),
                }
            )
            print(rows[-1], flush=True)
    return pd.DataFrame(rows)


def _table(frame: pd.DataFrame) -> str:
    """A Markdown table of the frame (no extra dependency)."""
    head = "| " + " | ".join(map(str, frame.columns)) + " |"
    rule = "|" + "|".join(" --- " for _ in frame.columns) + "|"
    rows = [
        "| " + " | ".join(f"{v:g}" if isinstance(v, float) else str(v) for v in row) + " |"
        for row in frame.itertuples(index=False)
    ]
    return "\n".join([head, rule, *rows])


def _markdown(frame: pd.DataFrame, argv: list[str]) -> str:
    command = "python benchmarks/bench_reschedule.py " + shlex.join(argv)
    versions = ", ".join(f"{p} {metadata.version(p)}" for p in ("ortools", "numba", "numpy"))
    means = frame.groupby("policy", sort=False)[
        ["makespan", "ops_moved", "machines_changed", "total_shift", "deviation", "seconds"]
    ].mean()
    return "\n".join(
        [
            "# Rescheduling stability: one breakdown mid-plan",
            "",
            f"Command: `{command.strip()}`  ",
            f"Run: {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC on {platform.machine()}, "
            f"{os.cpu_count()} CPUs, Python {platform.python_version()}; {versions}.",
            "",
            "Each plan is cpsat's makespan plan; at half its makespan the machine with the most",
            "planned work left goes down for 10 % of the makespan. Deviation = total shift +",
            "the planned duration of each operation moved to another machine (DESIGN section",
            "11). Seconds are per re-plan, wall clock, including the right shift and the checks.",
            "",
            _table(frame),
            "",
            "Means over the instances:",
            "",
            _table(means.round(2).reset_index()),
            "",
        ]
    )


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = _args(argv)
    frame = run(args)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(args.out.with_suffix(".csv"), frame.to_csv(index=False))
    atomic_write(args.out, _markdown(frame, argv))
    print(f"wrote {args.out} and {args.out.with_suffix('.csv')}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
