"""Why a schedule looks as it does, for a planner: the critical path that fixes the makespan,
the bottleneck machines, the objective term by term, cost and carbon by machine and by job,
when the power cap binds, and for each late job the chain that delayed it.

A chain is read backwards from an operation: its start is fixed by whatever became ready last
among its job release, its predecessors (plus lag), the operation before it on its machine
(plus setup), or, when none of these is tight, by an unavailability window, a resource or the
power cap freed by an operation ending at that instant, or else by the schedule choosing to wait
(another objective term, e.g. a cheaper tariff). The links run without gaps from a release (or
time 0) to the chain's end."""

from __future__ import annotations

import bisect
import functools
import itertools
from collections import defaultdict
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

from scheduler.core.accounting import operation_energy
from scheduler.core.clock import iso, to_datetime
from scheduler.core.kpi import compute_kpis
from scheduler.core.model import Instance, Job, Mode, Operation, Profile
from scheduler.core.objective import Objective
from scheduler.core.schedule import Assignment, Schedule
from scheduler.core.terms import TERM_TABLE

CAP_TOL = 1e-9  # relative tolerance of a binding power cap (the validator's)


def _flat(item: Any) -> dict[str, Any]:
    """A dataclass's fields as a dict, values as they are: `asdict` without its deep copies,
    which took 27 s of a 2,000-job plan's 1,985 late-job chains (400,000 links)."""
    return {f.name: getattr(item, f.name) for f in fields(item)}


@dataclass(frozen=True)
class Link:
    """One element of a chain: an operation's processing, a lag, a setup, a wait for a window
    (or for nothing), a release or the plan start; `via` says how an operation is tied to the
    element before it (job, precedence, machine, resource, power, window, wait, release)."""

    kind: str
    start: int
    end: int
    operation: str | None = None
    job: str | None = None
    machine: str | None = None
    via: str = ""
    detail: str = ""


@dataclass(frozen=True)
class LateJob:
    """A job that ends after its due date, and the chain that ends it (with its first cause
    outside the job's own work)."""

    job: str
    completion: int
    due: int
    lateness: int
    weight: float
    cause: str = ""
    chain: tuple[Link, ...] = ()


@dataclass(frozen=True)
class MachineLoad:
    """A machine's busy, setup, unavailable and idle ticks within [0, makespan]."""

    machine: str
    load: float
    busy: int
    setup: int
    unavailable: int
    idle: int
    operations: int


