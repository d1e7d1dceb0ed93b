"""Energy benchmark instances: Brandimarte mk01-mk10 (FJSP) and Taillard ta01-ta10 (JSSP) with
power per mode, a week-long horizon in minutes, a daily time-of-use tariff and carbon-intensity
profile, a power cap with a demand-response window, idle power and a carbon cap.

Seeded and deterministic: `python benchmarks/generate_energy.py --seed 20251125` rewrites
benchmarks/instances/energy/ (the JSON instances and its README.md) byte for byte.

Choices and their sources:
- Time: one tick is a minute; durations are multiplied by an integer factor so that the
  instance's makespan lower bound is about TARGET_MINUTES (two days), leaving the week
  (10,080 ticks) for shifting work to cheap or clean hours.
- Power: each machine gets a base processing power of 5-30 kW (machine tools); a mode draws
  base x (shortest duration / its duration)^ALPHA x lognormal noise, so a faster mode draws
  more power and, with ALPHA > 1, more energy. A JSSP operation keeps its mode and gains an
  "eco" mode on the same machine, 20-50% slower at the power that rule gives (less energy).
- Idle power: 20-40% of the machine's base power; non-processing power of machine tools is a
  large share of their total (Gutowski, Dahmus, Thiriez 2006, "Electrical energy requirements
  for manufacturing processes", 13th CIRP Int. Conf. on Life Cycle Engineering).
- Tariff (EUR/kWh, daily): the period structure of the Spanish 2.0TD access tariff (CNMC
  Circular 3/2020): off-peak 0-8 h, mid 8-10 h, peak 10-14 h, mid 14-18 h, peak 18-22 h,
  mid 22-24 h; the prices are illustrative.
- Carbon intensity (kg CO2/kWh, daily): stylised German grid shape, high at night (fossil base
  load) and highest at the evening peak, lowest at the solar midday dip (Kono, Ostermeyer,
  Wallbaum 2017, "The trends of hourly carbon emission factors in Germany...", Int. J. Life
  Cycle Assess. 22:1493-1501; hourly data: Fraunhofer ISE, energy-charts.info); the values
  are illustrative, near the German 2023 average of about 0.4.
- Power cap: CAP_SHARE of the summed peak power of the machines, cut to DR_SHARE during a
  daily demand-response window 18-20 h (raised, if needed, to the largest mode power so
  every mode stays usable).
- Carbon cap: between the carbon of two reference list schedules (operations in order of
  their earliest start, each placed at its first fit on its machine under the power cap): a
  carbon-unaware one (the mode that ends first, then the least energy) and a carbon-aware
  one (among starts at the first fit and at the next solar dips, the least carbon that ends
  within ECO_SLACK x the earliest end). The cap is CAP_POSITION of the way from the aware to
  the unaware carbon, rounded up to 0.1 kg: feasible (the aware schedule, checked by
  `scheduler.core.validate`, meets it) and binding (the carbon-unaware schedule does not).
"""

from __future__ import annotations

import argparse
import math
import zlib
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from scheduler.core.compile import CompiledInstance, compile_instance, dense_profile
from scheduler.core.kpi import compute_kpis
from scheduler.core.model import Energy, Instance, Machine, Mode, Profile
from scheduler.core.schedule import Schedule
from scheduler.core.validate import validate
from scheduler.io.atomic import atomic_write
from scheduler.io.formats import load
from scheduler.io.instance_json import write_json

ROOT = Path(__file__).resolve().parent
SOURCES = [ROOT / f"instances/fjsp/brandimarte/mk{i:02d}.fjs" for i in range(1, 11)] + [
    ROOT / f"instances/jssp/ta{i:02d}.txt" for i in range(1, 11)
]
DEFAULT_SEED = 20251125
WEEK = 7 * 1440
TARGET_MINUTES = 3000
BASE_KW = (5.0, 30.0)
ALPHA = 1.5
NOISE_SIGMA = 0.1
ECO_SLOWER = (0.2, 0.5)
IDLE_SHARE = (0.2, 0.4)
CAP_SHARE = 0.6
DR_SHARE = 0.45
DR_WINDOW = (18 * 60, 20 * 60)
CAP_POSITION = 0.5
ECO_SLACK = 3.0
SOLAR_DIP = 540  # tick of the day the cleanest carbon step starts
TARIFF = Profile(
    ((0, 0.10), (480, 0.16), (600, 0.24), (840, 0.16), (1080, 0.24), (1320, 0.16)), period=1440
)
CARBON = Profile(((0, 0.42), (360, 0.46), (540, 0.30), (960, 0.50), (1200, 0.44)), period=1440)


