"""Energy descent (`solvers.heuristics.remode`): every move gives a valid schedule in modes of
less energy, and on a large capped plant the heuristic's last worker runs it."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from plants import capped_plant

from scheduler import solve
from scheduler.core.compile import compile_instance
from scheduler.core.model import Energy, Instance, Job, Machine, Mode, Operation
from scheduler.core.objective import Objective
from scheduler.core.schedule import Schedule
from scheduler.core.validate import validate
from solvers.heuristics import solver as heuristic_solver
from solvers.heuristics.problem import NO_DEADLINE, make_problem, make_workspace
from solvers.heuristics.regroup import NOISE, rng_for, run_variant, variants
from solvers.heuristics.remode import EnergyDescent


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.integers(0, 2**16),
    st.integers(4, 14),
    st.booleans(),
    st.booleans(),
    st.sampled_from(("makespan", "weighted_tardiness")),
)
def test_every_move_is_valid_and_draws_less_energy(
    seed: int, jobs: int, windows: bool, crew: bool, objective: str
) -> None:
    """From each complete batching decode of a small capped plant (setups, releases, windows,
    a crew), up to 15 moves in a row: each result passes `validate`, and its modes draw less
    energy than those it moved from."""
    inst = capped_plant(seed, 45.0, jobs, windows, crew)
    c = compile_instance(inst)
    obj = Objective.parse(objective)
    p = make_problem(c, obj)
    w = make_workspace(p)
    descent = EnergyDescent(p, obj, seed)
    for v in variants(p, least_energy=False, c=c):
        if run_variant(p, w, v, NOISE, rng_for(seed), NO_DEADLINE, None, 0) != 0:
            continue
        start, mode = w.start.copy(), w.mode.copy()
        for _ in range(15):
            moved = descent.step(start, mode, NO_DEADLINE)
            if moved is None:
                continue
            new_start, new_mode, viol = moved
            assert p.mode_kwh[new_mode].sum() < p.mode_kwh[mode].sum()
            assert (new_mode != mode).sum() == 1
            assert viol == 0
            assert validate(inst, Schedule.from_arrays(c, new_mode, new_start)) == []
            start, mode = new_start, new_mode


def _lean_machine_plant(jobs: int) -> Instance:
    """Each op runs on M0 or M1 at 5 kW for 20 ticks (least energy) or on one of M2-M5 at
    20 kW for 15, releases spread over about 7 ticks a job, under a 45 kW cap: the decodes
    use the hungry machines too, and the lean ones have room to take ops back."""
    rng = np.random.default_rng(3)
    machines = tuple(Machine(f"M{m}") for m in range(6))
    chosen = tuple(
        Job(
            f"J{j}",
            tuple(
                Operation(
                    f"J{j}-{k}",
                    (
                        Mode(f"M{rng.integers(0, 2)}", 20, power_kw=5.0),
                        Mode(f"M{rng.integers(2, 6)}", 15, power_kw=20.0),
                    ),
                )
                for k in range(3)
            ),
            release=int(rng.integers(0, 20 * jobs // 3)),
        )
        for j in range(jobs)
    )
    return Instance(machines, chosen, energy=Energy(power_cap_kw=45.0))


def test_moves_are_found_where_decodes_use_hungry_machines() -> None:
    """From a decode of the lean-machine plant in the relaxation's modes most moves succeed."""
    inst = _lean_machine_plant(60)
    c = compile_instance(inst)
    p = make_problem(c, Objective.parse("makespan"))
    w = make_workspace(p)
    lp = next(v for v in variants(p, least_energy=False, c=c) if "relaxation" in v.label)
    assert run_variant(p, w, lp, 0.0, rng_for(0), NO_DEADLINE, None, 0) == 0
    descent = EnergyDescent(p, Objective.parse("makespan"), 0)
    found = [descent.step(w.start, w.mode, NO_DEADLINE) for _ in range(20)]
    assert sum(x is not None for x in found) >= 10
    for moved in found:
        if moved is not None:
            assert validate(inst, Schedule.from_arrays(c, moved[1], moved[0])) == []


def test_the_last_worker_descends_on_a_large_capped_plant(monkeypatch: pytest.MonkeyPatch) -> None:
    """On a 1,020-operation capped plant the batching search's last worker turns to energy
    descent: it tries moves, keeps some, and the solve's schedule is valid."""
    runs: list[tuple[int, str]] = []
    original = heuristic_solver._descend

    def spy(run: Any, opts: Any, seed: int) -> int:
        tries = original(run, opts, seed)
        runs.append((tries, run.best.label))
        return tries

    monkeypatch.setattr(heuristic_solver, "_descend", spy)
    inst = _lean_machine_plant(340)
    result = solve(inst, solver="heuristic", iterations=60, warm_start=False, workers=1)
    assert result.schedule is not None
    assert validate(inst, result.schedule) == []
    assert len(runs) == 1 and runs[0][0] > 1, runs
