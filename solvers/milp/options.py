"""The options `milp` understands (its capabilities declare them, so unknown keys are refused
before the solve; malformed values are refused here, before any model is built)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from scheduler.core.errors import UnsupportedFeatureError
from scheduler.core.objective import parse_bounds

FORMULATIONS = ("auto", "disjunctive", "time")
DEFAULT_BACKEND = "highs"
MAX_TIME_VARS = 100_000  # binaries x[op, mode, t] the time-indexed model may have by default

OPTIONS = {
    "formulation": "'disjunctive' (Manne sequencing binaries with per-pair big-M; setups), "
    "'time' (time-indexed x[op, mode, t]: power cap, tariff, carbon, resources) or 'auto' "
    "(default: time where only it models the instance and objective, else disjunctive)",
    "backend": "'highs' (default: HiGHS through highspy, with progress and Ctrl-C) or any "
    "Pyomo solver name (cbc, glpk, gurobi, ...)",
    "mip_gap": "float >= 0: relative gap at which the MIP stops (default 0: prove optimality)",
    "max_time_vars": f"int > 0: refuse a time-indexed model with more binaries "
    f"(default {MAX_TIME_VARS:,})",
    "solver_log": "bool: the backend's log, sent to config.log when given",
    "bounds": "dict {term: max value}: only schedules with every such term <= its bound",
}


@dataclass(frozen=True)
class MilpOptions:
    """Parsed options (see OPTIONS)."""

    formulation: str
    backend: str
    mip_gap: float
    max_time_vars: int
    solver_log: bool
    bounds: dict[str, float]


def parse_options(options: dict[str, Any]) -> MilpOptions:
    """Check `options` and return them parsed (UnsupportedFeatureError names the bad one)."""
    formulation = options.get("formulation", "auto")
    if formulation not in FORMULATIONS:
        raise UnsupportedFeatureError(
            f"milp option 'formulation' = {formulation!r} is not one of {', '.join(FORMULATIONS)}"
        )
    backend = options.get("backend", DEFAULT_BACKEND)
    if not isinstance(backend, str) or not backend.strip():
        raise UnsupportedFeatureError(
            f"milp option 'backend' must be a Pyomo solver name, got {backend!r}"
        )
    gap = options.get("mip_gap", 0.0)
    if isinstance(gap, bool) or not isinstance(gap, int | float) or not 0 <= gap < math.inf:
        raise UnsupportedFeatureError(f"milp option 'mip_gap' must be a number >= 0, got {gap!r}")
    most = options.get("max_time_vars", MAX_TIME_VARS)
    if isinstance(most, bool) or not isinstance(most, int) or most < 1:
        raise UnsupportedFeatureError(
            f"milp option 'max_time_vars' must be an int > 0, got {most!r}"
        )
    log = options.get("solver_log", False)
    if not isinstance(log, bool):
        raise UnsupportedFeatureError(f"milp option 'solver_log' must be a bool, got {log!r}")
    return MilpOptions(
        formulation=formulation,
        backend=backend.strip(),
        mip_gap=float(gap),
        max_time_vars=most,
        solver_log=log,
        bounds=parse_bounds(options.get("bounds", {}), "milp"),
    )
