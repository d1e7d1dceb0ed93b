"""What `cpsat` refuses (energy constraints and terms, unknown options) and the CP-SAT
parameters it derives from a SolveConfig, so nothing asked for is silently dropped."""

from __future__ import annotations

import os
from typing import Any

import numpy as np
from ortools.sat.python import cp_model

from scheduler.compile import CompiledInstance
from scheduler.errors import UnsupportedFeatureError
from scheduler.objective import ENERGY_TERMS, Objective
from scheduler.result import SolveConfig

LATER = "is not modelled by the cpsat solver yet (the energy issue lands later)"

# The solver-specific options cpsat understands (SolveConfig.options); anything else is refused.
OPTIONS = {
    "log_search_progress": "bool: CP-SAT's search log, sent to config.log when given",
    "cp_sat_parameters": "dict: raw SatParameters fields, applied after the derived ones",
}
MAX_DEFAULT_WORKERS = 8


def refuse_unsupported(compiled: CompiledInstance, objective: Objective) -> None:
    """Raise UnsupportedFeatureError for energy constraints and energy objective terms.
    Tariffs, carbon profiles and idle power only feed KPIs, so they are accepted."""
    energy_terms = sorted(objective.terms & ENERGY_TERMS)
    if energy_terms:
        raise UnsupportedFeatureError(f"objective term {energy_terms[0]!r} {LATER}")
    if compiled.power_cap_start.size > 0:
        raise UnsupportedFeatureError(f"the power cap (energy.power_cap_kw) {LATER}")
    if not np.isnan(compiled.carbon_cap_kg):
        raise UnsupportedFeatureError(f"the carbon cap (energy.carbon_cap_kg) {LATER}")


def check_options(options: dict[str, Any]) -> None:
    """Refuse unknown option keys and malformed values before any model is built."""
    unknown = sorted(set(options) - set(OPTIONS))
    if unknown:
        known = ", ".join(sorted(OPTIONS))
        raise UnsupportedFeatureError(
            f"cpsat does not know the option(s) {', '.join(map(repr, unknown))} (known: {known})"
        )
    if not isinstance(options.get("log_search_progress", False), bool):
        raise UnsupportedFeatureError("cpsat option 'log_search_progress' must be a bool")
    raw = options.get("cp_sat_parameters", {})
    if not isinstance(raw, dict):
        raise UnsupportedFeatureError("cpsat option 'cp_sat_parameters' must be a dict")
    _set_raw(cp_model.CpSolver(), raw)


def configure(solver: cp_model.CpSolver, config: SolveConfig, time_limit: float | None) -> None:
    """Set time limit, workers, seed and logging from `config`, then the raw parameters."""
    params = solver.parameters
    if time_limit is not None:
        params.max_time_in_seconds = max(0.0, time_limit)
    params.num_workers = config.workers or min(MAX_DEFAULT_WORKERS, os.cpu_count() or 1)
    params.random_seed = config.seed
    if config.options.get("log_search_progress", False):
        params.log_search_progress = True
        if config.log is not None:
            params.log_to_stdout = False
            solver.log_callback = config.log
    _set_raw(solver, config.options.get("cp_sat_parameters", {}))


def _set_raw(solver: cp_model.CpSolver, raw: dict[str, Any]) -> None:
    """Copy raw SatParameters fields onto `solver`, refusing unknown fields or bad values."""
    for key, value in raw.items():
        try:
            setattr(solver.parameters, key, value)
        except (AttributeError, TypeError, ValueError) as error:
            raise UnsupportedFeatureError(
                f"cpsat option cp_sat_parameters[{key!r}] = {value!r} is not a valid "
                f"SatParameters field/value: {str(error).splitlines()[0]}"
            ) from None
