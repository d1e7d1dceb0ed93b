"""The setup-aware batching decoder and its variants: every schedule it calls feasible passes
the validator, on random instances with setups, windows, releases, deadlines, resources and
power caps, with and without squeaky-wheel priorities and free tails; energy-balanced modes
respect the load target where they can; small capped instances also decode with free
machine selection; the squeaky wheel blames the jobs its objective does
and moves them forward; a free tail or head lets an op leave its fixed machine."""

from __future__ import annotations

import dataclasses
import math
import time
from types import SimpleNamespace

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from plants import capped_plant
from strategies import instances, zero_some_modes

from scheduler.core.bounds import makespan_bound
from scheduler.core.compile import compile_instance
from scheduler.core.model import Energy, Instance, Job, Machine, Mode, Operation, Profile
from scheduler.core.objective import Objective
from scheduler.core.protocol import SolveConfig
from scheduler.core.relaxation import relaxes
from scheduler.core.schedule import Schedule
from scheduler.core.solve import solve
from scheduler.core.validate import validate
from solvers.heuristics.problem import FAILED, NO_DEADLINE, make_problem, make_workspace
from solvers.heuristics.regroup import (
    FREE_CAP_OPS,
    NOISE,
    SQUEAK_DECAY,
    SQUEAK_STEP,
    STAYS,
    Variant,
    applies,
    balanced_modes,
    relaxation_modes,
    rng_for,
    run_variant,
    squeaky,
    variants,
)
from solvers.heuristics.solver import _energy_weight, _labelled

SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(instances(energy_caps=True), st.booleans(), st.integers(0, 2**16), st.integers(0, 80))
def test_batching_schedules_are_valid(inst: Instance, zeros: bool, seed: int, horizon: int) -> None:
    if zeros:
        inst = zero_some_modes(inst, iter([True, False] * 100).__next__)
    c = compile_instance(inst)
    p = make_problem(c, Objective.parse("makespan"))
    w = make_workspace(p)
    rng = rng_for(seed)
    boost = np.random.default_rng(seed).uniform(0, 20, p.n_jobs)  # squeaky-wheel priorities
    weight = (0.0, 0.5, math.inf)[seed % 3]  # the lean variants of energy objectives too
    for v in variants(p, least_energy=bool(seed % 2), c=c, energy_weight=weight):
        for noise, jobs in ((0.0, None), (NOISE, None), (0.0, boost)):
            viol = run_variant(p, w, v, noise, rng, NO_DEADLINE, jobs, horizon)
            if viol == FAILED:
                continue
            schedule = Schedule.from_arrays(c, w.mode.copy(), w.start.copy())
            found = validate(inst, schedule)
            if viol == 0:
                assert found == [], (v.label, found[:3])
            else:  # only what the decoder counts: deadlines, the horizon, the carbon cap
                assert all(x.rule in ("deadline", "horizon", "carbon_cap") for x in found)


@SETTINGS
@given(instances(energy=False, resources=False), st.floats(0.0, 50.0))
def test_balanced_modes_meet_the_target_or_stay_least_energy(inst: Instance, target: float) -> None:
    c = compile_instance(inst)
    p = make_problem(c, Objective.parse("makespan"))
    mode = balanced_modes(p, target)
    for o in range(p.n_ops):
        assert p.mode_ptr[o] <= mode[o] < p.mode_ptr[o + 1]
    load = np.zeros(p.n_machines)
    np.add.at(load, p.mode_machine[mode], p.mode_duration[mode])
    least = np.array(
        [
            p.mode_ptr[o] + np.argmin(p.mode_kwh[p.mode_ptr[o] : p.mode_ptr[o + 1]])
            for o in range(p.n_ops)
        ]
    )
    moved = mode != least
    # an op moved off its least-energy machine went to a machine within the target
    assert all(load[p.mode_machine[mode[o]]] <= target for o in np.flatnonzero(moved))


