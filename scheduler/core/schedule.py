"""A schedule: for every operation its machine, mode, start and end."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from scheduler.core.accounting import operation_energy
from scheduler.core.clock import iso, to_datetime

if TYPE_CHECKING:
    import pandas as pd

    from scheduler.core.compile import CompiledInstance
    from scheduler.core.model import Instance

COLUMNS = [
    "job",
    "operation",
    "machine",
    "mode",
    "start",
    "end",
    "energy_kwh",
    "energy_cost",
    "carbon_kg",
]
CLOCK_COLUMNS = ["start_time", "end_time"]  # after COLUMNS when the instance has a `start`


@dataclass(frozen=True)
class Assignment:
    """One row of a schedule. `mode` is the 0-based index into the operation's modes."""

    job: str
    operation: str
    machine: str
    mode: int
    start: int
    end: int


@dataclass(frozen=True)
class Schedule:
    """Rows in the order they were given; `instance` gives the derived energy columns."""

    instance: Instance
    assignments: tuple[Assignment, ...]

    @classmethod
    def from_arrays(
        cls, compiled: CompiledInstance, mode: np.ndarray, start: np.ndarray
    ) -> Schedule:
        """Build from the solver boundary: per operation index, the chosen global mode index
        (into compiled.mode_*) and the start tick."""
        rows = []
        for o in range(compiled.n_ops):
            k = int(mode[o])
            s = int(start[o])
            rows.append(
                Assignment(
                    job=compiled.job_ids[compiled.op_job[o]],
                    operation=compiled.op_ids[o],
                    machine=compiled.machine_ids[compiled.mode_machine[k]],
                    mode=k - int(compiled.mode_ptr[o]),
                    start=s,
                    end=s + int(compiled.mode_duration[k]),
                )
            )
        return cls(compiled.instance, tuple(rows))

    def to_arrays(self, compiled: CompiledInstance) -> tuple[np.ndarray, np.ndarray]:
        """(global mode index, start) per operation index; -1 where an operation is missing.
        Used for warm starts and hints."""
        mode = np.full(compiled.n_ops, -1, dtype=np.int64)
        start = np.full(compiled.n_ops, -1, dtype=np.int64)
        for a in self.assignments:
            o = compiled.op_index.get(a.operation)
            if o is None or not 0 <= a.mode < compiled.mode_ptr[o + 1] - compiled.mode_ptr[o]:
                continue
            mode[o] = compiled.mode_ptr[o] + a.mode
            start[o] = a.start
        return mode, start

    @property
    def makespan(self) -> int:
        return max((a.end for a in self.assignments), default=0)

    @property
    def columns(self) -> list[str]:
        """The contract columns of DESIGN section 5, then, when the instance has a `start`,
        `start_time` and `end_time`."""
        return COLUMNS + (CLOCK_COLUMNS if self.instance.start is not None else [])

    def rows(self) -> list[dict[str, Any]]:
        """One row per operation, keyed by `columns`; the clock times as ISO 8601 text."""
        start, unit = self.instance.start, self.instance.time_unit_minutes
        rows = []
        for a in self.assignments:
            kwh, cost, carbon = operation_energy(self.instance, a)
            rows.append(
                {
                    "job": a.job,
                    "operation": a.operation,
                    "machine": a.machine,
                    "mode": a.mode,
                    "start": a.start,
                    "end": a.end,
                    "energy_kwh": kwh,
                    "energy_cost": cost,
                    "carbon_kg": carbon,
                }
            )
            if start is not None:
                rows[-1]["start_time"] = iso(to_datetime(start, unit, a.start))
                rows[-1]["end_time"] = iso(to_datetime(start, unit, a.end))
        return rows

    def to_frame(self) -> pd.DataFrame:
        """`rows` as a frame with the `columns`."""
        import pandas as pd  # loaded when a frame is asked for: it takes a while

        return pd.DataFrame(self.rows(), columns=self.columns)
