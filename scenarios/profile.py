"""Adoption profiles: how a plant schedules, maintains, inspects and re-plans, as data (JSON).

A profile is parsed strictly: an unknown field, a negative rate or a probability outside [0, 1]
raises `ProfileError` naming the field. The bundled profiles live in `scenarios/profiles/`;
every number in them names its source in the profile's `sources` map (key: the dotted field)."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from scheduler.core.objective import Objective
from scheduler.core.terms import TERMS

DISTRIBUTIONS = ("exponential", "weibull", "lognormal")
POLICIES = ("right_shift", "reoptimize")
BUNDLED = (
    "before",
    "after",
    "after-scheduling-only",
    "after-maintenance-only",
    "after-quality-only",
    "after-energy-only",
)


class ProfileError(ValueError):
    """A malformed profile: the message names the file or profile, the field and the reason."""


@dataclass(frozen=True)
class Distribution:
    """A positive random duration in hours: exponential (mean), Weibull (mean, shape) or
    lognormal (mean, coefficient of variation)."""

    kind: str
    mean_hours: float
    shape: float = 1.0
    cv: float = 1.0


@dataclass(frozen=True)
class Scheduling:
    """How the plan is made: a registered solver with its objective, time limit and options
    (a dispatching rule is `heuristic` with `rule` and `local_search: false`)."""

    solver: str = "heuristic"
    objective: str = "makespan"
    time_limit: float | None = None
    options: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class EnergyAwareness:
    """Whether the plan weighs energy: for a solver, the `weights` (relative to the makespan,
    scaled at a reference plan) join the objective; for a dispatching rule, the energy rule
    with least-energy machine selection replaces the rule."""

    aware: bool = False
    weights: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Breakdowns:
    """Random machine failures per machine: time between failures and repair time."""

    time_between_failures: Distribution
    repair_time: Distribution


@dataclass(frozen=True)
class PlannedWindows:
    """Planned maintenance: every machine is down `duration_hours` every `every_hours`
    (staggered across machines), as unavailability windows the plan knows."""

    every_hours: float
    duration_hours: float


@dataclass(frozen=True)
class Maintenance:
    """Reactive breakdowns, the share of them that predictive maintenance prevents, and the
    planned windows it costs."""

    breakdowns: Breakdowns | None = None
    breakdown_cut: float = 0.0
    planned_windows: PlannedWindows | None = None


@dataclass(frozen=True)
class Quality:
    """Defects per unit (spread evenly over a job's operations); the share caught at the
    station (reworked there: the operation runs again) and at final inspection (scrapped)."""

    defect_rate: float = 0.0
    station_detection: float = 0.0
    final_detection: float = 0.0


@dataclass(frozen=True)
class Rescheduling:
    """On a breakdown: keep every sequence and push later (`right_shift`), or re-plan the
    remaining work with a solver (`reoptimize`, via `scheduler.reschedule`), optionally with
    the `deviation` term (shift from the old plan) weighted by `stability`."""

    policy: str = "right_shift"
    solver: str = "heuristic"
    objective: str | None = None
    time_limit: float = 2.0
    stability: float | None = None
    options: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Profile:
    """One way of running the plant (see the module docstring)."""

    name: str
    description: str = ""
    scheduling: Scheduling = field(default_factory=Scheduling)
    energy: EnergyAwareness = field(default_factory=EnergyAwareness)
    maintenance: Maintenance = field(default_factory=Maintenance)
    quality: Quality = field(default_factory=Quality)
    processing_cv: float = 0.0
    rescheduling: Rescheduling = field(default_factory=Rescheduling)
    sources: dict[str, str] = field(default_factory=dict)


# -- parsing ---------------------------------------------------------------------------------
class _Reader:
    """Reads one JSON object strictly: every key is consumed or refused as unknown."""

    def __init__(self, data: Any, where: str) -> None:
        if not isinstance(data, dict):
            raise ProfileError(f"{where}: expected an object, got {type(data).__name__}")
        self.data, self.where = data, where
        self.used: set[str] = set()

    def _at(self, key: str) -> str:
        return f"{self.where}.{key}" if self.where else key

    def get(self, key: str, default: Any = None) -> Any:
        self.used.add(key)
        return self.data.get(key, default)

    def has(self, key: str) -> bool:
        return key in self.data and self.data[key] is not None

    def obj(self, key: str) -> _Reader | None:
        value = self.get(key)
        return None if value is None else _Reader(value, self._at(key))

    def text(self, key: str, default: str | None = None, choices: tuple[str, ...] = ()) -> Any:
        value = self.get(key, default)
        if value is None and default is None:
            return None
        if not isinstance(value, str) or (choices and value not in choices):
            allowed = f"one of {', '.join(choices)}" if choices else "a string"
            raise ProfileError(f"{self._at(key)}: expected {allowed}, got {value!r}")
        return value

    def number(
        self,
        key: str,
        default: float | None = None,
        *,
        low: float = 0.0,
        high: float = math.inf,
        positive: bool = False,
    ) -> Any:
        value = self.get(key, default)
        if value is None:
            return None
        at = self._at(key)
        if (
            isinstance(value, bool)
            or not isinstance(value, (int, float))
            or not math.isfinite(value)
        ):
            raise ProfileError(f"{at}: expected a number, got {value!r}")
        if value < low or (positive and value <= 0):
            what = "a probability in [0, 1]" if high == 1.0 else "a rate or time"
            sign = "> 0" if positive else f">= {low:g}"
            raise ProfileError(f"{at}: {what} must be {sign}, got {value!r}")
        if value > high:
            raise ProfileError(f"{at}: a probability must be in [0, 1], got {value!r}")
        return float(value)

    def probability(self, key: str, default: float = 0.0) -> float:
        return float(self.number(key, default, high=1.0))

    def done(self) -> None:
        unknown = sorted(set(self.data) - self.used)
        if unknown:
            raise ProfileError(
                f"{self.where or 'profile'}: unknown field(s) {', '.join(map(repr, unknown))}"
            )


def _distribution(r: _Reader) -> Distribution:
    kind = r.text("distribution", choices=DISTRIBUTIONS)
    dist = Distribution(
        kind=kind,
        mean_hours=r.number("mean_hours", positive=True),
        shape=r.number("shape", 1.0, positive=True) if kind == "weibull" else 1.0,
        cv=r.number("cv", 1.0, positive=True) if kind == "lognormal" else 1.0,
    )
    if dist.mean_hours is None:
        raise ProfileError(f"{r.where}.mean_hours: required")
    r.done()
    return dist


def _options(r: _Reader) -> dict[str, Any]:
    """A solver's own options (checked by the solver when it runs)."""
    options = r.get("options", {})
    if not isinstance(options, dict):
        raise ProfileError(f"{r.where}.options: expected an object, got {options!r}")
    return dict(options)


def _scheduling(r: _Reader | None) -> Scheduling:
    if r is None:
        return Scheduling()
    options = _options(r)
    out = Scheduling(
        solver=r.text("solver", "heuristic"),
        objective=_objective(r, "objective", "makespan"),
        time_limit=r.number("time_limit", None, positive=True),
        options=dict(options),
    )
    r.done()
    return out


def _objective(r: _Reader, key: str, default: str | None) -> Any:
    text = r.text(key, default)
    if text is not None:
        try:
            Objective.parse(text)
        except ValueError as error:
            raise ProfileError(f"{r.where}.{key}: {error}") from None
    return text


def _energy(r: _Reader | None) -> EnergyAwareness:
    if r is None:
        return EnergyAwareness()
    aware = r.get("aware", False)
    if not isinstance(aware, bool):
        raise ProfileError(f"{r.where}.aware: expected true or false, got {aware!r}")
    weights = _Reader(r.get("weights", {}), f"{r.where}.weights")
    parsed = {}
    for term in list(weights.data):
        if term not in TERMS or term == "makespan":
            raise ProfileError(f"{weights.where}: unknown energy term {term!r}")
        parsed[term] = weights.number(term)
    r.done()
    return EnergyAwareness(aware=aware, weights=parsed)


def _maintenance(r: _Reader | None) -> Maintenance:
    if r is None:
        return Maintenance()
    breakdowns = r.obj("breakdowns")
    windows = r.obj("planned_windows")
    out = Maintenance(
        breakdowns=None if breakdowns is None else _breakdowns(breakdowns),
        breakdown_cut=r.probability("breakdown_cut"),
        planned_windows=None if windows is None else _windows(windows),
    )
    r.done()
    return out


def _breakdowns(r: _Reader) -> Breakdowns:
    tbf, repair = r.obj("time_between_failures"), r.obj("repair_time")
    if tbf is None or repair is None:
        raise ProfileError(f"{r.where}: needs time_between_failures and repair_time")
    out = Breakdowns(_distribution(tbf), _distribution(repair))
    r.done()
    return out


def _windows(r: _Reader) -> PlannedWindows:
    every = r.number("every_hours", positive=True)
    duration = r.number("duration_hours", positive=True)
    if every is None or duration is None:
        raise ProfileError(f"{r.where}: needs every_hours and duration_hours")
    if duration >= every:
        raise ProfileError(f"{r.where}.duration_hours: must be below every_hours")
    r.done()
    return PlannedWindows(every, duration)


def _quality(r: _Reader | None) -> Quality:
    if r is None:
        return Quality()
    out = Quality(
        defect_rate=r.probability("defect_rate"),
        station_detection=r.probability("station_detection"),
        final_detection=r.probability("final_detection"),
    )
    r.done()
    return out


def _variability(r: _Reader | None) -> float:
    if r is None:
        return 0.0
    r.text("distribution", "lognormal", choices=("lognormal",))
    cv = float(r.number("cv", 0.0))
    r.done()
    return cv


def _rescheduling(r: _Reader | None) -> Rescheduling:
    if r is None:
        return Rescheduling()
    out = Rescheduling(
        policy=r.text("policy", "right_shift", choices=POLICIES),
        solver=r.text("solver", "heuristic"),
        objective=_objective(r, "objective", None),
        time_limit=r.number("time_limit", 2.0, positive=True),
        stability=r.number("stability", None),
        options=_options(r),
    )
    r.done()
    return out


def _sources(r: _Reader | None) -> dict[str, str]:
    if r is None:
        return {}
    for key, value in r.data.items():
        if not isinstance(value, str) or not value.strip():
            raise ProfileError(f"{r.where}.{key}: expected the source as text")
    return dict(r.data)


def parse_profile(data: Any, where: str = "profile") -> Profile:
    """A Profile from parsed JSON; ProfileError naming `where` and the field when malformed."""
    r = _Reader(data, "")
    try:
        name = r.text("name")
        if name is None or not name.strip():
            raise ProfileError("name: required (a non-empty string)")
        profile = Profile(
            name=name,
            description=r.text("description", ""),
            scheduling=_scheduling(r.obj("scheduling")),
            energy=_energy(r.obj("energy")),
            maintenance=_maintenance(r.obj("maintenance")),
            quality=_quality(r.obj("quality")),
            processing_cv=_variability(r.obj("variability")),
            rescheduling=_rescheduling(r.obj("rescheduling")),
            sources=_sources(r.obj("sources")),
        )
        r.done()
    except ProfileError as error:
        raise ProfileError(f"{where}: {error}") from None
    return profile


def load_profile(path: str | Path) -> Profile:
    """Read and parse one profile file."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise ProfileError(f"{path}: not valid JSON ({error.msg}, line {error.lineno})") from None
    return parse_profile(data, str(path))


def bundled_text(name: str) -> str:
    """The JSON text of a bundled profile."""
    if name not in BUNDLED:
        raise ProfileError(f"unknown profile {name!r} (bundled: {', '.join(BUNDLED)})")
    return (resources.files("scenarios") / "profiles" / f"{name}.json").read_text("utf-8")


def bundled_profile(name: str) -> Profile:
    """One of the bundled profiles (`BUNDLED`) by name."""
    return parse_profile(json.loads(bundled_text(name)), f"profile {name!r}")
