"""What the commands print: the live progress line and the human summary of a result."""

from __future__ import annotations

import threading
import time
from typing import Any, TextIO

from scheduler.cli.common import number, percent
from scheduler.core.model import Instance
from scheduler.core.objective import Objective
from scheduler.core.result import Progress, Result

TABLE_MAX_ROWS = 40  # the schedule is printed as a table up to this many operations


class ProgressReporter:
    """The live progress line on `stream`: rewritten in place on a terminal, one line per
    improvement otherwise. Thread-safe, since solvers report from their worker threads."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self._tty = stream.isatty()
        self._started = time.perf_counter()
        self._lock = threading.Lock()
        self._width = 0

    def progress(self, point: Progress) -> None:
        """Show the new best objective, bound, gap and the time since the solve began."""
        elapsed = time.perf_counter() - self._started
        text = (
            f"objective {number(point.objective)}  bound {number(point.bound)}  "
            f"gap {percent(point.gap)}  {elapsed:.1f}s"
        )
        with self._lock:
            if self._tty:
                self._stream.write("\r" + text.ljust(self._width))
                self._width = len(text)
            else:
                self._stream.write(text + "\n")
            self._stream.flush()

    def log(self, message: str) -> None:
        """A solver's log line, on its own line below any progress line."""
        with self._lock:
            self._end_line()
            self._stream.write(message.rstrip("\n") + "\n")
            self._stream.flush()

    def close(self) -> None:
        """End an in-place progress line so later output starts on a fresh line."""
        with self._lock:
            self._end_line()
            self._stream.flush()

    def _end_line(self) -> None:
        if self._width:
            self._stream.write("\n")
            self._width = 0


def describe(instance: Instance, result: Result, objective: Objective) -> str:
    """The human summary: the instance, status, objective, bound, gap, time, KPIs, and the
    schedule as a table when it is small."""
    n_ops = len(instance.operations)
    lines = [
        f"instance   {instance.name}: {len(instance.jobs)} jobs, {n_ops} operations, "
        f"{len(instance.machines)} machines",
        f"solver     {result.solver}, objective {objective}",
        f"status     {result.status}" + (f" ({result.message})" if result.message else ""),
        f"objective  {number(result.objective)}   bound {number(result.bound)}   "
        f"gap {percent(result.gap)}",
        f"time       {result.wall_time_s:.2f} s",
    ]
    if len(result.objectives) > 1:
        lines.append("levels     " + " > ".join(number(v) for v in result.objectives))
    if result.schedule is None:
        return "\n".join(lines)
    lines.append(format_kpis(result.kpis))
    if len(result.schedule.assignments) <= TABLE_MAX_ROWS:
        frame = result.schedule.to_frame().sort_values(["start", "machine"], kind="stable")
        unused = [c for c in ("energy_kwh", "energy_cost", "carbon_kg") if not frame[c].any()]
        frame = frame.drop(columns=unused)
        lines += ["", frame.to_string(index=False, float_format=lambda v: f"{v:.3g}")]
    return "\n".join(lines)


def format_kpis(kpis: dict[str, Any]) -> str:
    """The key KPIs on a few lines: time, delivery, utilisation, and energy when there is any."""
    lines = [
        f"makespan   {kpis['makespan']}   total flow time {kpis['total_flow_time']}   "
        f"weighted tardiness {number(kpis['weighted_tardiness'])}",
        f"delivery   on time {percent(kpis['on_time_rate'])}   late jobs {kpis['n_late']}"
        f"   mean utilisation {percent(kpis['mean_utilisation'])}",
    ]
    if kpis["total_energy"]:
        energy = f"energy     {kpis['energy']:.4g} kWh processing"
        if kpis["idle_energy"]:
            energy += f" + {kpis['idle_energy']:.4g} kWh idle"
        if kpis["energy_cost"]:
            energy += f"   cost {kpis['energy_cost']:.4g}"
        if kpis["carbon"]:
            energy += f"   carbon {kpis['carbon']:.4g} kg"
        lines.append(energy)
    return "\n".join(lines)
