"""The HTML report: one self-contained page (no external file, charts as base64 PNG) with the
KPIs, charts, late jobs and critical path, which headless Chromium renders without console
errors; its screenshot is kept beside the page."""

from __future__ import annotations

import base64
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

import scheduler
from scheduler.core.result import Result
from scheduler.core.schedule import Assignment, Schedule
from scheduler.report.html import render_report, write_report

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
ERROR = re.compile(r"CONSOLE[:(]\d+|Uncaught|Failed to load resource|ERR_FILE_NOT_FOUND")


def _result() -> Result:
    """The DESIGN example on the clock, run one operation after another (one job late)."""
    from io_examples import design_example

    data = design_example()
    data["start"] = "2026-12-01T06:00:00"
    instance = scheduler.read_json(data)
    rows, t = [], 0
    for job, op in instance.operations:
        mode = op.modes[-1]
        rows.append(
            Assignment(job.id, op.id, mode.machine, len(op.modes) - 1, t, t + mode.duration)
        )
        t += mode.duration + 600
    schedule = Schedule(instance, tuple(rows))
    result = Result("feasible", "test", schedule, objective=float(t), bound=float(t) / 2)
    result.kpis = scheduler.compute_kpis(instance, schedule)
    return result


def _render(page: Path, shot: Path, profile: Path) -> subprocess.CompletedProcess[str]:
    assert CHROMIUM is not None
    argv = [
        CHROMIUM,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        f"--user-data-dir={profile}",
        "--enable-logging=stderr",
        "--v=0",
        "--window-size=1400,2400",
        f"--screenshot={shot}",
        page.resolve().as_uri(),
    ]
    return subprocess.run(argv, capture_output=True, text=True, timeout=120)


def test_the_page_is_self_contained_and_holds_every_part() -> None:
    page = render_report(_result(), "makespan")
    assert "<script" not in page and 'src="http' not in page and "<link" not in page
    images = re.findall(r'src="data:image/png;base64,([^"]+)"', page)
    assert len(images) == 4  # Gantt by machine and by job, power, utilisation
    assert all(base64.b64decode(i)[:4] == b"\x89PNG" for i in images)
    for text in ("Late jobs (1)", "J1-2", "Critical path", "2026-12-01 06:00", "best found in"):
        assert text in page


@pytest.mark.skipif(
    CHROMIUM is None and not os.environ.get("CI"), reason="chromium is not installed"
)
def test_chromium_renders_the_report_without_console_errors(tmp_path: Path) -> None:
    page = write_report(_result(), tmp_path / "plan.html", "makespan")
    shot = tmp_path / "plan.png"
    done = _render(page, shot, tmp_path / "profile")
    assert done.returncode == 0, done.stderr[-2000:]
    assert not ERROR.findall(done.stderr), done.stderr[-2000:]
    assert shot.read_bytes()[:4] == b"\x89PNG" and shot.stat().st_size > 50_000
    # the check itself catches a page that logs an error
    broken = tmp_path / "broken.html"
    broken.write_text("<html><body><script>console.error('boom')</script></body></html>")
    assert ERROR.search(_render(broken, tmp_path / "b.png", tmp_path / "p2").stderr)
