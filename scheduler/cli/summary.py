"""What the commands print: the live progress (a bar on a terminal, plain lines otherwise)
and the planner's summary of a result: status in words, the plan's span on the clock, the late
jobs, energy, cost and carbon with their units, and the schedule as a table when it is small."""

from __future__ import annotations

import threading
import time
from typing import Any, TextIO

from rich.console import Console
from rich.progress import BarColumn, Progress, ProgressColumn, Task, TextColumn
from rich.text import Text

from scheduler.cli.common import percent
from scheduler.core.model import Instance
from scheduler.core.objective import Objective
from scheduler.core.result import Progress as Point
from scheduler.core.result import Result
from scheduler.core.schedule import Schedule
from scheduler.report.why import late_jobs
from scheduler.report.words import level_lines, number, span, status_words, when

TABLE_MAX_ROWS = 40  # the schedule is printed as a table up to this many operations
LATE_SHOWN = 10  # the late jobs listed by name, most late first


class _TimeBar(BarColumn):
    """The share of the time limit used so far (a pulsing bar without a limit)."""

    def __init__(self, limit: float | None) -> None:
        super().__init__(bar_width=24)
        self._limit = limit

    def render(self, task: Task) -> Any:
        if self._limit:
            task.total, task.completed = self._limit, min(self._limit, task.elapsed or 0.0)
        return super().render(task)


class _TimeLeft(ProgressColumn):
    """`4.2 s left` with a time limit, the elapsed time without one."""

    def __init__(self, limit: float | None) -> None:
        super().__init__()
        self._limit = limit

    def render(self, task: Task) -> Text:
        elapsed = task.elapsed or 0.0
        if self._limit:
            return Text(f"{max(0.0, self._limit - elapsed):.1f} s left")
        return Text(f"{elapsed:.1f} s")


class ProgressReporter:
    """Live progress on `stream`: on a terminal a bar (rich) with the objective, bound, gap
    and time left; otherwise one plain line per improvement. Thread-safe, since solvers
    report from their worker threads."""

    def __init__(self, stream: TextIO, time_limit: float | None = None) -> None:
        self._stream = stream
        self._started = time.perf_counter()
        self._lock = threading.Lock()
        self._bar: Progress | None = None
        if stream.isatty():
            self._bar = Progress(
                TextColumn("solving"),
                _TimeBar(time_limit),
                TextColumn("{task.fields[info]}"),
                _TimeLeft(time_limit),
                console=Console(file=stream, force_terminal=True),
                transient=False,
            )
            self._task = self._bar.add_task("solve", total=time_limit, info="no schedule yet")
            self._bar.start()

    def progress(self, point: Point) -> None:
        """Show the new best objective, bound, gap and the time since the solve began."""
        info = (
            f"objective {number(point.objective)}  bound {number(point.bound)}  "
            f"gap {percent(point.gap)}"
        )
        with self._lock:
            if self._bar is not None:
                self._bar.update(self._task, info=info)
                return
            elapsed = time.perf_counter() - self._started
            self._stream.write(f"{info}  {elapsed:.1f}s\n")
            self._stream.flush()

    def log(self, message: str) -> None:
        """A solver's log line, on its own line (above the bar on a terminal)."""
        with self._lock:
            if self._bar is not None:
                self._bar.console.print(message.rstrip("\n"), markup=False, highlight=False)
                return
            self._stream.write(message.rstrip("\n") + "\n")
            self._stream.flush()

    def close(self) -> None:
        """Stop the bar (left on screen with its last values) so later output starts below."""
        with self._lock:
            if self._bar is not None:
                self._bar.stop()
                self._bar = None
            self._stream.flush()


def describe(instance: Instance, result: Result, objective: Objective) -> str:
    """The planner's summary: the instance, status in words, every objective level by name,
    the plan on the clock, delivery, energy, and the schedule as a table when it is small."""
    n_ops = len(instance.operations)
    levels = level_lines(result, objective)
    lines = [
        f"instance   {instance.name}: {len(instance.jobs)} jobs, {n_ops} operations, "
        f"{len(instance.machines)} machines",
        f"solver     {result.solver}, objective {objective}",
        f"status     {status_words(result)}",
        f"objective  {levels[0]}",
        *[f"           {line}" for line in levels[1:]],
    ]
    if result.status != "optimal" and result.bound is not None:
        lines.append(f"bound      {number(result.bound)} (gap {percent(result.gap)})")
    if result.message and result.status not in ("infeasible", "optimal"):
        lines.append(f"note       {result.message}")
    if result.schedule is None:
        return "\n".join(lines)
    lines.append(format_plan(result.schedule, result.kpis))
    if len(result.schedule.assignments) <= TABLE_MAX_ROWS:
        lines += ["", schedule_table(result.schedule)]
    return "\n".join(lines)


def format_plan(schedule: Schedule, kpis: dict[str, Any]) -> str:
    """The plan's KPIs with units: span (and clock start and end), delivery with the late
    jobs by lateness, utilisation, and energy, cost and carbon when there are any."""
    instance = schedule.instance
    makespan = int(kpis["makespan"])
    lines = [f"makespan   {span(makespan, instance)}"]
    if instance.start is not None:
        lines.append(f"plan       {when(instance, 0)} -> {when(instance, makespan)}")
    late = late_jobs(schedule)
    due = sum(job.due is not None for job in instance.jobs)
    lines.append(
        f"delivery   on time {percent(kpis['on_time_rate'])} of {due} jobs with a due date, "
        f"{len(late)} late; total flow time {span(kpis['total_flow_time'], instance)}"
    )
    for item in late[:LATE_SHOWN]:
        lines.append(
            f"  late     {item.job} ends {when(instance, item.completion)}, due "
            f"{when(instance, item.due)}: {span(item.lateness, instance)} late"
        )
    if len(late) > LATE_SHOWN:
        lines.append(f"  late     ... and {len(late) - LATE_SHOWN} more")
    lines.append(f"machines   mean utilisation {percent(kpis['mean_utilisation'])}")
    if kpis["total_energy"]:
        energy = f"energy     {kpis['energy']:.4g} kWh processing"
        if kpis["idle_energy"]:
            energy += f" + {kpis['idle_energy']:.4g} kWh idle"
        if instance.energy.tariff is not None:
            energy += f"   cost {kpis['energy_cost']:.4g} (tariff currency)"
        if instance.energy.carbon_intensity is not None:
            energy += f"   carbon {kpis['carbon']:.4g} kg CO2"
        lines.append(energy)
    return "\n".join(lines)


def schedule_table(schedule: Schedule) -> str:
    """The schedule by start time; the mode is shown by its machine (with its number only when
    an operation has several modes on that machine), clock times when the plan has a start."""
    modes = {op.id: op.modes for _, op in schedule.instance.operations}
    frame = schedule.to_frame().sort_values(["start", "machine"], kind="stable")
    shared = [
        sum(m.machine == machine for m in modes[op]) > 1
        for op, machine in zip(frame["operation"], frame["machine"], strict=True)
    ]
    frame["machine"] = [
        f"{machine} (mode {mode})" if twice else machine
        for machine, mode, twice in zip(frame["machine"], frame["mode"], shared, strict=True)
    ]
    unused = [c for c in ("energy_kwh", "energy_cost", "carbon_kg") if not frame[c].any()]
    frame = frame.drop(columns=["mode", *unused])
    return frame.to_string(index=False, float_format=lambda v: f"{v:.3g}")
