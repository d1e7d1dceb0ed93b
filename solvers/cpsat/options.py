"""The options `cpsat` understands (its capabilities declare them, so unknown ones are refused
before the solve; malformed values are refused here) and the CP-SAT parameters it derives from
a SolveConfig."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import numpy as np
from ortools.sat.python import cp_model

from scheduler.core.compile import CompiledInstance
from scheduler.core.errors import UnsupportedFeatureError
from scheduler.core.objective import parse_bounds
from scheduler.core.protocol import SolveConfig

# The solver-specific options cpsat understands (SolveConfig.options); anything else is refused.
OPTIONS = {
    "log_search_progress": "bool: CP-SAT's search log, sent to config.log when given",
    "cp_sat_parameters": "dict: raw SatParameters fields, applied after the derived ones",
    "bounds": "dict {term: max value}: only schedules with every such term <= its bound",
    "max_setup_arcs": "int: refuse instances whose setup circuits could have more arcs "
    f"(default {2_000_000:,})",
}
MAX_DEFAULT_WORKERS = 8
MAX_SETUP_ARCS = 2_000_000  # beyond this the circuits take longer to build than to solve


def check_limits(c: CompiledInstance, options: Mapping[str, Any]) -> None:
    """cpsat's own check (Capabilities.check): option values, then the model's size."""
    check_options(options)
    check_size(c, options)


def check_options(options: Mapping[str, Any]) -> None:
    """Refuse unknown option keys and malformed values before any model is built."""
    parse_bounds(options.get("bounds", {}), "cpsat")
    if not isinstance(options.get("log_search_progress", False), bool):
        raise UnsupportedFeatureError("cpsat option 'log_search_progress' must be a bool")
    most = options.get("max_setup_arcs", MAX_SETUP_ARCS)
    if not isinstance(most, int) or isinstance(most, bool) or most < 0:
        raise UnsupportedFeatureError("cpsat option 'max_setup_arcs' must be an int >= 0")
    raw = options.get("cp_sat_parameters", {})
    if not isinstance(raw, dict):
        raise UnsupportedFeatureError("cpsat option 'cp_sat_parameters' must be a dict")
    _set_raw(cp_model.CpSolver(), raw)


def check_size(c: CompiledInstance, options: Mapping[str, Any]) -> None:
    """Refuse an instance whose setup circuits could have more than `max_setup_arcs` arcs
    (one per ordered pair of operations that can share a machine), before building them."""
    if not c.has_setups:
        return
    busy = c.mode_duration > 0
    pairs = np.unique(np.stack([c.mode_machine[busy], c.mode_op[busy]]), axis=1)
    per_machine = np.bincount(pairs[0], minlength=c.n_machines).astype(np.int64)
    arcs = int((per_machine * (per_machine - 1)).sum())
    most = options.get("max_setup_arcs", MAX_SETUP_ARCS)
    if arcs > most:
        raise UnsupportedFeatureError(
            f"cpsat: the setup circuits could have {arcs:,} arcs (up to {per_machine.max():,} "
            f"operations on one machine), over the limit of {most:,} (option max_setup_arcs); "
            "too large for the exact model: use the heuristic solver"
        )


def configure(solver: cp_model.CpSolver, config: SolveConfig, time_limit: float | None) -> None:
    """Set time limit, workers, seed and logging from `config`, then the raw parameters."""
    params = solver.parameters
    if time_limit is not None:
        params.max_time_in_seconds = max(0.0, time_limit)
    params.num_workers = config.workers or min(MAX_DEFAULT_WORKERS, os.cpu_count() or 1)
    params.random_seed = config.seed
    params.catch_sigint_signal = False  # Ctrl-C is the caller's: it sets config.stop
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
