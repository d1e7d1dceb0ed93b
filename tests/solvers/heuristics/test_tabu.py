"""The heuristic solver's tabu search (makespan; no windows, resources or power cap, with or
without setups and deadlines): its schedules are the earliest starts of acyclic machine orders
(heads and tails checked by brute force, setups included), valid, never worse than where it
started."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from paths import fjsp_generator, plant_generator
from strategies import instances, zero_some_modes

import solvers.heuristics.solver as heuristic_solver
from scheduler.core.bounds import relaxation_shares
from scheduler.core.compile import compile_instance
from scheduler.core.kpi import compute_kpis
from scheduler.core.model import Instance, Job, Machine, Mode, Operation
from scheduler.core.objective import Objective
from scheduler.core.protocol import SolveConfig
from scheduler.core.relaxation import largest_shares
from scheduler.core.schedule import Schedule
from scheduler.core.solve import solve
from scheduler.core.validate import validate
from scheduler.io import load
from solvers.heuristics import HeuristicSolver
from solvers.heuristics.decode import FAILED, RULES, SERIAL, decode
from solvers.heuristics.problem import (
    NO_DEADLINE,
    Problem,
    Workspace,
    make_problem,
    make_workspace,
)
from solvers.heuristics.regroup import Squeaky
from solvers.heuristics.tabu import OPTIMAL, make_tabu_state, start_tabu, tabu_search

FT06 = "benchmarks/instances/jssp/ft06.txt"
MAKESPAN = Objective.parse("makespan")
SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def plain_instances(draw: st.DrawFn, horizon: bool = False, setups: bool = False) -> Instance:
    """No windows, resources, power cap or deadlines (where tabu search applies from any
    start), setups if asked, with precedence DAGs and lags, several modes, and sometimes
    zero-duration modes."""
    inst = draw(
        instances(
            jobs=(2, 5),
            windows=False,
            resources=False,
            families=3 if setups else 0,
            max_setup=4 if setups else 0,
            deadlines=False,
            horizon=horizon,
        )
    )
    if not draw(st.integers(0, 3)):
        zero = draw(st.randoms(use_true_random=False))
        inst = zero_some_modes(inst, lambda: zero.random() < 0.2)
    return inst


def _arcs(p: Problem, seq: np.ndarray, cnt: np.ndarray) -> list[tuple[int, int, int]]:
    """(before, after, lag): the precedences, and the machine orders with their setups."""
    arcs = [
        (int(p.pred_op[i]), o, int(p.pred_lag[i]))
        for o in range(p.n_ops)
        for i in range(p.pred_ptr[o], p.pred_ptr[o + 1])
    ]

    def setup(m: int, a: int, b: int) -> int:
        fa, fb = p.op_family[a], p.op_family[b]
        return int(p.setup[m, fa, fb]) if p.has_setups and fa >= 0 and fb >= 0 else 0

    return arcs + [
        (int(seq[m, i]), int(seq[m, i + 1]), setup(m, seq[m, i], seq[m, i + 1]))
        for m in range(len(cnt))
        for i in range(cnt[m] - 1)
    ]


def _earliest_starts(p: Problem, mode: np.ndarray, seq: np.ndarray, cnt: np.ndarray) -> list[int]:
    """Brute force: relax release, precedence-with-lag and machine-order constraints until
    nothing moves (the orders are acyclic, so n passes suffice)."""
    dur = p.mode_duration[mode]
    start = [int(p.op_release[o]) for o in range(p.n_ops)]
    for _ in range(p.n_ops + 1):
        moved = False
        for a, b, lag in _arcs(p, seq, cnt):
            if start[a] + dur[a] + lag > start[b]:
                start[b] = int(start[a] + dur[a] + lag)
                moved = True
        if not moved:
            return start
    raise AssertionError("cyclic orders")


def _tails(p: Problem, mode: np.ndarray, seq: np.ndarray, cnt: np.ndarray) -> list[int]:
    """Brute force: the longest path from each op's end to the end of the schedule."""
    dur = p.mode_duration[mode]
    tail = [0] * p.n_ops
    for _ in range(p.n_ops + 1):
        moved = False
        for a, b, lag in _arcs(p, seq, cnt):
            if lag + dur[b] + tail[b] > tail[a]:
                tail[a] = int(lag + dur[b] + tail[b])
                moved = True
        if not moved:
            return tail
    raise AssertionError("cyclic orders")


