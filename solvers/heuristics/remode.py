"""Energy descent under a power cap: the heuristic's last phase on large capped plants, once the
batching search has stalled (on the 2,000-job capped plants it finds its best within 3-20 s
of a 60 s limit).

A move takes one random operation that is not in a least-energy mode to a random mode of less
energy, starting where it did, and double-justifies the schedule again (`justify`, the first
round kept even when no shorter): the passes rebuild a feasible schedule around the change, so
the move is kept when the objective is no worse, and the energy drawn goes down. Where the
plant's energy binds the makespan, a lower draw lets the passes pull the end in."""

from __future__ import annotations

import numpy as np

from scheduler.core.objective import Objective
from solvers.heuristics.justify import justified
from solvers.heuristics.problem import Problem


class EnergyDescent:
    """The moves of one worker's energy descent on `p` (random, from `seed`)."""

    def __init__(self, p: Problem, objective: Objective, seed: int) -> None:
        self.p = p
        self.objective = objective
        self.least = np.minimum.reduceat(p.mode_kwh, p.mode_ptr[:-1])  # per op
        self.rng = np.random.default_rng(seed)

    def movable(self, mode: np.ndarray) -> np.ndarray:
        """The ops whose mode draws more than their least energy."""
        return np.flatnonzero(self.p.mode_kwh[mode] > self.least * (1 + 1e-12))

    def step(
        self, start: np.ndarray, mode: np.ndarray, deadline: float
    ) -> tuple[np.ndarray, np.ndarray, float] | None:
        """One move from the complete schedule (`start`, `mode`), on copies: (start, mode,
        violation) of the justified result, or None when no op can move, the passes could
        not rebuild it, it came out longer, or the clock passed `deadline`."""
        p = self.p
        movable = self.movable(mode)
        if movable.size == 0:
            return None
        o = int(movable[self.rng.integers(movable.size)])
        lo = p.mode_ptr[o]
        lower = lo + np.flatnonzero(p.mode_kwh[lo : p.mode_ptr[o + 1]] < p.mode_kwh[mode[o]])
        new_mode = mode.copy()
        new_mode[o] = lower[self.rng.integers(lower.size)]
        end = start + p.mode_duration[new_mode]
        moved = justified(p, self.objective, start, end, new_mode, deadline, strict=False)
        return None if moved is None else (moved[0], new_mode, moved[1])
