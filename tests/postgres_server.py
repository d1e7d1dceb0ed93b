"""A throwaway PostgreSQL server for the SQL tests: the one CI starts (its URL in
PRODSCHED_TEST_POSTGRES_URL), or else one started here from Debian's binaries in a temporary
folder on 127.0.0.1 (as the `postgres` user when run as root, which postgres refuses)."""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ENV = "PRODSCHED_TEST_POSTGRES_URL"


def _binaries() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def postgres_url() -> Iterator[str]:
    """Yield the URL of a running server with an empty test database; RuntimeError with the
    reason when none can be had."""
    if os.environ.get(ENV):
        yield os.environ[ENV]
        return
    bin_dir = _binaries()
    if bin_dir is None:
        raise RuntimeError("no PostgreSQL binaries (apt-get install postgresql)")
    as_user: list[str] = []
    folder = Path(tempfile.mkdtemp(prefix="prodsched-pg-"))
    if os.geteuid() == 0:
        if shutil.which("runuser") is None:
            raise RuntimeError("running as root without runuser to start postgres as a user")
        shutil.chown(folder, "postgres")
        as_user = ["runuser", "-u", "postgres", "--"]
    data, port = folder / "data", _free_port()

    def run(*argv: str) -> None:
        done = subprocess.run([*as_user, *argv], capture_output=True, text=True, timeout=120)
        if done.returncode != 0:
            raise RuntimeError(f"{Path(argv[0]).name} failed: {done.stderr.strip()[-300:]}")

    started = False
    try:
        run(str(bin_dir / "initdb"), "-D", str(data), "--auth=trust", "-U", "postgres")
        options = f"-p {port} -k {folder} -c listen_addresses=127.0.0.1"
        log = str(folder / "log")
        run(str(bin_dir / "pg_ctl"), "-D", str(data), "-o", options, "-l", log, "-w", "start")
        started = True
        run(str(bin_dir / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "t")
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/t"
    finally:
        if started:
            subprocess.run(
                [*as_user, str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "fast", "stop"],
                capture_output=True,
                timeout=120,
            )
        shutil.rmtree(folder, ignore_errors=True)