@dataclass(frozen=True)
class Explanation:
    """Everything `explain` finds; `to_dict()` is the documented JSON structure."""

    makespan: int
    critical_path: tuple[Link, ...]
    bottlenecks: tuple[MachineLoad, ...]
    late_jobs: tuple[LateJob, ...]
    terms: tuple[dict[str, Any], ...]
    by_machine: dict[str, dict[str, float]]
    by_job: dict[str, dict[str, float]]
    power_binding: tuple[dict[str, float], ...]
    start: datetime | None = None
    time_unit_minutes: float = 1.0

    def clock(self, tick: int) -> str:
        """`tick` as ISO clock time when the plan has a start, else `tick N`."""
        if self.start is None:
            return f"tick {tick}"
        return _iso_at(self.start, self.time_unit_minutes, tick)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: ticks everywhere, plus `start_time`/`end_time` when the plan has a start."""
        out = {
            "makespan": self.makespan,
            "start": None if self.start is None else iso(self.start),
            "time_unit_minutes": self.time_unit_minutes,
            "critical_path": [self._timed(_flat(link)) for link in self.critical_path],
            "bottlenecks": [_flat(m) for m in self.bottlenecks],
            "late_jobs": [
                {
                    **self._timed({k: v for k, v in _flat(late).items() if k != "chain"}, "due"),
                    "chain": [self._timed(_flat(link)) for link in late.chain],
                }
                for late in self.late_jobs
            ],
            "terms": list(self.terms),
            "by_machine": self.by_machine,
            "by_job": self.by_job,
            "power_binding": [self._timed(dict(span)) for span in self.power_binding],
        }
        return out

    def text(self, top: int = 10) -> str:
        """The explanation in words, clock times beside ticks when the plan has a start."""

        def at(tick: int) -> str:
            return f"{tick}" if self.start is None else f"{tick} ({self.clock(tick)})"

        lines = [f"makespan {at(self.makespan)}", "", "critical path (what fixes the makespan):"]
        lines += [
            f"  {_describe(link)}  [{at(link.start)} -> {at(link.end)}]"
            for link in self.critical_path
        ]
        lines += ["", "bottleneck machines (busy share of the makespan):"]
        for m in self.bottlenecks[:top]:
            lines.append(
                f"  {m.machine}: load {100 * m.load:.1f} %, busy {m.busy}, setups {m.setup}, "
                f"unavailable {m.unavailable}, idle {m.idle} ticks, {m.operations} operations"
            )
        lines += ["", "objective terms:"]
        for term in self.terms:
            used = (
                f"  (level {term['level']}, weight {term['weight']:g})" if "level" in term else ""
            )
            lines.append(f"  {term['name']}: {term['value']:.6g} {term['unit']}{used}")
        if any(v["energy_kwh"] for v in self.by_machine.values()):
            lines += ["", "energy, cost and carbon by machine:"]
            lines += [f"  {m}: {_energy_text(v)}" for m, v in self.by_machine.items()]
            lines += ["energy, cost and carbon by job:"]
            lines += [f"  {j}: {_energy_text(v)}" for j, v in self.by_job.items()]
        if self.power_binding:
            lines += ["", "the power cap binds:"]
            lines += [
                f"  {at(int(b['start']))} -> {at(int(b['end']))}: load {b['load_kw']:g} kW "
                f"= cap {b['cap_kw']:g} kW"
                for b in self.power_binding
            ]
        lines += ["", f"late jobs: {len(self.late_jobs)}"]
        for late in self.late_jobs[:top]:
            lines.append(
                f"  {late.job}: ends {at(late.completion)}, due {at(late.due)}, "
                f"{late.lateness} ticks late; cause: {late.cause}"
            )
        return "\n".join(lines)

    def _timed(self, row: dict[str, Any], *extra: str) -> dict[str, Any]:
        if self.start is not None:
            for key in ("start", "end", "completion", *extra):
                if key in row:
                    row[f"{key}_time"] = self.clock(int(row[key]))
        return row


@functools.lru_cache(maxsize=1 << 16)
def _iso_at(start: datetime, unit: float, tick: int) -> str:
    """The ISO clock time of `tick`, kept: a 2,000-job plan's late-job chains name the same
    ticks over and over (800,000 times, 6.6 s of a 12 s JSON explanation)."""
    return iso(to_datetime(start, unit, tick))


def _describe(link: Link) -> str:
    if link.kind == "operation":
        how = f" (after: {link.via})" if link.via else ""
        return f"{link.operation} of {link.job} on {link.machine}{how}"
    if link.kind in ("release", "start"):
        return f"{link.job} released" if link.kind == "release" else f"{link.job} starts at 0"
    where = f" on {link.machine}" if link.machine else ""
    return f"{link.kind}{where}: {link.detail}" if link.detail else f"{link.kind}{where}"


def _energy_text(values: dict[str, float]) -> str:
    return (
        f"{values['energy_kwh']:.4g} kWh, cost {values['energy_cost']:.4g}, "
        f"carbon {values['carbon_kg']:.4g} kg"
    )


# -- the chains ------------------------------------------------------------------------------
class _Plan:
    """The schedule indexed for chain building: rows by operation, machine sequences, modes."""

    def __init__(self, schedule: Schedule) -> None:
        inst = schedule.instance
        self.schedule = schedule
        self.instance = inst
        self.rows = {a.operation: a for a in schedule.assignments}
        self.op: dict[str, tuple[Job, Operation]] = {op.id: (j, op) for j, op in inst.operations}
        self.preds: dict[str, list[tuple[str, int]]] = defaultdict(list)
        for before, after, lag in inst.precedences():
            self.preds[after].append((before, lag))
        self.sequence: dict[str, list[Assignment]] = defaultdict(list)
        for a in schedule.assignments:
            if a.end > a.start:
                self.sequence[a.machine].append(a)
        for rows in self.sequence.values():
            rows.sort(key=lambda a: (a.start, a.end))
        self.previous = {a.operation: q for s in self.sequence.values() for q, a in _pairs(s)}
        self.ending: dict[int, list[Assignment]] = defaultdict(list)  # by end tick
        delta: dict[int, float] = defaultdict(float)
        for a in self.rows.values():
            if a.end > a.start:
                self.ending[a.end].append(a)
                delta[a.start] += self.mode(a).power_kw
                delta[a.end] -= self.mode(a).power_kw
        self.load_ticks = sorted(delta)  # the processing load changes at these ticks, to
        self.loads = list(itertools.accumulate(delta[t] for t in self.load_ticks))  # these
        self.windows = {m.id: sorted(m.unavailable) for m in inst.machines}
        self.steps: dict[str, tuple[tuple[Link, ...], Assignment | None]] = {}  # see _step
        cap = inst.energy.power_cap_kw
        self.cap = cap

    def mode(self, a: Assignment) -> Mode:
        return self.op[a.operation][1].modes[a.mode]

    def family(self, a: Assignment) -> str | None:
        return self.op[a.operation][1].family

    def before_on_machine(self, a: Assignment) -> Assignment | None:
        return self.previous.get(a.operation)

    def setup_ticks(self, q: Assignment, a: Assignment) -> int:
        return self.instance.setup(a.machine, self.family(q), self.family(a))

    def blocked(self, machine: str, lo: int, hi: int) -> tuple[int, int] | None:
        """The first window meeting [lo, hi), if any."""
        for window in self.windows.get(machine, []):
            if window[0] < hi and lo < window[1]:
                return window
        return None

    def earliest_clear(self, a: Assignment, ready: int, setup: int) -> int:
        """The earliest start >= ready at which `a` and its setup before it meet no window."""
        x, duration = ready, a.end - a.start
        while duration > 0:
            hit = self.blocked(a.machine, x - setup, x + duration)
            if hit is None:
                return x
            x = max(x, hit[1] + setup)
        return x

    def power_at(self, tick: int) -> float:
        """The processing load (kW) at `tick`."""
        i = bisect.bisect_right(self.load_ticks, tick) - 1
        return self.loads[i] if i >= 0 else 0.0

    def cap_at(self, tick: int) -> float | None:
        if self.cap is None:
            return None
        return self.cap.value_at(tick) if isinstance(self.cap, Profile) else float(self.cap)


def _pairs(rows: list[Assignment]) -> list[tuple[Assignment | None, Assignment]]:
    """Each row of a machine sequence with the row before it (None for the first)."""
    return list(zip([None, *rows], rows, strict=False))


def setup_span(plan: _Plan, q: Assignment, a: Assignment) -> tuple[int, int] | None:
    """Where the setup between consecutive q then a on a machine sits: the latest stretch of
    its length in [q.end, a.start) that meets no window (DESIGN section 11)."""
    length = plan.setup_ticks(q, a)
    if length <= 0:
        return None
    end = a.start
    for w_start, w_end in sorted(plan.windows.get(a.machine, []), reverse=True):
        if w_start < end and end - length < w_end:
            end = w_start
    return (end - length, end) if end - length >= q.end else None


def setup_spans(schedule: Schedule) -> list[tuple[str, int, int]]:
    """(machine, start, end) of every setup in the schedule."""
    return _setup_spans(_Plan(schedule))


def _setup_spans(plan: _Plan) -> list[tuple[str, int, int]]:
    spans = []
    for machine, rows in plan.sequence.items():
        for q, a in zip(rows, rows[1:], strict=False):
            placed = setup_span(plan, q, a)
            if placed is not None:
                spans.append((machine, *placed))
    return spans


def _op_link(a: Assignment, via: str, detail: str = "") -> Link:
    return Link("operation", a.start, a.end, a.operation, a.job, a.machine, via, detail)


def _fill(links: list[Link], lo: int, hi: int, kind: str, machine: str, detail: str) -> None:
    if hi > lo:
        links.append(Link(kind, lo, hi, machine=machine, detail=detail))


def _handoff(plan: _Plan, a: Assignment, lo: int) -> tuple[str, Assignment] | None:
    """An operation on another machine ending exactly at a's start that held a resource a
    needs, or whose power a needed under the cap."""
    mode = plan.mode(a)
    ending = [r for r in plan.ending.get(a.start, []) if r is not a]
    for r in ending:
        shared = [k for k, q in plan.mode(r).resources.items() if q and mode.resources.get(k)]
        if shared:
            return f"resource {shared[0]}", r
    cap = plan.cap_at(a.start - 1) if a.start > lo else None
    if cap is not None and mode.power_kw > 0:
        load = plan.power_at(a.start - 1)
        if load + mode.power_kw > cap * (1 + CAP_TOL) + CAP_TOL:
            drawing = [r for r in ending if plan.mode(r).power_kw > 0]
            if drawing:
                return "power cap", drawing[0]
    return None


def chain_to(plan: _Plan, last: Assignment) -> list[Link]:
    """The chain of links that fixes when `last` ends, in time order (see the module)."""
    backwards: list[Link] = []
    a: Assignment | None = last
    seen: set[str] = set()
    while a is not None and a.operation not in seen:
        seen.add(a.operation)
        if a.operation not in plan.steps:
            plan.steps[a.operation] = _step(plan, a)
        links, a = plan.steps[a.operation]
        backwards.extend(links)
    return backwards[::-1]


def _step(plan: _Plan, a: Assignment) -> tuple[tuple[Link, ...], Assignment | None]:
    """One step back along a chain: the links that tie `a` to what fixed its start (latest
    first) and that operation (None at a release). The same for every chain through `a`, so
    `chain_to` keeps it in `plan.steps`: a 2,000-job plan's 1,985 late-job chains share most
    of their 400,000 links."""
    job, op = plan.op[a.operation]
    release = max(job.release, int(getattr(op, "release", 0)))
    # candidates: (ready tick, preference, kind, operation before, lag or setup)
    options: list[tuple[int, int, str, Assignment | None, int]] = [(release, 2, "release", None, 0)]
    for pred, lag in plan.preds.get(a.operation, []):
        p = plan.rows[pred]
        kind = "job" if plan.op[pred][0].id == job.id else "precedence"
        options.append((p.end + lag, 0, kind, p, lag))
    q = plan.before_on_machine(a) if a.end > a.start else None
    if q is not None:
        options.append((q.end + plan.setup_ticks(q, a), 1, "machine", q, 0))
    ready, _, kind, prev, extra = max(options, key=lambda o: (o[0], -o[1]))
    tail: list[Link] = []  # links between the cause and a, in time order
    if ready < a.start:
        setup = plan.setup_ticks(prev, a) if kind == "machine" and prev else 0
        clear = plan.earliest_clear(a, ready - setup if kind == "machine" else ready, setup)
        handoff = _handoff(plan, a, ready) if clear < a.start else None
        if handoff is not None:
            via, holder = handoff
            return (_op_link(a, via, f"waits for {via} held by {holder.operation}"),), holder
        cause = "window" if clear >= a.start else "wait"
        why = (
            f"{a.machine} unavailable until it can run"
            if cause == "window"
            else "the schedule waits (no constraint forces it)"
        )
        lo = prev.end if kind == "machine" and prev else ready
        placed = setup_span(plan, prev, a) if kind == "machine" and prev else None
        if placed is not None:
            _fill(tail, lo, placed[0], cause, a.machine, why)
            tail.append(Link("setup", *placed, machine=a.machine, detail="setup"))
            _fill(tail, placed[1], a.start, cause, a.machine, why)
        else:
            _fill(tail, lo, a.start, cause, a.machine, why)
        via = cause
    else:
        via = kind
        if kind == "machine" and prev is not None and ready > prev.end:
            tail.append(Link("setup", prev.end, ready, machine=a.machine, detail="setup"))
    if kind in ("job", "precedence") and prev is not None and extra > 0:
        tail.insert(0, Link("lag", prev.end, prev.end + extra, detail=f"lag {extra}"))
    backwards = [_op_link(a, via), *reversed(tail)]
    if kind == "release":
        root = "release" if release > 0 else "start"
        return (*backwards, Link(root, release, release, job=job.id)), None
    return tuple(backwards), prev


def late_jobs(schedule: Schedule) -> list[LateJob]:
    """Jobs ending after their due date, most late first (chains not filled in)."""
    done: dict[str, int] = {}
    for a in schedule.assignments:
        done[a.job] = max(done.get(a.job, a.end), a.end)
    late = [
        LateJob(job.id, done[job.id], due, done[job.id] - due, job.weight)
        for job in schedule.instance.jobs
        if (due := job.due) is not None and job.id in done and done[job.id] > due
    ]
    return sorted(late, key=lambda j: (-j.lateness, j.job))


def _cause(job: str, chain: list[Link]) -> str:
    """The latest link of the chain that is not the job's own work: what delayed it."""
    for i in range(len(chain) - 1, -1, -1):
        link = chain[i]
        if link.kind == "operation" and link.job == job:
            if link.via in ("job", "release"):
                continue
            if link.via in ("machine", "precedence") or link.via.startswith(("resource", "power")):
                before = next((x for x in chain[i - 1 :: -1] if x.kind == "operation"), None)
                if before is not None and before.job != job:
                    what = f"machine {link.machine}" if link.via == "machine" else link.via
                    if link.via == "precedence":
                        what = "its predecessor"
                    return (
                        f"{link.operation} waits for {what}: {before.operation} of job "
                        f"{before.job} runs until {before.end}"
                    )
            continue
        if link.kind in ("lag", "setup") and link.job in (None, job):
            continue
        if link.kind == "window":
            return f"machine {link.machine} is unavailable from {link.start} to {link.end}"
        if link.kind == "wait":
            return (
                f"the schedule waits on {link.machine} from {link.start} to {link.end} "
                "(no constraint forces it: another objective term)"
            )
        if link.kind == "release":
            return f"released at {link.start}: its own work from then cannot end by the due date"
        if link.kind == "start":
            return "its own work from time 0 cannot end by the due date"
    return "its own work"


