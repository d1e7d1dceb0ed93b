"""Charts of a schedule, with units on every axis (ticks, or clock time when the instance has a
`start`; kW, kWh, kg CO2):
- `gantt`: by machine (bars coloured by job, setups as hatched grey spans before the operation
  they prepare, unavailability windows as dark blocks) or by job (bars coloured by machine);
  operation labels where they fit, due dates marked, late jobs outlined in red;
- `power_profile`: the processing load against the power cap, the tariff and carbon intensity
  drawn behind it;
- `utilisation`: each machine's busy, setup, unavailable and idle share of the makespan.

Drawn on a bare Agg `Figure` (no pyplot state), so it works headless and from threads."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any, Literal

import numpy as np
from matplotlib import colormaps
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import LineCollection, PolyCollection
from matplotlib.colors import to_rgb
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter

from scheduler.core.accounting import operation_energy
from scheduler.core.clock import to_datetime
from scheduler.core.model import Instance, Profile
from scheduler.core.schedule import Assignment, Schedule
from scheduler.io import atomic_write
from scheduler.report.why import late_jobs, machine_loads, setup_spans

__all__ = ["gantt", "image_format", "png_bytes", "power_profile", "setup_spans", "utilisation"]

LEGEND_MAX_JOBS = 20  # above this many jobs the colours are kept but the legend is left out
LABEL_MAX_OPS = 400  # above this many operations bars carry no text
PATCH_MAX_BARS = 400  # past this many bars of a kind they are drawn as one collection, not a
# patch each (about 1 ms a bar): the 2,000-job plant's 20,000 operations and 7,000 setups took
# 16 s as patches, a 1,500-operation plant 2 s
HATCH_MAX_SETUPS = 200  # setups are hatched up to this many (hatching costs about 0.35 ms a
# setup: a 1,500-operation plant's 900 setups took 0.32 s of its chart's 0.65 s)
OUTLINE_MAX_BARS = 2000  # operations are outlined up to this many: past it, bars a few pixels
# wide would show their outlines, not their colours
MAX_HEIGHT_IN = 40.0  # charts grow ROW_IN a row up to this: 2,000 job rows would be 900 in
MAX_ROW_LABELS = 120  # past this many rows only every k-th row is named
LABEL_FONT_PT = 7.0
WIDTH_IN = 12.0
ROW_IN = 0.45
SETUP_FACE, SETUP_EDGE, SETUP_HATCH = "0.88", "0.45", "////"
WINDOW_FACE, WINDOW_EDGE, WINDOW_HATCH = "0.25", "0.65", "xx"
LATE = "#d62728"
DPI = 120

Colour = tuple[float, float, float]


def image_format(path: str | Path) -> str:
    """The image format named by `path`'s suffix; ValueError if matplotlib cannot write it."""
    suffix = Path(path).suffix.lower().lstrip(".")
    supported = FigureCanvasAgg.get_supported_filetypes()
    if suffix not in supported:
        known = ", ".join(sorted(supported))
        raise ValueError(f"{path}: cannot write an image of type {suffix!r} (known: {known})")
    return suffix


def _figure(height: float) -> tuple[Figure, Axes]:
    fig = Figure(figsize=(WIDTH_IN, height), layout="constrained")
    FigureCanvasAgg(fig)
    return fig, fig.add_subplot()


