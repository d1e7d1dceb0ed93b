"""Re-planning a running schedule after disruptions: events (`events`), the updated instance
with the past frozen (`update`), the right-shift repair (`right_shift`) and the facade
`reschedule` with its policies (`reschedule`)."""

from scheduler.replan.events import (
    CancelJob,
    Event,
    MachineDown,
    OperationDelay,
    Redo,
    RushOrder,
    read_events,
)
from scheduler.replan.reschedule import POLICIES, Replan, reschedule
from scheduler.replan.update import Update, update_instance

__all__ = [
    "POLICIES",
    "CancelJob",
    "Event",
    "MachineDown",
    "OperationDelay",
    "Redo",
    "Replan",
    "RushOrder",
    "Update",
    "read_events",
    "reschedule",
    "update_instance",
]
