"""What a solve takes (`SolveConfig`) and gives back (`Result`), and the `Solver` protocol."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Protocol, runtime_checkable

from scheduler.objective import Objective

if TYPE_CHECKING:
    from scheduler.compile import CompiledInstance
    from scheduler.schedule import Schedule

Status = Literal["optimal", "feasible", "infeasible", "unknown"]


@dataclass(frozen=True)
class Progress:
    """One point of the anytime curve: a new best objective (or bound) at `time_s`."""

    time_s: float
    objective: float | None
    bound: float | None

    @property
    def gap(self) -> float | None:
        return relative_gap(self.objective, self.bound)


def close_trajectory(
    trajectory: list[Progress], time_s: float, objective: float | None, bound: float | None
) -> None:
    """Append the final (objective, bound) at `time_s` unless the last point already says it,
    so the anytime curve ends at what the Result reports."""
    last = trajectory[-1] if trajectory else None
    if last is None or (last.objective, last.bound) != (objective, bound):
        trajectory.append(Progress(time_s, objective, bound))


def relative_gap(objective: float | None, bound: float | None) -> float | None:
    """|objective - bound| / |objective|; 0 when both are 0; None when either is unknown."""
    if objective is None or bound is None:
        return None
    if objective == bound:
        return 0.0
    if objective == 0:
        return None
    return abs(objective - bound) / abs(objective)


@dataclass
class SolveConfig:
    """Settings every solver reads. `warm_start` is a schedule to hint, or None.
    `options` holds solver-specific settings (refused by a solver that does not know them)."""

    objective: Objective = field(default_factory=lambda: Objective.parse("makespan"))
    time_limit: float | None = None
    workers: int | None = None
    seed: int = 0
    warm_start: Schedule | None = None
    on_progress: Callable[[Progress], None] | None = None
    log: Callable[[str], None] | None = None
    options: dict[str, Any] = field(default_factory=dict)


@dataclass
class Result:
    """The outcome of a solve. `objective`/`bound` are those of the first objective level;
    `objectives` has every level's value for lexicographic objectives."""

    status: Status
    solver: str
    schedule: Schedule | None = None
    objective: float | None = None
    bound: float | None = None
    wall_time_s: float = 0.0
    trajectory: list[Progress] = field(default_factory=list)
    kpis: dict[str, Any] = field(default_factory=dict)
    objectives: list[float] = field(default_factory=list)
    message: str = ""

    @property
    def gap(self) -> float | None:
        return relative_gap(self.objective, self.bound)

    def summary(self) -> dict[str, Any]:
        """The summary JSON of DESIGN section 5."""
        return {
            "status": self.status,
            "objective": self.objective,
            "bound": self.bound,
            "gap": self.gap,
            "solver": self.solver,
            "wall_time_s": self.wall_time_s,
            "kpis": self.kpis,
            "objectives": self.objectives,
            "message": self.message,
            "trajectory": [[p.time_s, p.objective, p.bound] for p in self.trajectory],
        }


@runtime_checkable
class Solver(Protocol):
    """A solver: `solve` reads only the compiled arrays and returns a Result whose schedule
    passes `scheduler.validate`. Unsupported features raise UnsupportedFeatureError."""

    name: str

    def solve(self, compiled: CompiledInstance, config: SolveConfig) -> Result: ...
