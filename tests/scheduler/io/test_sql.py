"""Instances and plans in SQL (`scheduler.io.sql`), on a real SQLite file and a real
PostgreSQL server: JSON -> SQL -> Instance gives the original back, two plans under two ids
both read back intact, a plan id is never overwritten without replace=True, and an error in the
middle of a write leaves every table as it was."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from io_examples import design_example
from paths import ROOT
from postgres_server import postgres_url
from strategies import instances

import scheduler
from scheduler.core.model import Instance
from scheduler.core.result import Result
from scheduler.core.schedule import Assignment, Schedule
from scheduler.io import sql

DEMO = ROOT / "examples" / "demo_plant.json"


@pytest.fixture(scope="module")
def postgres() -> Iterator[str]:
    try:
        with postgres_url() as url:
            yield url
    except RuntimeError as reason:
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL is required in CI: {reason}")
        pytest.skip(f"no PostgreSQL server could be started: {reason}")


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database with the tables empty: a new SQLite file, or the test server emptied."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'plant.db'}"
        return
    server: str = request.getfixturevalue("postgres")
    engine = sa.create_engine(server)
    sql.metadata.drop_all(engine)
    engine.dispose()
    yield server


def _clock_instance() -> Instance:
    """The DESIGN example with a clock start (with an offset) and a stepped power cap."""
    data = design_example()
    data["start"] = "2026-12-01T06:00:00+01:00"
    data["energy"]["power_cap_kw"] = {"steps": [[0, 40], [600, 35.5]], "period": 1440}
    return scheduler.read_json(data)


def _tables(url: str) -> dict[str, list[tuple[Any, ...]]]:
    engine = sa.create_engine(sql.database_url(url))
    with engine.connect() as conn:
        out = {
            t.name: sorted(map(tuple, conn.execute(sa.select(t))))
            for t in sql.metadata.tables.values()
        }
    engine.dispose()
    return out


def test_instances_round_trip(url: str) -> None:
    for plant, instance in (("demo", scheduler.load(DEMO)), ("design", _clock_instance())):
        sql.write_instance(url, instance, plant)
    assert sql.read_instance(url, "demo") == scheduler.load(DEMO)
    back = sql.read_instance(url, "design")
    assert back == _clock_instance()
    assert back.start == datetime(2026, 12, 1, 6, tzinfo=timezone(timedelta(hours=1)))
    assert scheduler.io.instance_to_dict(back) == scheduler.io.instance_to_dict(_clock_instance())


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(instance=instances(energy_caps=True))
def test_random_instances_round_trip_on_sqlite(
    tmp_path_factory: pytest.TempPathFactory, instance: Instance
) -> None:
    db = tmp_path_factory.mktemp("db") / "plant.db"
    sql.write_instance(db, instance, "p")
    assert sql.read_instance(db, "p") == instance


def _schedule(instance: Instance, shift: int) -> Schedule:
    """Every operation in its first mode, one after another from `shift` (storage does not
    ask a plan to be valid)."""
    rows, t = [], shift
    for job, op in instance.operations:
        mode = op.modes[0]
        rows.append(Assignment(job.id, op.id, mode.machine, 0, t, t + mode.duration))
        t += mode.duration
    return Schedule(instance, tuple(rows))


def test_two_plans_read_back_intact_and_ids_are_never_reused(url: str) -> None:
    instance = scheduler.load(DEMO)
    sql.write_instance(url, instance, "demo")
    result = Result("feasible", "test", _schedule(instance, 0), objective=1.0, bound=0.5)
    later = _schedule(instance, 5)
    sql.write_schedule(url, result, "plan-1", plant_id="demo")
    sql.write_schedule(url, later, "plan-2", plant_id="demo")
    assert result.schedule is not None
    assert sql.read_schedule(url, "plan-1").assignments == result.schedule.assignments
    assert sql.read_schedule(url, "plan-2", instance).assignments == later.assignments
    with pytest.raises(sql.PlanExistsError, match="plan-1"):
        sql.write_schedule(url, later, "plan-1")
    assert sql.read_schedule(url, "plan-1").assignments == result.schedule.assignments
    sql.write_schedule(url, later, "plan-1", replace=True, plant_id="demo")
    assert sql.read_schedule(url, "plan-1").assignments == later.assignments
    with pytest.raises(sql.PlanExistsError, match="demo"):
        sql.write_instance(url, instance, "demo")
    with pytest.raises(scheduler.InstanceError, match="'nowhere'"):
        sql.read_schedule(url, "nowhere")


def test_a_failed_write_leaves_the_tables_as_they_were(
    url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    instance = _clock_instance()
    sql.write_instance(url, instance, "design")
    sql.write_schedule(url, _schedule(instance, 0), "plan-1", plant_id="design")
    before = _tables(url)
    original = sql._insert

    def failing(conn: Any, table: sa.Table, rows: Any) -> None:
        if table.name in ("planned_operations", "modes"):
            raise RuntimeError("disk full")  # after the plan (or plant) row went in
        original(conn, table, rows)

    monkeypatch.setattr(sql, "_insert", failing)
    with pytest.raises(RuntimeError, match="disk full"):
        sql.write_schedule(url, _schedule(instance, 7), "plan-1", replace=True)
    with pytest.raises(RuntimeError, match="disk full"):
        sql.write_schedule(url, _schedule(instance, 7), "plan-2")
    with pytest.raises(RuntimeError, match="disk full"):
        sql.write_instance(url, scheduler.load(DEMO), "design", replace=True)
    assert _tables(url) == before


def test_the_shipped_ddl_is_the_tables_of_the_module() -> None:
    assert sql.SCHEMA_FILE.read_text() == sql.schema_sql()
    for table in (
        "machines",
        "resources",
        "jobs",
        "operations",
        "modes",
        "precedences",
        "setups",
        "profiles",
        "plans",
        "planned_operations",
    ):
        assert f"CREATE TABLE {table} (" in sql.schema_sql()


def test_the_command_line_reads_a_plant_and_stores_the_plan(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from scheduler.cli import main

    db = f"sqlite:///{tmp_path / 'plant.db'}"
    sql.write_instance(db, scheduler.load(DEMO), "demo")
    argv = ["solve", db, "--plant-id", "demo", "--solver", "cpsat", "--time-limit", "5"]
    argv += ["--no-warm-start"]
    assert main([*argv, "--out", db, "--plan-id", "p1", "--quiet"]) == 0
    assert len(sql.read_schedule(db, "p1").assignments) == 18
    assert main([*argv, "--out", db, "--plan-id", "p1", "--quiet"]) == 2
    assert "already stored" in capsys.readouterr().err
    assert main(["explain", db, db, "--plant-id", "demo", "--plan-id", "p1", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["makespan"] > 0
    assert main(["solve", db, "--quiet"]) == 2
    assert "--plant-id" in capsys.readouterr().err
    assert main(["solve", "postgresql://u:secret@127.0.0.1:1/x", "--plant-id", "a", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: database") and "secret" not in err and "Traceback" not in err
