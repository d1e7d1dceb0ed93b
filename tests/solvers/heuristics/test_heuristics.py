"""The Numba heuristic: the decoder equals its pure-Python reference, places every op at its
earliest feasible start, and every rule, scheme and the local search give valid schedules on
random instances with every feature; options, statuses and energy awareness of the solver."""

from __future__ import annotations

import dataclasses
import itertools
import math

import numpy as np
import pytest
import reference_decoder as reference
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from strategies import instances, zero_some_modes

from scheduler.core.bounds import makespan_bound
from scheduler.core.compile import compile_instance
from scheduler.core.errors import UnsupportedFeatureError
from scheduler.core.kpi import compute_kpis
from scheduler.core.model import Energy, Instance, Job, Machine, Mode, Operation, Profile
from scheduler.core.objective import TERMS, Objective
from scheduler.core.presolve import infeasibility
from scheduler.core.protocol import SolveConfig
from scheduler.core.registry import get_solver
from scheduler.core.result import Progress
from scheduler.core.schedule import Schedule
from scheduler.core.solve import solve
from scheduler.core.validate import validate
from scheduler.io import load
from solvers.heuristics import HeuristicSolver
from solvers.heuristics.decode import (
    ABORTED,
    APPEND,
    FAILED,
    RULES,
    SCHEMES,
    SERIAL,
    STATIC,
    decode,
)
from solvers.heuristics.evaluate import N_TERMS, terms
from solvers.heuristics.plain import decode_plain, rank_table
from solvers.heuristics.problem import NO_DEADLINE, Problem, Workspace, make_problem, make_workspace

FT06 = "benchmarks/instances/jssp/ft06.txt"
TA41 = "benchmarks/instances/jssp/ta41.txt"
ENERGY_OBJECTIVE = Objective.parse("makespan=1,energy_cost=2,carbon=1")
SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def rich_instances(draw: st.DrawFn) -> Instance:
    """Instances with every feature, the power cap sometimes a periodic profile, some modes
    sometimes of zero duration."""
    inst = draw(instances(energy_caps=True))
    if draw(st.integers(0, 3)) == 0:
        inst = zero_some_modes(inst, lambda: draw(st.integers(0, 4)) == 0)
    if draw(st.booleans()):
        steps = draw(st.lists(st.sampled_from((0.0, 6.0, 12.0, 30.0)), min_size=1, max_size=3))
        cap = Profile(tuple((i * 5, v) for i, v in enumerate(steps)), period=5 * len(steps) + 3)
        inst = dataclasses.replace(inst, energy=dataclasses.replace(inst.energy, power_cap_kw=cap))
    return inst


def _decode(p: Problem, w: Workspace, *args: object) -> reference.Decoded:
    """Run the kernel and return its output in the reference's shape."""
    violation = decode(p, w, *args, NO_DEADLINE)  # type: ignore[arg-type, call-arg]
    placed = int((w.start >= 0).sum())
    return reference.Decoded(w.start.tolist(), w.mode.tolist(), w.seq[:placed].tolist(), violation)


def _schedule_of(inst: Instance, p: Problem, w: Workspace) -> Schedule:
    return Schedule.from_arrays(compile_instance(inst), w.mode, w.start)


def _check_terms(inst: Instance, p: Problem, w: Workspace) -> None:
    """The kernel's objective terms equal the independent KPIs of the same schedule."""
    values = np.zeros(N_TERMS)
    terms(p, w.start, w.mode, values)
    schedule = _schedule_of(inst, p, w)
    kpis = compute_kpis(inst, schedule, reference=schedule)  # no reference in p: deviation 0
    for i, term in enumerate(TERMS):
        assert values[i] == pytest.approx(kpis[term], rel=1e-9, abs=1e-9), term