def _one_machine(due: int | None = None) -> Instance:
    """J0 (one op of 5) and J1 (two ops of 5) ready at 0 on one machine: the most work left
    goes first, so J1's first op starts at 0 and J0's later unless J0 is pushed."""
    ops = {0: 1, 1: 2}
    jobs = tuple(
        Job(f"J{j}", tuple(Operation(f"J{j}-{k}", (Mode("M", 5),)) for k in range(n)), due=due)
        for j, n in ops.items()
    )
    return Instance((Machine("M"),), jobs)


def test_a_boost_moves_its_job_forward() -> None:
    c = compile_instance(_one_machine())
    p = make_problem(c, Objective.parse("makespan"))
    w = make_workspace(p)
    v = next(variants(p, least_energy=False))
    starts = []
    for boost in (np.zeros(2), np.array([6.0, 0.0])):
        assert run_variant(p, w, v, 0.0, rng_for(0), NO_DEADLINE, boost) == 0
        starts.append(int(w.start[0]))
    assert starts[0] > 0 and starts[1] == 0


def _two_jobs_on_a_or_b(
    fixed: str, tail: float, head: float = 0.0
) -> tuple[int, list[str], list[str]]:
    """J0 (A 20 or B 15) ready at 0 and J1 (A or B, 10) released at 10, each fixed to the
    machine named in `fixed` and decoded with a free tail of `tail` and a free head of `head`
    of a 30-tick horizon: the makespan, the machines, and the validator's findings."""
    durations = (({"A": 20, "B": 15}, 0), ({"A": 10, "B": 10}, 10))
    jobs = tuple(
        Job(f"J{j}", (Operation(f"J{j}-0", tuple(Mode(m, d[m]) for m in "AB")),), release=r)
        for j, (d, r) in enumerate(durations)
    )
    inst = Instance((Machine("A"), Machine("B")), jobs)
    c = compile_instance(inst)
    p = make_problem(c, Objective.parse("makespan"))
    w = make_workspace(p)
    assign = c.mode_ptr[:-1] + np.array(["AB".index(m) for m in fixed])
    v = Variant(assign.astype(np.int64), False, 0.0, f"fixed to {fixed}", tail, head)
    assert run_variant(p, w, v, 0.0, rng_for(0), NO_DEADLINE, None, 30) == 0
    machines = ["AB"[p.mode_machine[k]] for k in w.mode]
    found = validate(inst, Schedule.from_arrays(c, w.mode.copy(), w.start.copy()))
    return int(w.end.max()), machines, [x.rule for x in found]


def test_a_free_tail_lets_a_late_op_leave_its_fixed_machine() -> None:
    """Fixed to A to the end, J1 waits for J0 (makespan 30); ready in the free tail (the
    last 70 % of the horizon, from tick 9) it takes the idle B (20), while J0, ready before
    the tail, stays on A although B would end it sooner."""
    assert _two_jobs_on_a_or_b("AA", 0.0) == (30, ["A", "A"], [])
    assert _two_jobs_on_a_or_b("AA", 0.7) == (20, ["A", "B"], [])


def test_a_free_head_lets_an_early_op_leave_its_fixed_machine() -> None:
    """Ready in the free head (the first 20 % of the horizon, to tick 6) J0 takes B, which
    ends it sooner than its fixed A; J1, ready at 10, keeps its fixed A."""
    assert _two_jobs_on_a_or_b("AA", 0.0, 0.2) == (20, ["B", "A"], [])
    assert _two_jobs_on_a_or_b("AA", 0.0, 0.0) == (30, ["A", "A"], [])


def test_a_free_tail_op_is_placed_again_when_its_machine_fills() -> None:
    """J1, fixed to B but free in the tail, is first placed on A at 10 (a tie with B); J0
    then takes A until 20, so J1's placement is stale though B is its fixed machine: placed
    again, it goes to B, without overlapping J0."""
    assert _two_jobs_on_a_or_b("AB", 0.7) == (20, ["A", "B"], [])


