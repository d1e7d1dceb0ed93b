"""What a solver is: the `Solver` protocol, the `SolveConfig` it is handed, and the
`Capabilities` it declares (instance features, objective terms, options), which
`check_supported` checks in one place before any solve, so that nothing asked for is dropped."""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import numpy as np

from scheduler.core.errors import UnsupportedFeatureError
from scheduler.core.objective import Objective
from scheduler.core.terms import STABILITY_TERMS, TERMS

if TYPE_CHECKING:
    from scheduler.core.compile import CompiledInstance
    from scheduler.core.result import Progress, Result
    from scheduler.core.schedule import Schedule

# instance features a solver may or may not model, with the words a refusal uses
FEATURES: dict[str, str] = {
    "alternative_modes": "operations with alternative modes (flexible machines)",
    "precedence_lags": "precedence time lags",
    "releases": "job or operation release times",
    "deadlines": "hard job or operation deadlines or a given horizon",
    "setups": "sequence-dependent setup times",
    "unavailability": "machine unavailability windows",
    "resources": "renewable resources",
    "power_cap": "a power cap",
    "carbon_cap": "a carbon cap",
}


def instance_features(c: CompiledInstance) -> frozenset[str]:
    """The features of FEATURES that the compiled instance uses."""
    present = {
        "alternative_modes": bool(np.any(np.diff(c.mode_ptr) > 1)),
        "precedence_lags": bool(np.any(c.succ_lag != 0)),
        "releases": bool(np.any(c.op_release > 0)),
        "deadlines": c.has_deadlines or c.horizon_given,
        "setups": c.has_setups,
        "unavailability": c.has_unavailability,
        "resources": c.has_resources,
        "power_cap": c.power_cap_start.size > 0,
        "carbon_cap": not np.isnan(c.carbon_cap_kg),
    }
    return frozenset(name for name, used in present.items() if used)


@dataclass(frozen=True)
class Capabilities:
    """What a solver models: instance `features` (keys of FEATURES), objective `terms`,
    whether it takes lexicographic objectives and weighted sums, and its `options` (name ->
    one-line help); anything else is refused before the solve."""

    features: frozenset[str] = frozenset(FEATURES)
    terms: frozenset[str] = frozenset(TERMS) - STABILITY_TERMS  # opt in to a reference plan
    lexicographic: bool = True
    weighted_sums: bool = True
    options: Mapping[str, str] = field(default_factory=dict)
    # the solver's own check of option values and of the instance's size against its limits
    # (raises UnsupportedFeatureError), run with the others so that nothing is spent first
    check: Callable[[CompiledInstance, Mapping[str, Any]], None] | None = None

    def __post_init__(self) -> None:
        unknown = sorted(set(self.features) - set(FEATURES)) + sorted(set(self.terms) - set(TERMS))
        if unknown:
            raise ValueError(f"capabilities name unknown features or terms: {unknown}")


@dataclass
class SolveConfig:
    """Settings every solver reads. `warm_start` is a schedule to hint, or None; `reference`
    the plan the `deviation` term measures from (matched by operation id), or None.
    `options` holds solver-specific settings (refused by a solver that does not know them).
    `stop`, once set (Ctrl-C, SIGTERM, a portfolio ending a part), asks the solver to return
    its best schedule so far as soon as it can. `reserve_s`: the seconds after `time_limit`
    that the facade keeps back to check a schedule; a solver still without one may spend part
    of them on its first."""

    objective: Objective = field(default_factory=lambda: Objective.parse("makespan"))
    time_limit: float | None = None
    workers: int | None = None
    seed: int = 0
    warm_start: Schedule | None = None
    reference: Schedule | None = None
    on_progress: Callable[[Progress], None] | None = None
    log: Callable[[str], None] | None = None
    options: dict[str, Any] = field(default_factory=dict)
    stop: threading.Event = field(default_factory=threading.Event)
    reserve_s: float = 0.0


@runtime_checkable
class Solver(Protocol):
    """A solver: `solve` reads only the compiled arrays and returns a Result whose schedule
    passes `scheduler.validate`. `capabilities` says what it models; the facade refuses the
    rest before calling `solve` (`check_supported`). A solver may also have a `warm_up()`
    that waits for what its first solve in a process loads (the heuristic's Numba kernels):
    the benchmark runner calls it before timing (`warm_up_solver`)."""

    name: str
    capabilities: Capabilities

    def solve(self, compiled: CompiledInstance, config: SolveConfig) -> Result: ...


def check_supported(solver: Solver, compiled: CompiledInstance, config: SolveConfig) -> None:
    """Raise UnsupportedFeatureError naming what `solver` does not model among the
    instance's features, the objective's terms and form, and the options given (and what its
    own `check` refuses: option values, the instance's size)."""
    caps = solver.capabilities
    missing = sorted(instance_features(compiled) - caps.features)
    if missing:
        what = ", ".join(FEATURES[f] for f in missing)
        raise UnsupportedFeatureError(f"{solver.name} does not model {what}")
    objective = config.objective
    terms = sorted(objective.terms - caps.terms)
    if terms:
        raise UnsupportedFeatureError(
            f"{solver.name} does not model the objective term(s) {', '.join(terms)} "
            f"(it models: {', '.join(t for t in TERMS if t in caps.terms)})"
        )
    if "deviation" in objective.terms | set(config.options.get("bounds") or ()) and (
        config.reference is None
    ):
        raise UnsupportedFeatureError(
            "the objective term deviation needs a reference plan (solve(..., reference=...))"
        )
    if len(objective.levels) > 1 and not caps.lexicographic:
        raise UnsupportedFeatureError(f"{solver.name} does not take lexicographic objectives")
    if any(len(level) > 1 for level in objective.levels) and not caps.weighted_sums:
        raise UnsupportedFeatureError(f"{solver.name} does not take weighted sums of terms")
    unknown = sorted(set(config.options) - set(caps.options))
    if unknown:
        known = ", ".join(sorted(caps.options)) or "none"
        raise UnsupportedFeatureError(
            f"{solver.name} does not know the option(s) {', '.join(map(repr, unknown))} "
            f"(known: {known})"
        )
    if caps.check is not None:
        caps.check(compiled, config.options)


def warm_up_solver(solver: Solver) -> None:
    """Wait for what `solver`'s first solve in this process would load, when it says (its
    `warm_up` method); nothing otherwise."""
    hook = getattr(solver, "warm_up", None)
    if callable(hook):
        hook()
