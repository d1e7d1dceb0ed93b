"""The independent schedule checker: every rule of DESIGN sections 4 and 11, worked out from the
`Instance` objects alone (no solver code, no compiled arrays), by sorting and event sweeps so
that 20,000 operations check in well under a second."""

from __future__ import annotations

import operator
from bisect import bisect_right
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from scheduler.core.model import Instance, Job, Machine, Mode, Operation, Profile
from scheduler.core.schedule import Assignment, Schedule
from scheduler.core.stepfun import first_below, integral

REL_TOL = 1e-9  # float tolerance of the power and carbon caps (relative, at least absolute 1e-9)
MAX_NAMED = 5  # operations named in a capacity message

_Breach = Callable[[int, int, float], "int | None"]


@dataclass(frozen=True)
class Violation:
    """One broken rule; `rule` is a short key (e.g. "overlap"), `message` says what and where."""

    rule: str
    message: str
    job: str | None = None
    operation: str | None = None
    machine: str | None = None
    time: int | None = None

    def __str__(self) -> str:
        return f"[{self.rule}] {self.message}"


@dataclass(frozen=True)
class _Row:
    """A checked row: its assignment with the job, operation and mode it refers to."""

    a: Assignment
    job: Job
    op: Operation
    mode: Mode


def validate(instance: Instance, schedule: Schedule) -> list[Violation]:
    """Every violation of `instance`'s constraints by `schedule`; [] when it is feasible."""
    out: list[Violation] = []
    rows = _check_rows(instance, schedule.assignments, out)
    _check_precedences(instance, rows, out)
    by_machine: dict[str, list[_Row]] = defaultdict(list)
    for row in rows.values():
        by_machine[row.a.machine].append(row)
    for machine in instance.machines:
        # a zero-duration operation occupies no machine time (DESIGN section 11)
        busy = [r for r in by_machine.get(machine.id, []) if r.a.end > r.a.start]
        on_machine = sorted(busy, key=lambda r: (r.a.start, r.a.end))
        _check_machine(instance, machine, on_machine, out)
    for resource in instance.resources:
        demands = [(r, r.mode.resources.get(resource.id, 0)) for r in rows.values()]
        what = f"capacity {resource.capacity} of resource {resource.id!r}"
        _sweep_capacity("resource", what, [(r, q) for r, q in demands if q], resource.capacity, out)
    _check_energy(instance, list(rows.values()), out)
    return out


def _tick(value: object) -> int | None:
    """The value as an int tick, or None if it is not an integer."""
    if isinstance(value, bool):
        return None
    try:
        return operator.index(value)  # type: ignore[arg-type]
    except TypeError:
        return None


def _check_rows(
    instance: Instance, assignments: Iterable[Assignment], out: list[Violation]
) -> dict[str, _Row]:
    """Per-row rules (ids, job, mode, machine, duration, times); returns the rows that can be
    checked further, one per operation (the first when duplicated)."""
    known = {op.id: (job, op) for job in instance.jobs for op in job.operations}
    seen: set[str] = set()
    rows: dict[str, _Row] = {}
    for a in assignments:
        where = f"operation {a.operation!r}"
        if a.operation not in known:
            out.append(
                Violation(
                    "unknown_operation", f"{where} is not in the instance", a.job, a.operation
                )
            )
            continue
        job, op = known[a.operation]
        if a.operation in seen:
            out.append(
                Violation("duplicate", f"{where} is scheduled more than once", job.id, op.id)
            )
            continue
        seen.add(op.id)
        if a.job != job.id:
            out.append(
                Violation("job", f"{where} belongs to job {job.id!r}, not {a.job!r}", job.id, op.id)
            )
        mode_index, start, end = _tick(a.mode), _tick(a.start), _tick(a.end)
        if mode_index is None or not 0 <= mode_index < len(op.modes):
            message = f"{where}: mode {a.mode!r} does not exist (it has {len(op.modes)} modes)"
            out.append(Violation("mode", message, job.id, op.id))
            continue
        if start is None or end is None:
            message = f"{where}: start {a.start!r} and end {a.end!r} must be integer ticks"
            out.append(Violation("duration", message, job.id, op.id))
            continue
        row = _Row(a, job, op, op.modes[mode_index])
        rows[op.id] = row
        _check_row_times(instance, row, start, end, out)
    for job, op in known.values():
        if op.id not in seen:
            out.append(Violation("missing", f"operation {op.id!r} is not scheduled", job.id, op.id))
    return rows


