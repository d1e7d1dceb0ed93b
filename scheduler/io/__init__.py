"""Reading and writing instances (JSON, classic JSSP/FJSP text, pandas frames), schedules
(CSV) and result summaries (JSON); every write is atomic."""

from scheduler.io.atomic import atomic_write
from scheduler.io.classic import read_fjsp, read_jssp
from scheduler.io.formats import load
from scheduler.io.frames import from_frames
from scheduler.io.instance_json import instance_to_dict, read_json, write_json
from scheduler.io.schedule_files import read_schedule_csv, write_schedule_csv, write_summary

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
