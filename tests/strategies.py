"""Hypothesis strategies for small random instances that can use every feature of the model:
flexible modes (several may share a machine), families with sequence-dependent setups, DAG
precedences with lags (within and across jobs), releases, due dates, float weights, deadlines,
unavailability windows, a renewable resource, a horizon, and energy data.

`instances()` is the one entry point; its keyword switches turn features on or off and size the
instance, e.g. `instances(jobs=(1, 2), ops_per_job=(1, 2))` for brute-forceable ones, or
`instances(energy_caps=True)` to add a power cap and a carbon cap. Every drawn instance passes
the construction checks. Deadlines and horizons are either loose (at least the serial bound of
DESIGN section 11, so a feasible schedule exists when all of them are loose) or tight (a few
ticks above the minimal finish), so most instances are feasible and some are not.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from types import MappingProxyType

from hypothesis import strategies as st

from scheduler.core.compile import compile_instance
from scheduler.core.model import Energy, Instance, Job, Machine, Mode, Operation, Profile, Resource

FAMILIES = ("A", "B", "C")
WEIGHTS = (1.0, 2.0, 0.5, 1.5, 3.0)


@st.composite
def instances(
    draw: st.DrawFn,
    *,
    machines: tuple[int, int] = (2, 4),
    jobs: tuple[int, int] = (2, 4),
    ops_per_job: tuple[int, int] = (1, 3),
    modes: tuple[int, int] = (1, 3),
    max_duration: int = 6,
    families: int = 3,
    max_setup: int = 3,
    windows: bool = True,
    resources: bool = True,
    cross_job: bool = True,
    deadlines: bool = True,
    horizon: bool = True,
    energy: bool = True,
    energy_caps: bool = False,
) -> Instance:
    """A random valid Instance; ranges are inclusive (min, max) and features are switches."""
    n_machines = draw(st.integers(*machines))
    machine_ids = [f"M{i}" for i in range(n_machines)]
    fams = FAMILIES[:families]

    machine_list = []
    for mid in machine_ids:
        spans = draw(st.lists(st.tuples(st.integers(0, 25), st.integers(1, 4)), max_size=2))
        machine_list.append(
            Machine(
                mid,
                idle_power_kw=draw(st.sampled_from((0.0, 0.0, 1.5))) if energy else 0.0,
                unavailable=tuple((s, s + d) for s, d in spans) if windows else (),
            )
        )

    setup_times: dict[str, dict[str, dict[str, int]]] = {}
    if fams and max_setup > 0:
        for mid in machine_ids:
            if draw(st.booleans()):
                setup_times[mid] = {
                    a: {b: draw(st.integers(0, max_setup)) for b in fams} for a in fams
                }

    resource_list: list[Resource] = []
    if resources and draw(st.booleans()):
        resource_list.append(Resource("R", draw(st.integers(1, 3))))

    def mode() -> Mode:
        demand = {r.id: draw(st.integers(0, r.capacity)) for r in resource_list}
        return Mode(
            draw(st.sampled_from(machine_ids)),
            draw(st.integers(1, max_duration)),
            power_kw=draw(st.sampled_from((0.0, 2.0, 5.5))) if energy else 0.0,
            resources=MappingProxyType({r: q for r, q in demand.items() if q > 0}),
        )

    n_jobs = draw(st.integers(*jobs))
    shapes = []  # per job: (release, due, weight, [(op id, modes, family)])
    for j in range(n_jobs):
        n_ops = draw(st.integers(*ops_per_job))
        ops = [
            (
                f"J{j}-{k}",
                tuple(mode() for _ in range(draw(st.integers(*modes)))),
                draw(st.sampled_from((None, *fams))) if fams else None,
            )
            for k in range(n_ops)
        ]
        release = draw(st.integers(0, 6))
        due = draw(st.none() | st.integers(release, release + 20))
        shapes.append((release, due, draw(st.sampled_from(WEIGHTS)), ops))

    # precedences: a job either keeps its chain or lists predecessors among earlier operations
    # (its own, and with cross_job those of earlier jobs), so the graph is acyclic
    preds: dict[str, tuple[tuple[str, int], ...] | None] = {}
    earlier: list[str] = []
    for _, _, _, ops in shapes:
        explicit = draw(st.booleans())
        own: list[str] = []
        for oid, _, _ in ops:
            if explicit:
                pool = own + (earlier if cross_job else [])
                chosen = (
                    draw(st.lists(st.sampled_from(pool), max_size=2, unique=True)) if pool else []
                )
                preds[oid] = tuple((p, draw(st.integers(0, 3))) for p in chosen)
            else:
                preds[oid] = None
            own.append(oid)
        earlier += own

    arcs = []  # (pred, succ, lag), as Instance.precedences() will state them
    for _, _, _, ops in shapes:
        if all(preds[oid] is None for oid, _, _ in ops):
            arcs += [(a[0], b[0], 0) for a, b in zip(ops, ops[1:], strict=False)]
        else:
            arcs += [(p, oid, lag) for oid, _, _ in ops for p, lag in preds[oid] or ()]
    release_of = {oid: rel for rel, _, _, ops in shapes for oid, _, _ in ops}
    shortest = {oid: min(m.duration for m in ms) for _, _, _, ops in shapes for oid, ms, _ in ops}
    head = dict(release_of)
    for a, b, lag in sorted(arcs, key=lambda arc: earlier.index(arc[1])):
        head[b] = max(head[b], head[a] + shortest[a] + lag)
    finish = {oid: head[oid] + shortest[oid] for oid in head}

    window_end = max((e for m in machine_list for _, e in m.unavailable), default=0)
    serial = (
        max(window_end, max(rel for rel, _, _, _ in shapes))
        + sum(max(m.duration for m in ms) for _, _, _, ops in shapes for _, ms, _ in ops)
        + len(earlier) * max_setup
        + sum(lag for _, _, lag in arcs)
    )

    def limit(earliest: int) -> int:
        if draw(st.booleans()):
            return max(earliest, serial)
        return earliest + draw(st.integers(0, 6))

    job_list = []
    for j, (release, due, weight, ops) in enumerate(shapes):
        job_finish = max(finish[oid] for oid, _, _ in ops)
        deadline = limit(job_finish) if deadlines and draw(st.integers(0, 2)) == 0 else None
        operations = tuple(
            Operation(oid, ms, family=fam, predecessors=preds[oid]) for oid, ms, fam in ops
        )
        job_list.append(Job(f"J{j}", operations, release, due, deadline, weight))
    hor = limit(max(finish.values())) if horizon and draw(st.booleans()) else None

    return Instance(
        tuple(machine_list),
        tuple(job_list),
        name="random",
        horizon=hor,
        resources=tuple(resource_list),
        setup_times=setup_times,  # type: ignore[arg-type]
        energy=draw(_energy(energy, energy_caps)),
    )


def _energy(energy: bool, caps: bool) -> st.SearchStrategy[Energy]:
    """Energy settings: a tariff and a carbon profile (KPI-only), and with `caps` hard caps."""
    if not energy:
        return st.just(Energy())
    profile = st.builds(
        lambda values, period: Profile(
            tuple((i * 8, v) for i, v in enumerate(values)), period=period
        ),
        st.lists(st.sampled_from((0.05, 0.1, 0.3)), min_size=1, max_size=3),
        st.sampled_from((None, 24)),
    )
    cap_kw = st.sampled_from((None, 8.0, 20.0)) if caps else st.none()
    cap_kg = st.sampled_from((None, 5.0)) if caps else st.none()
    return st.builds(Energy, cap_kw, st.none() | profile, st.none() | profile, cap_kg)


def zero_some_modes(inst: Instance, pick: Callable[[], bool]) -> Instance:
    """`inst` with the duration of each mode for which `pick()` is true set to 0."""
    jobs = tuple(
        dataclasses.replace(
            job,
            operations=tuple(
                dataclasses.replace(
                    op,
                    modes=tuple(
                        dataclasses.replace(m, duration=0) if pick() else m for m in op.modes
                    ),
                )
                for op in job.operations
            ),
        )
        for job in inst.jobs
    )
    return dataclasses.replace(inst, jobs=jobs)


def limits_are_loose(inst: Instance) -> bool:
    """Whether every deadline and the given horizon are at least the derived horizon, which a
    serial schedule always meets (DESIGN section 11): then a list schedule always fits."""
    serial = compile_instance(dataclasses.replace(inst, horizon=None)).horizon
    limits = [j.deadline for j in inst.jobs if j.deadline is not None]
    if inst.horizon is not None:
        limits.append(inst.horizon)
    return all(limit >= serial for limit in limits)
