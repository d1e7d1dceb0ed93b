"""Reading input text (instance files, schedule CSV) with errors a user can act on."""

from __future__ import annotations

from pathlib import Path

from scheduler.core.errors import InstanceError


def read_text(path: str | Path) -> str:
    """A text file's content; a missing or unreadable file is an InstanceError naming it."""
    try:
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
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InstanceError(
            f"{label}: not UTF-8 text (byte {exc.start} cannot be decoded)"
        ) from None
