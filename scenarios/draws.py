"""Common random numbers: each replication draws its breakdown, duration and defect streams
from its own seed (numpy SeedSequence spawned per replication, then per stream), as standard
variates in shapes fixed by the instance alone, so every profile sees the same draws and
differences between profiles are not noise. A profile turns them into its own times and
events (`Sampler`)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from scenarios.profile import Distribution, Profile
from scheduler.core.compile import CompiledInstance

BLOCK = 32  # breakdowns drawn per machine at a time (more blocks follow when needed)
STREAMS = ("breakdowns", "durations", "defects")


@dataclass(frozen=True)
class Draws:
    """The standard variates of one replication. Breakdowns per machine: `tbf_e`/`tbf_z` and
    `rep_e`/`rep_z` (standard exponential and normal, one column per failure), `keep_u`
    (uniform, for the share prevented); per operation `dur_z` and `rework_z` (normal), and
    `defect_u`, `station_u` (uniform); per job `final_u` (uniform)."""

    tbf_e: np.ndarray
    tbf_z: np.ndarray
    rep_e: np.ndarray
    rep_z: np.ndarray
    keep_u: np.ndarray
    dur_z: np.ndarray
    rework_z: np.ndarray
    defect_u: np.ndarray
    station_u: np.ndarray
    final_u: np.ndarray


def replication_seeds(seed: int, replications: int) -> list[np.random.SeedSequence]:
    """One SeedSequence per replication, the same for every profile."""
    return np.random.SeedSequence(seed).spawn(replications)


def stream(seed: np.random.SeedSequence, index: int) -> np.random.SeedSequence:
    """The replication's `index`-th stream: a child of `seed` made without mutating it
    (`spawn` counts its children, which would give a second profile other streams)."""
    return np.random.SeedSequence(seed.entropy, spawn_key=(*seed.spawn_key, index))


def draw(seed: np.random.SeedSequence, compiled: CompiledInstance, blocks: int = 1) -> Draws:
    """The replication's variates; `blocks` x BLOCK failures per machine (a larger `blocks`
    extends the same sequence: the first columns are unchanged)."""
    breakdowns, durations, defects = (
        np.random.default_rng(stream(seed, i)) for i in range(len(STREAMS))
    )
    shape = (compiled.n_machines, BLOCK)
    parts: list[list[np.ndarray]] = [[], [], [], [], []]
    for _ in range(blocks):
        parts[0].append(breakdowns.standard_exponential(shape))
        parts[1].append(breakdowns.standard_normal(shape))
        parts[2].append(breakdowns.standard_exponential(shape))
        parts[3].append(breakdowns.standard_normal(shape))
        parts[4].append(breakdowns.random(shape))
    tbf_e, tbf_z, rep_e, rep_z, keep_u = (np.concatenate(p, axis=1) for p in parts)
    n = compiled.n_ops
    return Draws(
        tbf_e=tbf_e,
        tbf_z=tbf_z,
        rep_e=rep_e,
        rep_z=rep_z,
        keep_u=keep_u,
        dur_z=durations.standard_normal(n),
        rework_z=durations.standard_normal(n),
        defect_u=defects.random(n),
        station_u=defects.random(n),
        final_u=defects.random(compiled.n_jobs),
    )


def hours(dist: Distribution, e: np.ndarray, z: np.ndarray) -> np.ndarray:
    """Durations in hours from standard exponential `e` and normal `z` variates (inverse
    transforms: exponential mean x E, Weibull scale x E^(1/shape), lognormal exp(mu + s Z))."""
    if dist.kind == "exponential":
        return dist.mean_hours * e
    if dist.kind == "weibull":
        scale = dist.mean_hours / math.gamma(1.0 + 1.0 / dist.shape)
        return scale * e ** (1.0 / dist.shape)
    sigma2 = math.log1p(dist.cv**2)
    return np.exp(math.log(dist.mean_hours) - sigma2 / 2 + math.sqrt(sigma2) * z)


def multipliers(cv: float, z: np.ndarray) -> np.ndarray:
    """Lognormal processing-time multipliers with mean 1 and coefficient of variation `cv`."""
    if cv == 0:
        return np.ones_like(z)
    sigma2 = math.log1p(cv**2)
    return np.exp(-sigma2 / 2 + math.sqrt(sigma2) * z)


def breakdown_windows(
    profile: Profile, draws: Draws, ticks_per_hour: float, until: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, bool]:
    """The profile's breakdowns as sorted [start, end) tick windows per machine (CSR: ptr,
    start, end) over calendar time from 0, and whether the drawn failures reach `until`
    (if not, draw more blocks). Prevented failures (keep_u < cut) leave their place empty."""
    n_machines = draws.tbf_e.shape[0]
    empty = np.zeros(0, dtype=np.int64)
    spec = profile.maintenance.breakdowns
    if spec is None:
        return np.zeros(n_machines + 1, dtype=np.int64), empty, empty, True
    tbf = hours(spec.time_between_failures, draws.tbf_e, draws.tbf_z) * ticks_per_hour
    rep = hours(spec.repair_time, draws.rep_e, draws.rep_z) * ticks_per_hour
    fail = np.cumsum(tbf + rep, axis=1) - rep  # failure times: after each up time
    covered = bool(np.all(fail[:, -1] >= until))
    start = np.floor(fail).astype(np.int64)
    end = np.maximum(np.ceil(fail + rep).astype(np.int64), start + 1)
    keep = (draws.keep_u >= profile.maintenance.breakdown_cut) & (start < until)
    counts = keep.sum(axis=1)
    ptr = np.concatenate(([0], np.cumsum(counts))).astype(np.int64)
    return ptr, start[keep], end[keep], covered


def actual_durations(planned: np.ndarray, mult: np.ndarray) -> np.ndarray:
    """Planned ticks x multiplier, rounded, at least 1 tick for a non-zero operation."""
    out = np.rint(planned * mult).astype(np.int64)
    return np.where(planned > 0, np.maximum(out, 1), 0)