# -- loads, terms, energy, power -------------------------------------------------------------
def machine_loads(schedule: Schedule) -> list[MachineLoad]:
    """Each machine's load and busy, setup, unavailable and idle ticks, most loaded first."""
    return _machine_loads(_Plan(schedule))


def _machine_loads(plan: _Plan) -> list[MachineLoad]:
    makespan = plan.schedule.makespan
    setups: dict[str, int] = defaultdict(int)
    for machine_id, lo, hi in _setup_spans(plan):
        setups[machine_id] += hi - lo
    out = []
    for machine in plan.instance.machines:
        rows = plan.sequence.get(machine.id, [])
        busy = sum(a.end - a.start for a in rows)
        down = sum(max(0, min(e, makespan) - s) for s, e in machine.unavailable if s < makespan)
        idle = max(0, makespan - busy - setups[machine.id] - down)
        load = busy / makespan if makespan else 0.0
        out.append(MachineLoad(machine.id, load, busy, setups[machine.id], down, idle, len(rows)))
    return sorted(out, key=lambda m: (-m.load, m.machine))


def _terms(schedule: Schedule, objective: Objective | None) -> list[dict[str, Any]]:
    kpis = compute_kpis(schedule.instance, schedule)
    rows = []
    for term in TERM_TABLE:
        if term.kpi not in kpis:
            continue  # a term measured against something else (e.g. a reference plan)
        row: dict[str, Any] = {"name": term.name, "unit": term.unit, "value": kpis[term.kpi]}
        for level, terms in enumerate(objective.levels if objective else ()):
            for name, weight in terms:
                if name == term.name:
                    row.update(level=level + 1, weight=weight, weighted=weight * kpis[name])
        rows.append(row)
    return rows


