"""The energy part of the cpsat model: the power cap, the carbon cap, and the energy objective
terms (energy, energy_cost, carbon, idle_energy) as integer expressions in model units, built
from the blocks of `solvers.cpsat.energy_blocks` only where the instance, objective or bounds need
them, with the values a schedule gives every variable they add (for complete hints)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from fractions import Fraction

import numpy as np
from ortools.sat.python import cp_model

from scheduler.core.compile import CompiledInstance
from solvers.cpsat.energy_blocks import (
    IdleEnergy,
    ProfileCost,
    add_carbon_cap,
    add_idle_energy,
    add_power_cap,
    add_profile_cost,
    exact,
    power_scale,
    profile_period,
    quantity_scale,
)
from solvers.cpsat.model import SchedulingModel


def term_units(c: CompiledInstance) -> dict[str, int]:
    """Model units per real unit of each energy term: per kWh (energy, idle energy), per
    currency unit (energy_cost) and per kg (carbon); exact for decimal data (see
    `solvers.cpsat.energy_blocks.quantity_scale`), 1 for a term that is 0 without its profile."""
    kwh = quantity_scale(c)
    cost = quantity_scale(c, c.tariff_value) if c.tariff_start.size else 1
    carbon = quantity_scale(c, c.carbon_value) if c.carbon_start.size else 1
    return {"energy": kwh, "idle_energy": kwh, "energy_cost": cost, "carbon": carbon}


@dataclass
class EnergyModel:
    """The energy terms' expressions (model units, see `term_units`) and what hints need."""

    expressions: dict[str, cp_model.LinearExprT] = field(default_factory=dict)
    costs: list[tuple[int, int, ProfileCost]] = field(default_factory=list)  # (op, mode, cost)
    idle: IdleEnergy | None = None

    def hints(
        self, c: CompiledInstance, mode: np.ndarray, start: np.ndarray
    ) -> list[tuple[cp_model.IntVar, int]]:
        """(variable, value) of every variable added here, for a complete schedule."""
        out = [
            pair
            for o, k, cost in self.costs
            for pair in cost.hints(int(start[o]), int(mode[o]) == k)
        ]
        if self.idle is not None:
            out += self.idle.hints(c, mode, start)
        return out


def _mode_energy(c: CompiledInstance, k: int, unit: int) -> int:
    """Energy of mode k in model units, ceil(unit x kW x ticks x tu/60) (exact for exact units)."""
    kwh = exact(c.mode_power[k]) * int(c.mode_duration[k]) * exact(c.time_unit_minutes) / 60
    return math.ceil(Fraction(unit) * kwh)


def _used(sm: SchedulingModel, k: int) -> cp_model.LinearExprT:
    """1 when mode k is chosen: its presence literal, or 1 for an operation's only mode."""
    return sm.presence.get(k, 1)


def add_energy(
    sm: SchedulingModel,
    c: CompiledInstance,
    units: dict[str, int],
    terms: frozenset[str],
    latest: np.ndarray,
) -> EnergyModel:
    """Add the power cap and carbon cap of the instance and the expressions of the energy
    `terms` (those the objective levels and bounds use) to `sm`."""
    model = sm.model
    add_power_cap(model, c, sm.intervals, power_scale(c))
    em = EnergyModel()
    if "energy" in terms:
        em.expressions["energy"] = cp_model.LinearExpr.sum(
            [_mode_energy(c, k, units["energy"]) * _used(sm, k) for ks in sm.modes for k in ks]
        )
    carbon_capped = not math.isnan(c.carbon_cap_kg)
    profiles = (
        ("energy_cost", c.tariff_start, c.tariff_value, "energy_cost" in terms),
        ("carbon", c.carbon_start, c.carbon_value, "carbon" in terms or carbon_capped),
    )
    for term, starts, values, needed in profiles:
        if not needed:
            continue
        costs = []
        period = profile_period(starts, values, c.horizon) if starts.size > 1 else None
        if starts.size:
            for o, ks in enumerate(sm.modes):
                for k in ks:
                    cost = add_profile_cost(
                        model,
                        c,
                        k,
                        sm.start[o],
                        sm.presence.get(k),
                        starts,
                        values,
                        units[term],
                        latest_end=int(latest[o]),
                        period=period,
                    )
                    em.costs.append((o, k, cost))
                    costs.append(cost.cost)
        em.expressions[term] = cp_model.LinearExpr.sum(costs)
        if term == "carbon" and carbon_capped:
            add_carbon_cap(model, c, costs, units[term])
    if "idle_energy" in terms:
        em.idle = add_idle_energy(model, c, sm.intervals, units["idle_energy"])
        em.expressions["idle_energy"] = em.idle.expression
    return em
