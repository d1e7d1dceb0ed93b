"""Where the commands read instances and schedules from and write plans to: a file path, or a
database URL (`sqlite:///plant.db`, `postgresql://...`) with `--plant-id` / `--plan-id`
(`scheduler.io.sql`, imported only when a database is named: SQLAlchemy takes a while to
load). Database failures become one-line bad-input errors (exit code 2)."""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from scheduler.cli.common import BadInput
from scheduler.core.model import Instance
from scheduler.core.result import Result
from scheduler.core.schedule import Schedule
from scheduler.io import load, read_schedule_csv


def is_database_url(text: str) -> bool:
    """True for `dialect://...` (what the command line takes as a database, not a file)."""
    return "://" in text and text.split("://", 1)[0].replace("+", "").isalnum()


def add_plant_id(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--plant-id", help="the plant (instance) to read when INSTANCE is a database URL"
    )


@contextmanager
def database_errors(url: str) -> Iterator[None]:
    """Turn a database failure (unreachable server, taken plan id) into BadInput."""
    from sqlalchemy.exc import SQLAlchemyError

    from scheduler.io import sql

    try:
        yield
    except sql.PlanExistsError as error:
        raise BadInput(str(error)) from None
    except SQLAlchemyError as error:
        reason = " ".join(str(getattr(error, "orig", None) or error).split())
        raise BadInput(f"database {sql.safe_url(url)}: {reason}") from None


def read_instance_arg(text: str, format: str | None, plant_id: str | None) -> Instance:
    """The instance in file `text`, or stored under `plant_id` in database URL `text`."""
    if not is_database_url(text):
        return load(Path(text), format=format)
    from scheduler.io import sql

    if plant_id is None:
        raise BadInput(f"{sql.safe_url(text)} is a database: name the plant with --plant-id")
    with database_errors(text):
        return sql.read_instance(text, plant_id)


def read_schedule_arg(instance: Instance, text: str, plan_id: str | None) -> Schedule:
    """The schedule in CSV file `text`, or plan `plan_id` in database URL `text`."""
    if not is_database_url(text):
        return read_schedule_csv(instance, Path(text))
    from scheduler.io import sql

    if plan_id is None:
        raise BadInput(f"{sql.safe_url(text)} is a database: name the plan with --plan-id")
    with database_errors(text):
        return sql.read_schedule(text, plan_id, instance)


def write_plan(url: str, result: Result, plan_id: str | None, plant_id: str | None) -> None:
    """Store the result's schedule as plan `plan_id` in database `url`."""
    from scheduler.io import sql

    if plan_id is None:
        raise BadInput(f"{sql.safe_url(url)} is a database: name the plan with --plan-id")
    with database_errors(url):
        sql.write_schedule(url, result, plan_id, plant_id=plant_id)