def _check_row_times(
    instance: Instance, row: _Row, start: int, end: int, out: list[Violation]
) -> None:
    """Machine of the mode, duration, start >= 0, releases, deadlines (the job's and the
    operation's own) and horizon of one row."""
    a, job, op, mode = row.a, row.job, row.op, row.mode
    where = f"operation {a.operation!r}"

    def add(rule: str, message: str, time: int | None = None) -> None:
        out.append(Violation(rule, f"{where}: {message}", job.id, a.operation, a.machine, time))

    if a.machine != mode.machine:
        add("machine", f"runs on {a.machine!r} but mode {a.mode} uses {mode.machine!r}")
    if end - start != mode.duration:
        add("duration", f"end - start = {end - start}, mode {a.mode} takes {mode.duration}", start)
    if start < 0:
        add("negative_start", f"starts at {start} < 0", start)
    if start < job.release:
        add("release", f"starts at {start}, before job {job.id!r} is released at {job.release}")
    if start < op.release and op.release > job.release:  # the job's release is checked above
        add("release", f"starts at {start}, before its own release {op.release}")
    if job.deadline is not None and end > job.deadline:
        add("deadline", f"ends at {end}, after job {job.id!r}'s deadline {job.deadline}", end)
    own = op.deadline if op.deadline is not None else end
    if end > own and (job.deadline is None or own < job.deadline):  # stricter than the job's
        add("deadline", f"ends at {end}, after its own deadline {op.deadline}", end)
    if instance.horizon is not None and end > instance.horizon:
        add("horizon", f"ends at {end}, after the horizon {instance.horizon}", end)


def _check_precedences(instance: Instance, rows: dict[str, _Row], out: list[Violation]) -> None:
    """Each successor starts at least `lag` ticks after its predecessor ends."""
    for pred, succ, lag in instance.precedences():
        if pred not in rows or succ not in rows:
            continue
        p, s = rows[pred].a, rows[succ].a
        if s.start < p.end + lag:
            message = (
                f"operation {succ!r} starts at {s.start}, before {pred!r} ends ({p.end}) "
                f"plus lag {lag}"
            )
            out.append(Violation("precedence", message, s.job, succ, s.machine, s.start))


def _merged_windows(machine: Machine) -> tuple[list[int], list[int]]:
    """The machine's unavailability windows sorted, overlapping or touching ones merged."""
    starts: list[int] = []
    ends: list[int] = []
    for s, e in sorted(machine.unavailable):
        if ends and s <= ends[-1]:
            ends[-1] = max(ends[-1], e)
        else:
            starts.append(s)
            ends.append(e)
    return starts, ends


def _check_machine(
    instance: Instance, machine: Machine, rows: list[_Row], out: list[Violation]
) -> None:
    """No overlap, windows respected, and a window-free setup stretch between consecutive
    operations; `rows` are the machine's operations sorted by (start, end)."""
    m = machine.id
    w_start, w_end = _merged_windows(machine)
    latest: _Row | None = None  # the operation ending last so far
    previous: _Row | None = None
    for row in rows:
        a = row.a
        k = bisect_right(w_end, a.start)  # first window ending after the start
        if k < len(w_start) and w_start[k] < a.end:
            message = (
                f"operation {a.operation!r} [{a.start}, {a.end}) meets the unavailability "
                f"window [{w_start[k]}, {w_end[k]}) of machine {m!r}"
            )
            out.append(Violation("unavailable", message, a.job, a.operation, m, a.start))
        if latest is not None and a.start < latest.a.end:
            message = (
                f"operations {latest.a.operation!r} [{latest.a.start}, {latest.a.end}) and "
                f"{a.operation!r} [{a.start}, {a.end}) overlap on machine {m!r}"
            )
            out.append(Violation("overlap", message, a.job, a.operation, m, a.start))
        elif previous is not None:
            _check_setup(instance, m, previous, row, w_start, w_end, out)
        if latest is None or a.end > latest.a.end:
            latest = row
        previous = row


