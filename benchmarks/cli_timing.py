"""Wall-clock checks of the command line, as an MES job runner sees it (one process per call):

- `startup`: `scheduler --version` and a 0.1-s solve of ft06, from process start to exit;
- `limits`: `scheduler solve INSTANCE --time-limit S` on instances of every size we ship
  generators for, against the promise limit + max(1 s, 10 %);
- `first-run`: the same solves with an empty Numba cache (NUMBA_CACHE_DIR set to a new folder),
  as right after an install;
- `planner`: what a planner runs on the 2,000-job capped plant (seed 31), each with its peak
  memory: solve, validate, explain (words and JSON), solve with the HTML report and a Gantt
  chart, and a re-plan after a machine breakdown and a rush order.

Each writes a Markdown table (and prints it):
`python benchmarks/cli_timing.py limits --out benchmarks/results/default/time_limits.md`.
`--python` runs another checkout's interpreter and tree (`--tree /path/to/old/checkout`) for a
before/after comparison."""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
INSTANCES = ROOT / "benchmarks" / "instances"
GENERATOR = ROOT / "benchmarks" / "generate_plant.py"


def run(args: list[str], tree: Path, env: dict[str, str] | None = None) -> tuple[float, int, dict]:
    """Run `python -m scheduler ARGS` in `tree`; (wall seconds, exit code, summary JSON)."""
    with tempfile.TemporaryDirectory() as folder:
        summary = Path(folder) / "summary.json"
        wants_summary = args and args[0] == "solve"
        command = [sys.executable, "-m", "scheduler", *args]
        if wants_summary:
            command += ["--quiet", "--summary", str(summary), "--out", str(Path(folder) / "s.csv")]
        started = time.perf_counter()
        done = subprocess.run(command, cwd=tree, env=env, capture_output=True, text=True)
        wall = time.perf_counter() - started
        data = json.loads(summary.read_text()) if wants_summary and summary.exists() else {}
    return wall, done.returncode, data


PLANTS = {
    "plant-200 (2,000 ops)": ["--jobs", "200", "--no-setups"],
    "plant-2k": ["--no-setups"],
    "plant-2k-setups": [],
    "plant-2k-setups-cap": ["--power-cap"],
}


def plants(folder: Path, only: str | None = None) -> dict[str, Path]:
    """A 200-job plant without setups (2,000 operations: CP-SAT is one of auto's parts) and the
    2,000-job plant (seed 31) without setups, with setups, and with the power cap (or the one
    labelled `only`)."""
    made = {}
    for label, flags in PLANTS.items():
        if only is not None and label != only:
            continue
        path = folder / f"{label.split()[0]}.json"
        subprocess.run(
            [sys.executable, str(GENERATOR), "--seed", "31", *flags, "--out", str(path)],
            check=True,
            capture_output=True,
        )
        made[label] = path
    return made


def instances(folder: Path) -> dict[str, Path]:
    return {
        "demo (6 jobs)": ROOT / "examples" / "demo_plant.json",
        "mk05 (106 ops)": INSTANCES / "fjsp" / "brandimarte" / "mk05.fjs",
        "ta41 (600 ops)": INSTANCES / "jssp" / "ta41.txt",
        "mk01-energy-week": INSTANCES / "energy" / "mk01-energy-week.json",
        **plants(folder),
    }


def limits(tree: Path, solvers: list[str], limit: float, env: dict[str, str] | None) -> list[str]:
    """One row per instance and solver: wall time, allowed, status, objective."""
    allowed = limit + max(1.0, 0.1 * limit)
    rows = ["| instance | solver | limit s | wall s | allowed s | within | exit | status | "
            "objective | bound |", "|---|---|---|---|---|---|---|---|---|---|"]  # fmt: skip
    with tempfile.TemporaryDirectory() as folder:
        for name, path in instances(Path(folder)).items():
            for solver in solvers:
                wall, code, s = run(
                    ["solve", str(path), "--time-limit", f"{limit:g}", "--solver", solver],
                    tree,
                    env,
                )
                rows.append(
                    f"| {name} | {solver} | {limit:g} | {wall:.2f} | {allowed:.1f} | "
                    f"{'yes' if wall <= allowed else 'NO'} | {code} | {s.get('status')} | "
                    f"{s.get('objective')} | {s.get('bound')} |"
                )
                print(rows[-1], flush=True)
    return rows


