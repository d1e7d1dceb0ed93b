"""Production-scheduling engine: the domain model and public API.

import scheduler
inst = scheduler.load("benchmarks/instances/jssp/ft06.txt")
result = scheduler.solve(inst, solver="cpsat", objective="makespan", time_limit=10)
assert not scheduler.validate(inst, result.schedule)
"""

from scheduler.builder import Model
from scheduler.core.compile import CompiledInstance, compile_instance
from scheduler.core.errors import InstanceError, SolverNotFoundError, UnsupportedFeatureError
from scheduler.core.kpi import compute_kpis
from scheduler.core.model import Energy, Instance, Job, Machine, Mode, Operation, Profile, Resource
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
from scheduler.report.why import explain

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
    "solve",
    "validate",
    "write_json",
    "write_schedule_csv",
    "write_summary",
]
