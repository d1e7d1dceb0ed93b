"""What a person reads from a comparison: the KPI table (CSV), a figure of the changes against
the baseline with their intervals (PNG), and a Markdown report in plain words, lever by lever,
next to the programme targets."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd

from scenarios.compare import BASELINE, Comparison, summary
from scenarios.kpis import KPI
from scheduler.io.atomic import atomic_write

LEVERS = {
    "after-scheduling-only": "optimised scheduling and re-planning",
    "after-maintenance-only": "predictive maintenance",
    "after-quality-only": "AI inspection at the station",
    "after-energy-only": "energy-aware scheduling",
}
# Korea's AI autonomous-manufacturing programme (MOTIE 2024; scenario-sources.md section 7)
TARGETS = (
    ("productivity", +0.20, "national target for 2030: +20 % manufacturing productivity"),
    ("productivity", +0.30, "lead-project target: +30 % productivity"),
    ("energy_cost", -0.20, "lead-project target: -20 % manufacturing cost (energy cost here)"),
    ("scrap_units", -0.50, "lead-project target: -50 % defects (scrapped units here)"),
    ("energy_kwh", -0.10, "lead-project target: -10 % energy"),
)
FIGURE_KPIS = (
    "productivity",
    "throughput_per_h",
    "on_time_rate",
    "makespan_h",
    "energy_kwh",
    "energy_cost",
    "carbon_kg",
    "scrap_units",
)
TABLE_KPIS = (*FIGURE_KPIS, "total_tardiness_h", "utilisation", "downtime_h", "ops_moved")


def write_csv(comparison: Comparison, path: str | Path) -> None:
    """The summary table (one row per profile and KPI, then the changes) as CSV, atomically."""
    atomic_write(path, summary(comparison).to_csv(index=False, float_format="%.10g"))


def _pct(value: float) -> str:
    return "n/a" if math.isnan(value) else f"{100 * value:+.1f} %"


def _change(table: pd.DataFrame, profile: str, kpi: str) -> tuple[float, float, float] | None:
    rows = table[(table.profile == profile) & (table.kpi == kpi) & (table.statistic != "mean")]
    if rows.empty:
        return None
    row = rows.iloc[0]
    return float(row.value), float(row.ci_low), float(row.ci_high)


def _interval(change: tuple[float, float, float]) -> str:
    value, low, high = change
    if math.isnan(low):
        return _pct(value)
    return f"{_pct(value)} (95 % CI {_pct(low)} to {_pct(high)})"


def plot(comparison: Comparison, path: str | Path) -> None:
    """Bars of each profile's relative change against the baseline, per KPI, with the 95 %
    intervals, and the programme's productivity target as a line."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    table = summary(comparison)
    others = [p for p in comparison.profiles if p != BASELINE]
    kpis = list(FIGURE_KPIS)
    fig, ax = plt.subplots(figsize=(10, 0.5 + 0.45 * len(kpis) * max(1, len(others))))
    height = 0.8 / max(1, len(others))
    for i, profile in enumerate(others):
        values: list[float] = []
        errors: list[list[float]] = [[], []]
        for kpi in kpis:
            change = _change(table, profile, kpi) or (math.nan, math.nan, math.nan)
            value, low, high = (0.0 if math.isnan(v) else 100 * v for v in change)
            values.append(value)
            errors[0].append(max(0.0, value - low))
            errors[1].append(max(0.0, high - value))
        positions = [k + (i - (len(others) - 1) / 2) * height for k in range(len(kpis))]
        ax.barh(positions, values, height=height, xerr=errors, capsize=2, label=profile)
    ax.axvline(20, color="black", linestyle="--", linewidth=1, label="+20 % productivity target")
    ax.axvline(0, color="grey", linewidth=0.8)
    ax.set_yticks(range(len(kpis)))
    ax.set_yticklabels(kpis)
    ax.invert_yaxis()
    ax.set_xlabel(
        f"change vs {BASELINE} (%), mean of {comparison.replications} paired replications"
    )
    ax.set_title(f"{comparison.instance}: before vs after AI adoption")
    ax.legend(fontsize=8, loc="best")
    fig.tight_layout()
    try:
        atomic_write(path, lambda temp: fig.savefig(temp, dpi=120))
    finally:
        plt.close(fig)