def _mwkr_schedule(p: Problem) -> Workspace | None:
    """The `mwkr` rule's serial schedule, a start for the search (None: it found no room)."""
    w = make_workspace(p)
    free = np.full(p.n_ops, -1, dtype=np.int64)
    none = np.zeros(p.n_ops, dtype=np.bool_)
    if (
        decode(p, w, SERIAL, RULES["mwkr"], np.zeros(p.n_ops), free, False, none, NO_DEADLINE)
        == FAILED
    ):
        return None
    return w


@SETTINGS
@given(st.booleans().flatmap(lambda s: plain_instances(setups=s)), st.integers(0, 5))
def test_tabu_search_gives_earliest_starts_of_valid_orders(inst: Instance, seed: int) -> None:
    c = compile_instance(inst)
    p = make_problem(c, MAKESPAN)
    w = _mwkr_schedule(p)
    if w is None:
        return
    decoded = int((w.start + p.mode_duration[w.mode]).max())
    st_ = make_tabu_state(p, w.mode.copy(), w.start.copy(), seed)
    assert start_tabu(p, st_)
    first = int(st_.makespan[1])
    assert first <= decoded
    tabu_search(p, st_, 300, 20)
    best = int(st_.makespan[1])
    assert best <= first
    assert best == int((st_.best_start + p.mode_duration[st_.best_mode]).max())
    schedule = Schedule.from_arrays(c, st_.best_mode, st_.best_start)
    assert validate(inst, schedule) == []
    want = _earliest_starts(p, st_.best_mode, st_.best_seq, st_.best_cnt)
    assert st_.best_start.tolist() == want
    assert st_.head.tolist() == _earliest_starts(p, st_.mode, st_.seq, st_.cnt)
    assert st_.tail.tolist() == _tails(p, st_.mode, st_.seq, st_.cnt)
    machines = [p.mode_machine[k] if p.mode_duration[k] > 0 else -1 for k in st_.mode]
    assert st_.mach.tolist() == machines
    for m in range(p.n_machines):
        for i in range(st_.cnt[m]):
            assert st_.pos[st_.seq[m, i]] == i and st_.mach[st_.seq[m, i]] == m


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.booleans().flatmap(lambda s: plain_instances(horizon=True, setups=s)),
    st.integers(0, 3),
    st.sampled_from((1, 2)),
)
def test_solver_on_makespan_instances_returns_valid_schedules(
    inst: Instance, seed: int, workers: int
) -> None:
    result = solve(inst, solver="heuristic", seed=seed, workers=workers, iterations=300)
    if result.schedule is None:
        assert result.status == "unknown"
        return
    assert validate(inst, result.schedule) == []
    assert result.objective == MAKESPAN.value(compute_kpis(inst, result.schedule))


