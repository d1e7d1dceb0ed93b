"""Gantt charts of a schedule: machines as rows, operations as bars coloured by job, setups as
hatched grey spans before the operation they prepare, unavailability windows as dark blocks.

Drawn on a bare Agg `Figure` (no pyplot state), so it works headless and from threads."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import numpy as np
from matplotlib import colormaps
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import to_rgb
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from scheduler.core.model import Instance
from scheduler.core.schedule import Assignment, Schedule
from scheduler.io import atomic_write

LEGEND_MAX_JOBS = 20  # above this many jobs the colours are kept but the legend is left out
LABEL_MAX_OPS = 400  # above this many operations bars carry no text
LABEL_FONT_PT = 7.0
WIDTH_IN = 12.0
ROW_IN = 0.45
SETUP_FACE, SETUP_EDGE, SETUP_HATCH = "0.88", "0.45", "////"
WINDOW_FACE, WINDOW_EDGE, WINDOW_HATCH = "0.25", "0.65", "xx"


def image_format(path: str | Path) -> str:
    """The image format named by `path`'s suffix; ValueError if matplotlib cannot write it."""
    suffix = Path(path).suffix.lower().lstrip(".")
    supported = FigureCanvasAgg.get_supported_filetypes()
    if suffix not in supported:
        known = ", ".join(sorted(supported))
        raise ValueError(f"{path}: cannot write an image of type {suffix!r} (known: {known})")
    return suffix