def _energy(plan: _Plan) -> tuple[dict[str, dict[str, float]], dict[str, dict[str, float]]]:
    zero = {"energy_kwh": 0.0, "energy_cost": 0.0, "carbon_kg": 0.0}
    by_machine = {m.id: dict(zero) for m in plan.instance.machines}
    by_job = {j.id: dict(zero) for j in plan.instance.jobs}
    for a in plan.rows.values():
        values = dict(zip(zero, operation_energy(plan.instance, a), strict=True))
        for key, value in values.items():
            by_machine[a.machine][key] += value
            by_job[a.job][key] += value
    return by_machine, by_job


def power_binding(schedule: Schedule) -> list[dict[str, float]]:
    """The [start, end) spans in which the processing load reaches the power cap."""
    return _power_binding(_Plan(schedule))


def _power_binding(plan: _Plan) -> list[dict[str, float]]:
    if plan.cap is None:
        return []
    makespan = plan.schedule.makespan
    cuts = set(plan.load_ticks) | {0, makespan}
    if isinstance(plan.cap, Profile):
        period = plan.cap.period or makespan + 1
        for base in range(0, makespan, period):
            cuts |= {base + s for s, _ in plan.cap.steps if base + s < makespan}
    edges = sorted(t for t in cuts if 0 <= t <= makespan)
    spans: list[dict[str, float]] = []
    for lo, hi in zip(edges, edges[1:], strict=False):
        load = plan.power_at(lo)
        cap = plan.cap_at(lo)
        if cap is None or load <= CAP_TOL or load < cap * (1 - CAP_TOL) - CAP_TOL:
            continue
        last = spans[-1] if spans else None
        if last and last["end"] == lo and last["load_kw"] == load and last["cap_kw"] == cap:
            last["end"] = hi
        else:
            spans.append({"start": lo, "end": hi, "load_kw": load, "cap_kw": cap})
    return spans


