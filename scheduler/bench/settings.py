"""What a benchmark sweep is made of: the settings of a sweep and the spec of one run
(instance, solver label, seed), with the `NAME+warm` solver labels parsed against the registry."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from scheduler.bench.metrics import DEFAULT_CHECKPOINTS
from scheduler.bench.suites import BenchInputError, BenchInstance
from scheduler.core.parallel import LOCAL
from scheduler.core.registry import available_solvers

WARM = "+warm"


@dataclass(frozen=True)
class RunSpec:
    """One run: an instance, a solver label (`engine` or `engine+warm`) and a seed."""

    instance: BenchInstance
    solver: str
    seed: int
    time_limit: float
    workers: int
    objective: str = "makespan"
    checkpoints: tuple[float, ...] = DEFAULT_CHECKPOINTS

    @property
    def engine(self) -> str:
        return self.solver.removesuffix(WARM)

    @property
    def warm_start(self) -> bool:
        return self.solver.endswith(WARM)

    @property
    def key(self) -> tuple[str, ...]:
        i = self.instance
        values = (i.family, i.name, self.solver, self.seed, self.time_limit, self.workers)
        return tuple(str(v) for v in values) + (self.objective,)


def parse_solvers(text: str) -> list[str]:
    """Solver labels from `cpsat,cpsat+warm,baseline`; each engine must be registered."""
    labels = [s.strip() for s in text.split(",") if s.strip()]
    if not labels:
        raise BenchInputError("--solvers: give at least one solver name")
    known = available_solvers()
    for label in labels:
        if label.removesuffix(WARM) not in known:
            raise BenchInputError(
                f"--solvers: {label.removesuffix(WARM)!r} is not registered "
                f"(registered: {', '.join(known)}; add {WARM} for a warm start)"
            )
    return list(dict.fromkeys(labels))


@dataclass
class BenchSettings:
    """Everything a sweep needs besides the instances; `executor` is `local` or a dask
    scheduler address; `tasks`/`workers` default to a split of the cores
    (`scheduler.core.parallel`)."""

    solvers: list[str]
    time_limit: float
    seeds: int = 1
    workers: int | None = None
    tasks: int | None = None
    objective: str = "makespan"
    executor: str = LOCAL
    isolate: bool = False
    checkpoints: tuple[float, ...] = DEFAULT_CHECKPOINTS
    command: str = ""
    extra_meta: dict[str, Any] = field(default_factory=dict)