def png_bytes(fig: Figure) -> bytes:
    """`fig` as PNG, as `gantt` and the others save it to a `.png` path."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI)
    return buffer.getvalue()


def _save(fig: Figure, path: str | Path | None, fmt: str | None) -> Figure:
    if path is not None:
        atomic_write(Path(path), lambda temp: fig.savefig(temp, format=fmt, dpi=DPI))
    return fig


def time_axis(ax: Axes, instance: Instance, span: float) -> None:
    """Label the x axis in ticks, or in clock time when the instance has a start."""
    unit = instance.time_unit_minutes
    start = instance.start
    if start is None:
        ax.set_xlabel("time (ticks)" if unit == 1 else f"time (ticks of {unit:g} min)")
        return
    minutes = span * unit
    pattern = "%H:%M" if minutes <= 1440 else "%d %b %H:%M"

    def clock(tick: float, _: object) -> str:
        return to_datetime(start, unit, round(tick)).strftime(pattern)

    ax.xaxis.set_major_formatter(FuncFormatter(clock))
    offset = start.strftime(" %z") if start.utcoffset() is not None else ""
    ax.set_xlabel(
        f"clock time (tick 0 = {start.strftime('%Y-%m-%d %H:%M')}{offset}; 1 tick = {unit:g} min)"
    )


def gantt(
    schedule: Schedule,
    path: str | Path | None = None,
    title: str | None = None,
    by: Literal["machine", "job"] = "machine",
) -> Figure:
    """Draw `schedule` as a Gantt chart with a row per machine (or per job, `by="job"`); when
    `path` is given also save it there atomically (the format follows the suffix)."""
    if by not in ("machine", "job"):
        raise ValueError(f"gantt: by must be 'machine' or 'job', got {by!r}")
    instance = schedule.instance
    fmt = image_format(path) if path is not None else None
    rows = [m.id for m in instance.machines] if by == "machine" else [j.id for j in instance.jobs]
    row = {r: i for i, r in enumerate(rows)}
    makespan = schedule.makespan
    dues = [j.due for j in instance.jobs if j.due is not None]
    x_max = max(makespan, *dues, 1) * 1.03 if by == "job" and dues else max(makespan, 1) * 1.03
    fig, ax = _figure(min(MAX_HEIGHT_IN, max(2.6, 1.6 + ROW_IN * len(rows))))
    late = {item.job for item in late_jobs(schedule)}

    spans = setup_spans(schedule) if by == "machine" else []
    if by == "machine":
        _draw_windows(ax, instance, row, x_max)
        _draw_setups(ax, spans, row)
        colours = _colours([job.id for job in instance.jobs])
        keys = [a.job for a in schedule.assignments]
        ys = [row[a.machine] for a in schedule.assignments]
    else:
        colours = _colours([m.id for m in instance.machines])
        keys = [a.machine for a in schedule.assignments]
        ys = [row[a.job] for a in schedule.assignments]
        _draw_dues(ax, instance, row, late)
    _draw_operations(ax, schedule.assignments, ys, [colours[k] for k in keys], late, x_max)

    ax.axvline(makespan, color="0.3", linestyle="--", linewidth=1)
    stride = -(-len(rows) // MAX_ROW_LABELS)
    ax.set_yticks(range(0, len(rows), stride), rows[::stride])
    if by == "job":
        for label in ax.get_yticklabels():
            if label.get_text() in late:
                label.set_color(LATE)
    ax.set_ylim(len(rows) - 0.5, -0.5)
    ax.set_xlim(0, x_max)
    time_axis(ax, instance, x_max)
    ax.grid(axis="x", color="0.9", linewidth=0.8)
    ax.set_axisbelow(True)
    default = f"{instance.name}: makespan {makespan}" + (f", {len(late)} late" if late else "")
    ax.set_title(title if title is not None else default)
    _legend(
        ax,
        colours,
        setups=spans,
        has_windows=by == "machine" and any(m.unavailable for m in instance.machines),
        has_late=bool(late) and (by == "job" or len(schedule.assignments) <= OUTLINE_MAX_BARS),
        has_dues=by == "job" and bool(dues),
    )
    return _save(fig, path, fmt)


def _bars(
    ax: Axes,
    ys: list[int],
    lefts: list[int],
    widths: list[int] | list[float],
    height: float,
    **style: Any,
) -> None:
    """Horizontal bars in the given style: a patch each (`barh`) for a few, one
    PolyCollection past PATCH_MAX_BARS (drawn many times faster)."""
    if len(ys) <= PATCH_MAX_BARS:
        ax.barh(ys, widths, left=lefts, height=height, **style)
        return
    corners_x, corners_y = np.array([0.0, 1.0, 1.0, 0.0]), np.array([-0.5, -0.5, 0.5, 0.5])
    x = np.asarray(lefts, dtype=float)[:, None] + np.outer(widths, corners_x)
    y = np.asarray(ys, dtype=float)[:, None] + height * corners_y
    colour = style.pop("color", None)
    if colour is not None:
        style["facecolor"] = colour
    ax.add_collection(PolyCollection(list(np.stack([x, y], axis=2)), **style))
    ax.autoscale_view()


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
        _bars(
            ax,
            ys,
            lefts,
            widths,
            0.8,
            linewidth=0.5,
            facecolor=WINDOW_FACE,
            edgecolor=WINDOW_EDGE,
            hatch=WINDOW_HATCH,
        )


def _setup_hatch(spans: list[tuple[str, int, int]]) -> str | None:
    """The setups' hatch: none past HATCH_MAX_SETUPS of them."""
    return SETUP_HATCH if len(spans) <= HATCH_MAX_SETUPS else None