def planner(tree: Path, limit: float) -> list[str]:
    """One row per command on the capped 2,000-job plant: wall time, exit code, peak memory
    and the size of what it wrote (the schedule CSV, or the printed explanation)."""
    rows = ["| command | wall s | exit | peak MB | output MB |", "|---|---|---|---|---|"]
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        plant = str(plants(folder, only="plant-2k-setups-cap")["plant-2k-setups-cap"])
        plan, new, events = folder / "plan.csv", folder / "new.csv", folder / "events.json"
        rush = {
            "id": "RUSH",
            "due": 7000,
            "operations": [
                {"id": "R1", "modes": [{"machine": "M01", "duration": 30, "power_kw": 20}]},
                {"id": "R2", "modes": [{"machine": "M12", "duration": 40, "power_kw": 25}]},
            ],
        }
        events.write_text(json.dumps([
            {"type": "machine_down", "machine": "M05", "start": 5000, "end": 6500},
            {"type": "rush_order", "job": rush}]))  # fmt: skip
        limited = ["--time-limit", f"{limit:g}", "--quiet", "--out"]
        commands = [  # (label, arguments, the file it writes, stdout to that file)
            (f"solve --time-limit {limit:g}", ["solve", plant, *limited, str(plan)], plan, False),
            ("validate", ["validate", plant, str(plan)], None, False),
            ("explain", ["explain", plant, str(plan)], folder / "why.txt", True),
            ("explain --json", ["explain", plant, str(plan), "--json"], folder / "why.json", True),
            (f"solve --time-limit {limit:g} --report --gantt",
             ["solve", plant, *limited, str(folder / "p2.csv"), "--report",
              str(folder / "plan.html"), "--gantt", str(folder / "plan.png")],
             folder / "plan.html", False),
            (f"reschedule --at 5000 --time-limit {limit:g}",
             ["reschedule", plant, str(plan), "--at", "5000", "--events", str(events),
              *limited, str(new)], new, False),
        ]  # fmt: skip
        for label, args, written, captured in commands:
            command = [sys.executable, "-m", "scheduler", *args]
            started = time.perf_counter()
            with open(written if captured and written else os.devnull, "w") as sink:
                child = subprocess.Popen(command, cwd=tree, stdout=sink, stderr=subprocess.DEVNULL)
                _, status, usage = os.wait4(child.pid, 0)  # its own peak, as bench_hostile.py
            wall = time.perf_counter() - started
            code = os.waitstatus_to_exitcode(status)
            size = f"{written.stat().st_size / 1e6:.1f}" if written and written.exists() else ""
            peak_mb = usage.ru_maxrss / 1024
            rows.append(f"| {label} | {wall:.2f} | {code} | {peak_mb:.0f} | {size} |")
            print(rows[-1], flush=True)
    return rows


def startup(tree: Path) -> list[str]:
    """Median of five runs of each short command."""
    ft06 = INSTANCES / "jssp" / "ft06.txt"
    commands = {
        "scheduler --version": ["--version"],
        "solve ft06 --time-limit 5 (default solver)": ["solve", str(ft06), "--time-limit", "5"],
        "solve ft06 --solver cpsat --no-warm-start": [
            "solve", str(ft06), "--solver", "cpsat", "--no-warm-start"],
    }  # fmt: skip
    rows = ["| command | median wall s (5 runs) |", "|---|---|"]
    for label, args in commands.items():
        walls = sorted(run(args, tree)[0] for _ in range(5))
        rows.append(f"| {label} | {walls[2]:.2f} |")
        print(rows[-1], flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mode", choices=("startup", "limits", "first-run", "planner"))
    parser.add_argument("--tree", type=Path, default=ROOT, help="checkout to run (default: this)")
    parser.add_argument("--solvers", default="auto,heuristic,cpsat")
    parser.add_argument("--time-limit", type=float, default=5.0)
    parser.add_argument("--out", type=Path, help="write the Markdown table here")
    args = parser.parse_args()
    solvers = args.solvers.split(",")
    if args.mode == "startup":
        rows = startup(args.tree)
    elif args.mode == "limits":
        rows = limits(args.tree, solvers, args.time_limit, None)
    elif args.mode == "planner":
        rows = planner(args.tree, args.time_limit)
    else:
        with tempfile.TemporaryDirectory() as cache:
            env = {**os.environ, "NUMBA_CACHE_DIR": cache}
            rows = limits(args.tree, solvers, args.time_limit, env)
    command = " ".join(["python", "benchmarks/cli_timing.py", *sys.argv[1:]])
    header = [
        f"# Command-line timing: {args.mode}",
        "",
        f"- Command: `{command}`",
        f"- Date (UTC): {time.strftime('%Y-%m-%d %H:%M:%S', time.gmtime())}; "
        f"machine: {os.cpu_count()} cores, {platform.platform()}, load "
        f"{os.getloadavg()[0]:.1f} at the end",
        "",
    ]
    text = "\n".join(header + rows) + "\n"
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text)


if __name__ == "__main__":
    main()