def _check_setup(
    instance: Instance,
    m: str,
    before: _Row,
    after: _Row,
    w_start: list[int],
    w_end: list[int],
    out: list[Violation],
) -> None:
    """A stretch of setup ticks free of windows inside [end of `before`, start of `after`)."""
    need = instance.setup(m, before.op.family, after.op.family)
    if need <= 0:
        return
    lo, hi = before.a.end, after.a.start
    free_from, longest = lo, 0
    k = bisect_right(w_end, lo)
    while k < len(w_start) and w_start[k] < hi and longest < need:
        longest = max(longest, w_start[k] - free_from)
        free_from = max(free_from, w_end[k])
        k += 1
    longest = max(longest, hi - free_from)
    if longest < need:
        message = (
            f"machine {m!r} needs a setup of {need} ticks (family {before.op.family!r} -> "
            f"{after.op.family!r}) between {before.op.id!r} ending at {lo} and {after.op.id!r} "
            f"starting at {hi}, but the longest window-free stretch there is {longest}"
        )
        out.append(Violation("setup", message, after.job.id, after.op.id, m, hi))


def _sweep_capacity(
    rule: str, what: str, loads: list[tuple[_Row, float]], cap: float, out: list[Violation]
) -> None:
    """Every maximal stretch where the summed load exceeds a constant `cap` is one violation."""
    limit = _limit(cap)
    _sweep(rule, what, loads, lambda lo, hi, level: lo if level > limit else None, out)


def _limit(cap: float) -> float:
    """The cap with the float tolerance added."""
    return cap + REL_TOL * max(1.0, abs(cap))


def _sweep(
    rule: str,
    what: str,
    loads: list[tuple[_Row, float]],
    breach: _Breach,
    out: list[Violation],
) -> None:
    """Event sweep of the load of the rows over time; `breach(lo, hi, level)` gives the first
    tick of [lo, hi) where the constant `level` is over capacity, or None. A breach is reported
    (naming a few operations in process) unless it just continues the previous stretch's one."""
    events = sorted(
        [(r.a.start, 1, i) for i, (r, _) in enumerate(loads) if r.a.end > r.a.start]
        + [(r.a.end, 0, i) for i, (r, _) in enumerate(loads) if r.a.end > r.a.start]
    )
    active: dict[int, None] = {}
    level = 0.0
    in_breach = False
    for n, (time, starting, i) in enumerate(events):
        if starting:
            active[i] = None
            level += loads[i][1]
        else:
            del active[i]
            level -= loads[i][1]
        if n + 1 < len(events) and events[n + 1][0] == time:
            continue
        hi = events[n + 1][0] if n + 1 < len(events) else time
        tick = breach(time, hi, level) if active and hi > time else None
        if tick is not None and (not in_breach or tick > time):
            ops = [loads[j][0].op.id for j in list(active)[:MAX_NAMED]]
            more = f" and {len(active) - MAX_NAMED} more" if len(active) > MAX_NAMED else ""
            message = (
                f"{what} exceeded at tick {tick}: load {level:g} from operations "
                f"{', '.join(map(repr, ops))}{more}"
            )
            out.append(Violation(rule, message, time=tick))
        in_breach = tick is not None
        if not active:
            level = 0.0  # drop float residue between busy stretches


def _check_energy(instance: Instance, rows: list[_Row], out: list[Violation]) -> None:
    """Power cap at every tick (constant or profile) and the total processing carbon cap."""
    energy = instance.energy
    cap = energy.power_cap_kw
    if cap is not None:
        loads = [(r, r.mode.power_kw) for r in rows if r.mode.power_kw > 0]
        if isinstance(cap, Profile):
            profile = cap

            def breach(lo: int, hi: int, level: float) -> int | None:
                return first_below(profile, lo, hi, level - REL_TOL * max(1.0, level))

            _sweep("power_cap", "power cap profile (kW)", loads, breach, out)
        else:
            _sweep_capacity("power_cap", f"power cap {cap:g} kW", loads, cap, out)
    if energy.carbon_cap_kg is not None and energy.carbon_intensity is not None:
        hours_per_tick = instance.hours_per_tick
        carbon = sum(
            r.mode.power_kw * hours_per_tick * integral(energy.carbon_intensity, r.a.start, r.a.end)
            for r in rows
        )
        if carbon > _limit(energy.carbon_cap_kg):
            message = (
                f"processing carbon {carbon:.6g} kg is above the cap {energy.carbon_cap_kg:g} kg"
            )
            out.append(Violation("carbon_cap", message))
