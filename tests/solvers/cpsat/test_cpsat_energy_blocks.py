"""The CP-SAT energy building blocks on tiny standalone models, checked against brute force:
the exact time-dependent cost of a mode, the power cap with a step profile, idle energy."""

from __future__ import annotations

import itertools
import math
import random
from fractions import Fraction

import numpy as np
import pytest
from ortools.sat.python import cp_model

from scheduler.core.compile import CompiledInstance, compile_instance, unroll_profile
from scheduler.core.model import Energy, Instance, Job, Machine, Mode, Operation, Profile
from solvers.cpsat.energy_blocks import (
    add_carbon_cap,
    add_idle_energy,
    add_power_cap,
    add_profile_cost,
    exact,
    power_scale,
    profile_period,
    quantity_scale,
)


def _solver() -> cp_model.CpSolver:
    solver = cp_model.CpSolver()
    solver.parameters.num_workers = 1
    solver.parameters.max_time_in_seconds = 10.0
    return solver


def _single_op(
    duration: int, power: float, tariff: Profile, horizon: int, tu: float = 1.0
) -> CompiledInstance:
    job = Job("J", (Operation("J-0", (Mode("M", duration, power),)),))
    energy = Energy(tariff=tariff)
    return compile_instance(
        Instance((Machine("M"),), (job,), horizon=horizon, time_unit_minutes=tu, energy=energy)
    )


def _true_cost(profile: Profile, power: float, tu: float, start: int, duration: int) -> Fraction:
    """Brute force: power x tu/60 x the tick-by-tick sum of the profile, in exact decimals."""
    ticks = sum(exact(profile.value_at(t)) for t in range(start, start + duration))
    return exact(power) * exact(tu) / 60 * ticks


def _random_profile(rng: random.Random, horizon: int, decimals: int = 2) -> Profile:
    periodic = rng.random() < 0.5
    span = rng.randint(3, 12) if periodic else horizon
    n = rng.randint(1, min(5, span))
    starts = [0, *sorted(rng.sample(range(1, span), n - 1))]
    steps = tuple((s, round(rng.uniform(-0.2, 1.0), decimals)) for s in starts)
    return Profile(steps, period=span if periodic else None)


def _costs_by_start(
    compiled: CompiledInstance, scale: int, with_presence: bool
) -> tuple[cp_model.CpModel, cp_model.IntVar, cp_model.IntVar, cp_model.IntVar | None]:
    model = cp_model.CpModel()
    duration = int(compiled.mode_duration[0])
    start = model.new_int_var(0, compiled.horizon - duration, "s")
    present = model.new_bool_var("p") if with_presence else None
    cost = add_profile_cost(
        model, compiled, 0, start, present, compiled.tariff_start, compiled.tariff_value, scale
    ).cost
    return model, start, cost, present


@pytest.mark.parametrize("seed", range(30))
def test_fixed_start_gives_the_brute_force_cost(seed: int) -> None:
    rng = random.Random(seed)
    horizon = rng.randint(15, 40)
    duration = rng.randint(1, 14)
    power = round(rng.uniform(0.5, 30.0), 1)
    tu = rng.choice([1.0, 0.5, 15.0])
    profile = _random_profile(rng, horizon)
    compiled = _single_op(duration, power, profile, horizon, tu)
    scale = rng.choice([quantity_scale(compiled, compiled.tariff_value), 1, 7, 1000])
    model, start, cost, present = _costs_by_start(compiled, scale, with_presence=seed % 2 == 0)
    solver = _solver()
    for s in range(horizon - duration + 1):
        fixed = model.clone()
        fixed.add(fixed.get_int_var_from_proto_index(start.index) == s)
        if present is not None:
            fixed.add(fixed.get_bool_var_from_proto_index(present.index) == 1)
        assert solver.solve(fixed) == cp_model.OPTIMAL
        expected = math.ceil(scale * _true_cost(profile, power, tu, s, duration))
        assert solver.value(fixed.get_int_var_from_proto_index(cost.index)) == expected, s


def test_the_exact_scale_makes_the_cost_exact_and_absent_costs_nothing() -> None:
    profile = Profile(((0, 0.08), (5, 0.21), (9, 0.13)), period=12)
    compiled = _single_op(7, 12.5, profile, 40)
    scale = quantity_scale(compiled, compiled.tariff_value)
    for s in (0, 3, 11, 33):
        assert Fraction(scale) * _true_cost(profile, 12.5, 1.0, s, 7) % 1 == 0
    model, start, cost, present = _costs_by_start(compiled, scale, with_presence=True)
    assert present is not None
    model.add(present == 0)
    solver = _solver()
    assert solver.solve(model) == cp_model.OPTIMAL
    assert solver.value(cost) == 0