def _draw_setups(ax: Axes, spans: list[tuple[str, int, int]], row: dict[str, int]) -> None:
    """Setup spans as grey bars on their machine's row, hatched where few."""
    if spans:
        _bars(
            ax,
            [row[m] for m, _, _ in spans],
            [s for _, s, _ in spans],
            [e - s for _, s, e in spans],
            0.6,
            linewidth=0.5,
            facecolor=SETUP_FACE,
            edgecolor=SETUP_EDGE,
            hatch=_setup_hatch(spans),
        )


def _draw_dues(ax: Axes, instance: Instance, row: dict[str, int], late: set[str]) -> None:
    """A due-date tick on each job's row: red for a late job, black otherwise."""
    due = [(job.id, job.due) for job in instance.jobs if job.due is not None]
    ticks = [[(t, row[j] - 0.42), (t, row[j] + 0.42)] for j, t in due]
    colours = [LATE if j in late else "black" for j, _ in due]
    ax.add_collection(LineCollection(ticks, colors=colours, linewidths=2.2))


def _draw_operations(
    ax: Axes,
    assignments: tuple[Assignment, ...],
    ys: list[int],
    face: list[Colour],
    late: set[str],
    x_max: float,
) -> None:
    """One bar per operation, outlined red when its job is late (up to OUTLINE_MAX_BARS),
    labelled with the operation id when it fits."""
    outlined = len(assignments) <= OUTLINE_MAX_BARS
    edges = [LATE if a.job in late else "0.15" for a in assignments] if outlined else "none"
    widths_pt = [1.8 if a.job in late else 0.6 for a in assignments] if outlined else 0.0
    _bars(
        ax,
        ys,
        [a.start for a in assignments],
        [a.end - a.start for a in assignments],
        0.6,
        color=face,
        edgecolor=edges,
        linewidth=widths_pt,
    )
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


def _colours(keys: list[str]) -> dict[str, Colour]:
    """A distinct colour per key: tab10/tab20 for few, a shuffled turbo ramp for many."""
    n = len(keys)
    if n <= 10:
        palette = [to_rgb(colormaps["tab10"](i)) for i in range(n)]
    elif n <= 20:
        palette = [to_rgb(colormaps["tab20"](i)) for i in range(n)]
    else:
        ramp = colormaps["turbo"](np.linspace(0.05, 0.95, n))[:, :3]
        palette = [tuple(ramp[i]) for i in np.random.default_rng(0).permutation(n)]
    return {k: (float(c[0]), float(c[1]), float(c[2])) for k, c in zip(keys, palette, strict=True)}


