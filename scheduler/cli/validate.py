"""`scheduler validate`: check a schedule CSV against an instance with the independent
validator (exit 1 when it breaks a rule)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from scheduler.cli.common import EXIT_SOLVED, EXIT_VIOLATIONS, add_format
from scheduler.cli.summary import format_plan
from scheduler.core.kpi import compute_kpis
from scheduler.core.validate import validate
from scheduler.io import load, read_schedule_csv


def add_parser(commands: Any) -> None:
    """The `validate` sub-command."""
    check = commands.add_parser("validate", help="check a schedule CSV against an instance")
    check.add_argument("instance", metavar="INSTANCE", type=Path, help="the instance file")
    check.add_argument(
        "schedule", metavar="SCHEDULE.csv", type=Path, help="the schedule CSV to check"
    )
    add_format(check)
    check.set_defaults(run=run_validate)


def run_validate(args: argparse.Namespace) -> int:
    """Print every violation (exit 1), or `valid` and the KPIs (exit 0)."""
    instance = load(args.instance, format=args.format)
    schedule = read_schedule_csv(instance, args.schedule)
    violations = validate(instance, schedule)
    for violation in violations:
        print(violation)
    if violations:
        print(f"{len(violations)} violation(s)")
        return EXIT_VIOLATIONS
    print("valid")
    print(format_plan(schedule, compute_kpis(instance, schedule)))
    return EXIT_SOLVED