@SETTINGS
@given(rich_instances(), st.randoms(use_true_random=False))
def test_every_rule_and_scheme_equals_the_reference_and_is_valid(inst: Instance, rnd) -> None:
    p = make_problem(compile_instance(inst), ENERGY_OBJECTIVE)
    w = make_workspace(p)
    free = np.full(p.n_ops, -1, dtype=np.int64)
    prio = np.array([rnd.random() for _ in range(p.n_ops)])
    none = np.zeros(p.n_ops, dtype=np.bool_)
    runs = [
        (SCHEMES[s], RULES[r], prio, free, least, p.op_hungry if r == "energy" else none)
        for s in SCHEMES
        for r in RULES
        for least in (False, True)
    ]
    fixed = np.array(
        [rnd.randrange(int(p.mode_ptr[o]), int(p.mode_ptr[o + 1])) for o in range(p.n_ops)]
    )
    some = np.array([rnd.random() < 0.5 for _ in range(p.n_ops)], dtype=np.bool_)
    runs += [(SERIAL, STATIC, prio, fixed, False, some), (APPEND, STATIC, prio, free, True, none)]
    runs += [(APPEND, STATIC, prio, fixed, False, some), (SERIAL, STATIC, prio, free, True, some)]
    for args in runs:
        got = _decode(p, w, *args)
        want = reference.decode(p, *args)  # type: ignore[arg-type]
        assert got.violation == want.violation, args[:2]
        if got.violation == FAILED:
            continue
        assert (got.start, got.mode, got.seq) == (want.start, want.mode, want.seq), args[:2]
        if got.violation == 0:
            assert validate(inst, _schedule_of(inst, p, w)) == []
            _check_terms(inst, p, w)


@SETTINGS
@given(
    instances(windows=False, resources=False, families=0, max_setup=0),
    st.randoms(use_true_random=False),
)
def test_fast_decoder_on_plain_instances_equals_the_reference(inst: Instance, rnd) -> None:
    """Rank priorities on an instance without setups, windows, resources or power cap go to
    the fast decoder (`plain`): same schedule and violation as the reference, directly and
    with the ranks the search keeps."""
    p = make_problem(compile_instance(inst), ENERGY_OBJECTIVE)
    assert p.plain
    w = make_workspace(p)
    order = list(range(p.n_ops))
    rnd.shuffle(order)
    prio = np.array(order, dtype=np.float64)
    rank_op = np.argsort(prio)
    assert rank_table(prio, w.rank_op) and (w.rank_op == rank_op).all()
    assert not rank_table(prio + 0.5, w.rank_op)
    free = np.full(p.n_ops, -1, dtype=np.int64)
    fixed = np.array(
        [rnd.randrange(int(p.mode_ptr[o]), int(p.mode_ptr[o + 1])) for o in range(p.n_ops)]
    )
    none = np.zeros(p.n_ops, dtype=np.bool_)
    for scheme, assign, least in itertools.product((SERIAL, APPEND), (free, fixed), (0, 1)):
        want = reference.decode(p, scheme, STATIC, prio, assign, bool(least), none)
        assert _decode(p, w, scheme, STATIC, prio, assign, bool(least), none) == want
        fast = decode_plain(p, w, scheme == APPEND, prio, rank_op, assign, bool(least))
        assert fast == want.violation
        if fast != FAILED:
            assert w.start.tolist() == want.start and w.mode.tolist() == want.mode


