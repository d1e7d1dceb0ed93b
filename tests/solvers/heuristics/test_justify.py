"""Double justification (`solvers.heuristics.justify`): valid, never longer, never later for
a job under weighted tardiness, and shorter where the power cap was handed out greedily."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from plants import capped_plant
from strategies import instances

from scheduler import solve
from scheduler.core.compile import compile_instance
from scheduler.core.model import Instance, Profile
from scheduler.core.objective import Objective
from scheduler.core.schedule import Schedule
from scheduler.core.validate import validate
from solvers.heuristics import solver as heuristic_solver
from solvers.heuristics.decode import RULES, SCHEMES, decode
from solvers.heuristics.justify import (
    ROUNDS,
    UNCHANGED,
    job_latest_ends,
    justified,
    justifies,
    justify,
)
from solvers.heuristics.problem import NO_DEADLINE, make_problem, make_workspace
from solvers.heuristics.regroup import NOISE, rng_for, run_variant, variants

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(
    st.integers(0, 2**16),
    st.sampled_from((40.0, 55.0, Profile(((0, 35.0), (60, 70.0)), period=120))),
    st.integers(4, 16),
    st.booleans(),
    st.booleans(),
    st.sampled_from(("makespan", "weighted_tardiness")),
)
def test_justified_plants_are_valid_and_never_worse(
    seed: int, cap: float | Profile, jobs: int, windows: bool, crew: bool, objective: str
) -> None:
    """Small capped plants with setups, releases, machine windows, a crew and a cap profile:
    every justification of a batching decode passes `validate`, ends no later, and keeps
    each job within what the objective allows it."""
    inst = capped_plant(seed, cap, jobs, windows, crew)
    _check_justifications(inst, Objective.parse(objective), seed)


@SETTINGS
@given(
    instances(energy_caps=True, jobs=(3, 8), ops_per_job=(1, 4))
    | instances(energy_caps=True, jobs=(3, 8), ops_per_job=(1, 4), deadlines=False, horizon=False),
    st.sampled_from(("makespan", "weighted_tardiness", "total_flow_time")),
    st.integers(0, 2**16),
)
def test_justified_schedules_are_valid_and_never_worse(
    inst: Instance, objective: str, seed: int
) -> None:
    """On instances with windows, setups, resources, lags, deadlines and power caps, every
    justification of a decoded schedule passes `validate`, ends no later, and keeps each job
    within what the objective allows it (`job_latest_ends`)."""
    _check_justifications(inst, Objective.parse(objective), seed)


def _check_justifications(inst: Instance, obj: Objective, seed: int) -> int:
    """Justify every complete batching and rule decode of `inst`; check each justified
    schedule; return how many got shorter."""
    c = compile_instance(inst)
    p = make_problem(c, obj)
    w = make_workspace(p)
    decoded = []
    for v in variants(p, least_energy=bool(seed % 2), c=c):
        if run_variant(p, w, v, NOISE, rng_for(seed), NO_DEADLINE, None, 50) == 0:
            decoded.append((w.start.copy(), w.end.copy(), w.mode.copy()))
    for scheme in SCHEMES.values():
        rule = list(RULES.values())[seed % len(RULES)]
        prio = np.zeros(p.n_ops)
        free = np.full(p.n_ops, -1, dtype=np.int64)
        none = np.zeros(p.n_ops, dtype=np.bool_)
        if decode(p, w, scheme, rule, prio, free, False, none, NO_DEADLINE) == 0:
            decoded.append((w.start.copy(), w.end.copy(), w.mode.copy()))
    shorter = 0
    for start, end, mode in decoded:
        late = job_latest_ends(p, obj, end)
        moved = justified(p, obj, start, end, mode, NO_DEADLINE)
        if moved is None:
            continue
        shorter += 1
        new_start, viol = moved
        assert justifies(p)
        assert viol == 0
        new_end = new_start + p.mode_duration[mode]
        assert new_end.max() < end.max()
        assert (new_end <= late[p.op_job]).all()
        assert validate(inst, Schedule.from_arrays(c, mode, new_start)) == []
    return shorter


def test_justification_shortens_greedy_schedules_under_a_tight_cap() -> None:
    """Batching decodes of a capped plant leave room that a right and a left pass fill: most
    of them get shorter, none longer, and the result stays within the cap."""
    inst = capped_plant(5)
    c = compile_instance(inst)
    obj = Objective.parse("makespan")
    p = make_problem(c, obj)
    w = make_workspace(p)
    shorter = tried = 0
    for seed in range(3):
        for v in variants(p, least_energy=False, c=c):
            assert run_variant(p, w, v, NOISE, rng_for(seed), NO_DEADLINE, None, 0) == 0
            tried += 1
            moved = justified(p, obj, w.start, w.end, w.mode, NO_DEADLINE)
            if moved is not None:
                shorter += 1
                schedule = Schedule.from_arrays(c, w.mode, moved[0])
                assert validate(inst, schedule) == []
    assert tried >= 8 and shorter >= tried // 2, (shorter, tried)


def test_without_a_cap_or_resources_nothing_moves() -> None:
    """A semi-active schedule with only machines has nothing to regroup: not attempted."""
    inst = capped_plant(5)
    inst = dataclasses.replace(inst, energy=dataclasses.replace(inst.energy, power_cap_kw=None))
    p = make_problem(compile_instance(inst), Objective.parse("makespan"))
    assert not justifies(p)


def test_the_heuristic_offers_justified_schedules() -> None:
    """On a capped plant the heuristic's best schedule is a justified one (its message names
    it), and it is valid."""
    inst = capped_plant(7, cap_kw=45.0)
    result = solve(inst, solver="heuristic", iterations=50, warm_start=False)
    assert result.schedule is not None
    assert validate(inst, result.schedule) == []
    assert "justified" in result.message, result.message


def test_the_local_search_offers_its_bests_justified(monkeypatch: pytest.MonkeyPatch) -> None:
    """Below the batching search's size the annealing's bests are justified too, and a
    justified schedule keeps the replay of the one it came from (the search goes on from
    what it found, not from a replay of the justified order, which decodes to another)."""
    offered: list[tuple[str, str]] = []
    original = heuristic_solver._offer_justified

    def spy(run: Any, found: Any) -> None:
        before = run.best
        original(run, found)
        if run.best is not before and run.best.label.endswith(", justified"):
            assert run.best.seq is found.seq
            offered.append((found.label, run.best.label))

    monkeypatch.setattr(heuristic_solver, "_offer_justified", spy)
    result = solve(
        capped_plant(0, cap_kw=45.0), solver="heuristic", iterations=2000, warm_start=False
    )
    assert result.schedule is not None
    assert ("local search", "local search, justified") in offered, offered


def test_the_right_pass_keeps_jobs_by_their_due_dates() -> None:
    """Under weighted tardiness a job may be pushed to its due date or its end, whichever is
    later; under the makespan alone, to the makespan."""
    inst = capped_plant(3)
    c = compile_instance(inst)
    p = make_problem(c, Objective.parse("weighted_tardiness"))
    end = np.arange(p.n_ops, dtype=np.int64) * 3
    done = np.maximum.reduceat(end, p.job_op_ptr[:-1])
    late = job_latest_ends(p, Objective.parse("weighted_tardiness"), end)
    assert (late == np.maximum(done, p.job_due)).all()
    flow = job_latest_ends(p, Objective.parse("total_flow_time"), end)
    assert (flow == done).all()
    assert (job_latest_ends(p, Objective.parse("makespan"), end) == end.max()).all()


def test_a_schedule_past_the_time_lines_is_left_alone() -> None:
    """An op moved to end past the span (the energy descent's moves can stretch one) is not
    justified: the passes never index past the time lines."""
    inst = capped_plant(2, jobs=6)
    c = compile_instance(inst)
    p = make_problem(c, Objective.parse("makespan"))
    w = make_workspace(p)
    v = next(iter(variants(p, least_energy=False, c=c)))
    assert run_variant(p, w, v, 0.0, rng_for(0), NO_DEADLINE, None, 0) == 0
    start, end = w.start.copy(), w.end.copy()
    o = int(np.argmax(p.mode_duration[w.mode]))
    start[o] = p.span - 1
    end[o] = start[o] + p.mode_duration[w.mode[o]]
    late = np.full(p.n_jobs, end.max(), dtype=np.int64)
    assert justify(p, start, end, w.mode, late, ROUNDS, NO_DEADLINE, False) == UNCHANGED