def test_values_without_a_short_decimal_round_up_by_at_most_one_unit() -> None:
    profile = Profile(((0, 1 / 3), (4, 2 / 7), (9, 0.1)))
    compiled = _single_op(6, 1 / 3, profile, 20)
    model, start, cost, _ = _costs_by_start(compiled, 1000, with_presence=False)
    solver = _solver()
    for s in range(15):
        fixed = model.clone()
        fixed.add(fixed.get_int_var_from_proto_index(start.index) == s)
        assert solver.solve(fixed) == cp_model.OPTIMAL
        truth = (
            Fraction(1000)
            * Fraction(1 / 3)
            / 60
            * sum(Fraction(profile.value_at(t)) for t in range(s, s + 6))
        )
        got = solver.value(fixed.get_int_var_from_proto_index(cost.index))
        assert math.ceil(truth) <= got <= math.ceil(truth) + 1


@pytest.mark.parametrize("seed", range(8))
def test_minimising_the_cost_finds_the_brute_force_best_start(seed: int) -> None:
    rng = random.Random(100 + seed)
    horizon = rng.randint(20, 60)
    duration = rng.randint(1, 15)
    power = round(rng.uniform(1.0, 20.0), 1)
    profile = _random_profile(rng, horizon)
    compiled = _single_op(duration, power, profile, horizon)
    scale = quantity_scale(compiled, compiled.tariff_value)
    model, start, cost, _ = _costs_by_start(compiled, scale, with_presence=False)
    model.minimize(cost)
    solver = _solver()
    assert solver.solve(model) == cp_model.OPTIMAL
    best = min(_true_cost(profile, power, 1.0, s, duration) for s in range(horizon - duration + 1))
    assert solver.value(cost) == scale * best
    assert _true_cost(profile, power, 1.0, solver.value(start), duration) == best


def test_a_week_of_a_daily_profile_needs_only_a_days_pieces() -> None:
    day = Profile(((0, 0.1), (360, 0.18), (480, 0.26), (720, 0.2), (1020, 0.28)), period=1440)
    compiled = _single_op(95, 11.5, day, 10080)
    assert profile_period(compiled.tariff_start, compiled.tariff_value, 10080) == 1440
    model, start, cost, _ = _costs_by_start(compiled, 1000, with_presence=False)
    assert len(model.proto.variables) <= 2 * 5 + 1 + 4  # pieces + start, cost, q, r
    model.add(start == 3 * 1440 + 1000)
    solver = _solver()
    assert solver.solve(model) == cp_model.OPTIMAL
    assert solver.value(cost) == math.ceil(1000 * _true_cost(day, 11.5, 1.0, 5320, 95))


def test_profile_period_of_unrolled_profiles() -> None:
    daily = Profile(((0, 1.0), (3, 2.0), (7, 1.0)), period=10)
    starts, values = unroll_profile(daily, 45)
    assert profile_period(starts, values, 45) == 10
    starts, values = unroll_profile(Profile(((0, 1.0), (3, 2.0), (7, 1.0), (13, 2.0))), 45)
    assert profile_period(starts, values, 45) is None


def _two_ops(powers: tuple[float, float], cap: float | Profile, horizon: int) -> CompiledInstance:
    jobs = tuple(
        Job(f"J{i}", (Operation(f"J{i}-0", (Mode(f"M{i}", d, p),)),))
        for i, (d, p) in enumerate(zip((3, 4), powers, strict=True))
    )
    machines = (Machine("M0"), Machine("M1"))
    energy = Energy(power_cap_kw=cap)
    return compile_instance(Instance(machines, jobs, horizon=horizon, energy=energy))


def _feasible_starts(compiled: CompiledInstance, scale: int) -> set[tuple[int, int]]:
    """Every (start0, start1) the model accepts, by enumerating all its solutions."""
    model = cp_model.CpModel()
    starts, intervals = [], {}
    for o in range(2):
        d = int(compiled.mode_duration[o])
        s = model.new_int_var(0, compiled.horizon - d, f"s{o}")
        starts.append(s)
        intervals[o] = model.new_fixed_size_interval_var(s, d, f"i{o}")
    add_power_cap(model, compiled, intervals, scale)
    found: set[tuple[int, int]] = set()

    class Collect(cp_model.CpSolverSolutionCallback):
        def on_solution_callback(self) -> None:
            found.add((self.value(starts[0]), self.value(starts[1])))

    solver = _solver()
    solver.parameters.enumerate_all_solutions = True
    solver.solve(model, Collect())
    return found


def _truly_feasible(compiled: CompiledInstance, cap: float | Profile) -> set[tuple[int, int]]:
    d0, d1 = (int(d) for d in compiled.mode_duration)
    p0, p1 = (exact(p) for p in compiled.mode_power)
    out = set()
    for s0, s1 in itertools.product(range(compiled.horizon - d0 + 1), repeat=2):
        if s1 > compiled.horizon - d1:
            continue
        ok = True
        for t in range(compiled.horizon):
            load = p0 * (s0 <= t < s0 + d0) + p1 * (s1 <= t < s1 + d1)
            limit = exact(cap.value_at(t) if isinstance(cap, Profile) else cap)
            ok = ok and load <= limit
        if ok:
            out.add((s0, s1))
    return out