def explain(
    instance: Instance, schedule: Schedule, objective: str | Objective | None = None
) -> Explanation:
    """Why `schedule` of `instance` looks as it does (see the module docstring); `objective`
    marks which terms were optimised, with their levels and weights."""
    if schedule.instance is not instance:
        schedule = Schedule(instance, schedule.assignments)
    plan = _Plan(schedule)
    makespan = schedule.makespan
    last = max(schedule.assignments, key=lambda a: a.end, default=None)
    critical = chain_to(plan, last) if last is not None else []
    lasts: dict[str, Assignment] = {}
    for a in schedule.assignments:
        if a.job not in lasts or a.end > lasts[a.job].end:
            lasts[a.job] = a
    late = []
    for item in late_jobs(schedule):
        chain = chain_to(plan, lasts[item.job])
        late.append(
            LateJob(**{**_flat(item), "cause": _cause(item.job, chain), "chain": tuple(chain)})
        )
    by_machine, by_job = _energy(plan)
    goal = Objective.parse(objective) if objective is not None else None
    return Explanation(
        makespan=makespan,
        critical_path=tuple(critical),
        bottlenecks=tuple(_machine_loads(plan)),
        late_jobs=tuple(late),
        terms=tuple(_terms(schedule, goal)),
        by_machine=by_machine,
        by_job=by_job,
        power_binding=tuple(_power_binding(plan)),
        start=instance.start,
        time_unit_minutes=instance.time_unit_minutes,
    )