def gantt(schedule: Schedule, path: str | Path | None = None, title: str | None = None) -> Figure:
    """Draw `schedule` as a Gantt chart; when `path` is given also save it there atomically
    (the format follows the suffix: .png, .svg, .pdf, ...)."""
    instance = schedule.instance
    fmt = image_format(path) if path is not None else None
    machines = [m.id for m in instance.machines]
    row = {m: i for i, m in enumerate(machines)}
    x_max = max(schedule.makespan, 1) * 1.03
    fig = Figure(figsize=(WIDTH_IN, max(2.6, 1.6 + ROW_IN * len(machines))), layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()

    spans = setup_spans(schedule)
    _draw_windows(ax, instance, row, x_max)
    _draw_setups(ax, spans, row)
    colours = _job_colours([job.id for job in instance.jobs])
    _draw_operations(ax, schedule.assignments, row, colours, x_max)

    makespan = schedule.makespan
    ax.axvline(makespan, color="0.3", linestyle="--", linewidth=1)
    ax.set_yticks(range(len(machines)), machines)
    ax.set_ylim(len(machines) - 0.5, -0.5)
    ax.set_xlim(0, x_max)
    unit = instance.time_unit_minutes
    ax.set_xlabel("time (ticks)" if unit == 1 else f"time (ticks of {unit:g} min)")
    ax.grid(axis="x", color="0.9", linewidth=0.8)
    ax.set_axisbelow(True)
    ax.set_title(title if title is not None else f"{instance.name}: makespan {makespan}")
    _legend(
        ax,
        colours,
        has_setups=bool(spans),
        has_windows=any(m.unavailable for m in instance.machines),
    )
    if path is not None:
        atomic_write(Path(path), lambda temp: fig.savefig(temp, format=fmt, dpi=120))
    return fig


def _draw_windows(ax: Axes, instance: Instance, row: dict[str, int], x_max: float) -> None:
    """Unavailability windows, clipped to the drawn time range."""
    ys, lefts, widths = [], [], []
    for machine in instance.machines:
        for start, end in machine.unavailable:
            if start < x_max:
                ys.append(row[machine.id])
                lefts.append(start)
                widths.append(min(end, x_max) - start)
    if ys:
        ax.barh(
            ys,
            widths,
            left=lefts,
            height=0.8,
            linewidth=0.5,
            facecolor=WINDOW_FACE,
            edgecolor=WINDOW_EDGE,
            hatch=WINDOW_HATCH,
        )


def _draw_setups(ax: Axes, spans: list[tuple[str, int, int]], row: dict[str, int]) -> None:
    """Setup spans as hatched grey bars on their machine's row."""
    if spans:
        ys = [row[m] for m, _, _ in spans]
        lefts = [s for _, s, _ in spans]
        widths = [e - s for _, s, e in spans]
        ax.barh(
            ys,
            widths,
            left=lefts,
            height=0.6,
            linewidth=0.5,
            facecolor=SETUP_FACE,
            edgecolor=SETUP_EDGE,
            hatch=SETUP_HATCH,
        )


def setup_spans(schedule: Schedule) -> list[tuple[str, int, int]]:
    """(machine, start, end) of every setup: the latest window-free stretch of the setup's
    length between two consecutive operations on a machine (DESIGN section 11 places the setup
    right before the operation it prepares; a window in between pushes it earlier)."""
    instance = schedule.instance
    family = {op.id: op.family for _, op in instance.operations}
    windows = {m.id: sorted(m.unavailable, reverse=True) for m in instance.machines}
    by_machine: dict[str, list[Assignment]] = defaultdict(list)
    for a in schedule.assignments:
        by_machine[a.machine].append(a)
    spans = []
    for machine, rows in by_machine.items():
        rows.sort(key=lambda a: (a.start, a.end))
        for before, after in zip(rows, rows[1:], strict=False):
            length = instance.setup(
                machine, family.get(before.operation), family.get(after.operation)
            )
            end = after.start
            for w_start, w_end in windows.get(machine, []):
                if w_start < end and end - length < w_end:
                    end = w_start
            if length > 0 and end - length >= before.end:
                spans.append((machine, end - length, end))
    return spans


def _draw_operations(
    ax: Axes,
    assignments: tuple[Assignment, ...],
    row: dict[str, int],
    colours: dict[str, tuple[float, float, float]],
    x_max: float,
) -> None:
    """One bar per operation in its job's colour, labelled with the operation id if it fits."""
    ys = [row[a.machine] for a in assignments]
    lefts = [a.start for a in assignments]
    widths = [a.end - a.start for a in assignments]
    face = [colours[a.job] for a in assignments]
    ax.barh(ys, widths, left=lefts, height=0.6, color=face, edgecolor="0.15", linewidth=0.6)
    if len(assignments) > LABEL_MAX_OPS:
        return
    ticks_per_char = x_max / (WIDTH_IN - 2.5) * LABEL_FONT_PT * 0.62 / 72
    for a, y, colour in zip(assignments, ys, face, strict=True):
        if (a.end - a.start) >= (len(a.operation) + 1) * ticks_per_char:
            luminance = float(np.dot(colour, (0.299, 0.587, 0.114)))
            ax.text(
                (a.start + a.end) / 2,
                y,
                a.operation,
                ha="center",
                va="center",
                fontsize=LABEL_FONT_PT,
                color="black" if luminance > 0.5 else "white",
            )


def _job_colours(jobs: list[str]) -> dict[str, tuple[float, float, float]]:
    """A distinct colour per job: tab10/tab20 for few jobs, a shuffled turbo ramp for many."""
    n = len(jobs)
    if n <= 10:
        palette = [to_rgb(colormaps["tab10"](i)) for i in range(n)]
    elif n <= 20:
        palette = [to_rgb(colormaps["tab20"](i)) for i in range(n)]
    else:
        ramp = colormaps["turbo"](np.linspace(0.05, 0.95, n))[:, :3]
        palette = [tuple(ramp[i]) for i in np.random.default_rng(0).permutation(n)]
    return {
        job: (float(c[0]), float(c[1]), float(c[2])) for job, c in zip(jobs, palette, strict=True)
    }


def _legend(
    ax: Axes, colours: dict[str, tuple[float, float, float]], has_setups: bool, has_windows: bool
) -> None:
    """Jobs (when few enough), then setup and unavailability keys when the chart shows them."""
    handles = []
    if len(colours) <= LEGEND_MAX_JOBS:
        handles += [Patch(facecolor=c, edgecolor="0.15", label=job) for job, c in colours.items()]
    if has_setups:
        handles.append(
            Patch(label="setup", facecolor=SETUP_FACE, edgecolor=SETUP_EDGE, hatch=SETUP_HATCH)
        )
    if has_windows:
        handles.append(
            Patch(
                label="unavailable",
                facecolor=WINDOW_FACE,
                edgecolor=WINDOW_EDGE,
                hatch=WINDOW_HATCH,
            )
        )
    if handles:
        ax.legend(
            handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False
        )
