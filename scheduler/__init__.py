"""Production-scheduling engine: the domain model and public API (being assembled)."""

from scheduler.compile import CompiledInstance, compile_instance
from scheduler.errors import InstanceError, SolverNotFoundError, UnsupportedFeatureError
from scheduler.model import Energy, Instance, Job, Machine, Mode, Operation, Profile, Resource
from scheduler.objective import Objective
from scheduler.result import Progress, Result, SolveConfig, Solver
from scheduler.schedule import Assignment, Schedule
