"""`scheduler scenario`: `compare` runs profiles on an instance (KPI table, figure, report);
`profiles` lists the bundled profiles or prints one. Bad input (a malformed profile, an
unknown profile name, an unwritable output) exits 2 with one `error:` line."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from scenarios.compare import BASELINE, compare, summary
from scenarios.plan import ScenarioError
from scenarios.profile import BUNDLED, ProfileError, bundled_profile, bundled_text, load_profile
from scenarios.report import TABLE_KPIS, plot, write_csv, write_report
from scheduler.cli.common import (
    EXIT_NO_SCHEDULE,
    EXIT_SOLVED,
    BadInput,
    add_format,
    check_outputs,
    positive,
    run_interruptibly,
)
from scheduler.io import load


def add_scenario_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add `scenario compare` and `scenario profiles` (dispatch: `args.run`)."""
    parser = subparsers.add_parser(
        "scenario", help="simulate the plant before and after AI adoption, with intervals"
    )
    commands = parser.add_subparsers(dest="scenario_command", required=True, metavar="ACTION")
    run = commands.add_parser(
        "compare",
        help="run adoption profiles on an instance under common random disruptions",
        description="Plan with each profile, execute the plan in replications with sampled "
        "breakdowns, durations and defects (the same in every profile), and compare the KPIs.",
    )
    run.add_argument("instance", metavar="INSTANCE", type=Path, help="the instance file")
    add_format(run)
    run.add_argument(
        "--profiles",
        help=f"bundled profiles, comma-separated (default: before,after; bundled: "
        f"{', '.join(BUNDLED)})",
    )
    run.add_argument(
        "--profile-file", type=Path, action="append", default=[], metavar="P.json",
        help="a profile file (repeatable); added to --profiles (default then: before)",
    )  # fmt: skip
    run.add_argument(
        "--replications",
        type=positive(int),
        default=200,
        metavar="N",
        help="simulated replications per scenario (default: 200)",
    )
    run.add_argument("--seed", type=int, default=0, metavar="S", help="random seed (default 0)")
    run.add_argument(
        "--workers", type=positive(int), metavar="N",
        help="processes for the replications (default: every core when a profile "
        "re-optimises, else this process alone; 1: no pool)",
    )  # fmt: skip
    run.add_argument("--executor", metavar="ADDRESS", help="a dask.distributed scheduler address")
    run.add_argument("--out", type=Path, metavar="CSV", help="the KPI table")
    run.add_argument("--plot", type=Path, metavar="IMAGE", help="the changes as a figure (.png)")
    run.add_argument("--report", type=Path, metavar="MD", help="a Markdown report")
    run.add_argument("--quiet", action="store_true", help="no progress bar or table")
    run.set_defaults(run=run_compare)
    listing = commands.add_parser("profiles", help="list the bundled profiles, or print one")
    listing.add_argument("name", nargs="?", metavar="NAME", help="print this profile's JSON")
    listing.set_defaults(run=run_profiles)
    return parser


def run_profiles(args: argparse.Namespace) -> int:
    """Print one bundled profile's JSON, or every bundled profile's name and description."""
    try:
        if args.name is not None:
            print(bundled_text(args.name), end="")
            return EXIT_SOLVED
        for name in BUNDLED:
            print(f"{name:24s} {bundled_profile(name).description}")
    except ProfileError as error:
        raise BadInput(str(error)) from None
    return EXIT_SOLVED


def run_compare(args: argparse.Namespace) -> int:
    """Check the inputs and outputs, run the comparison, write the table, figure and report."""
    try:
        names = args.profiles.split(",") if args.profiles else (
            [BASELINE] if args.profile_file else [BASELINE, "after"]
        )  # fmt: skip
        profiles = [bundled_profile(n.strip()) for n in names if n.strip()]
        profiles += [load_profile(path) for path in args.profile_file]
    except (ProfileError, OSError) as error:
        raise BadInput(str(error)) from None
    seen = [p.name for p in profiles]
    if len(set(seen)) != len(seen):
        raise BadInput(f"profile names must differ, got {', '.join(seen)}")
    outputs = [p for p in (args.out, args.plot, args.report) if p is not None]
    check_outputs(args.instance, outputs, image=args.plot)
    instance = load(args.instance, format=args.format)
    try:
        result = run_interruptibly(
            lambda: compare(
                instance,
                profiles,
                replications=args.replications,
                seed=args.seed,
                workers=args.workers,
                executor=args.executor,
                progress=not args.quiet,
                stop=args.stop,
            )
        )
    except (ScenarioError, ValueError) as error:
        if args.stop.is_set():  # a plan's solve stopped before it had a schedule
            print("interrupted while making the plans; nothing written", file=sys.stderr)
            return EXIT_NO_SCHEDULE
        raise BadInput(str(error)) from None
    if result.replications < args.replications:  # stopped by Ctrl-C or SIGTERM
        if result.replications == 0:
            print("interrupted before every profile finished a replication; nothing written",
                  file=sys.stderr)  # fmt: skip
            return EXIT_NO_SCHEDULE
        done = f"{result.replications} of the {args.replications} replications per profile"
        print(f"stopped: the outputs hold the {done} that every profile finished", file=sys.stderr)
    if args.out is not None:
        write_csv(result, args.out)
    if args.plot is not None:
        plot(result, args.plot)
    if args.report is not None:
        write_report(result, args.report)
    if not args.quiet:
        _print_table(result)
    return EXIT_SOLVED


def _print_table(result: Any) -> None:
    """Means per profile and KPI, then each change against the baseline, on stdout."""
    table = summary(result)
    means = table[table.statistic == "mean"].pivot(index="kpi", columns="profile", values="value")
    print(means.loc[list(TABLE_KPIS), result.profiles].to_string(float_format=lambda v: f"{v:.4g}"))
    changes = table[table.statistic != "mean"]
    if not changes.empty:
        wide = changes.pivot(index="kpi", columns="profile", values="value").loc[list(TABLE_KPIS)]
        print(f"\nchange vs {BASELINE} (relative):", file=sys.stdout)
        print(wide.to_string(float_format=lambda v: f"{100 * v:+.1f}%"))
