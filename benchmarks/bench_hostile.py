"""Hostile-input check from outside (issue 10): a fresh set of extreme instance and schedule
files, each run through `python -m scheduler solve` (and `validate` on the schedule it wrote)
in its own process under a 2 GB address-space limit. Per file: the exit code against the
contract (0 with a valid schedule, 2 bad input on one line, 3 proven infeasible, 4 no schedule
in the time), the wall time against the time limit (+ max(1 s, 10 %) + the process start,
measured once on an empty solve), the peak memory, whether a traceback appeared.

    python benchmarks/bench_hostile.py [--time-limit 2] [--solver cpsat]
        [--out benchmarks/results/hostile/hostile.md]
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import platform
import resource
import shlex
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent
MEMORY_LIMIT = 2 * 1024**3
DAY_S = 86_400

Data = dict[str, Any]


def _base() -> Data:
    """A small plant with every energy feature: 6 jobs of 3 operations on 3 machines."""
    return {
        "name": "hostile",
        "horizon": 10_080,
        "machines": [{"id": f"M{m}", "idle_power_kw": 0.5} for m in range(3)],
        "resources": [{"id": "crew", "capacity": 2}],
        "jobs": [
            {
                "id": f"J{j}",
                "due": 400,
                "operations": [
                    {
                        "id": f"J{j}-{k}",
                        "family": "AB"[(j + k) % 2],
                        "modes": [
                            {"machine": f"M{(j + k) % 3}", "duration": 20 + 5 * k, "power_kw": 8},
                            {"machine": f"M{(j + k + 1) % 3}", "duration": 35, "power_kw": 4,
                             "resources": {"crew": 1}},
                        ],
                    }
                    for k in range(3)
                ],
            }
            for j in range(6)
        ],
        "setup_times": {"M0": {"A": {"B": 5}, "B": {"A": 3}}},
        "energy": {
            "power_cap_kw": {"period": 1440, "steps": [[0, 20], [1080, 14], [1200, 20]]},
            "tariff": {"period": 1440, "steps": [[0, 0.1], [480, 0.25], [1320, 0.1]]},
            "carbon_intensity": {"period": 1440, "steps": [[0, 0.4], [600, 0.25]]},
            "carbon_cap_kg": 40,
        },
    }  # fmt: skip


def _op(d: Data, j: int = 0, k: int = 0) -> Data:
    return d["jobs"][j]["operations"][k]


def _cases() -> dict[str, Callable[[Data], object]]:
    """How each hostile file differs from the base (a value, a key, a tick scale...)."""
    return {
        "plain base": lambda d: None,
        "duration 1e300": lambda d: _op(d)["modes"][0].update(duration=1e300),
        "duration 10^25": lambda d: _op(d)["modes"][0].update(duration=10**25),
        "duration 10^18 no horizon": lambda d: (
            _op(d)["modes"][0].update(duration=10**18),
            d.pop("horizon"),
        ),
        "release 10^20": lambda d: d["jobs"][1].update(release=10**20),
        "deadline 1e308": lambda d: d["jobs"][1].update(deadline=1e308),
        "due -5": lambda d: d["jobs"][1].update(due=-5),
        "window end 10^40": lambda d: d["machines"][0].update(unavailable=[[10, 10**40]]),
        "setup 10^19": lambda d: d["setup_times"]["M0"]["A"].update(B=10**19),
        "capacity 10^21": lambda d: d["resources"][0].update(capacity=10**21),
        "lag 2^63": lambda d: _op(d, 0, 1).update(predecessors=[["J0-0", 2**63]]),
        "period 10^15": lambda d: d["energy"]["tariff"].update(period=10**15),
        "power_kw 1e200": lambda d: _op(d)["modes"][0].update(power_kw=1e200),
        "weight 1e100": lambda d: d["jobs"][0].update(weight=1e100),
        "time unit 1e200": lambda d: d.update(time_unit_minutes=1e200),
        "time unit 1e-12": lambda d: d.update(time_unit_minutes=1e-12),
        "carbon cap 1e18 (no cap)": lambda d: d["energy"].update(carbon_cap_kg=1e18),
        "carbon cap 1e250 (no cap)": lambda d: d["energy"].update(carbon_cap_kg=1e250),
        "power cap 1e30 (no cap)": lambda d: d["energy"].update(power_cap_kw=1e30),
        "power cap 0": lambda d: d["energy"].update(power_cap_kw=0),
        "carbon cap 0": lambda d: d["energy"].update(carbon_cap_kg=0),
        "carbon cap 1 kg": lambda d: d["energy"].update(carbon_cap_kg=1),
        "zero durations": lambda d: [m.update(duration=0) for m in _op(d)["modes"]],
        "horizon 10^8 (minutes)": lambda d: d.update(horizon=10**8),
        "release 10^8, no horizon": lambda d: (
            d.pop("horizon"),
            d["jobs"][2].update(release=10**8),
        ),
        "seconds over a year": lambda d: _seconds(d),
        "unknown key of 3 MB": lambda d: d.update({"k" * 3_000_000: 1}),
        "operation id of 3 MB": lambda d: _op(d).update(id="o" * 3_000_000),
        "predecessor of 3 MB": lambda d: _op(d, 0, 1).update(predecessors=["p" * 3_000_000]),
    }


def _seconds(d: Data) -> None:
    """Ticks of one second over a year, daily profiles in seconds."""
    d.update(time_unit_minutes=1 / 60, horizon=32_000_000)
    for job in d["jobs"]:
        job["due"] = 2 * DAY_S
        for op in job["operations"]:
            for mode in op["modes"]:
                mode["duration"] *= 60
    for key in ("power_cap_kw", "tariff", "carbon_intensity"):
        profile = d["energy"][key]
        profile["period"] = DAY_S
        profile["steps"] = [[60 * s, v] for s, v in profile["steps"]]


RAW_CASES = {
    "nested 5,000 deep": '{"machines": ' + "[" * 5000 + "]" * 5000 + ', "jobs": []}',
    "nested 200,000 deep": "[" * 200_000 + "]" * 200_000,
    "horizon of 5,000 digits": None,  # filled from the base below
}


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))


def _run(argv: list[str], timeout: float) -> tuple[int, float, float, str]:
    """(exit code, wall seconds, peak MB, stderr) of `python -m scheduler argv` in a child
    under the memory limit; killed (exit -9) past `timeout`."""
    with tempfile.TemporaryFile() as err_file:
        started = time.perf_counter()
        child = subprocess.Popen(
            [sys.executable, "-m", "scheduler", *argv],
            stdout=subprocess.DEVNULL,
            stderr=err_file,
            preexec_fn=_limit_memory,
        )
        timer = threading.Timer(timeout, child.kill)
        timer.start()
        _, status, usage = os.wait4(child.pid, 0)
        timer.cancel()
        wall = time.perf_counter() - started
        child.returncode = os.waitstatus_to_exitcode(status)
        err_file.seek(0)
        err = err_file.read().decode("utf-8", "replace")
    return child.returncode, wall, usage.ru_maxrss / 1024, err


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--time-limit", type=float, default=2.0)
    parser.add_argument("--solver", default="cpsat")
    parser.add_argument("--out", type=Path, default=ROOT / "results" / "hostile" / "hostile.md")
    args = parser.parse_args()
    grace = max(1.0, 0.1 * args.time_limit)
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        files: dict[str, Path] = {}
        for name, change in _cases().items():
            data = copy.deepcopy(_base())
            change(data)
            files[name] = Path(folder) / f"{len(files)}.json"
            files[name].write_text(json.dumps(data), encoding="utf-8")
        raw = dict(RAW_CASES)
        raw["horizon of 5,000 digits"] = json.dumps(_base()).replace(
            '"horizon": 10080', '"horizon": ' + "7" * 5000
        )
        for name, text in raw.items():
            files[name] = Path(folder) / f"{len(files)}.json"
            files[name].write_text(str(text), encoding="utf-8")
        start_cost = _run(["solvers"], 60)[1]  # the process start and imports, once
        for name, path in files.items():
            out = Path(folder) / "schedule.csv"
            out.unlink(missing_ok=True)
            argv = ["solve", str(path), "--solver", args.solver, "--time-limit",
                    str(args.time_limit), "--quiet", "--out", str(out)]  # fmt: skip
            code, wall, peak, err = _run(argv, 10 * (args.time_limit + 10))
            valid = "-"
            if code == 0:
                valid = "yes" if _run(["validate", str(path), str(out)], 120)[0] == 0 else "NO"
            lines = err.strip().splitlines()
            clean = "Traceback" not in err and (code != 2 or len(lines) == 1)
            within = wall <= args.time_limit + grace + start_cost
            message = lines[-1][:110] if lines else ""
            rows.append((name, code, valid, f"{wall:.1f}", within, f"{peak:.0f}", clean, message))
            print(rows[-1], flush=True)
    _write(args, rows, start_cost)


def _write(args: argparse.Namespace, rows: list[tuple[Any, ...]], start_cost: float) -> None:
    header = "| file | exit | valid | wall s | in time | peak MB | clean | message |"
    table = [header, "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for name, code, valid, wall, within, peak, clean, message in rows:
        text = message.replace("|", "\\|")
        table.append(
            f"| {name} | {code} | {valid} | {wall} | {'yes' if within else 'NO'} | {peak} | "
            f"{'yes' if clean else 'NO'} | {text} |"
        )
    ok = sum(1 for r in rows if r[1] in (0, 2, 3) and r[4] and r[6] and r[2] != "NO")
    command = shlex.join(["python", "benchmarks/bench_hostile.py", *sys.argv[1:]])
    text = "\n".join(
        [
            "# Hostile input from outside",
            "",
            f"Command: `{command}` ({platform.platform()}, Python {platform.python_version()}).",
            f"Each file in its own process under a 2 GB address-space limit; time limit "
            f"{args.time_limit} s, allowed wall time limit + max(1 s, 10 %) + the process start "
            f"({start_cost:.1f} s, measured by `scheduler solvers`). Peak MB is each "
            "child's own ru_maxrss.",
            "",
            f"{ok} of {len(rows)} files: exit 0 (valid schedule), 2 or 3, in time, no traceback.",
            "",
            *table,
            "",
        ]
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text, encoding="utf-8")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
