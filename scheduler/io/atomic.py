"""Atomic file writes: the content goes to a temporary file beside the target, which then
replaces the target in one step, so a failure never leaves a half-written file or clobbers a
good one (DESIGN section 8)."""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Callable
from pathlib import Path

Writer = Callable[[Path], object]


def atomic_write(path: str | Path, writer: Writer | str | bytes) -> Path:
    """Write `path` atomically and return it. `writer` is text, bytes, or a callback that
    writes the whole content to the temporary path it is given (e.g. `fig.savefig`)."""
    target = Path(path)
    temp = _create_temp(target)
    try:
        if isinstance(writer, str):
            temp.write_text(writer, encoding="utf-8")
        elif isinstance(writer, bytes):
            temp.write_bytes(writer)
        else:
            writer(temp)
        with open(temp, "rb+") as handle:
            os.fsync(handle.fileno())
        if target.exists():
            os.chmod(temp, target.stat().st_mode & 0o7777)
        os.replace(temp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            temp.unlink()
        raise
    return target


def _create_temp(target: Path) -> Path:
    """A new empty file beside `target` (same directory, so `os.replace` is a rename), created
    with the process umask like any other output; it keeps the target's suffix so writers
    that infer a format from the name still work."""
    while True:
        temp = target.with_name(f".{target.name}.{secrets.token_hex(4)}.tmp{target.suffix}")
        try:
            fd = os.open(temp, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666)
        except FileExistsError:
            continue
        os.close(fd)
        return temp