def _legend(
    ax: Axes,
    colours: dict[str, Colour],
    setups: list[tuple[str, int, int]],
    has_windows: bool,
    has_late: bool = False,
    has_dues: bool = False,
) -> None:
    """Colour keys (when few enough), then setup, window, late and due keys when shown."""
    handles: list[Patch | Line2D] = []
    if len(colours) <= LEGEND_MAX_JOBS:
        handles += [Patch(facecolor=c, edgecolor="0.15", label=k) for k, c in colours.items()]
    if setups:
        handles.append(
            Patch(
                label="setup",
                facecolor=SETUP_FACE,
                edgecolor=SETUP_EDGE,
                hatch=_setup_hatch(setups),
            )
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
    if has_late:
        handles.append(Line2D([], [], color=LATE, linewidth=1.8, label="late job"))
    if has_dues:
        handles.append(Line2D([], [], color="black", linewidth=2.2, label="due date"))
    if handles:
        ax.legend(
            handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False
        )


def _steps(profile: Profile | float, end: int) -> tuple[list[int], list[float]]:
    """Breakpoints and values of a profile (or constant) over [0, end], for a step plot."""
    if not isinstance(profile, Profile):
        return [0, end], [float(profile), float(profile)]
    xs, vs = [], []
    period = profile.period or end + 1
    for base in range(0, end + 1, period):
        for s, v in profile.steps:
            if base + s <= end:
                xs.append(base + s)
                vs.append(float(v))
    xs.append(end)
    vs.append(vs[-1])
    return xs, vs


def power_profile(schedule: Schedule, path: str | Path | None = None) -> Figure:
    """The processing load (kW) over time against the power cap, with the tariff and the
    carbon intensity drawn behind it; the title gives the energy (kWh) and carbon (kg)."""
    instance = schedule.instance
    fmt = image_format(path) if path is not None else None
    end = max(schedule.makespan, 1)
    delta: dict[int, float] = {}
    kwh = kg = 0.0
    modes = {op.id: op.modes for _, op in instance.operations}
    for a in schedule.assignments:
        power = modes[a.operation][a.mode].power_kw
        delta[a.start] = delta.get(a.start, 0.0) + power
        delta[a.end] = delta.get(a.end, 0.0) - power
        op_kwh, _, op_kg = operation_energy(instance, a)
        kwh, kg = kwh + op_kwh, kg + op_kg
    xs = sorted({0, end, *delta})
    load = np.cumsum([delta.get(x, 0.0) for x in xs])
    fig, ax = _figure(4.2)
    energy = instance.energy
    behind = [
        (energy.tariff, "tariff (currency/kWh)", "#ff7f0e"),
        (energy.carbon_intensity, "carbon intensity (kg CO2/kWh)", "#2ca02c"),
    ]
    handles: list[Patch | Line2D] = []
    for k, (profile, label, colour) in enumerate(behind):
        if profile is None:
            continue
        twin = ax.twinx()
        if k and energy.tariff is not None:
            twin.spines["right"].set_position(("axes", 1.09))
        px, pv = _steps(profile, end)
        twin.fill_between(px, pv, step="post", color=colour, alpha=0.12, linewidth=0)
        twin.step(px, pv, where="post", color=colour, linewidth=1, alpha=0.7)
        twin.set_ylabel(label, color=colour)
        twin.set_ylim(bottom=min(0.0, min(pv)))
        handles.append(Patch(facecolor=colour, alpha=0.3, label=label))
    ax.set_zorder(3)
    ax.patch.set_visible(False)
    ax.step(xs, load, where="post", color="#1f77b4", linewidth=1.6)
    ax.fill_between(xs, load, step="post", color="#1f77b4", alpha=0.35, linewidth=0)
    handles.insert(0, Patch(facecolor="#1f77b4", alpha=0.6, label="processing load (kW)"))
    if energy.power_cap_kw is not None:
        cx, cv = _steps(energy.power_cap_kw, end)
        ax.step(cx, cv, where="post", color=LATE, linewidth=1.6, linestyle="--")
        handles.insert(1, Line2D([], [], color=LATE, linestyle="--", label="power cap (kW)"))
    ax.set_xlim(0, end)
    ax.set_ylim(bottom=0)
    ax.set_ylabel("power (kW)")
    time_axis(ax, instance, end)
    ax.grid(color="0.9", linewidth=0.8)
    title = f"{instance.name}: power; energy {kwh:.4g} kWh"
    if energy.carbon_intensity is not None:
        title += f", carbon {kg:.4g} kg CO2"
    ax.set_title(title)
    ax.legend(handles=handles, loc="upper left", fontsize=8, framealpha=0.8)
    return _save(fig, path, fmt)


def utilisation(schedule: Schedule, path: str | Path | None = None) -> Figure:
    """Each machine's busy, setup, unavailable and idle share of the makespan (%)."""
    instance = schedule.instance
    fmt = image_format(path) if path is not None else None
    order = {m.id: i for i, m in enumerate(instance.machines)}
    loads = sorted(machine_loads(schedule), key=lambda m: order[m.machine])
    span = max(schedule.makespan, 1)
    fig, ax = _figure(max(2.4, 1.4 + 0.4 * len(loads)))
    ys = list(range(len(loads)))
    left = np.zeros(len(loads))
    parts = (
        ("busy", "#1f77b4", "busy"),
        ("setup", SETUP_FACE, "setup"),
        ("unavailable", WINDOW_FACE, "unavailable"),
        ("idle", "#f2f2f2", "idle"),
    )
    for field, colour, label in parts:
        share = np.array([100 * getattr(m, field) / span for m in loads])
        ax.barh(ys, share, left=left, color=colour, edgecolor="0.4", linewidth=0.5, label=label)
        left += share
    for y, m in zip(ys, loads, strict=True):
        ax.text(1, y, f"{100 * m.busy / span:.0f} %", va="center", fontsize=8, color="white")
    ax.set_yticks(ys, [m.machine for m in loads])
    ax.set_ylim(len(loads) - 0.5, -0.5)
    ax.set_xlim(0, 100)
    ax.set_xlabel(f"share of the makespan ({schedule.makespan} ticks), %")
    ax.set_title(f"{instance.name}: machine utilisation")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)
    return _save(fig, path, fmt)