def _feasible_at(p: Problem, placed: dict[int, tuple[int, int]], o: int, k: int, t: int) -> bool:
    """Brute force: can op o run in mode k from t, next to the ops `placed` (op: mode, start)?"""
    m, d = int(p.mode_machine[k]), int(p.mode_duration[k])
    if t + d > p.span:
        return False
    if d == 0:  # no machine time, resources or power
        return True
    lo, hi = p.unav_ptr[m], p.unav_ptr[m + 1]
    windows = list(zip(p.unav_start[lo:hi].tolist(), p.unav_end[lo:hi].tolist(), strict=True))

    def free(a: int, b: int) -> bool:
        return all(b <= ws or we <= a for ws, we in windows)

    def setup(a: int, b: int) -> int:
        fa, fb = p.op_family[a], p.op_family[b]
        return int(p.setup[m, fa, fb]) if fa >= 0 and fb >= 0 else 0

    if not free(t, t + d):
        return False
    on_machine = sorted(
        (s, x)
        for x, (kx, s) in placed.items()
        if p.mode_machine[kx] == m and p.mode_duration[kx] > 0
    )
    before = [(s, x) for s, x in on_machine if s < t]
    after = [(s, x) for s, x in on_machine if s >= t]
    if before:
        s, x = before[-1]
        gap = setup(x, o)
        if s + p.mode_duration[placed[x][0]] + gap > t or not free(t - gap, t):
            return False
    if after:
        s, x = after[0]
        gap = setup(o, x)
        if t + d + gap > s or not free(s - gap, s):
            return False
    for u in range(t, t + d):
        running = [kx for kx, s in placed.values() if s <= u < s + p.mode_duration[kx]] + [k]
        for r in range(p.n_res):
            if sum(p.mode_demand[kx, r] for kx in running) > p.res_capacity[r]:
                return False
        load = sum(p.mode_power[kx] for kx in running)
        if (
            p.has_cap
            and p.mode_power[k] > 0
            and load > p.cap_tick[u] + 1e-10 * max(1.0, p.cap_tick[u])
        ):
            return False
    return True


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rich_instances(), st.randoms(use_true_random=False))
def test_serial_decoder_places_each_op_at_its_earliest_feasible_start(inst: Instance, rnd) -> None:
    p = make_problem(compile_instance(inst), Objective.parse("makespan"))
    w = make_workspace(p)
    prio = np.array([rnd.random() for _ in range(p.n_ops)])
    free_modes = np.full(p.n_ops, -1, dtype=np.int64)
    none = np.zeros(p.n_ops, dtype=np.bool_)
    if decode(p, w, SERIAL, STATIC, prio, free_modes, False, none, NO_DEADLINE) == FAILED:
        return
    placed: dict[int, tuple[int, int]] = {}
    for o in w.seq.tolist():
        ready = int(p.op_release[o])
        for i in range(p.pred_ptr[o], p.pred_ptr[o + 1]):
            kx, sx = placed[int(p.pred_op[i])]
            ready = max(ready, sx + int(p.mode_duration[kx]) + int(p.pred_lag[i]))
        k, s = int(w.mode[o]), int(w.start[o])
        assert s >= ready and _feasible_at(p, placed, o, k, s)
        finish = s + int(p.mode_duration[k])
        for other in range(p.mode_ptr[o], p.mode_ptr[o + 1]):
            # no earlier start in mode k, no strictly earlier finish in another mode
            for t in range(ready, finish - int(p.mode_duration[other])):
                assert not _feasible_at(p, placed, o, other, t), (o, other, t)
        placed[o] = (k, s)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rich_instances(), st.sampled_from(sorted(RULES)), st.integers(0, 3))
def test_solver_with_local_search_returns_valid_schedules(
    inst: Instance, rule: str, seed: int
) -> None:
    objective = "makespan=1,energy_cost=1,carbon=1,idle_energy=1,weighted_tardiness=1"
    result = solve(
        inst,
        solver="heuristic",
        objective=objective,
        seed=seed,
        rule=rule,
        iterations=150,
        machine_selection="least_energy" if seed % 2 else "earliest_finish",
    )
    assert result.status in ("feasible", "optimal", "unknown", "infeasible")
    if result.schedule is None:  # infeasible only as the facade's pre-solve proves it
        proof = infeasibility(compile_instance(inst))
        assert result.status == "unknown" or (proof is not None and result.message == proof)
        return
    assert validate(inst, result.schedule) == []
    kpis = compute_kpis(inst, result.schedule)
    assert result.objective == pytest.approx(Objective.parse(objective).value(kpis), rel=1e-9)


def test_registered_and_refuses_unknown_or_malformed_options() -> None:
    assert isinstance(get_solver("heuristic"), HeuristicSolver)
    c = compile_instance(load(FT06))
    for options in (
        {"ruel": "atc"},
        {"rule": "fastest"},
        {"machine_selection": "cheapest"},
        {"local_search": "yes"},
        {"iterations": 0},
        {"scheme": "parallel"},
    ):
        with pytest.raises(UnsupportedFeatureError):
            HeuristicSolver().solve(c, SolveConfig(options=options))


