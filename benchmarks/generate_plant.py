"""Seeded generator of large plant instances for the scale benchmark (default: 2,000 jobs x 10
operations on 50 machines, alternative machines, sequence-dependent setups).

The plant has work centres of identical-purpose machines of different speed and power; each job
visits `ops` distinct work centres in a random order (a flexible job shop), each operation may
run on 1-3 machines of its centre, and every job belongs to a product family whose changeovers
cost a setup on each machine. With `--power-cap` the plant also gets a site power cap at a share
of the machines' summed mean draw; with `--no-setups` the changeovers are free (the same plant
otherwise: the random stream is drawn identically).

    python benchmarks/generate_plant.py --seed 1 --out plant.json [--power-cap] [--no-setups]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from types import MappingProxyType

import numpy as np

from scheduler.core.model import Energy, Instance, Job, Machine, Mode, Operation
from scheduler.io import write_json

CENTRE_SIZE = 5  # machines per work centre
FAMILIES = 6  # product families (setup classes)
DURATION = (5, 60)  # base processing time, ticks (minutes)
SPEED = (0.8, 1.25)  # machine slowdown factor against the base time
POWER_KW = (5.0, 50.0)  # machine power while processing
SETUP = (5, 30)  # changeover between different families
POWER_CAP_SHARE = 0.6  # cap = this share of the summed mean machine power


def generate_plant(
    seed: int,
    jobs: int = 2000,
    ops: int = 10,
    machines: int = 50,
    max_alternatives: int = 3,
    power_cap: bool = False,
    setups: bool = True,
) -> Instance:
    """A reproducible plant instance: the same arguments always give the same instance."""
    if machines % CENTRE_SIZE or ops > machines // CENTRE_SIZE:
        raise ValueError(
            f"machines must be a multiple of {CENTRE_SIZE} with at least `ops` work centres"
        )
    rng = np.random.default_rng(seed)
    centres = machines // CENTRE_SIZE
    ids = [f"M{m + 1:02d}" for m in range(machines)]
    speed = rng.uniform(*SPEED, size=machines)
    power = rng.uniform(*POWER_KW, size=machines).round(1)
    families = [f"F{f + 1}" for f in range(FAMILIES)]
    setup_times = {
        ids[m]: {a: {b: int(rng.integers(*SETUP)) for b in families if b != a} for a in families}
        for m in range(machines)
    }
    mean_work = np.mean(DURATION) * np.mean(SPEED) * ops
    release_spread = int(jobs * mean_work / machines)
    job_list = []
    for j in range(jobs):
        route = rng.permutation(centres)[:ops]
        family = families[int(rng.integers(FAMILIES))]
        operations = []
        for k, centre in enumerate(route):
            base = int(rng.integers(DURATION[0], DURATION[1] + 1))
            count = int(rng.integers(1, max_alternatives + 1))
            chosen = sorted(
                rng.choice(CENTRE_SIZE, size=count, replace=False) + centre * CENTRE_SIZE
            )
            modes = tuple(
                Mode(ids[m], max(1, round(base * speed[m])), power_kw=float(power[m]))
                for m in chosen
            )
            operations.append(
                Operation(f"J{j + 1}-{k + 1}", modes, family=family if setups else None)
            )
        release = int(rng.integers(0, release_spread + 1))
        due = release + int(rng.uniform(1.5, 3.0) * mean_work)
        weight = float(rng.integers(1, 4))
        job_list.append(Job(f"J{j + 1}", tuple(operations), release, due, None, weight))
    energy = Energy(
        power_cap_kw=round(POWER_CAP_SHARE * float(power.sum()), 1) if power_cap else None
    )
    return Instance(
        machines=tuple(Machine(i) for i in ids),
        jobs=tuple(job_list),
        name=f"plant-{jobs}x{ops}-m{machines}-s{seed}{'-cap' if power_cap else ''}"
        f"{'' if setups else '-nosetup'}",
        setup_times=MappingProxyType(setup_times if setups else {}),
        energy=energy,
    )


def main(argv: list[str] | None = None) -> int:
    """Generate one plant instance and write it as JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--jobs", type=int, default=2000)
    parser.add_argument("--ops", type=int, default=10)
    parser.add_argument("--machines", type=int, default=50)
    parser.add_argument("--max-alternatives", type=int, default=3)
    parser.add_argument("--power-cap", action="store_true", help="add a site power cap")
    parser.add_argument("--no-setups", action="store_true", help="free changeovers")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    instance = generate_plant(
        args.seed,
        args.jobs,
        args.ops,
        args.machines,
        args.max_alternatives,
        args.power_cap,
        not args.no_setups,
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    write_json(instance, args.out)
    n_ops = sum(len(job.operations) for job in instance.jobs)
    print(
        f"wrote {args.out}: {len(instance.jobs)} jobs, {n_ops} operations, {args.machines} machines"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