def test_the_squeaky_wheel_blames_late_jobs_by_the_objective() -> None:
    c = compile_instance(_one_machine(due=6))
    p = make_problem(c, Objective.parse("makespan"))
    end = np.array([100, 30, 96])  # J0 ends at 100, J1 at 96: both in the last 5 %
    wheel = squeaky(p, Objective.parse("makespan"))
    assert wheel is not None
    step = SQUEAK_STEP * 5  # in mean operation durations
    wheel.learn(p, end)
    assert wheel.boost[0] == step and 0 < wheel.boost[1] < wheel.boost[0]
    wheel.learn(p, np.array([10, 30, 100]))  # now J1 ends last; J0's priority fades
    assert wheel.boost[0] == step * SQUEAK_DECAY and wheel.boost[1] > wheel.boost[0]
    tardy = squeaky(p, Objective.parse("weighted_tardiness"))
    assert tardy is not None
    tardy.learn(p, np.array([5, 30, 96]))  # J0 on time, J1 90 late
    assert tardy.boost.tolist() == [0.0, step]
    flow = squeaky(p, Objective.parse("total_flow_time"))
    assert flow is not None and flow.blame == "total_flow_time"
    flow.learn(p, np.array([5, 30, 96]))  # J0 waited 0, J1 96 - 10 of least work
    assert flow.boost.tolist() == [0.0, step]
    both = squeaky(p, Objective.parse("makespan=1,total_flow_time=1"))
    assert both is not None and both.blame == "makespan"
    undue = make_problem(compile_instance(_one_machine()), Objective.parse("makespan"))
    assert squeaky(undue, Objective.parse("weighted_tardiness")) is None  # no due dates
    mixed = squeaky(undue, Objective.parse("weighted_tardiness=1,total_flow_time=1"))
    assert mixed is not None and mixed.blame == "total_flow_time"
    assert squeaky(p, Objective.parse("energy")) is None


@SETTINGS
@given(instances(energy=True), st.booleans(), st.sampled_from((0.9, 0.95, 1.0)))
def test_relaxation_modes_are_modes_of_their_operations(
    inst: Instance, zeros: bool, share: float
) -> None:
    if zeros:
        inst = zero_some_modes(inst, iter([True, False] * 100).__next__)
    energy = dataclasses.replace(inst.energy, power_cap_kw=8.0)
    c = compile_instance(dataclasses.replace(inst, energy=energy))
    mode = relaxation_modes(c, share, NO_DEADLINE)
    if not relaxes(c):  # one mode per op, and nothing draws power (the cap is compiled away)
        assert mode is None
        return
    assert mode is not None
    assert np.all((c.mode_ptr[:-1] <= mode) & (mode < c.mode_ptr[1:]))
    assert relaxation_modes(c, share, time.perf_counter() - 1) is None  # past its deadline


def _capped_pair() -> Instance:
    """J0 (A 20 at 10 kW, or B 15 at 30 kW) and J1 (A or B, 10 at 10 kW) under a 35 kW cap,
    which J0 on B and J1 together would pass."""
    jobs = (
        Job(
            "J0", (Operation("J0-0", (Mode("A", 20, power_kw=10.0), Mode("B", 15, power_kw=30.0))),)
        ),
        Job(
            "J1", (Operation("J1-0", (Mode("A", 10, power_kw=10.0), Mode("B", 10, power_kw=10.0))),)
        ),
    )
    machines = (Machine("A"), Machine("B"))
    energy = dataclasses.replace(Instance(machines, jobs).energy, power_cap_kw=35.0)
    return Instance(machines, jobs, energy=energy)