def test_ft06_local_search_improves_on_the_rules_and_reports_progress() -> None:
    c = compile_instance(load(FT06))
    rules = HeuristicSolver().solve(c, SolveConfig(options={"local_search": False}))
    points: list[Progress] = []
    searched = HeuristicSolver().solve(
        c, SolveConfig(seed=0, on_progress=points.append, options={"iterations": 10000})
    )
    assert rules.status == "feasible" and searched.status in ("feasible", "optimal")
    assert rules.objective is not None and searched.objective is not None
    assert searched.bound == makespan_bound(c) <= searched.objective <= rules.objective
    assert searched.objective <= 57  # the optimum is 55
    assert points == searched.trajectory and len(points) >= 1
    values = [pt.objective for pt in points if pt.objective is not None]
    assert values == sorted(values, reverse=True) and values[-1] == searched.objective
    again = HeuristicSolver().solve(c, SolveConfig(seed=0, options={"iterations": 10000}))
    assert again.objective == searched.objective  # seeded and move-capped: reproducible


def test_parallel_runs_and_warm_start() -> None:
    inst = load(FT06)
    c = compile_instance(inst)
    two = HeuristicSolver().solve(c, SolveConfig(workers=2, time_limit=0.5))
    assert two.schedule is not None and validate(inst, two.schedule) == []
    warm = HeuristicSolver().solve(
        c, SolveConfig(warm_start=two.schedule, options={"rule": "spt", "local_search": False})
    )
    assert warm.objective is not None and two.objective is not None
    assert warm.objective <= two.objective


def test_a_schedule_at_the_lower_bound_ends_the_search() -> None:
    """Two jobs on separate machines: the first rule meets the critical-path bound, so the
    solver stops at once (no local-search move, well inside an hour's limit), proven optimal."""
    jobs = tuple(Job(j, (Operation(f"{j}1", (Mode(m, 4),)),)) for j, m in (("A", "M"), ("B", "N")))
    c = compile_instance(Instance((Machine("M"), Machine("N")), jobs))
    result = HeuristicSolver().solve(c, SolveConfig(time_limit=3600, workers=2))
    assert result.status == "optimal" and result.objective == result.bound == 4
    assert "0 local-search moves" in result.message


def _one_machine(energy: Energy, jobs: tuple[Job, ...], horizon: int | None = None) -> Instance:
    return Instance((Machine("M"),), jobs, horizon=horizon, energy=energy)


def test_unmeetable_deadlines_or_power_give_unknown_without_a_schedule() -> None:
    jobs = tuple(Job(f"J{i}", (Operation(f"O{i}", (Mode("M", 5),)),), deadline=6) for i in range(2))
    result = HeuristicSolver().solve(compile_instance(_one_machine(Energy(), jobs)), SolveConfig())
    assert result.status == "unknown" and result.schedule is None and "deadline" in result.message
    hungry = (Job("J", (Operation("O", (Mode("M", 3, power_kw=9.0),)),)),)
    capped = _one_machine(Energy(power_cap_kw=5.0), hungry)
    result = HeuristicSolver().solve(compile_instance(capped), SolveConfig())
    assert result.status == "unknown" and result.schedule is None


def test_energy_rule_defers_a_hungry_op_to_the_cheap_period_within_its_slack() -> None:
    tariff = Profile(((0, 0.5), (10, 0.1)))
    jobs = (Job("J", (Operation("O", (Mode("M", 4, power_kw=10.0),)),), due=30),)
    c = compile_instance(_one_machine(Energy(tariff=tariff), jobs))
    config = SolveConfig(objective=Objective.parse("energy_cost"), options={"local_search": False})
    for rule, start in (("spt", 0), ("energy", 10)):
        config.options["rule"] = rule
        result = HeuristicSolver().solve(c, config)
        assert result.schedule is not None and result.schedule.assignments[0].start == start
    tight = (Job("J", (Operation("O", (Mode("M", 4, power_kw=10.0),)),), due=12),)
    c = compile_instance(_one_machine(Energy(tariff=tariff), tight))
    result = HeuristicSolver().solve(c, config)
    assert result.schedule is not None and result.schedule.assignments[0].start == 8  # due - 4


def test_least_energy_selection_picks_the_frugal_mode() -> None:
    modes = (Mode("A", 2, power_kw=10.0), Mode("B", 5, power_kw=1.0))
    inst = Instance((Machine("A"), Machine("B")), (Job("J", (Operation("O", modes),)),))
    c = compile_instance(inst)
    for selection, machine in (("earliest_finish", "A"), ("least_energy", "B")):
        options = {"machine_selection": selection, "local_search": False}
        result = HeuristicSolver().solve(c, SolveConfig(options=options))
        assert result.schedule is not None
        assert result.schedule.assignments[0].machine == machine


