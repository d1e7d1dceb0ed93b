"""Reading and writing instances (JSON, classic JSSP/FJSP text, pandas frames), schedules
(CSV) and result summaries (JSON); every write is atomic.

Public names load their module on first use (PEP 562): reading JSON does not import pandas."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_EXPORTS = {
    "atomic_write": "scheduler.io.atomic",
    "from_frames": "scheduler.io.frames",
    "instance_to_dict": "scheduler.io.instance_json",
    "load": "scheduler.io.formats",
    "read_fjsp": "scheduler.io.classic",
    "read_json": "scheduler.io.instance_json",
    "read_jssp": "scheduler.io.classic",
    "read_schedule_csv": "scheduler.io.schedule_files",
    "write_json": "scheduler.io.instance_json",
    "write_schedule_csv": "scheduler.io.schedule_files",
    "write_summary": "scheduler.io.schedule_files",
}
__all__ = [
    "atomic_write",
    "from_frames",
    "instance_to_dict",
    "load",
    "read_fjsp",
    "read_json",
    "read_jssp",
    "read_schedule_csv",
    "write_json",
    "write_schedule_csv",
    "write_summary",
]

if TYPE_CHECKING:
    from scheduler.io.atomic import atomic_write
    from scheduler.io.classic import read_fjsp, read_jssp
    from scheduler.io.formats import load
    from scheduler.io.frames import from_frames
    from scheduler.io.instance_json import instance_to_dict, read_json, write_json
    from scheduler.io.schedule_files import read_schedule_csv, write_schedule_csv, write_summary


def __getattr__(name: str) -> Any:
    """Import a public name from its module on first use."""
    if name not in _EXPORTS:
        raise AttributeError(f"module 'scheduler.io' has no attribute {name!r}")
    value = getattr(importlib.import_module(_EXPORTS[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
