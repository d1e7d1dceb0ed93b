"""Small capped plants for the tests of the heuristic's justification and energy descent:
setups between two families, releases, due dates, and optionally machine windows and a crew."""

from __future__ import annotations

from types import MappingProxyType

import numpy as np

from scheduler.core.model import Energy, Instance, Job, Machine, Mode, Operation, Profile, Resource


def capped_plant(
    seed: int,
    cap_kw: float | Profile | None = 55.0,
    jobs: int = 30,
    windows: bool = False,
    crew: bool = False,
) -> Instance:
    """`jobs` jobs of three 17-45-tick ops on 2 of 6 machines, drawing 10-30 kW under a cap
    that lets two or three run at once, with releases, due dates and setups between two
    families; optionally machine windows and a crew of 2 that some modes need one of (`cap_kw`
    None: no cap)."""
    rng = np.random.default_rng(seed)
    machines = tuple(
        Machine(f"M{m}", unavailable=((int(rng.integers(0, 200)), int(rng.integers(200, 230))),))
        if windows
        else Machine(f"M{m}")
        for m in range(6)
    )

    def mode(m: int) -> Mode:
        needs = MappingProxyType({"crew": 1} if crew and rng.random() < 0.4 else {})
        return Mode(
            f"M{m}",
            int(rng.integers(17, 46)),
            power_kw=float(rng.integers(10, 31)),
            resources=needs,
        )

    chosen = tuple(
        Job(
            f"J{j}",
            tuple(
                Operation(
                    f"J{j}-{k}",
                    tuple(mode(m) for m in rng.choice(6, size=2, replace=False)),
                    family=("a", "b")[int(rng.integers(0, 2))],
                )
                for k in range(3)
            ),
            release=int(rng.integers(0, 40)),
            due=int(rng.integers(100, 400)),
        )
        for j in range(jobs)
    )
    return Instance(
        machines,
        chosen,
        energy=Energy(power_cap_kw=cap_kw),
        setup_times=MappingProxyType({m.id: {"a": {"b": 3}, "b": {"a": 5}} for m in machines}),
        resources=(Resource("crew", 2),) if crew else (),
    )
