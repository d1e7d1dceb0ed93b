"""Instances and plans in a SQL database (SQLAlchemy Core): any SQLAlchemy URL, a SQLite file
by default (a bare path is taken as one), `postgresql://` through psycopg 3.

Tables (DDL in `sql_schema.sql` beside this module, created on first use):
plants, machines, unavailability, resources, jobs, operations, modes, mode_resources,
precedences, setups, profiles (an instance, keyed by plant_id), plans and planned_operations
(a schedule, keyed by plan_id). Each write is one transaction: an instance or plan is stored
whole or not at all, and an existing plant or plan id is only replaced with `replace=True`."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from types import MappingProxyType
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from scheduler.core.clock import iso, parse_datetime
from scheduler.core.errors import InstanceError
from scheduler.core.model import Energy, Instance, Job, Machine, Mode, Operation, Profile, Resource
from scheduler.core.result import Result
from scheduler.core.schedule import Assignment, Schedule
from scheduler.io.schedule_files import json_safe

SCHEMA_FILE = Path(__file__).with_name("sql_schema.sql")
PROFILE_NAMES = ("power_cap_kw", "tariff", "carbon_intensity")

metadata = sa.MetaData()


def _key(name: str) -> sa.Column[Any]:
    return sa.Column(name, sa.String(200), primary_key=True)


def _ref(name: str) -> sa.Column[Any]:
    return sa.Column(name, sa.String(200), nullable=False)


PLANTS = sa.Table(
    "plants",
    metadata,
    _key("plant_id"),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("time_unit_minutes", sa.Double, nullable=False),
    sa.Column("start", sa.Text),  # ISO 8601, the clock instant of tick 0
    sa.Column("horizon", sa.BigInteger),
    sa.Column("power_cap_kw", sa.Double),  # a constant cap; a stepped one is in profiles
    sa.Column("carbon_cap_kg", sa.Double),
)
MACHINES = sa.Table(
    "machines",
    metadata,
    _key("plant_id"),
    _key("machine_id"),
    sa.Column("position", sa.Integer, nullable=False),
    sa.Column("idle_power_kw", sa.Double, nullable=False),
)
UNAVAILABILITY = sa.Table(
    "unavailability",
    metadata,
    _key("plant_id"),
    _key("machine_id"),
    sa.Column("position", sa.Integer, primary_key=True),
    sa.Column("start_tick", sa.BigInteger, nullable=False),
    sa.Column("end_tick", sa.BigInteger, nullable=False),
)
RESOURCES = sa.Table(
    "resources",
    metadata,
    _key("plant_id"),
    _key("resource_id"),
    sa.Column("position", sa.Integer, nullable=False),
    sa.Column("capacity", sa.BigInteger, nullable=False),
)
JOBS = sa.Table(
    "jobs",
    metadata,
    _key("plant_id"),
    _key("job_id"),
    sa.Column("position", sa.Integer, nullable=False),
    sa.Column("release", sa.BigInteger, nullable=False),
    sa.Column("due", sa.BigInteger),
    sa.Column("deadline", sa.BigInteger),
    sa.Column("weight", sa.Double, nullable=False),
)
OPERATIONS = sa.Table(
    "operations",
    metadata,
    _key("plant_id"),
    _key("operation_id"),
    _ref("job_id"),
    sa.Column("position", sa.Integer, nullable=False),  # within its job
    sa.Column("family", sa.String(200)),
    # true when the operation names its predecessors (its job is then not a chain)
    sa.Column("names_predecessors", sa.Boolean, nullable=False),
    sa.Column("release", sa.BigInteger, nullable=False),
    sa.Column("deadline", sa.BigInteger),
)
MODES = sa.Table(
    "modes",
    metadata,
    _key("plant_id"),
    _key("operation_id"),
    sa.Column("position", sa.Integer, primary_key=True),  # the mode index of the schedule
    _ref("machine_id"),
    sa.Column("duration", sa.BigInteger, nullable=False),
    sa.Column("power_kw", sa.Double, nullable=False),
)
MODE_RESOURCES = sa.Table(
    "mode_resources",
    metadata,
    _key("plant_id"),
    _key("operation_id"),
    sa.Column("mode_position", sa.Integer, primary_key=True),
    _key("resource_id"),
    sa.Column("amount", sa.BigInteger, nullable=False),
)
PRECEDENCES = sa.Table(
    "precedences",
    metadata,
    _key("plant_id"),
    _key("successor_id"),
    sa.Column("position", sa.Integer, primary_key=True),  # within the successor's list
    _ref("predecessor_id"),
    sa.Column("lag", sa.BigInteger, nullable=False),
)
SETUPS = sa.Table(
    "setups",
    metadata,
    _key("plant_id"),
    _key("machine_id"),
    _key("from_family"),
    _key("to_family"),
    sa.Column("ticks", sa.BigInteger, nullable=False),
)
PROFILES = sa.Table(
    "profiles",
    metadata,
    _key("plant_id"),
    _key("profile"),  # power_cap_kw, tariff or carbon_intensity
    sa.Column("position", sa.Integer, primary_key=True),
    sa.Column("start_tick", sa.BigInteger, nullable=False),
    sa.Column("value", sa.Double, nullable=False),
    sa.Column("period", sa.BigInteger),  # the same on every step of a profile
)
PLANS = sa.Table(
    "plans",
    metadata,
    _key("plan_id"),
    sa.Column("plant_id", sa.String(200)),
    sa.Column("created_at", sa.Text, nullable=False),
    sa.Column("status", sa.String(20)),
    sa.Column("solver", sa.String(200)),
    sa.Column("objective", sa.Double),
    sa.Column("bound", sa.Double),
    sa.Column("wall_time_s", sa.Double),
    sa.Column("summary", sa.Text),  # the summary JSON of DESIGN section 5
)
PLANNED_OPERATIONS = sa.Table(
    "planned_operations",
    metadata,
    _key("plan_id"),
    sa.Column("position", sa.Integer, primary_key=True),
    _ref("job_id"),
    _ref("operation_id"),
    _ref("machine_id"),
    sa.Column("mode", sa.Integer, nullable=False),
    sa.Column("start_tick", sa.BigInteger, nullable=False),
    sa.Column("end_tick", sa.BigInteger, nullable=False),
    sa.Column("energy_kwh", sa.Double, nullable=False),
    sa.Column("energy_cost", sa.Double, nullable=False),
    sa.Column("carbon_kg", sa.Double, nullable=False),
    sa.Column("start_time", sa.Text),
    sa.Column("end_time", sa.Text),
)
INSTANCE_TABLES = (
    MACHINES,
    UNAVAILABILITY,
    RESOURCES,
    JOBS,
    OPERATIONS,
    MODES,
    MODE_RESOURCES,
    PRECEDENCES,
    SETUPS,
    PROFILES,
    PLANTS,
)


class PlanExistsError(ValueError):
    """A plant or plan id that is already stored, written without `replace=True`."""


def schema_sql(dialect: str = "sqlite") -> str:
    """The DDL of every table for `dialect` (what `sql_schema.sql` ships, for SQLite)."""
    engine = sa.create_mock_engine(f"{dialect}://", lambda *a, **k: None)
    tables = [str(sa.schema.CreateTable(t).compile(engine)).strip() for t in metadata.sorted_tables]
    body = "\n\n".join("\n".join(line.rstrip() for line in t.splitlines()) + ";" for t in tables)
    head = f"-- The tables of scheduler.io.sql ({dialect}), from scheduler.io.sql.schema_sql()."
    return f"{head}\n\n{body}\n"


def database_url(url: str | Path) -> str:
    """A SQLAlchemy URL: a bare path is a SQLite file, `postgresql://` uses psycopg 3."""
    text = str(url)
    if "://" not in text:
        return f"sqlite:///{Path(text).resolve()}"
    if text.startswith(("postgresql://", "postgres://")):
        return "postgresql+psycopg://" + text.split("://", 1)[1]
    return text


@contextmanager
def _engine(url: str | Path) -> Iterator[Engine]:
    engine = sa.create_engine(database_url(url))
    try:
        metadata.create_all(engine)
        yield engine
    finally:
        engine.dispose()


def _insert(conn: Connection, table: sa.Table, rows: Iterable[dict[str, Any]]) -> None:
    batch = list(rows)
    if batch:
        conn.execute(table.insert(), batch)


# -- instances -------------------------------------------------------------------------------
def write_instance(
    url: str | Path, instance: Instance, plant_id: str, replace: bool = False
) -> None:
    """Store `instance` under `plant_id` in one transaction (PlanExistsError if the id is
    taken and `replace` is False; with it the old rows go in the same transaction)."""
    with _engine(url) as engine, engine.begin() as conn:
        taken = conn.execute(sa.select(PLANTS.c.plant_id).where(PLANTS.c.plant_id == plant_id))
        if taken.first() is not None:
            if not replace:
                raise PlanExistsError(
                    f"plant {plant_id!r} is already stored (pass replace=True to overwrite it)"
                )
            for table in INSTANCE_TABLES:
                conn.execute(table.delete().where(table.c.plant_id == plant_id))
        for table, rows in _instance_rows(instance, plant_id):
            _insert(conn, table, rows)


def _instance_rows(inst: Instance, plant: str) -> Iterator[tuple[sa.Table, list[dict[str, Any]]]]:
    cap = inst.energy.power_cap_kw
    yield (
        PLANTS,
        [
            {
                "plant_id": plant,
                "name": inst.name,
                "time_unit_minutes": inst.time_unit_minutes,
                "start": None if inst.start is None else iso(inst.start),
                "horizon": inst.horizon,
                "power_cap_kw": None if cap is None or isinstance(cap, Profile) else cap,
                "carbon_cap_kg": inst.energy.carbon_cap_kg,
            }
        ],
    )
    p = {"plant_id": plant}
    yield (
        MACHINES,
        [
            {**p, "machine_id": m.id, "position": i, "idle_power_kw": m.idle_power_kw}
            for i, m in enumerate(inst.machines)
        ],
    )
    yield (
        UNAVAILABILITY,
        [
            {**p, "machine_id": m.id, "position": k, "start_tick": s, "end_tick": e}
            for m in inst.machines
            for k, (s, e) in enumerate(m.unavailable)
        ],
    )
    yield (
        RESOURCES,
        [
            {**p, "resource_id": r.id, "position": i, "capacity": r.capacity}
            for i, r in enumerate(inst.resources)
        ],
    )
    yield (
        JOBS,
        [
            {
                **p,
                "job_id": j.id,
                "position": i,
                "release": j.release,
                "due": j.due,
                "deadline": j.deadline,
                "weight": j.weight,
            }
            for i, j in enumerate(inst.jobs)
        ],
    )
    yield (
        OPERATIONS,
        [
            {
                **p,
                "operation_id": op.id,
                "job_id": j.id,
                "position": k,
                "family": op.family,
                "names_predecessors": op.predecessors is not None,
                "release": op.release,
                "deadline": op.deadline,
            }
            for j in inst.jobs
            for k, op in enumerate(j.operations)
        ],
    )
    yield (
        MODES,
        [
            {
                **p,
                "operation_id": op.id,
                "position": n,
                "machine_id": mode.machine,
                "duration": mode.duration,
                "power_kw": mode.power_kw,
            }
            for _, op in inst.operations
            for n, mode in enumerate(op.modes)
        ],
    )
    yield (
        MODE_RESOURCES,
        [
            {**p, "operation_id": op.id, "mode_position": n, "resource_id": r, "amount": q}
            for _, op in inst.operations
            for n, mode in enumerate(op.modes)
            for r, q in mode.resources.items()
        ],
    )
    yield (
        PRECEDENCES,
        [
            {**p, "successor_id": op.id, "position": k, "predecessor_id": pred, "lag": lag}
            for _, op in inst.operations
            for k, (pred, lag) in enumerate(op.predecessors or ())
        ],
    )
    yield (
        SETUPS,
        [
            {**p, "machine_id": m, "from_family": a, "to_family": b, "ticks": ticks}
            for m, table in inst.setup_times.items()
            for a, row in table.items()
            for b, ticks in row.items()
        ],
    )
    profiles = {name: getattr(inst.energy, name) for name in PROFILE_NAMES}
    yield (
        PROFILES,
        [
            {
                **p,
                "profile": name,
                "position": i,
                "start_tick": s,
                "value": v,
                "period": profile.period,
            }
            for name, profile in profiles.items()
            if isinstance(profile, Profile)
            for i, (s, v) in enumerate(profile.steps)
        ],
    )


def read_instance(url: str | Path, plant_id: str) -> Instance:
    """The instance stored under `plant_id` (InstanceError if there is none); it passes the
    same construction checks as one read from JSON."""
    with _engine(url) as engine, engine.connect() as conn:
        rows = {
            t.name: [r._asdict() for r in conn.execute(_ordered(t, plant_id))]
            for t in INSTANCE_TABLES
        }
    if not rows["plants"]:
        raise InstanceError(f"plant {plant_id!r}: not found in {safe_url(url)}")
    return _instance_from_rows(rows)


def _ordered(table: sa.Table, plant_id: str) -> sa.Select[Any]:
    order = [c for c in table.primary_key.columns if c.name != "plant_id"]
    if "position" in table.c and table.c.position not in order:
        order.insert(0, table.c.position)
    return sa.select(table).where(table.c.plant_id == plant_id).order_by(*order)


def _instance_from_rows(rows: dict[str, list[dict[str, Any]]]) -> Instance:
    plant = rows["plants"][0]
    windows: dict[str, list[tuple[int, int]]] = {}
    for w in rows["unavailability"]:
        windows.setdefault(w["machine_id"], []).append((w["start_tick"], w["end_tick"]))
    demands: dict[tuple[str, int], dict[str, int]] = {}
    for d in rows["mode_resources"]:
        demands.setdefault((d["operation_id"], d["mode_position"]), {})[d["resource_id"]] = d[
            "amount"
        ]
    modes: dict[str, list[Mode]] = {}
    for m in rows["modes"]:
        resources = demands.get((m["operation_id"], m["position"]), {})
        modes.setdefault(m["operation_id"], []).append(
            Mode(m["machine_id"], m["duration"], m["power_kw"], MappingProxyType(resources))
        )
    preds: dict[str, list[tuple[str, int]]] = {}
    for r in rows["precedences"]:
        preds.setdefault(r["successor_id"], []).append((r["predecessor_id"], r["lag"]))
    ops: dict[str, list[Operation]] = {}
    for o in sorted(rows["operations"], key=lambda o: o["position"]):
        named = tuple(preds.get(o["operation_id"], ())) if o["names_predecessors"] else None
        ops.setdefault(o["job_id"], []).append(
            Operation(
                o["operation_id"],
                tuple(modes.get(o["operation_id"], ())),
                o["family"],
                named,
                release=o["release"],
                deadline=o["deadline"],
            )
        )
    setups: dict[str, dict[str, dict[str, int]]] = {}
    for s in rows["setups"]:
        setups.setdefault(s["machine_id"], {}).setdefault(s["from_family"], {})[s["to_family"]] = s[
            "ticks"
        ]
    profiles: dict[str, Profile] = {}
    for name in PROFILE_NAMES:
        steps = [r for r in rows["profiles"] if r["profile"] == name]
        if steps:
            profiles[name] = Profile(
                tuple((r["start_tick"], r["value"]) for r in steps), steps[0]["period"]
            )
    cap = profiles.get("power_cap_kw", plant["power_cap_kw"])
    return Instance(
        machines=tuple(
            Machine(m["machine_id"], m["idle_power_kw"], tuple(windows.get(m["machine_id"], ())))
            for m in rows["machines"]
        ),
        jobs=tuple(
            Job(
                j["job_id"],
                tuple(ops.get(j["job_id"], ())),
                j["release"],
                j["due"],
                j["deadline"],
                j["weight"],
            )
            for j in rows["jobs"]
        ),
        name=plant["name"],
        time_unit_minutes=plant["time_unit_minutes"],
        horizon=plant["horizon"],
        resources=tuple(Resource(r["resource_id"], r["capacity"]) for r in rows["resources"]),
        setup_times=MappingProxyType(setups),
        energy=Energy(
            cap, profiles.get("tariff"), profiles.get("carbon_intensity"), plant["carbon_cap_kg"]
        ),
        start=None if plant["start"] is None else parse_datetime(plant["start"], "start"),
    )


# -- plans -----------------------------------------------------------------------------------
def write_schedule(
    url: str | Path,
    result: Result | Schedule,
    plan_id: str,
    replace: bool = False,
    plant_id: str | None = None,
) -> None:
    """Store a schedule (a Result's, with its summary, or a bare Schedule) as plan `plan_id`,
    in one transaction: an earlier plan of that id is kept unless `replace` is True
    (PlanExistsError), and a failed write leaves every table as it was."""
    if isinstance(result, Schedule):
        schedule, summary = result, None
    elif result.schedule is None:
        raise ValueError(f"the result has no schedule to store (status {result.status})")
    else:
        schedule, summary = result.schedule, result.summary()
    rows = _planned_rows(schedule, plan_id)
    with _engine(url) as engine, engine.begin() as conn:
        taken = conn.execute(sa.select(PLANS.c.plan_id).where(PLANS.c.plan_id == plan_id))
        if taken.first() is not None:
            if not replace:
                raise PlanExistsError(
                    f"plan {plan_id!r} is already stored (pass replace=True to overwrite it)"
                )
            conn.execute(PLANNED_OPERATIONS.delete().where(PLANNED_OPERATIONS.c.plan_id == plan_id))
            conn.execute(PLANS.delete().where(PLANS.c.plan_id == plan_id))
        _insert(
            conn,
            PLANS,
            [
                {
                    "plan_id": plan_id,
                    "plant_id": plant_id,
                    "created_at": iso(datetime.now(timezone.utc).replace(microsecond=0)),
                    "status": None if summary is None else summary["status"],
                    "solver": None if summary is None else summary["solver"],
                    "objective": None if summary is None else summary["objective"],
                    "bound": None if summary is None else summary["bound"],
                    "wall_time_s": None if summary is None else summary["wall_time_s"],
                    "summary": None
                    if summary is None
                    else json.dumps(json_safe(summary), allow_nan=False),
                }
            ],
        )
        _insert(conn, PLANNED_OPERATIONS, rows)


def _planned_rows(schedule: Schedule, plan_id: str) -> list[dict[str, Any]]:
    frame = schedule.to_frame()
    clock = "start_time" in frame.columns
    return [
        {
            "plan_id": plan_id,
            "position": i,
            "job_id": r["job"],
            "operation_id": r["operation"],
            "machine_id": r["machine"],
            "mode": int(r["mode"]),
            "start_tick": int(r["start"]),
            "end_tick": int(r["end"]),
            "energy_kwh": float(r["energy_kwh"]),
            "energy_cost": float(r["energy_cost"]),
            "carbon_kg": float(r["carbon_kg"]),
            "start_time": r["start_time"] if clock else None,
            "end_time": r["end_time"] if clock else None,
        }
        for i, r in enumerate(frame.to_dict("records"))
    ]


def read_schedule(url: str | Path, plan_id: str, instance: Instance | None = None) -> Schedule:
    """The schedule of plan `plan_id`, on `instance` or else on the plant the plan names
    (InstanceError when the plan or its plant is not there)."""
    with _engine(url) as engine, engine.connect() as conn:
        plan = conn.execute(sa.select(PLANS).where(PLANS.c.plan_id == plan_id)).first()
        rows = conn.execute(
            sa.select(PLANNED_OPERATIONS)
            .where(PLANNED_OPERATIONS.c.plan_id == plan_id)
            .order_by(PLANNED_OPERATIONS.c.position)
        ).all()
    if plan is None:
        raise InstanceError(f"plan {plan_id!r}: not found in {safe_url(url)}")
    if instance is None:
        if plan.plant_id is None:
            raise InstanceError(f"plan {plan_id!r} names no plant: pass the instance")
        instance = read_instance(url, plan.plant_id)
    return Schedule(
        instance,
        tuple(
            Assignment(r.job_id, r.operation_id, r.machine_id, r.mode, r.start_tick, r.end_tick)
            for r in rows
        ),
    )


def safe_url(url: str | Path) -> str:
    """The URL without its password, for messages."""
    return sa.engine.make_url(database_url(url)).render_as_string(hide_password=True)
