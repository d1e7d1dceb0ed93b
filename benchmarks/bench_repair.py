"""Carbon-repair sampling (issue 10, item 6): generated instances as in
`tests/solvers/heuristics/test_repair.py` (a carbon cap a tenth of the way from the least
achievable carbon, proven by cpsat, to the carbon of a makespan-optimal plan); counts those on
which the heuristic (one worker, 300 moves, no time limit) returns no schedule, and how often
the violation-minimising search had to run.

    python benchmarks/bench_repair.py [--examples 200] [--seed 205]
        [--out benchmarks/results/heuristics/carbon_repair.md]
"""

from __future__ import annotations

import argparse
import dataclasses
import shlex
import sys
import time
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import seed as hypothesis_seed
from hypothesis import strategies as st

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from strategies import instances  # noqa: E402

import scheduler  # noqa: E402
import solvers.heuristics.solver as heuristic_solver  # noqa: E402
from scheduler.core.model import Instance, Profile  # noqa: E402

INTENSITIES = (0.05, 0.1, 0.3, 0.6)


def with_carbon(instance: Instance, values: list[float], cap: float | None) -> Instance:
    """`instance` with a periodic carbon profile of `values` (8 ticks each) and the cap."""
    profile = Profile(tuple((8 * i, v) for i, v in enumerate(values)), period=8 * len(values))
    energy = dataclasses.replace(instance.energy, carbon_intensity=profile, carbon_cap_kg=cap)
    return dataclasses.replace(instance, energy=energy)


def sample(examples: int, seed: int) -> dict[str, int]:
    """Run the sampling; the counts of instances checked, missed and searched."""
    counts = {"checked": 0, "missed": 0, "search ran": 0}
    state = heuristic_solver.repair_state

    def counted(*args: object, **kwargs: object) -> object:
        counts["search ran"] += 1
        return state(*args, **kwargs)  # type: ignore[arg-type]

    heuristic_solver.repair_state = counted  # type: ignore[assignment]

    @hypothesis_seed(seed)
    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(
        instance=instances(deadlines=False, horizon=False),
        values=st.lists(st.sampled_from(INTENSITIES), min_size=2, max_size=4),
    )
    def run(instance: Instance, values: list[float]) -> None:
        free = with_carbon(instance, values, None)
        least = scheduler.solve(free, solver="cpsat", objective="carbon", time_limit=10, workers=2)
        fast = scheduler.solve(free, solver="cpsat", objective="makespan", time_limit=10, workers=2)
        if least.status != "optimal" or fast.schedule is None:
            return
        low, high = least.kpis["carbon"], fast.kpis["carbon"]
        capped = with_carbon(instance, values, low + 0.1 * (high - low))
        result = scheduler.solve(capped, solver="heuristic", workers=1, iterations=300)
        counts["checked"] += 1
        counts["missed"] += result.schedule is None

    run()
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--examples", type=int, default=200)
    parser.add_argument("--seed", type=int, default=205)
    parser.add_argument(
        "--out", type=Path, default=ROOT / "benchmarks/results/heuristics/carbon_repair.md"
    )
    args = parser.parse_args()
    started = time.perf_counter()
    counts = sample(args.examples, args.seed)
    wall = time.perf_counter() - started
    command = shlex.join(["python", "benchmarks/bench_repair.py", *sys.argv[1:]])
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        "# Carbon repair: generated instances with a tight carbon cap\n\n"
        f"Command: `{command}` ({wall:.0f} s)\n\n"
        "| examples drawn | checked (cpsat proved the least carbon) | no schedule | "
        "violation search ran |\n|---|---|---|---|\n"
        f"| {args.examples} | {counts['checked']} | {counts['missed']} | "
        f"{counts['search ran']} |\n"
    )
    print(counts, f"{wall:.0f} s; wrote {args.out}")


if __name__ == "__main__":
    main()
