"""What a solve gives back: the `Result` with its anytime curve of `Progress` points."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from scheduler.core.schedule import Schedule

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
class Result:
    """The outcome of a solve. For a lexicographic objective such as
    `weighted_tardiness>makespan`, `objective`, `bound` and `gap` are those of the first level
    (weighted tardiness) and `objectives` lists every level's value in order (`[12.0, 230.0]`:
    weighted tardiness 12, makespan 230); the command line prints each level with its name."""

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


def solution_result(
    status: Status,
    solver: str,
    schedule: Schedule,
    values: list[float],
    bound: float | None,
    wall_time_s: float,
    trajectory: list[Progress],
    message: str,
) -> Result:
    """The Result of a model solver's best `schedule` with its exact objective `values` (one a
    level): the bound is lowered to the objective where the model's bound passes it (model
    rounding) or the status is optimal, and the anytime curve ends at what the Result says."""
    if status == "optimal" or (bound is not None and bound > values[0]):
        bound = values[0]
    close_trajectory(trajectory, wall_time_s, values[0], bound)
    return Result(
        status,
        solver,
        schedule=schedule,
        objective=values[0],
        bound=bound,
        wall_time_s=wall_time_s,
        trajectory=trajectory,
        objectives=values,
        message=message,
    )


def with_bound_floor(result: Result, floor: float) -> Result:
    """`result` with its bound raised to `floor` (a lower bound of its first level from
    `scheduler.core.bounds`) where that is better than the solver's own, but not past its
    objective: the best bound known is the one reported."""
    if result.status != "infeasible" and (result.bound is None or result.bound < floor):
        objective = result.objective
        result.bound = floor if objective is None else min(floor, objective)
    return result
