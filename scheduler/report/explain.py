"""Why the power and carbon caps make an instance infeasible, in words a planner can act on.

Static reasons come first, from the instance alone: a mode is usable only where the power cap
leaves room for its draw for its whole duration inside its operation's time window; dropping
unusable modes lengthens the shortest work, which narrows the windows, which may drop more modes
(repeated to a fixed point). An operation left without a usable mode, or a job whose windows
close, is reported; so is a carbon cap below what the operations emit even each alone, in its
cleanest mode at its cleanest time. Otherwise the caps are tested by solving: the least carbon
achievable without the carbon cap, and feasibility without the power cap."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

from scheduler.core.compile import CompiledInstance, compile_instance, dense_profile
from scheduler.core.model import Instance
from scheduler.core.presolve import carbon_reason, power_reason
from scheduler.core.result import Result

REL_TOL = 1e-9  # the validator's tolerance on caps
DENSE_TICKS = 2**24  # longest horizon whose caps and intensities are checked tick by tick

SolveFn = Callable[[Instance, str], Result]  # (instance, objective) -> Result


def _kw(x: float) -> str:
    return f"{x:g} kW"


def _kg(x: float) -> str:
    return f"{x:.1f} kg" if abs(x) >= 1 else f"{x:.3g} kg"


def _fits(power: float, cap: float) -> bool:
    return power <= cap + REL_TOL * max(1.0, abs(cap))


@dataclass(frozen=True)
class _Windows:
    """Per operation its earliest start, latest end and shortest usable mode."""

    earliest: np.ndarray
    latest: np.ndarray
    shortest: np.ndarray


def _windows(c: CompiledInstance, usable: list[list[int]]) -> _Windows:
    """Earliest starts and latest ends by releases, deadlines, horizon, lags and the shortest
    usable mode of every operation (those without one count as 0 ticks)."""
    shortest = np.array([min((int(c.mode_duration[k]) for k in ks), default=0) for ks in usable])
    earliest = c.op_release.copy()
    for o in c.topo_order:
        for i in range(c.succ_ptr[o], c.succ_ptr[o + 1]):
            s = c.succ_op[i]
            earliest[s] = max(earliest[s], earliest[o] + shortest[o] + c.succ_lag[i])
    latest = c.op_deadline.copy()
    for o in c.topo_order[::-1]:
        for i in range(c.succ_ptr[o], c.succ_ptr[o + 1]):
            s = c.succ_op[i]
            latest[o] = min(latest[o], latest[s] - shortest[s] - c.succ_lag[i])
    return _Windows(earliest, latest, shortest)


def _longest_run(cap: np.ndarray, power: float, lo: int, hi: int) -> int:
    """The most consecutive ticks of [lo, hi) at which `power` fits under the cap."""
    if hi <= lo:
        return 0
    window = cap[lo:hi]
    ok = power <= window + REL_TOL * np.maximum(1.0, np.abs(window))
    edges = np.flatnonzero(np.diff(np.concatenate(([0], ok.astype(np.int8), [0]))))
    return int((edges[1::2] - edges[::2]).max(initial=0))


def _power_reason(c: CompiledInstance, o: int, cap: np.ndarray, lo: int, hi: int) -> str:
    """Why no mode of operation o can run in its window [lo, hi) under the power cap."""
    modes = range(int(c.mode_ptr[o]), int(c.mode_ptr[o + 1]))
    powers = [float(c.mode_power[k]) for k in modes]
    highest = float(cap[lo:hi].max()) if hi > lo else float(cap.max())
    if c.power_cap_start.size == 1:
        above = short = f"the {_kw(highest)} cap"
    else:
        above = f"the highest power cap in its window [{lo}, {hi}), {_kw(highest)}"
        short = f"the highest cap in the window, {_kw(highest)}"
    name = c.op_ids[o]
    if all(not _fits(p, highest) for p in powers):
        draw = _kw(powers[0]) if len(set(powers)) == 1 else f"at least {_kw(min(powers))}"
        return f"operation {name} draws {draw} in every mode, above {above}"
    parts = []
    for k in modes:
        power, ticks = float(c.mode_power[k]), int(c.mode_duration[k])
        label = f"mode {k - int(c.mode_ptr[o])}"
        if not _fits(power, highest):
            parts.append(f"{label} draws {_kw(power)}, above {short}")
        elif ticks > hi - lo:
            parts.append(f"{label} needs {ticks} ticks, more than the window's {max(0, hi - lo)}")
        else:
            room = _longest_run(cap, power, lo, hi)
            parts.append(
                f"{label} ({_kw(power)} for {ticks} ticks) finds at most {room} consecutive "
                "ticks with room under the cap"
            )
    return f"operation {name} cannot run in its window [{lo}, {hi}): {'; '.join(parts)}"


def _closed_reasons(c: CompiledInstance, w: _Windows, closed: list[int]) -> list[str]:
    """Jobs that can no longer end by their deadline (or the horizon) with the usable modes;
    otherwise the operations whose windows closed (cross-job precedences)."""
    reasons = []
    for j in sorted({int(c.op_job[o]) for o in closed}):
        ops = range(int(c.job_op_ptr[j]), int(c.job_op_ptr[j + 1]))
        finish = max(int(w.earliest[o] + w.shortest[o]) for o in ops)
        deadline = int(c.job_deadline[j])
        limit, what = (
            (deadline, "deadline") if 0 <= deadline <= c.horizon else (c.horizon, "horizon")
        )
        name = c.job_ids[j]
        if finish > limit:
            reasons.append(
                f"job {name} cannot meet its {what} {limit}: with the modes the power cap "
                f"leaves, it cannot end before {finish}"
            )
            continue
        reasons += [
            f"job {name} cannot be scheduled: with the modes the power cap leaves, operation "
            f"{c.op_ids[o]} cannot start before {w.earliest[o]} yet must end by {w.latest[o]}"
            for o in closed
            if c.op_job[o] == j
        ]
    return reasons


def _usable_modes(c: CompiledInstance, cap: np.ndarray, w: _Windows, o: int) -> list[int]:
    lo, hi = int(w.earliest[o]), int(w.latest[o])
    return [
        k
        for k in range(int(c.mode_ptr[o]), int(c.mode_ptr[o + 1]))
        if _longest_run(cap, float(c.mode_power[k]), lo, hi) >= int(c.mode_duration[k])
    ]


def power_reasons(c: CompiledInstance) -> list[str]:
    """Operations left without a usable mode, or jobs whose windows close, once the modes the
    power cap rules out are dropped (repeated to a fixed point); [] without a cap."""
    if c.power_cap_start.size == 0:
        return []
    cap = dense_profile(c.power_cap_start, c.power_cap_value, c.horizon)
    usable = [list(range(int(c.mode_ptr[o]), int(c.mode_ptr[o + 1]))) for o in range(c.n_ops)]
    while True:
        w = _windows(c, usable)
        closed = [o for o in range(c.n_ops) if w.earliest[o] + w.shortest[o] > w.latest[o]]
        if closed:
            return _closed_reasons(c, w, closed)
        narrowed = [_usable_modes(c, cap, w, o) for o in range(c.n_ops)]
        empty = [o for o in range(c.n_ops) if not narrowed[o]]
        if empty:
            return [_power_reason(c, o, cap, int(w.earliest[o]), int(w.latest[o])) for o in empty]
        if narrowed == usable:
            return []
        usable = narrowed


def least_carbon(c: CompiledInstance) -> float:
    """A lower bound on total processing carbon (kg): every operation alone, in the mode and
    at the start inside its window that emit least (machines, other operations and the power
    cap ignored); 0 without a carbon profile."""
    if c.carbon_start.size == 0:
        return 0.0
    intensity = np.concatenate(
        ([0.0], np.cumsum(dense_profile(c.carbon_start, c.carbon_value, c.horizon)))
    )
    w = _windows(
        c, [list(range(int(c.mode_ptr[o]), int(c.mode_ptr[o + 1]))) for o in range(c.n_ops)]
    )
    hours = c.hours_per_tick
    total = 0.0
    for o in range(c.n_ops):
        best = np.inf
        lo, hi = int(w.earliest[o]), int(w.latest[o])
        for k in range(int(c.mode_ptr[o]), int(c.mode_ptr[o + 1])):
            d = int(c.mode_duration[k])
            if hi - d < lo:
                continue
            sums = intensity[lo + d : hi + 1] - intensity[lo : hi - d + 1]
            best = min(best, float(c.mode_power[k]) * hours * float(sums.min()))
        total += 0.0 if np.isinf(best) else best
    return total


def static_reasons(instance: Instance) -> list[str]:
    """The reasons visible without solving: power-cap mode exclusion, then a carbon cap below
    the carbon lower bound `least_carbon`. Past DENSE_TICKS ticks (their per-tick profiles
    would not fit in memory) only the coarser proofs of `scheduler.core.presolve`."""
    c = compile_instance(instance)
    if c.horizon > DENSE_TICKS:
        return [reason for reason in (power_reason(c), carbon_reason(c)) if reason]
    reasons = power_reasons(c)
    if reasons or np.isnan(c.carbon_cap_kg):
        return reasons
    floor = least_carbon(c)
    if not _fits(floor, c.carbon_cap_kg):
        return [
            f"carbon cap {_kg(c.carbon_cap_kg)} is below {_kg(floor)}, the least the operations "
            "emit even each alone, in its cleanest mode at its cleanest time"
        ]
    return []


def _without_caps(instance: Instance, power: bool, carbon: bool) -> Instance:
    energy = instance.energy
    if power:
        energy = replace(energy, power_cap_kw=None)
    if carbon:
        energy = replace(energy, carbon_cap_kg=None)
    return replace(instance, energy=energy)


def _power_cap_test(instance: Instance, solve_fn: SolveFn) -> str:
    """Whether dropping the power cap (and the carbon cap) makes the instance feasible."""
    result = solve_fn(_without_caps(instance, power=True, carbon=True), "makespan")
    if result.schedule is not None:
        return (
            "the power cap makes the instance infeasible: without it a schedule exists "
            f"(makespan {result.kpis.get('makespan', result.objective)})"
        )
    if result.status == "infeasible":
        return (
            "the instance is infeasible even without its power and carbon caps (deadlines, "
            "horizon, unavailability windows or resources)"
        )
    return "could not decide in the time given whether the instance without its caps is feasible"


def _carbon_cap_test(instance: Instance, cap: float, solve_fn: SolveFn) -> str:
    """Compare the carbon cap with the least carbon achievable without it."""
    result = solve_fn(_without_caps(instance, power=False, carbon=True), "carbon")
    if result.schedule is None:
        if result.status == "infeasible":
            return "the instance is infeasible even without its carbon cap; " + _power_cap_test(
                instance, solve_fn
            )
        return "could not find any schedule without the carbon cap in the time given"
    best = float(result.kpis.get("carbon", result.objective or 0.0))
    if _fits(best, cap):
        return (
            f"the carbon cap {_kg(cap)} is achievable: a schedule emitting {_kg(best)} meets "
            "every constraint"
        )
    if result.status == "optimal":
        return f"carbon cap {_kg(cap)} is below the minimum achievable {_kg(best)}"
    if result.bound is not None and not _fits(result.bound, cap):
        return (
            f"carbon cap {_kg(cap)} is below the proven lower bound {_kg(result.bound)} on "
            f"carbon (best schedule found: {_kg(best)})"
        )
    bound = "none" if result.bound is None else _kg(result.bound)
    return (
        f"could not decide in the time given whether carbon cap {_kg(cap)} is achievable "
        f"(least carbon found {_kg(best)}, lower bound {bound})"
    )


def explain_infeasibility(instance: Instance, solve_fn: SolveFn) -> list[str]:
    """Reasons why the caps make `instance` infeasible: the static ones when there are any,
    else the verdict of solving without the carbon cap (minimising carbon) or without the
    power cap. `solve_fn(instance, objective)` runs a solver, e.g.
    `lambda i, o: solve(i, objective=o, time_limit=30)`."""
    reasons = static_reasons(instance)
    if reasons:
        return reasons
    energy = instance.energy
    if energy.carbon_cap_kg is not None:
        return [_carbon_cap_test(instance, float(energy.carbon_cap_kg), solve_fn)]
    if energy.power_cap_kw is not None:
        return [_power_cap_test(instance, solve_fn)]
    return ["the instance has no power or carbon cap: its caps cannot be the cause"]