@pytest.mark.parametrize(
    ("powers", "cap"),
    [
        ((0.1, 0.2), 0.3),
        ((2.5, 3.5), 5.9),
        ((2.5, 3.5), Profile(((0, 6.0), (4, 3.5), (6, 2.5), (9, 7.0), (12, 3.0)))),
        ((1.25, 2.0), Profile(((0, 3.25), (3, 2.0), (5, 1.0)), period=7)),
        ((4.0, 1.0), Profile(((0, 5.0), (2, 3.0), (10, 4.0)))),
    ],
)
def test_power_cap_forbids_exactly_the_overloading_placements(
    powers: tuple[float, float], cap: float | Profile
) -> None:
    compiled = _two_ops(powers, cap, 16)
    assert _feasible_starts(compiled, power_scale(compiled)) == _truly_feasible(compiled, cap)


def test_power_cap_with_a_coarse_scale_is_never_more_permissive() -> None:
    cap = Profile(((0, 6.4), (5, 4.6)))
    compiled = _two_ops((2.5, 3.5), cap, 14)
    truth = _truly_feasible(compiled, cap)
    coarse = _feasible_starts(compiled, 1)  # demands 3 and 4, caps 6 and 4
    assert coarse < truth


def test_carbon_cap_bounds_the_summed_carbon() -> None:
    intensity = Profile(((0, 0.5), (10, 0.2)))
    job = Job("J", (Operation("J-0", (Mode("M", 5, 6.0), Mode("M", 8, 3.0))),))
    instance = Instance(
        (Machine("M"),),
        (job,),
        horizon=20,
        energy=Energy(carbon_intensity=intensity, carbon_cap_kg=0.1),
    )
    compiled = compile_instance(instance)
    scale = quantity_scale(compiled, compiled.carbon_value)
    model = cp_model.CpModel()
    start = model.new_int_var(0, 15, "s")
    lits = [model.new_bool_var(f"p{k}") for k in range(2)]
    model.add_exactly_one(lits)
    carbon = [
        add_profile_cost(
            model, compiled, k, start, lits[k], compiled.carbon_start, compiled.carbon_value, scale
        ).cost
        for k in range(2)
    ]
    add_carbon_cap(model, compiled, carbon, scale)
    model.minimize(start)
    solver = _solver()
    assert solver.solve(model) == cp_model.OPTIMAL
    # mode 1 (3 kW, 8 ticks: 0.05 kWh a tick) from 9 emits 0.05 x (0.5 + 7 x 0.2) = 0.095 kg,
    # from 8 it emits 0.11 kg; mode 0 (0.1 kWh a tick) needs start 10 for 0.1 kg
    assert solver.value(start) == 9
    assert solver.boolean_value(lits[1])
    assert sum(solver.value(c) for c in carbon) <= 0.1 * scale


def test_idle_energy_is_the_gaps_between_first_start_and_last_end() -> None:
    ops = tuple(
        Operation(f"J-{i}", (Mode("M", d, 1.0), Mode("N", d, 1.0))) for i, d in enumerate((3, 2, 4))
    )
    machines = (Machine("M", idle_power_kw=1.5), Machine("N", idle_power_kw=2.0), Machine("U", 3.0))
    instance = Instance(machines, (Job("J", ops),), horizon=40, time_unit_minutes=2.0)
    compiled = compile_instance(instance)
    scale = quantity_scale(compiled)
    model = cp_model.CpModel()
    intervals: dict[int, cp_model.IntervalVar] = {}
    fixed_starts = (0, 6, 15)
    machine_of = ("M", "M", "N")
    for o, s in enumerate(fixed_starts):
        for k in range(int(compiled.mode_ptr[o]), int(compiled.mode_ptr[o + 1])):
            lit = model.new_bool_var(f"p{k}")
            chosen = compiled.machine_ids[compiled.mode_machine[k]] == machine_of[o]
            model.add(lit == int(chosen))
            d = int(compiled.mode_duration[k])
            intervals[k] = model.new_optional_fixed_size_interval_var(s, d, lit, f"i{k}")
    for m in range(compiled.n_machines):
        on_m = [iv for k, iv in intervals.items() if compiled.mode_machine[k] == m]
        if on_m:
            model.add_no_overlap(on_m)
    idle = add_idle_energy(model, compiled, intervals, scale).expression
    model.minimize(idle)
    solver = _solver()
    assert solver.solve(model) == cp_model.OPTIMAL
    # M runs [0,3) and [6,8): 3 idle ticks x 1.5 kW x 2/60 h = 0.15 kWh; N runs one op: 0
    assert Fraction(solver.objective_value) / scale == Fraction(3) * Fraction(3, 2) * Fraction(
        2, 60
    )
    assert np.isclose(solver.objective_value / scale, 0.15)