def test_decode_reference_agree_on_a_classic_instance() -> None:
    p = make_problem(compile_instance(load(FT06)), Objective.parse("makespan"))
    w = make_workspace(p)
    free = np.full(p.n_ops, -1, dtype=np.int64)
    none = np.zeros(p.n_ops, dtype=np.bool_)
    rng = np.random.default_rng(0)
    for _ in range(5):
        prio = rng.permutation(p.n_ops).astype(np.float64)
        got = _decode(p, w, SERIAL, STATIC, prio, free, False, none)
        want = reference.decode(p, SERIAL, STATIC, prio, free, False, none)
        assert got == want and not math.isinf(got.violation)


def test_a_deadline_stops_a_decode_and_time_limits_are_kept() -> None:
    """A deadline already past stops every scheme's decode (the clock is read every
    CLOCK_EVERY placements, fewer than ta41's 600 ops); none lets it finish."""
    p = make_problem(compile_instance(load(TA41)), Objective.parse("makespan"))
    w = make_workspace(p)
    free = np.full(p.n_ops, -1, dtype=np.int64)
    zeros = np.zeros(p.n_ops)
    none = np.zeros(p.n_ops, dtype=np.bool_)
    for scheme in SCHEMES.values():
        rule = RULES["mwkr"]
        assert decode(p, w, scheme, rule, zeros, free, False, none, 0.0) == ABORTED
        assert decode(p, w, scheme, rule, zeros, free, False, none, NO_DEADLINE) == 0
    c = compile_instance(load(FT06))
    result = HeuristicSolver().solve(c, SolveConfig(time_limit=0.2))
    assert result.schedule is not None and result.wall_time_s < 1.0


def test_bounds_are_hard_and_malformed_ones_refused() -> None:
    inst = load(FT06)
    c = compile_instance(inst)
    objective = Objective.parse("total_flow_time")
    for bound in (70.0, 62.5):
        config = SolveConfig(objective=objective, options={"bounds": {"makespan": bound}})
        result = HeuristicSolver().solve(c, config)
        assert result.schedule is not None and validate(inst, result.schedule) == []
        assert compute_kpis(inst, result.schedule)["makespan"] <= bound
    impossible = SolveConfig(options={"bounds": {"makespan": c.lower_bound - 1}})
    result = HeuristicSolver().solve(c, impossible)
    assert result.status == "unknown" and result.schedule is None and "bound" in result.message
    for bounds in ({"speed": 1.0}, {"makespan": float("nan")}, {"makespan": True}, [1.0]):
        with pytest.raises(UnsupportedFeatureError):
            HeuristicSolver().solve(c, SolveConfig(options={"bounds": bounds}))


def test_a_first_decode_may_use_part_of_the_check_reserve() -> None:
    """Without a schedule a decode may run FIRST_RESERVE of the facade's reserve past the time
    limit (the check it is kept for has nothing to check); once there is one, the rules get
    CONSTRUCT_SHARE of the limit and no reserve."""
    from solvers.heuristics import solver as heuristic_solver

    c = compile_instance(load(FT06))
    config = SolveConfig(time_limit=10.0, reserve_s=2.0)
    p = make_problem(c, config.objective)
    run = heuristic_solver._Run(c, p, config, {}, 100.0)
    first = 100.0 + 10.0 + heuristic_solver.FIRST_RESERVE * 2.0
    assert heuristic_solver._decode_deadline(run) == pytest.approx(first) and first < 112.0
    ops = np.zeros(p.n_ops, dtype=np.int64)
    run.best = heuristic_solver._Best(0.0, np.zeros(1), ops, ops, ops, ops, ops > 0, False, "")
    assert heuristic_solver._decode_deadline(run) == pytest.approx(
        100.0 + heuristic_solver.CONSTRUCT_SHARE * 10.0
    )
    unlimited = heuristic_solver._Run(c, p, SolveConfig(), {}, 100.0)
    assert heuristic_solver._decode_deadline(unlimited) == NO_DEADLINE
