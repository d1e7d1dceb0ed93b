"""Reading input text (instance files, schedule CSV) with errors a user can act on."""

from __future__ import annotations

from pathlib import Path

from scheduler.core.errors import InstanceError
from scheduler.core.limits import MAX_FILE_BYTES


def read_text(path: str | Path) -> str:
    """A text file's content; a missing or unreadable file is an InstanceError naming it."""
    try:
        if (size := Path(path).stat().st_size) > MAX_FILE_BYTES:  # before reading it all
            raise InstanceError(f"{path}: {size:,} bytes, above the limit of {MAX_FILE_BYTES:,}")
        data = Path(path).read_bytes()
    except FileNotFoundError:
        raise InstanceError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise InstanceError(f"{path}: is a directory, not a file") from None
    except OSError as exc:
        raise InstanceError(f"{path}: cannot read ({exc.strerror})") from None
    return decode(data, str(path))


def decode(data: bytes, label: str) -> str:
    """UTF-8 text (a byte-order mark is dropped); other bytes are an InstanceError."""
    if len(data) > MAX_FILE_BYTES:
        raise InstanceError(f"{label}: {len(data):,} bytes, above the limit of {MAX_FILE_BYTES:,}")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InstanceError(
            f"{label}: not UTF-8 text (byte {exc.start} cannot be decoded)"
        ) from None