def markdown(comparison: Comparison) -> str:
    """The report: setup, means with intervals, changes in words, lever split, targets."""
    table = summary(comparison)
    lines = [
        f"# Scenario comparison: {comparison.instance}",
        "",
        f"{comparison.replications} replications per profile, seed {comparison.seed}, common "
        "random numbers (replication r draws the same breakdowns, durations and defects in "
        "every profile). Intervals are 95 % t intervals; changes are paired by replication.",
        "",
        "| profile | plan solver | objective | plan status | plan makespan (h) | plan time (s) |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for name in comparison.profiles:
        info = comparison.plans.get(name, {})
        lines.append(
            f"| {name} | {info.get('solver', '')} | `{info.get('objective', '')}` | "
            f"{info.get('status', '')} | {info.get('plan_makespan_h', math.nan):.2f} | "
            f"{info.get('plan_seconds', math.nan):.1f} |"
        )
    lines += ["", "## KPIs (mean and 95 % interval)", ""]
    header = "| KPI | unit | " + " | ".join(comparison.profiles) + " |"
    lines += [header, "|" + " --- |" * (2 + len(comparison.profiles))]
    rows = table[table.statistic == "mean"]
    means = {
        (p, k): (v, lo, hi)
        for p, k, v, lo, hi in zip(
            rows.profile, rows.kpi, rows.value.astype(float), rows.ci_low.astype(float),
            rows.ci_high.astype(float), strict=True,
        )
    }  # fmt: skip
    for kpi in TABLE_KPIS:
        cells = []
        for name in comparison.profiles:
            value, low, high = means[(name, kpi)]
            cells.append(f"{value:.4g}" + ("" if math.isnan(low) else f" [{low:.4g}, {high:.4g}]"))
        lines.append(f"| {kpi} | {KPI[kpi].unit} | " + " | ".join(cells) + " |")
    lines += ["", "## What changed", ""]
    lines += _in_words(table, comparison)
    return "\n".join(lines) + "\n"


def _in_words(table: pd.DataFrame, comparison: Comparison) -> list[str]:
    """Plain sentences: the full profile's changes, each lever's share, the targets."""
    out: list[str] = []
    full = "after" if "after" in comparison.profiles else None
    if full is not None:
        for kpi in (
            "productivity",
            "throughput_per_h",
            "on_time_rate",
            "energy_kwh",
            "energy_cost",
            "carbon_kg",
            "scrap_units",
        ):
            change = _change(table, full, kpi)
            if change is not None:
                out.append(f"- `after` changes {kpi} by {_interval(change)}.")
    levers = [p for p in comparison.profiles if p in LEVERS]
    if levers:
        out += ["", "Lever by lever (each alone, against `before`):", ""]
        out += ["| lever | productivity | on-time rate | energy kWh | energy cost | scrap |"]
        out += ["| --- | --- | --- | --- | --- | --- |"]
        for lever in levers:
            cells = [
                _interval(c) if (c := _change(table, lever, kpi)) else "n/a"
                for kpi in (
                    "productivity",
                    "on_time_rate",
                    "energy_kwh",
                    "energy_cost",
                    "scrap_units",
                )
            ]
            out.append(f"| {LEVERS[lever]} (`{lever}`) | " + " | ".join(cells) + " |")
        if full is not None:
            total = _change(table, full, "productivity")
            summed = sum(
                c[0] for lever in levers if (c := _change(table, lever, "productivity")) is not None
            )
            if total is not None:
                out += [
                    "",
                    f"The levers alone add up to {_pct(summed)} productivity; together they give "
                    f"{_pct(total[0])} (the difference is their interaction).",
                ]
    if full is not None:
        out += [
            "",
            "Against the programme targets (MOTIE 2024, scenario-sources.md section 7):",
            "",
        ]
        for kpi, target, text in TARGETS:
            change = _change(table, full, kpi)
            if change is None or math.isnan(change[0]):
                continue
            met = change[1] >= target if target > 0 else change[2] <= target
            verdict = "met (the whole interval is past it)" if met else "not shown to be met"
            out.append(f"- {text}: {_interval(change)}, {verdict}.")
    return out


def write_report(comparison: Comparison, path: str | Path) -> None:
    atomic_write(path, markdown(comparison))
