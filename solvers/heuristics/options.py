"""The options `heuristic` understands (SolveConfig.options), checked before any work starts:
an unknown key is refused by its capabilities, a malformed value here; none is ignored."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from scheduler.core.errors import UnsupportedFeatureError
from scheduler.core.objective import parse_bounds
from solvers.heuristics.decode import RULES, SCHEMES

MACHINE_SELECTIONS = ("earliest_finish", "least_energy")
OPTIONS = {
    "rule": f"'all' (default: every rule, the best kept) or one of {', '.join(RULES)}",
    "machine_selection": "'earliest_finish' (default) or 'least_energy'",
    "local_search": "bool (default True): improve the best rule's schedule (tabu search for the "
    "makespan of a plain shop, else annealing)",
    "scheme": f"'all' (default) or one of {', '.join(SCHEMES)}: the generation schemes tried",
    "iterations": "int > 0: local-search moves evaluated per run (default: until the time limit; "
    "without one, 2,000,000 / operations, at most 20,000)",
    "bounds": "dict {term: max value}: only schedules with every such term <= its bound",
}


@dataclass(frozen=True)
class HeuristicOptions:
    """Parsed options: rule and scheme names to try, and how the search runs."""

    rules: tuple[str, ...]
    schemes: tuple[str, ...]
    least_energy: bool
    local_search: bool
    iterations: int | None
    bounds: dict[str, float]


def _choice(options: dict[str, Any], key: str, allowed: tuple[str, ...], default: str) -> str:
    value = options.get(key, default)
    if not isinstance(value, str) or value.lower() not in allowed:
        raise UnsupportedFeatureError(
            f"heuristic option {key!r} = {value!r} is not one of {', '.join(allowed)}"
        )
    return value.lower()


def parse_options(options: dict[str, Any]) -> HeuristicOptions:
    """Check `options` and return them parsed (UnsupportedFeatureError on anything unknown)."""
    rule = _choice(options, "rule", ("all", *RULES), "all")
    scheme = _choice(options, "scheme", ("all", *SCHEMES), "all")
    selection = _choice(options, "machine_selection", MACHINE_SELECTIONS, "earliest_finish")
    local_search = options.get("local_search", True)
    if not isinstance(local_search, bool):
        raise UnsupportedFeatureError(
            f"heuristic option 'local_search' must be a bool, got {local_search!r}"
        )
    iterations = options.get("iterations")
    if iterations is not None and (
        isinstance(iterations, bool) or not isinstance(iterations, int) or iterations < 1
    ):
        raise UnsupportedFeatureError(
            f"heuristic option 'iterations' must be an int > 0, got {iterations!r}"
        )
    return HeuristicOptions(
        rules=tuple(RULES) if rule == "all" else (rule,),
        schemes=tuple(SCHEMES) if scheme == "all" else (scheme,),
        least_energy=selection == "least_energy",
        local_search=local_search,
        iterations=iterations,
        bounds=parse_bounds(options.get("bounds", {}), "heuristic"),
    )
