"""The objective terms, declared once: name, unit, sense, kind and the KPI that measures it.

Everything else reads this table: objective parsing, the `bounds` option, the KPIs (whose keys
include every term name, so `Objective.value(kpis)` scores a schedule) and each solver's own
model of the terms, which it indexes by `TERM_INDEX` rather than by position. Adding a term is
one entry here, its KPI, and each solver's model of it (or its refusal, via capabilities)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True)
class Term:
    """One objective term. Every term is minimised; `kpi` is its key in `compute_kpis`."""

    name: str
    unit: str
    kind: Literal["time", "energy", "stability"]
    description: str
    sense: Literal["min"] = "min"

    @property
    def kpi(self) -> str:
        return self.name


TERM_TABLE: tuple[Term, ...] = (
    Term("makespan", "ticks", "time", "end of the last operation"),
    Term("weighted_tardiness", "weighted ticks", "time", "sum of weight x lateness past due"),
    Term("total_flow_time", "ticks", "time", "sum over jobs of completion minus release"),
    Term("energy", "kWh", "energy", "processing energy"),
    Term("energy_cost", "currency", "energy", "processing energy priced at the tariff"),
    Term("carbon", "kg CO2", "energy", "processing energy times the carbon intensity"),
    Term("idle_energy", "kWh", "energy", "machines idling between first start and last end"),
    Term(
        "deviation",
        "ticks",
        "stability",
        "shift from a reference plan: sum of |start - reference start|, plus the reference "
        "duration of each operation on another machine",
    ),
)
TERMS: tuple[str, ...] = tuple(t.name for t in TERM_TABLE)
TERM = {t.name: t for t in TERM_TABLE}
TERM_INDEX = {name: i for i, name in enumerate(TERMS)}
TIME_TERMS = frozenset(t.name for t in TERM_TABLE if t.kind == "time")
ENERGY_TERMS = frozenset(t.name for t in TERM_TABLE if t.kind == "energy")
# measured against a reference plan (`SolveConfig.reference`): a solver opts in to these
STABILITY_TERMS = frozenset(t.name for t in TERM_TABLE if t.kind == "stability")
