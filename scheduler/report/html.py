"""One self-contained HTML page per plan, for a supervisor: the status and KPIs with units,
the charts (Gantt by machine and by job, power against the cap, utilisation; PNG embedded as
base64), the late jobs with what delayed each, and the critical path. No scripts, no external
files: the page opens anywhere, offline."""

from __future__ import annotations

import base64
from html import escape
from pathlib import Path

from scheduler.core.objective import Objective
from scheduler.core.result import Result
from scheduler.io.atomic import atomic_write
from scheduler.report.plot import gantt, png_bytes, power_profile, utilisation
from scheduler.report.why import Explanation, Link, explain
from scheduler.report.words import level_lines, span, status_words, when

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em; color: #222; max-width: 1500px; }
h1 { font-size: 1.5em; } h2 { font-size: 1.2em; margin-top: 1.6em; }
table { border-collapse: collapse; margin: 0.5em 0; }
td, th { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: left; }
th { background: #f3f3f3; } td.num { text-align: right; }
.late { color: #d62728; } img { max-width: 100%; border: 1px solid #ddd; margin: 0.4em 0; }
"""


def _img(png: bytes) -> str:
    data = base64.b64encode(png).decode("ascii")
    return f'<img alt="chart" src="data:image/png;base64,{data}">'


def _table(header: list[str], rows: list[list[str]]) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{escape(c)}</td>" for c in r) + "</tr>" for r in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def _what(link: Link) -> str:
    if link.kind == "operation":
        return f"{link.operation} ({link.job}) on {link.machine}"
    if link.kind in ("release", "start"):
        return f"{link.job}: {'released' if link.kind == 'release' else 'plan start'}"
    return f"{link.kind} on {link.machine}" if link.machine else link.detail or link.kind


def render_report(
    result: Result, objective: str | Objective | None = None, gantt_png: bytes | None = None
) -> str:
    """The HTML page of a result that has a schedule; `gantt_png`, when given, is its Gantt
    chart by machine as `gantt` draws it (the command line's `--gantt` file), not drawn again."""
    schedule = result.schedule
    if schedule is None:
        raise ValueError(f"no schedule to report (status {result.status})")
    instance = schedule.instance
    goal = Objective.parse(objective) if objective is not None else None
    found: Explanation = explain(instance, schedule, goal)
    kpis = result.kpis
    makespan = schedule.makespan
    rows = [
        ["status", status_words(result)],
        ["solver", result.solver],
        *([["objective", line] for line in level_lines(result, goal)] if goal else []),
        ["makespan", span(makespan, instance)],
        ["plan", f"{when(instance, 0)} to {when(instance, makespan)}"],
        ["on time", f"{100 * kpis.get('on_time_rate', 1.0):.1f} % ({len(found.late_jobs)} late)"],
        ["mean utilisation", f"{100 * kpis.get('mean_utilisation', 0.0):.1f} %"],
    ]
    if kpis.get("total_energy"):
        rows += [
            ["energy", f"{kpis['energy']:.4g} kWh processing, {kpis['idle_energy']:.4g} kWh idle"],
            ["energy cost", f"{kpis['energy_cost']:.4g} (tariff currency)"],
            ["carbon", f"{kpis['carbon']:.4g} kg CO2"],
        ]
    late = [
        [
            item.job,
            when(instance, item.completion),
            when(instance, item.due),
            span(item.lateness, instance),
            item.cause,
        ]
        for item in found.late_jobs
    ]
    path = [
        [link.kind, _what(link), when(instance, link.start), when(instance, link.end), link.via]
        for link in found.critical_path
    ]
    charts = [
        gantt_png or png_bytes(gantt(schedule)),
        png_bytes(gantt(schedule, by="job")),
        *([png_bytes(power_profile(schedule))] if instance.has_energy else []),
        png_bytes(utilisation(schedule)),
    ]
    binding = [
        [when(instance, int(b["start"])), when(instance, int(b["end"])), f"{b['cap_kw']:g} kW"]
        for b in found.power_binding
    ]
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>Plan: {escape(instance.name)}</title><style>{STYLE}</style></head><body>",
        f"<h1>Plan for {escape(instance.name)}</h1>",
        _table(["measure", "value"], rows),
        "<h2>Charts</h2>",
        *[_img(chart) for chart in charts],
        f'<h2 class="late">Late jobs ({len(late)})</h2>',
        _table(["job", "ends", "due", "late by", "what delayed it"], late)
        if late
        else "<p>none</p>",
        "<h2>Critical path (what fixes the makespan)</h2>",
        _table(["kind", "what", "from", "to", "tied by"], path),
    ]
    if binding:
        parts += ["<h2>When the power cap binds</h2>", _table(["from", "to", "cap"], binding)]
    parts.append("</body></html>\n")
    return "\n".join(parts)


def write_report(
    result: Result,
    path: str | Path,
    objective: str | Objective | None = None,
    gantt_png: bytes | None = None,
) -> Path:
    """Write the HTML page of `result` to `path`, atomically (`gantt_png`: `render_report`)."""
    return atomic_write(path, render_report(result, objective, gantt_png))
