"""Reading an instance file in any supported format, named or guessed from the suffix."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from scheduler.core.bulk import gc_paused
from scheduler.core.errors import InstanceError
from scheduler.core.limits import quote
from scheduler.core.model import Instance
from scheduler.io.classic import read_fjsp, read_jssp
from scheduler.io.instance_json import read_json

READERS: dict[str, Callable[[Path], Instance]] = {
    "json": read_json,
    "jssp": read_jssp,
    "fjsp": read_fjsp,
}
SUFFIXES = {".json": "json", ".jss": "jssp", ".txt": "jssp", ".fjs": "fjsp"}


def guess_format(path: str | Path) -> str:
    """The format named by the file suffix (DESIGN section 6); InstanceError when unknown."""
    suffix = Path(path).suffix.lower()
    if suffix not in SUFFIXES:
        known = ", ".join(f"{s} ({f})" for s, f in SUFFIXES.items())
        raise InstanceError(
            f"{path}: cannot tell the format from the suffix {quote(suffix or '(none)')}; "
            f"pass --format {'|'.join(READERS)} (suffixes known: {known})"
        )
    return SUFFIXES[suffix]


@gc_paused
def load(path: str | Path, format: str | None = None) -> Instance:
    """The instance in file `path`, read as `format` (json, jssp, fjsp) or by its suffix."""
    name = format.lower() if format else guess_format(path)
    if name not in READERS:
        raise InstanceError(f"unknown format {quote(format)}; known formats: {', '.join(READERS)}")
    return READERS[name](Path(path))
