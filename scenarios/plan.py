"""The plan a profile makes before the shop floor runs: the instance with the profile's planned
maintenance windows, solved by the profile's scheduling policy (energy-aware or not)."""

from __future__ import annotations

import math
import threading
from dataclasses import replace
from typing import Any

import scheduler
from scenarios.profile import Profile
from scheduler.core.compile import compile_instance
from scheduler.core.errors import UnsupportedFeatureError
from scheduler.core.model import Instance
from scheduler.core.objective import Objective
from scheduler.core.result import Result

WINDOW_REACH = 10  # planned windows are laid out to this many times the makespan lower bound
REFERENCE_OPTIONS: dict[str, Any] = {"rule": "fifo", "local_search": False, "scheme": "nondelay"}


class ScenarioError(ValueError):
    """A profile cannot be applied to an instance (e.g. no plan found): a user-facing error."""


def ticks_per_hour(instance: Instance) -> float:
    return 60.0 / instance.time_unit_minutes


def planned_instance(instance: Instance, profile: Profile) -> Instance:
    """The instance with the profile's planned maintenance windows: machine i is down for
    `duration_hours` every `every_hours`, first at (i + 1) / (machines + 1) of an interval, so
    the machines' windows are staggered; laid out to WINDOW_REACH x the makespan lower bound
    (or the horizon when it is given)."""
    spec = profile.maintenance.planned_windows
    if spec is None:
        return instance
    per_hour = ticks_per_hour(instance)
    every, length = spec.every_hours * per_hour, max(1, round(spec.duration_hours * per_hour))
    reach = instance.horizon or WINDOW_REACH * compile_instance(instance).lower_bound
    count = len(instance.machines)
    machines = []
    for i, machine in enumerate(instance.machines):
        first = every * (i + 1) / (count + 1)
        starts = [
            round(first + k * every) for k in range(max(0, math.ceil((reach - first) / every)))
        ]
        windows = tuple(machine.unavailable) + tuple((s, s + length) for s in starts)
        machines.append(replace(machine, unavailable=windows))
    return replace(instance, machines=tuple(machines))


def is_rule(profile: Profile) -> bool:
    """Whether the scheduling policy is a dispatching rule (the heuristic without search)."""
    options = profile.scheduling.options
    return profile.scheduling.solver == "heuristic" and options.get("local_search") is False


def policy(profile: Profile, instance: Instance, seed: int = 0) -> tuple[str, str, dict[str, Any]]:
    """(solver, objective, options) of the profile's plan. Energy awareness switches a rule to
    the energy rule with least-energy machines, or adds the energy weights to a solver's
    objective, each scaled so that its weight is relative to the makespan at a FIFO plan."""
    sched = profile.scheduling
    options = dict(sched.options)
    objective = sched.objective
    if profile.energy.aware:
        if is_rule(profile):
            options.update(rule="energy", machine_selection="least_energy")
        elif profile.energy.weights:
            objective = _energy_objective(instance, objective, profile.energy.weights, seed)
    return sched.solver, objective, options


def _energy_objective(
    instance: Instance, objective: str, weights: dict[str, float], seed: int
) -> str:
    """`objective` with the energy terms added to its last level, each weighted so that at
    the FIFO reference plan it counts its share of the level's makespan weight (terms that
    are 0 there are left out)."""
    reference = scheduler.solve(
        instance, solver="heuristic", seed=seed, warm_start=False, **REFERENCE_OPTIONS
    ).kpis
    parsed = Objective.parse(objective)
    last = dict(parsed.levels[-1])
    for term, share in weights.items():
        if share > 0 and reference[term] > 0 and term not in last:
            last[term] = share * reference["makespan"] / reference[term]
    # the same optimum with the smallest weight 1 and three decimals, which every solver
    # takes (cpsat needs weights that become integers when multiplied by 10**6)
    least = min(w for w in last.values() if w > 0)
    level = tuple((t, round(w / least, 3)) for t, w in last.items())
    return str(Objective((*parsed.levels[:-1], level)))


def refused(profile: Profile, part: str, refusal: UnsupportedFeatureError) -> str:
    """The message for a profile whose `part` (scheduling or rescheduling) names a solver
    that refuses the instance: bundled profiles cannot be edited from the command line, so it
    says which field to change in a profile file."""
    return (
        f"profile {profile.name!r}: its {part}.solver refused the instance ({refusal}); "
        f"set {part}.solver to one that takes it (auto or heuristic) in a --profile-file"
    )


def make_plan(
    instance: Instance,
    profile: Profile,
    seed: int = 0,
    workers: int | None = None,
    stop: threading.Event | None = None,
) -> tuple[Result, str]:
    """Solve the profile's planned instance with its policy (ending early, with its best
    schedule, once `stop` is set): the Result and the objective it was given; ScenarioError
    when no schedule is found or the instance has resources (the shop-floor execution does
    not model them)."""
    if instance.resources:
        raise ScenarioError(
            f"{instance.name}: the shop-floor simulation does not model renewable resources"
        )
    planned = planned_instance(instance, profile)
    solver, objective, options = policy(profile, planned, seed)
    try:
        result = scheduler.solve(
            planned,
            solver=solver,
            objective=objective,
            time_limit=profile.scheduling.time_limit,
            workers=workers,
            seed=seed,
            stop=stop,
            **options,
        )
    except UnsupportedFeatureError as refusal:
        raise ScenarioError(refused(profile, "scheduling", refusal)) from None
    if result.schedule is None:
        raise ScenarioError(
            f"profile {profile.name!r}: {solver} found no plan for {instance.name} "
            f"(status {result.status})"
        )
    return result, objective
