"""Production-scheduling engine: the domain model and public API.

import scheduler
inst = scheduler.load("benchmarks/instances/jssp/ft06.txt")
result = scheduler.solve(inst, solver="cpsat", objective="makespan", time_limit=10)
assert not scheduler.validate(inst, result.schedule)
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

# public name -> the module that defines it; imported on first use (PEP 562), so that
# `import scheduler` and the command line start fast and load pandas, the solvers or
# matplotlib only when a caller touches what needs them
_EXPORTS = {
    "Assignment": "scheduler.core.schedule",
    "available_solvers": "scheduler.core.registry",
    "compile_instance": "scheduler.core.compile",
    "CompiledInstance": "scheduler.core.compile",
    "compute_kpis": "scheduler.core.kpi",
    "Energy": "scheduler.core.model",
    "explain": "scheduler.report.why",
    "from_frames": "scheduler.io",
    "get_solver": "scheduler.core.registry",
    "Instance": "scheduler.core.model",
    "InstanceError": "scheduler.core.errors",
    "InvalidScheduleError": "scheduler.core.solve",
    "Job": "scheduler.core.model",
    "load": "scheduler.io",
    "Machine": "scheduler.core.model",
    "Mode": "scheduler.core.model",
    "Model": "scheduler.builder",
    "Objective": "scheduler.core.objective",
    "Operation": "scheduler.core.model",
    "Profile": "scheduler.core.model",
    "Progress": "scheduler.core.result",
    "read_fjsp": "scheduler.io",
    "read_json": "scheduler.io",
    "read_jssp": "scheduler.io",
    "read_schedule_csv": "scheduler.io",
    "Replan": "scheduler.replan",
    "reschedule": "scheduler.replan",
    "Resource": "scheduler.core.model",
    "Result": "scheduler.core.result",
    "Schedule": "scheduler.core.schedule",
    "solve": "scheduler.core.solve",
    "stability_kpis": "scheduler.core.kpi",
    "SolveConfig": "scheduler.core.protocol",
    "Solver": "scheduler.core.protocol",
    "SolverNotFoundError": "scheduler.core.errors",
    "UnsupportedFeatureError": "scheduler.core.errors",
    "validate": "scheduler.core.validate",
    "Violation": "scheduler.core.validate",
    "write_json": "scheduler.io",
    "write_schedule_csv": "scheduler.io",
    "write_summary": "scheduler.io",
}
__all__ = [
    "Assignment",
    "CompiledInstance",
    "Energy",
    "Instance",
    "InstanceError",
    "InvalidScheduleError",
    "Job",
    "Machine",
    "Mode",
    "Model",
    "Objective",
    "Operation",
    "Profile",
    "Progress",
    "Resource",
    "Replan",
    "Result",
    "Schedule",
    "SolveConfig",
    "Solver",
    "SolverNotFoundError",
    "UnsupportedFeatureError",
    "Violation",
    "available_solvers",
    "compile_instance",
    "compute_kpis",
    "explain",
    "from_frames",
    "get_solver",
    "load",
    "read_fjsp",
    "read_json",
    "read_jssp",
    "read_schedule_csv",
    "reschedule",
    "solve",
    "stability_kpis",
    "validate",
    "write_json",
    "write_schedule_csv",
    "write_summary",
]

if TYPE_CHECKING:
    from scheduler.builder import Model
    from scheduler.core.compile import CompiledInstance, compile_instance
    from scheduler.core.errors import InstanceError, SolverNotFoundError, UnsupportedFeatureError
    from scheduler.core.kpi import compute_kpis, stability_kpis
    from scheduler.core.model import (
        Energy,
        Instance,
        Job,
        Machine,
        Mode,
        Operation,
        Profile,
        Resource,
    )
    from scheduler.core.objective import Objective
    from scheduler.core.protocol import SolveConfig, Solver
    from scheduler.core.registry import available_solvers, get_solver
    from scheduler.core.result import Progress, Result
    from scheduler.core.schedule import Assignment, Schedule
    from scheduler.core.solve import InvalidScheduleError, solve
    from scheduler.core.validate import Violation, validate
    from scheduler.io import (
        from_frames,
        load,
        read_fjsp,
        read_json,
        read_jssp,
        read_schedule_csv,
        write_json,
        write_schedule_csv,
        write_summary,
    )
    from scheduler.replan import Replan, reschedule
    from scheduler.report.why import explain


def __getattr__(name: str) -> Any:
    """Import a public name from its module on first use."""
    if name not in _EXPORTS:
        raise AttributeError(f"module 'scheduler' has no attribute {name!r}")
    value = getattr(importlib.import_module(_EXPORTS[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