def _power(rng: np.random.Generator, base: float, shortest: int, duration: int) -> float:
    """A mode's power: faster draws more (exponent ALPHA), with lognormal noise; 0.1 kW steps."""
    noise = float(rng.lognormal(0.0, NOISE_SIGMA))
    speed = shortest / duration if duration else 1.0  # a 0-tick mode draws nothing anyway
    return max(0.1, round(base * speed**ALPHA * noise, 1))


@dataclass(frozen=True)
class Generated:
    """An energy instance with the carbon (kg) of its two reference schedules."""

    instance: Instance
    aware_kg: float
    unaware_kg: float


def energize(instance: Instance, seed: int) -> Generated:
    """The week-long energy variant of a classic instance (see the module docstring)."""
    rng = np.random.default_rng([seed, zlib.crc32(instance.name.encode())])
    factor = max(1, round(TARGET_MINUTES / compile_instance(instance).lower_bound))
    base = {m.id: round(float(rng.uniform(*BASE_KW)) * 2) / 2 for m in instance.machines}
    single_mode = all(len(op.modes) == 1 for _, op in instance.operations)

    jobs = []
    for job in instance.jobs:
        ops = []
        for op in job.operations:
            durations = [m.duration * factor for m in op.modes]
            shortest = min(durations)
            modes = [
                Mode(m.machine, d, _power(rng, base[m.machine], shortest, d))
                for m, d in zip(op.modes, durations, strict=True)
            ]
            if single_mode and modes[0].duration > 0:
                (normal,) = modes
                slow = math.ceil(normal.duration * (1 + float(rng.uniform(*ECO_SLOWER))))
                eco_kw = round(normal.power_kw * (normal.duration / slow) ** ALPHA, 1)
                modes.append(Mode(normal.machine, slow, max(0.1, eco_kw)))
            ops.append(replace(op, modes=tuple(modes)))
        jobs.append(replace(job, operations=tuple(ops)))

    machines = tuple(
        Machine(m.id, round(base[m.id] * float(rng.uniform(*IDLE_SHARE)), 1), m.unavailable)
        for m in instance.machines
    )
    peak: dict[str, float] = {}
    for job in jobs:
        for op in job.operations:
            for mode in op.modes:
                peak[mode.machine] = max(peak.get(mode.machine, 0.0), mode.power_kw)
    largest = max(peak.values())
    normal_cap = round(max(CAP_SHARE * sum(peak.values()), largest), 1)
    dr_cap = round(max(DR_SHARE * sum(peak.values()), largest), 1)
    cap = Profile(((0, normal_cap), (DR_WINDOW[0], dr_cap), (DR_WINDOW[1], normal_cap)), 1440)
    uncapped = Instance(
        machines,
        tuple(jobs),
        name=f"{instance.name}-energy-week",
        time_unit_minutes=1.0,
        horizon=WEEK,
        energy=Energy(power_cap_kw=cap, tariff=TARIFF, carbon_intensity=CARBON),
    )
    compiled = compile_instance(uncapped)
    aware = list_schedule(compiled, carbon_aware=True)
    unaware = list_schedule(compiled, carbon_aware=False)
    low, high = (compute_kpis(uncapped, s)["carbon"] for s in (aware, unaware))
    carbon_cap = math.ceil(10 * (low + CAP_POSITION * max(0.0, high - low))) / 10
    out = replace(uncapped, energy=replace(uncapped.energy, carbon_cap_kg=carbon_cap))
    violations = validate(out, Schedule(out, aware.assignments))
    if violations:
        raise RuntimeError(f"{out.name}: the reference schedule breaks {violations[0]}")
    return Generated(out, low, high)