@SETTINGS
@given(
    st.booleans().flatmap(lambda s: plain_instances(setups=s)),
    st.integers(0, 5),
    st.randoms(use_true_random=False),
)
def test_tabu_search_keeps_deadlines(inst: Instance, seed: int, pick: Any) -> None:
    """Deadlines at the completions of a decoded schedule (some jobs, some ops): every move
    the search keeps meets them, so its best schedule is valid under them."""
    p = make_problem(compile_instance(inst), MAKESPAN)
    w = _mwkr_schedule(p)
    if w is None:
        return
    end = {o: int(w.start[o] + p.mode_duration[w.mode[o]]) for o in range(p.n_ops)}
    index = {op.id: o for o, op in enumerate(op for job in inst.jobs for op in job.operations)}
    jobs = []
    for j, job in enumerate(inst.jobs):  # (a deadline must come after the release)
        done = max(end[index[op.id]] for op in job.operations)
        ops = tuple(
            replace(op, deadline=max(end[index[op.id]], job.release + op.release + 1))
            if pick.random() < 0.3
            else op
            for op in job.operations
        )
        deadline = max(done, job.release + 1) if j == 0 or pick.random() < 0.5 else None
        jobs.append(replace(job, operations=ops, deadline=deadline))
    tight = replace(inst, jobs=tuple(jobs))
    c = compile_instance(tight)
    p = make_problem(c, MAKESPAN)
    assert p.has_deadlines
    st_ = make_tabu_state(p, w.mode.copy(), w.start.copy(), seed)
    assert start_tabu(p, st_)
    first = int(st_.makespan[1])
    tabu_search(p, st_, 300, 20)
    assert int(st_.makespan[1]) <= first
    assert validate(tight, Schedule.from_arrays(c, st_.best_mode, st_.best_start)) == []
    assert st_.head.tolist() == _earliest_starts(p, st_.mode, st_.seq, st_.cnt)
    assert (st_.head + st_.dur <= p.op_deadline).all()


def _logged(fn: Callable[..., Any], runs: list[str]) -> Callable[..., Any]:
    """`fn`, noting in `runs` each call by its name without the underscore."""

    def call(*args: Any) -> Any:
        runs.append(fn.__name__.lstrip("_"))
        return fn(*args)

    return call