def test_small_capped_instances_also_decode_with_free_machine_selection(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Under a cap the modes are fixed beforehand, and below FREE_CAP_OPS operations each
    round also decodes with the machine chosen by earliest finish; that decode is valid."""
    inst = _capped_pair()
    c = compile_instance(inst)
    p = make_problem(c, Objective.parse("makespan"))
    w = make_workspace(p)
    assert p.n_ops < FREE_CAP_OPS
    free = [v for v in variants(p, least_energy=False, c=c) if (v.assign < 0).all()]
    assert p.has_cap and any((v.assign >= 0).any() for v in variants(p, False, c=c))
    assert [v.label for v in free] == [f"batching, earliest finish, stay {s:g}" for s in STAYS]
    for v in free:
        assert run_variant(p, w, v, 0.0, rng_for(0), NO_DEADLINE) == 0
        assert validate(inst, Schedule.from_arrays(c, w.mode.copy(), w.start.copy())) == []
    monkeypatch.setattr("solvers.heuristics.regroup.FREE_CAP_OPS", p.n_ops)
    assert all((v.assign >= 0).any() for v in variants(p, least_energy=False, c=c))


def test_the_best_variant_is_found_by_its_whole_label() -> None:
    assert _labelled("batching, x, stay 0", "batching, x, stay 0")
    assert _labelled("batching, x, stay 0, squeaky", "batching, x, stay 0")
    assert not _labelled("batching, x, stay 0.5, squeaky", "batching, x, stay 0")


def test_long_operations_under_a_tight_power_cap_never_overdraw_it() -> None:
    """Operations of 17-45 ticks, each spanning several of the decoder's 16-tick blocks of
    the power time line, under a cap that lets two or three run at once: every decode keeps
    the cap at every tick (a block wrongly skipped would let a draw through)."""
    rng = np.random.default_rng(5)
    machines = tuple(Machine(f"M{m}") for m in range(6))
    jobs = tuple(
        Job(
            f"J{j}",
            tuple(
                Operation(
                    f"J{j}-{k}",
                    tuple(
                        Mode(
                            f"M{m}", int(rng.integers(17, 46)), power_kw=float(rng.integers(10, 31))
                        )
                        for m in rng.choice(6, size=2, replace=False)
                    ),
                )
                for k in range(3)
            ),
            release=int(rng.integers(0, 40)),
        )
        for j in range(30)
    )
    inst = Instance(
        machines,
        jobs,
        energy=dataclasses.replace(Instance(machines, jobs).energy, power_cap_kw=55.0),
    )
    c = compile_instance(inst)
    p = make_problem(c, Objective.parse("makespan"))
    w = make_workspace(p)
    decodes = 0
    for seed in range(4):
        for v in variants(p, least_energy=bool(seed % 2), c=c):
            assert run_variant(p, w, v, NOISE, rng_for(seed), NO_DEADLINE, None, 600) == 0
            assert validate(inst, Schedule.from_arrays(c, w.mode.copy(), w.start.copy())) == []
            decodes += 1
    assert decodes >= 8


@pytest.mark.parametrize("cap_kw", [None, 55.0])
def test_an_energy_objective_gets_the_least_energy_modes_on_a_batching_plant(
    cap_kw: float | None,
) -> None:
    """On a plant the batching search takes (1,020 operations with setups), an objective whose
    first level counts energy decodes every op in its least-energy mode first: the energy
    objective meets its bound (it stayed 8-20 % above it on the 2,000-job plants)."""
    inst = capped_plant(4, cap_kw, jobs=340)
    c = compile_instance(inst)
    assert applies(make_problem(c, Objective.parse("energy")))
    result = solve(inst, solver="heuristic", objective="energy", iterations=4, workers=1)
    assert result.schedule is not None and validate(inst, result.schedule) == []
    assert result.status == "optimal" and result.bound is not None
    assert result.objective == pytest.approx(result.bound)


@pytest.mark.parametrize(
    ("spec", "weight"),
    [
        ("makespan", 0.0),
        ("makespan>energy", 0.0),
        ("energy", math.inf),
        ("makespan=2,energy=0.1", 0.05),
        ("makespan=1,carbon=1", 0.5),
        ("makespan=2,energy_cost=1", None),  # the tariff's mean over the makespan bound, / 2
        ("makespan=1,idle_energy=1", 0.0),
        ("weighted_tardiness=1,energy=1", math.inf),
    ],
)
def test_the_energy_weight_is_the_first_levels_kwh_against_a_tick(
    spec: str, weight: float | None
) -> None:
    """Cost and carbon count at their profiles' means over the makespan's lower bound."""
    day_night = Profile(((0, 0.1), (100, 0.3)), period=200)
    inst = dataclasses.replace(
        capped_plant(4, None, jobs=30),
        energy=Energy(tariff=day_night, carbon_intensity=Profile(((0, 0.5),))),
    )
    c = compile_instance(inst)
    run = SimpleNamespace(config=SolveConfig(objective=Objective.parse(spec)), compiled=c)
    if weight is None:
        until = makespan_bound(c, relaxation=False)
        price = np.array([0.1 if t % 200 < 100 else 0.3 for t in range(until)]).mean()
        weight = price / 2
    assert _energy_weight(run) == pytest.approx(weight)  # type: ignore[arg-type]


def test_a_weighted_energy_objective_adds_the_relaxation_that_weighs_it() -> None:
    """A finite energy weight adds the least-energy modes and the relaxation's modes under
    that weight (fixed, one variant each) after the first bias's variants, which stay the
    search's fallback; without `c` only the first; an infinite weight puts it first."""
    inst = capped_plant(4, None, jobs=30)
    c = compile_instance(inst)
    p = make_problem(c, Objective.parse("makespan=1,energy=100"))
    found = list(variants(p, False, c, energy_weight=100.0))
    weighed = relaxation_modes(c, 1.0, NO_DEADLINE, 100.0)
    assert [v.label for v in found[:3]] == [
        "batching, earliest finish, stay 0",
        "batching, least-energy modes, stay 0",
        "batching, relaxation modes weighing energy 100, stay 0",
    ]
    assert weighed is not None and (found[2].assign == weighed).all()
    assert (found[1].assign == balanced_modes(p, math.inf)).all()
    assert len(found) == len(list(variants(p, False, c))) + 2
    alone = [v.label for v in variants(p, False, energy_weight=100.0)]
    assert alone[1] == found[1].label and found[2].label not in alone
    first = next(variants(p, False, c, energy_weight=math.inf))
    assert first.label == found[1].label


def test_an_op_whose_lean_mode_loses_its_room_takes_its_fast_mode_first() -> None:
    """Choosing machines by least energy, X sits in its lean 8-tick mode, and Z's commit at
    tick 4 leaves that mode no room before the cap falls to 0 at tick 10: X takes its 2-tick
    mode at 0 and, ending first, goes next (a decoder checking X only when it reached the
    front would have placed Y at 0 first and X after the cap's end)."""
    jobs = (
        Job("X", (Operation("X0", (Mode("M1", 8, 1.0), Mode("M2", 2, 10.0))),)),
        Job("Y", (Operation("Y0", (Mode("M3", 6, 0.5),)),)),
        Job("Z", (Operation("Z0", (Mode("M4", 1, 9.5),), release=4),)),
    )
    cap = Energy(power_cap_kw=Profile(((0, 10.0), (10, 0.0))))
    inst = Instance(tuple(Machine(f"M{m}") for m in range(1, 5)), jobs, energy=cap)
    c = compile_instance(inst)
    p = make_problem(c, Objective.parse("makespan"))
    w = make_workspace(p)
    free = Variant(np.full(p.n_ops, -1, dtype=np.int64), True, 0.0, "least energy", 0.0, 0.0)
    assert run_variant(p, w, free, 0.0, rng_for(0), NO_DEADLINE) == 0
    assert w.start.tolist() == [0, 2, 4]
    assert w.mode.tolist() == [1, 2, 3]  # X in its fast mode
    assert w.seq.tolist() == [2, 0, 1]
    assert validate(inst, Schedule.from_arrays(c, w.mode.copy(), w.start.copy())) == []