def list_schedule(c: CompiledInstance, carbon_aware: bool) -> Schedule:
    """A serial list schedule (see the module docstring, carbon cap): operations by earliest
    start, each at a first fit of its machine and the power cap; RuntimeError if one does
    not fit in the horizon."""
    horizon = c.horizon
    cap = dense_profile(c.power_cap_start, c.power_cap_value, horizon)
    carbon = np.concatenate(
        ([0.0], np.cumsum(dense_profile(c.carbon_start, c.carbon_value, horizon)))
    )
    load_kw = np.zeros(horizon)
    busy = np.zeros((c.n_machines, horizon), dtype=bool)
    mode = np.zeros(c.n_ops, dtype=np.int64)
    start = np.zeros(c.n_ops, dtype=np.int64)
    end = np.zeros(c.n_ops, dtype=np.int64)

    def first_fit(k: int, t: int) -> int | None:
        d, m, p = int(c.mode_duration[k]), int(c.mode_machine[k]), float(c.mode_power[k])
        while t + d <= horizon:
            clash = busy[m, t : t + d] | (load_kw[t : t + d] + p > cap[t : t + d])
            if not clash.any():
                return t
            t += int(np.flatnonzero(clash)[-1]) + 1
        return None

    for o in sorted(range(c.n_ops), key=lambda o: (int(c.head[o]), o)):
        preds = c.pred_op[c.pred_ptr[o] : c.pred_ptr[o + 1]]
        lags = c.pred_lag[c.pred_ptr[o] : c.pred_ptr[o + 1]]
        ready = int(max(c.op_release[o], *(end[preds] + lags), 0))
        day = ready // 1440 * 1440
        tries = [ready]
        if carbon_aware:
            tries += [t for t in (day + SOLAR_DIP, day + 1440 + SOLAR_DIP) if t > ready]
        options = []  # (end, score, mode, start)
        for k in range(int(c.mode_ptr[o]), int(c.mode_ptr[o + 1])):
            d, p = int(c.mode_duration[k]), float(c.mode_power[k])
            for t in tries:
                s = first_fit(k, t)
                if s is not None and s + d + c.tail[o] - c.min_duration[o] <= horizon:
                    score = p * (carbon[s + d] - carbon[s]) if carbon_aware else p * d
                    options.append((s + d, score, k, s))
        if not options:
            raise RuntimeError(f"{c.instance.name}: operation {c.op_ids[o]} fits nowhere")
        earliest = min(option[0] for option in options)
        slack = ECO_SLACK if carbon_aware else 1.0
        near = [x for x in options if x[0] - ready <= slack * (earliest - ready)]
        finish, _, k, s = min(near, key=lambda x: (x[1], x[0]))
        busy[c.mode_machine[k], s:finish] = True
        load_kw[s:finish] += c.mode_power[k]
        mode[o], start[o], end[o] = k, s, finish
    return Schedule.from_arrays(c, mode, start)


def _row(source: Path, generated: Generated) -> str:
    out = generated.instance
    c = compile_instance(out)
    cap = out.energy.power_cap_kw
    if not isinstance(cap, Profile):
        raise TypeError("energize always sets a profile power cap")
    return (
        f"| `{out.name}.json` | {source.parent.name}/{source.name} | {c.n_jobs} | {c.n_ops} | "
        f"{c.n_modes} | {c.n_machines} | {c.lower_bound} | {cap.steps[0][1]:g} / "
        f"{cap.steps[1][1]:g} | {out.energy.carbon_cap_kg:g} | {generated.aware_kg:.1f} / "
        f"{generated.unaware_kg:.1f} |"
    )


def readme(seed: int, rows: list[str]) -> str:
    """The folder's README: the command, the seed, the choices and a table of the files."""
    lines = [
        "# Energy benchmark instances",
        "",
        "Generated by `benchmarks/generate_energy.py` (its docstring gives every choice and its",
        "source). To regenerate exactly these files, from the repository root:",
        "",
        "```",
        f"python benchmarks/generate_energy.py --seed {seed}",
        "```",
        "",
        f"Seed: {seed}. Each instance is the classic one with durations scaled to minutes (the",
        f"makespan lower bound about {TARGET_MINUTES} min) in a week horizon of {WEEK} ticks of",
        "1 min, power per mode (JSSP operations gain a slower, lower-energy eco mode), idle",
        "power per machine, a daily time-of-use tariff (EUR/kWh), a daily carbon-intensity",
        "profile (kg CO2/kWh), a power cap with a demand-response window 18-20 h, and a carbon",
        f"cap {CAP_POSITION:g} of the way from the carbon of a carbon-aware reference list",
        "schedule (which meets every constraint) to that of a carbon-unaware one.",
        "",
        f"Tariff steps: {list(TARIFF.steps)} (period {TARIFF.period}).",
        f"Carbon steps: {list(CARBON.steps)} (period {CARBON.period}).",
        "",
        "| file | from | jobs | operations | modes | machines | makespan LB | power cap kW "
        "(normal / 18-20 h) | carbon cap kg | reference carbon kg (aware / unaware) |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
        *rows,
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    """Write the energy instances and the README into the output folder."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--out", type=Path, default=ROOT / "instances/energy")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    rows = []
    for source in SOURCES:
        generated = energize(load(source), args.seed)
        out = generated.instance
        write_json(out, args.out / f"{out.name}.json")
        rows.append(_row(source, generated))
        print(f"{out.name}: carbon cap {out.energy.carbon_cap_kg} kg")
    atomic_write(args.out / "README.md", readme(args.seed, rows))


if __name__ == "__main__":
    main()