def test_a_deadline_keeps_the_search_from_the_shorter_order(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """J0 runs a (2 ticks) on M0 then b (10) on M1; J1's c (2) on M0 must end by 2. Going a
    first would end at 12, but c must go first: 14, which the search must keep."""
    jobs = (
        Job("J0", (Operation("a", (Mode("M0", 2),)), Operation("b", (Mode("M1", 10),)))),
        Job("J1", (Operation("c", (Mode("M0", 2),)),), deadline=2),
    )
    inst = Instance((Machine("M0"), Machine("M1")), jobs)
    c = compile_instance(inst)
    p = make_problem(c, MAKESPAN)
    st_ = make_tabu_state(p, np.array([0, 1, 2]), np.array([2, 4, 0]), 0)
    assert start_tabu(p, st_) and st_.makespan[1] == 14
    tabu_search(p, st_, 200, 10)
    assert st_.makespan[1] == 14
    assert validate(inst, Schedule.from_arrays(c, st_.best_mode, st_.best_start)) == []
    runs: list[str] = []
    for name in ("_tabu", "_anneal"):
        monkeypatch.setattr(heuristic_solver, name, _logged(getattr(heuristic_solver, name), runs))
    result = solve(inst, solver="heuristic", seed=0, iterations=200)
    assert result.objective == 14
    assert runs == ["tabu", "anneal"]  # the tabu search first; stuck, it hands over
    moves = re.search(r"(\d+) local-search moves", result.message)
    assert moves is not None and 0 < int(moves[1]) <= 200  # one budget for both


def test_ft06_tabu_search_finds_the_optimum() -> None:
    c = compile_instance(load(FT06))
    result = HeuristicSolver().solve(c, SolveConfig(seed=1, options={"iterations": 100_000}))
    assert result.objective == 55  # the optimum
    assert "tabu search" in result.message


def test_a_critical_path_of_single_mode_precedences_stops_the_search_as_optimal() -> None:
    """J0 runs M0 then M1 (5 + 5), J1 needs M1 for 1 tick first: the critical path is J0's
    chain, no move can shorten it."""
    jobs = (
        Job("J0", (Operation("a", (Mode("M0", 5),)), Operation("b", (Mode("M1", 5),)))),
        Job("J1", (Operation("c", (Mode("M1", 1),)),)),
    )
    c = compile_instance(Instance((Machine("M0"), Machine("M1")), jobs))
    p = make_problem(c, MAKESPAN)
    start = np.array([0, 5, 0])
    mode = np.array([0, 1, 2])
    st_ = make_tabu_state(p, mode, start, 0)
    assert start_tabu(p, st_)
    tabu_search(p, st_, 100, 10)
    assert st_.counters[3] == OPTIMAL and st_.makespan[1] == 10


def test_the_search_groups_families_to_save_setups() -> None:
    """Six one-op jobs on one machine, families alternating A, B, A, B, A, B; a changeover
    costs 10, none within a family: from the alternating order (5 changeovers, 56) the
    search finds the grouped one (1 changeover, 16)."""
    fams = "ABABAB"
    jobs = tuple(
        Job(f"J{i}", (Operation(f"o{i}", (Mode("M0", 1),), family=f),)) for i, f in enumerate(fams)
    )
    setups = {"M0": {"A": {"B": 10}, "B": {"A": 10}}}
    inst = Instance((Machine("M0"),), jobs, setup_times=MappingProxyType(setups))
    c = compile_instance(inst)
    p = make_problem(c, MAKESPAN)
    start = np.array([11 * i for i in range(6)])
    st_ = make_tabu_state(p, np.arange(6), start, 0)
    assert start_tabu(p, st_) and st_.makespan[1] == 56
    tabu_search(p, st_, 2_000, 50)
    assert st_.makespan[1] == 16
    schedule = Schedule.from_arrays(c, st_.best_mode, st_.best_start)
    assert validate(inst, schedule) == []


def test_a_solve_from_the_last_schedule_goes_on_with_its_tabu_search() -> None:
    """The default solve's heuristic turns: warm-started from the schedule the last solve
    returned, the solver goes on with that solve's tabu search (its memory and its path);
    from any other schedule it starts a new one."""
    c = compile_instance(load(FT06))
    solver = HeuristicSolver()
    first = solver.solve(c, SolveConfig(seed=3, options={"iterations": 40}))
    carried = solver._carry
    assert carried is not None and carried.schedule is first.schedule
    state = carried.states[0]
    iterations = int(state.counters[2])
    second = solver.solve(
        c, SolveConfig(seed=4, warm_start=first.schedule, options={"iterations": 40})
    )
    assert solver._carry is not None and solver._carry.states[0] is state
    assert state.counters[2] > iterations  # the same search, further on
    assert second.objective is not None and second.objective <= first.objective
    assert validate(c.instance, second.schedule) == []
    other = Schedule(c.instance, tuple(second.schedule.assignments))  # equal, not the same
    solver.solve(c, SolveConfig(seed=4, warm_start=other, options={"iterations": 40}))
    assert solver._carry is not None and solver._carry.states[0] is not state


def test_on_a_plant_with_setups_squeaky_batching_comes_before_the_tabu_search(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """On 1,000 operations with setups, each worker first decodes batching schedules with
    squeaky-wheel priorities (a better start: 15,576 against 15,671 at 60 s on the 2,000-job
    plant), then runs the tabu search from the best schedule."""
    plant = plant_generator().generate_plant(5, jobs=100, ops=10, machines=50)
    c = compile_instance(plant)
    calls: list[str] = []
    regroup, tabu, learn = heuristic_solver._regroup, heuristic_solver._tabu, Squeaky.learn
    monkeypatch.setattr(
        heuristic_solver, "_regroup", lambda *a: calls.append("batching") or regroup(*a)
    )
    monkeypatch.setattr(heuristic_solver, "_tabu", lambda *a: calls.append("tabu") or tabu(*a))
    monkeypatch.setattr(Squeaky, "learn", lambda *a: calls.append("squeak") or learn(*a))
    result = HeuristicSolver().solve(c, SolveConfig(workers=1, options={"iterations": 40}))
    assert calls[0] == "batching" and "squeak" in calls and calls[-1] == "tabu"
    assert calls.index("tabu") > max(i for i, x in enumerate(calls) if x == "squeak")
    assert result.schedule is not None and validate(plant, result.schedule) == []


def test_the_next_solve_of_a_plant_goes_on_with_its_squeaky_wheels() -> None:
    """The default solve's heuristic turns: the batching search's job priorities carry over
    to the next solve of the same instance and objective, from any start; not to another
    objective."""
    plant = plant_generator().generate_plant(5, jobs=100, ops=10, machines=50)
    c = compile_instance(plant)
    solver = HeuristicSolver()
    tardiness = Objective.parse("weighted_tardiness")
    config = SolveConfig(objective=tardiness, workers=1, options={"iterations": 12})
    first = solver.solve(c, config)
    kept = solver._wheels
    assert kept is not None and 0 in kept.wheels
    wheel = kept.wheels[0]
    boost = wheel.boost.copy()
    assert boost.any()
    solver.solve(c, replace(config, seed=9, warm_start=first.schedule))
    assert solver._wheels is not None and solver._wheels.wheels[0] is wheel
    assert not np.array_equal(wheel.boost, boost)  # it went on learning
    solver.solve(c, replace(config, objective=Objective.parse("makespan")))
    assert solver._wheels is not None and solver._wheels.wheels[0] is not wheel


def _flexible_shop(tmp_path: Path, seed: int = 4) -> Instance:
    """A generated flexible job shop: 12 jobs x 5 operations, 1-6 of 8 machines each."""
    path = tmp_path / "flex.fjs"
    path.write_text(
        fjsp_generator().generate_fjsp(seed, jobs=12, ops=5, machines=8, alternatives=6)
    )
    return load(path)


def _race_log(monkeypatch: pytest.MonkeyPatch) -> tuple[list[Any], list[Any]]:
    """Record the relaxed starts (each with its modes when made) and the searches driven."""
    made: list[Any] = []
    driven: list[Any] = []
    relaxed_start, drive = heuristic_solver._relaxed_start, heuristic_solver._drive

    def relaxed(*args: Any) -> Any:
        st_ = relaxed_start(*args)
        made.append((st_, None if st_ is None else st_.mode.copy()))
        return st_

    def driving(run: Any, st_: Any, *args: Any) -> int:
        driven.append(st_)
        return drive(run, st_, *args)

    monkeypatch.setattr(heuristic_solver, "_relaxed_start", relaxed)
    monkeypatch.setattr(heuristic_solver, "_drive", driving)
    return made, driven


def test_on_a_flexible_shop_the_search_races_the_relaxations_machines(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The rules' earliest-finish selection fills idle machines with slow modes: a fresh tabu
    search also starts from the load relaxation's assignment, the two take turns for a share
    of the moves, and the shorter goes on. Without a time limit the race is reproducible."""
    inst = _flexible_shop(tmp_path)
    c = compile_instance(inst)
    made, driven = _race_log(monkeypatch)
    config = SolveConfig(workers=1, seed=2, options={"iterations": 4000})
    result = HeuristicSolver().solve(c, config)
    assert len(made) == 1 and made[0][0] is not None
    relaxed, modes = made[0]
    shares = relaxation_shares(c)
    assert shares is not None and np.array_equal(modes, largest_shares(c, shares))
    first = driven[0]
    race = 2 * heuristic_solver.RACE_SLICES
    assert [id(racer) for racer in driven[:race]] == [id(first), id(relaxed)] * (race // 2)
    leader = min((first, relaxed), key=lambda racer: int(racer.makespan[1]))
    assert len(driven) == race + 1 and driven[-1] is leader
    for racer in (first, relaxed):
        found = Schedule.from_arrays(c, racer.best_mode, racer.best_start)
        assert validate(inst, found) == []
    assert result.schedule is not None and validate(inst, result.schedule) == []
    assert result.objective == int(leader.makespan[1])
    again = HeuristicSolver().solve(c, config)
    assert again.objective == result.objective and again.schedule == result.schedule


def test_the_workers_races_share_one_decode_of_the_relaxed_start(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Each worker races its own second start (its own seed), but the decodes of the
    relaxation's assignment are deterministic and done once for both."""
    inst = _flexible_shop(tmp_path)
    made, _ = _race_log(monkeypatch)
    decodes: list[int] = []
    shortest = heuristic_solver._shortest_decode

    def counted(*args: Any) -> Any:
        decodes.append(1)
        return shortest(*args)

    monkeypatch.setattr(heuristic_solver, "_shortest_decode", counted)
    config = SolveConfig(workers=2, seed=2, options={"iterations": 4000})
    result = HeuristicSolver().solve(compile_instance(inst), config)
    assert len(made) == 2 and all(st_ is not None for st_, _ in made)
    assert made[0][0] is not made[1][0] and np.array_equal(made[0][1], made[1][1])
    assert len(decodes) == 1
    assert result.schedule is not None and validate(inst, result.schedule) == []


def test_a_race_cut_short_leaves_both_starts_even_and_keeps_the_leader(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The default solve ends a heuristic turn by its stop event, any time: the starts have
    taken turns, so each has had its share, and the shorter is the one carried on."""
    inst = _flexible_shop(tmp_path, seed=6)
    c = compile_instance(inst)
    made, driven = _race_log(monkeypatch)
    stop = threading.Event()
    drive = heuristic_solver._drive

    def stopping(run: Any, st_: Any, *args: Any) -> int:
        moves = drive(run, st_, *args)
        if len(driven) == 4:
            stop.set()
        return moves

    monkeypatch.setattr(heuristic_solver, "_drive", stopping)
    solver = HeuristicSolver()
    result = solver.solve(c, SolveConfig(workers=1, stop=stop, options={"iterations": 4000}))
    relaxed = made[0][0]
    assert relaxed is not None and [racer is relaxed for racer in driven[:4]] == [False, True] * 2
    leader = min(driven[:2], key=lambda racer: int(racer.makespan[1]))
    assert len(driven) == 5 and driven[4] is leader
    assert solver._carry is not None and solver._carry.states[0] is leader
    assert result.schedule is not None and validate(inst, result.schedule) == []


def test_under_a_time_limit_the_relaxed_start_joins_once_the_lp_is_in(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """With a time limit no worker waits for the LP: the best schedule's start takes its first
    turn, the relaxed start joins when the LP is in (milliseconds here), and the turns are
    timed."""
    inst = _flexible_shop(tmp_path)
    c = compile_instance(inst)
    made, driven = _race_log(monkeypatch)
    result = HeuristicSolver().solve(c, SolveConfig(workers=1, time_limit=1.5))
    assert len(made) == 1 and made[0][0] is not None
    relaxed = made[0][0]
    race = driven[:-1]
    assert race[0] is not relaxed and any(r is relaxed for r in race)
    assert len({id(r) for r in race}) == 2
    assert result.schedule is not None and validate(inst, result.schedule) == []


def test_without_a_choice_of_machine_there_is_no_race(monkeypatch: pytest.MonkeyPatch) -> None:
    c = compile_instance(load(FT06))
    made, driven = _race_log(monkeypatch)
    HeuristicSolver().solve(c, SolveConfig(workers=1, options={"iterations": 100}))
    assert made == [] and len(driven) == 1


@SETTINGS
@given(st.booleans().flatmap(lambda s: plain_instances(setups=s)), st.integers(0, 5))
def test_the_relaxed_start_and_the_race_give_valid_schedules(inst: Instance, seed: int) -> None:
    c = compile_instance(inst)
    made: list[Any] = []
    relaxed_start = heuristic_solver._relaxed_start
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(
            heuristic_solver,
            "_relaxed_start",
            lambda *a: made.append(relaxed_start(*a)) or made[-1],
        )
        result = HeuristicSolver().solve(
            c, SolveConfig(workers=1, seed=seed, options={"iterations": 60})
        )
    for st_ in made:
        if st_ is not None:
            assert validate(inst, Schedule.from_arrays(c, st_.best_mode, st_.best_start)) == []
    assert result.schedule is not None and validate(inst, result.schedule) == []
