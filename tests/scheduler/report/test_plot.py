"""The Gantt chart: one bar per operation, setups placed before the operation they prepare (and
before a window in between), windows drawn, files written atomically in the asked format."""

from __future__ import annotations

from pathlib import Path
from types import MappingProxyType

import pytest
from matplotlib.collections import PolyCollection
from matplotlib.patches import Rectangle

from scheduler.core.model import Instance, Job, Machine, Mode, Operation
from scheduler.core.schedule import Assignment, Schedule
from scheduler.report.plot import (
    MAX_HEIGHT_IN,
    MAX_ROW_LABELS,
    PATCH_MAX_BARS,
    gantt,
    image_format,
    setup_spans,
)


def _schedule() -> Schedule:
    """M1 runs A (family x) then B (family y, setup 3) with a window [10, 12) right before B,
    so the setup lies in [7, 10); M2 runs C then D without families (no setup)."""
    machines = (Machine("M1", unavailable=((10, 12), (40, 900))), Machine("M2"))
    jobs = (
        Job("J1", (Operation("A", (Mode("M1", 5),), family="x"),)),
        Job("J2", (Operation("B", (Mode("M1", 4),), family="y"),)),
        Job("J3", (Operation("C", (Mode("M2", 6),)), Operation("D", (Mode("M2", 2),)))),
    )
    setups = MappingProxyType({"M1": {"x": {"y": 3}}})
    instance = Instance(machines, jobs, setup_times=setups)
    rows = (
        Assignment("J1", "A", "M1", 0, 0, 5),
        Assignment("J2", "B", "M1", 0, 12, 16),
        Assignment("J3", "C", "M2", 0, 0, 6),
        Assignment("J3", "D", "M2", 0, 6, 8),
    )
    return Schedule(instance, rows)


def test_setups_are_placed_late_but_before_an_intervening_window() -> None:
    assert setup_spans(_schedule()) == [("M1", 7, 10)]


def test_the_chart_draws_operations_setups_and_clipped_windows() -> None:
    figure = gantt(_schedule(), title="demo")
    ax = figure.axes[0]
    bars = [p for p in ax.patches if isinstance(p, Rectangle)]
    spans = sorted((round(b.get_x(), 6), round(b.get_width(), 6)) for b in bars)
    # 4 operations, 1 setup, the window [10, 12) and the window [40, 900) clipped away
    assert spans == [(0, 5), (0, 6), (6, 2), (7, 3), (10, 2), (12, 4)]
    assert ax.get_title() == "demo"
    assert [t.get_text() for t in ax.get_yticklabels()] == ["M1", "M2"]
    legend = ax.get_legend()
    assert legend is not None
    assert [t.get_text() for t in legend.get_texts()] == ["J1", "J2", "J3", "setup", "unavailable"]


@pytest.mark.parametrize(("name", "magic"), [("g.png", b"\x89PNG"), ("g.svg", b"<?xml")])
def test_saved_files_have_the_format_of_their_suffix(
    tmp_path: Path, name: str, magic: bytes
) -> None:
    gantt(_schedule(), tmp_path / name)
    assert (tmp_path / name).read_bytes().startswith(magic)
    assert [p.name for p in tmp_path.iterdir()] == [name]


def test_an_unknown_image_type_is_refused_before_anything_is_written(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="'docx'"):
        gantt(_schedule(), tmp_path / "g.docx")
    with pytest.raises(ValueError, match="'docx'"):
        image_format("chart.docx")
    assert list(tmp_path.iterdir()) == []


def test_large_charts_draw_one_collection_at_a_bounded_size() -> None:
    """Past PATCH_MAX_BARS operations the bars are one collection, each at its start, end
    and machine row (a patch each took 16 s on a 20,000-operation plan), and a chart of
    thousands of job rows stays MAX_HEIGHT_IN tall with at most MAX_ROW_LABELS names (2,000
    rows were 900 inches, 1 GB of pixels)."""
    n = PATCH_MAX_BARS + 100
    machines = (Machine("M1"), Machine("M2"))
    jobs = tuple(Job(f"J{j}", (Operation(f"O{j}", (Mode(f"M{1 + j % 2}", 3),)),)) for j in range(n))
    rows = tuple(
        Assignment(f"J{j}", f"O{j}", f"M{1 + j % 2}", 0, 3 * (j // 2), 3 * (j // 2) + 3)
        for j in range(n)
    )
    schedule = Schedule(Instance(machines, jobs), rows)
    ax = gantt(schedule).axes[0]
    bars = [c for c in ax.collections if isinstance(c, PolyCollection)]
    assert len(bars) == 1 and len(bars[0].get_paths()) == n
    assert not [p for p in ax.patches if isinstance(p, Rectangle)]
    last = bars[0].get_paths()[-1].vertices[:4].tolist()  # O{n-1}, the last on its machine
    end = 3 * ((n - 1) // 2) + 3
    assert last == [[end - 3, 1 - 0.3], [end, 1 - 0.3], [end, 1 + 0.3], [end - 3, 1 + 0.3]]
    by_job = gantt(schedule, by="job")
    assert by_job.get_figheight() == MAX_HEIGHT_IN
    assert 0 < len(by_job.axes[0].get_yticklabels()) <= MAX_ROW_LABELS
