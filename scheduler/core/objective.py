"""Objective specifications: a term, a weighted sum `makespan=1,energy_cost=0.2`, or a
lexicographic order of weighted sums `makespan>carbon`."""

from __future__ import annotations

import math
from dataclasses import dataclass
from numbers import Real
from typing import Any

from scheduler.core.errors import UnsupportedFeatureError
from scheduler.core.terms import TERMS


@dataclass(frozen=True)
class Objective:
    """`levels[0]` is minimised first, then `levels[1]` with level 0 held at its optimum, ...
    Each level is a weighted sum of (term, weight) pairs."""

    levels: tuple[tuple[tuple[str, float], ...], ...]

    @classmethod
    def parse(cls, spec: str | Objective) -> Objective:
        """Parse `makespan`, `makespan=1,energy_cost=0.2` or `makespan>carbon`."""
        if isinstance(spec, Objective):
            return spec
        if not isinstance(spec, str) or not spec.strip():
            raise ValueError("objective: expected a non-empty string such as 'makespan'")
        levels = []
        for level_spec in spec.split(">"):
            terms: list[tuple[str, float]] = []
            for part in level_spec.split(","):
                name, _, weight_text = part.strip().partition("=")
                name = name.strip()
                if name not in TERMS:
                    raise ValueError(
                        f"objective: unknown term {name!r} (known: {', '.join(TERMS)})"
                    )
                try:
                    weight = float(weight_text) if weight_text.strip() else 1.0
                except ValueError:
                    raise ValueError(
                        f"objective: weight of {name!r} is not a number: {weight_text!r}"
                    ) from None
                if weight < 0 or weight != weight:
                    raise ValueError(f"objective: weight of {name!r} must be >= 0")
                if any(name == t for t, _ in terms):
                    raise ValueError(f"objective: term {name!r} appears twice in one level")
                terms.append((name, weight))
            levels.append(tuple(terms))
        return cls(tuple(levels))

    @property
    def terms(self) -> frozenset[str]:
        return frozenset(t for level in self.levels for t, _ in level)

    def __str__(self) -> str:
        def fmt(level: tuple[tuple[str, float], ...]) -> str:
            if len(level) == 1 and level[0][1] == 1.0:
                return level[0][0]
            return ",".join(f"{t}={w:g}" for t, w in level)

        return ">".join(fmt(level) for level in self.levels)

    def value(self, kpis: dict[str, float], level: int = 0) -> float:
        """The value of one level given the KPIs of a schedule (keys are the term names)."""
        return float(sum(w * kpis[t] for t, w in self.levels[level]))


def parse_bounds(bounds: Any, solver: str) -> dict[str, float]:
    """The `bounds` option (DESIGN section 11: {term: max value}, an epsilon constraint per
    term) as {term: finite float}; UnsupportedFeatureError names `solver` and the bad entry."""
    if not isinstance(bounds, dict):
        raise UnsupportedFeatureError(
            f"{solver} option 'bounds' must be a dict {{term: max value}}, got {bounds!r}"
        )
    for term, bound in bounds.items():
        if term not in TERMS:
            raise UnsupportedFeatureError(
                f"{solver} option 'bounds': unknown term {term!r} (known: {', '.join(TERMS)})"
            )
        if isinstance(bound, bool) or not isinstance(bound, Real) or not math.isfinite(bound):
            raise UnsupportedFeatureError(
                f"{solver} option 'bounds': the bound on {term!r} must be a finite number, "
                f"got {bound!r}"
            )
    return {term: float(bound) for term, bound in bounds.items()}
