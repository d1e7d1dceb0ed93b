"""The load relaxation: its makespan bound holds for every valid schedule (with and without a
power cap, constant caps and profiles, zero-duration modes), beats the work-centre bound where
machines differ in speed and the energy and load bounds where the lean modes crowd one machine,
and reaches the solvers' Results; HiGHS's banner stays off standard output."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from paths import INSTANCES, plant_generator
from strategies import instances, zero_some_modes

from scheduler.core import bounds
from scheduler.core.bounds import (
    makespan_bound,
    power_cap_bound,
    relaxation_bound,
    relaxation_shares,
    work_centre_bound,
)
from scheduler.core.compile import compile_instance
from scheduler.core.kpi import compute_kpis
from scheduler.core.model import Energy, Instance, Job, Machine, Mode, Operation, Profile
from scheduler.core.relaxation import largest_shares, load_lp
from scheduler.core.solve import solve
from scheduler.core.validate import validate
from scheduler.io import load

SETTINGS = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _lean_or_fast(cap: float | Profile) -> Instance:
    """Two ops, each 10 ticks on lean A (1 kW) or 5 on fast B (4 kW), under a 4 kW cap. The
    least energy alone allows 5 (20 kW-ticks), the loads alone 7 (y = 4/3 ops on B); both
    at once need T >= 20 - 10y (A) and 4T >= 20 + 10y (energy), so y = 1.2 and T = 8. A and
    B cannot run together (5 kW): the optimum is both on B, 10."""
    jobs = tuple(
        Job(f"J{j}", (Operation(f"O{j}", (Mode("A", 10, power_kw=1.0), Mode("B", 5, 4.0))),))
        for j in range(2)
    )
    return Instance(
        machines=(Machine("A"), Machine("B")), jobs=jobs, energy=Energy(power_cap_kw=cap)
    )


def test_the_relaxation_counts_both_energy_and_load() -> None:
    c = compile_instance(_lean_or_fast(4.0))
    assert power_cap_bound(c) == 5 and c.lower_bound <= 7
    assert relaxation_bound(c) == 8 and makespan_bound(c) == 8
    for solver in ("heuristic", "cpsat", "lns", "auto"):
        result = solve(c, solver=solver, time_limit=1, workers=1)
        assert result.objective == 10 and result.bound is not None and result.bound >= 8, solver


def test_a_profile_is_relaxed_to_its_highest_step() -> None:
    c = compile_instance(_lean_or_fast(Profile(((0, 4.0), (100, 1.0)))))
    assert relaxation_bound(c) == 8


def test_without_a_cap_the_loads_alone() -> None:
    """No cap: y = 4/3 ops on B balances 20 - 10y = 5y, T = 6.67, rounded up."""
    c = compile_instance(dataclasses.replace(_lean_or_fast(4.0), energy=Energy()))
    assert relaxation_bound(c) == 7


def test_no_choice_no_cap_no_relaxation() -> None:
    jobs = (Job("J0", (Operation("O0", (Mode("A", 10),)),)),)
    c = compile_instance(Instance(machines=(Machine("A"),), jobs=jobs))
    assert load_lp(c) is None and relaxation_bound(c) == 0


def test_the_relaxation_counts_machine_speeds() -> None:
    """Two ops, 10 ticks on A or 20 on the slower B: the work-centre bound spreads their
    least work over both machines (10); the loads need 20 - 10y = 20y for y ops on B, so
    T = 13.33 (the optimum is 20)."""
    jobs = tuple(
        Job(f"J{j}", (Operation(f"O{j}", (Mode("A", 10), Mode("B", 20))),)) for j in range(2)
    )
    c = compile_instance(Instance(machines=(Machine("A"), Machine("B")), jobs=jobs))
    assert work_centre_bound(c) == 10 and relaxation_bound(c) == 14 and makespan_bound(c) == 14
    heuristic = solve(c, solver="heuristic", time_limit=1, workers=1)
    assert heuristic.objective == 20 and heuristic.bound == 14
    for solver in ("cpsat", "auto"):  # (they may prove 20)
        result = solve(c, solver=solver, time_limit=1, workers=1)
        assert result.objective == 20 and result.bound is not None and result.bound >= 14, solver


def test_the_bound_is_solved_once_and_then_ready_without_waiting() -> None:
    c = compile_instance(_lean_or_fast(4.0))
    assert relaxation_bound(c, wait=None) == 8
    assert relaxation_bound(c, wait=0.0) == 8


def test_the_relaxation_counts_the_changeovers_each_machine_is_forced_into() -> None:
    """Three ops only on A and three only on B, of families F1-F3 (10 ticks, changeovers of
    5), and one F1 op on either: each machine takes two changeovers, so the loads need
    40 + 10y = 40 + 10 (1 - y), T = 45. The work-centre bound sees one machine's own ops
    (30 + 2 x 5 = 40); the optimum is 50."""
    families = ("F1", "F2", "F3")
    jobs = [
        Job(f"{m}{f}", (Operation(f"{m}{f}-0", (Mode(m, 10),), family=f),))
        for m in "AB"
        for f in families
    ]
    jobs.append(Job("X", (Operation("X-0", (Mode("A", 10), Mode("B", 10)), family="F1"),)))
    setups = {m: {a: {b: 0 if a == b else 5 for b in families} for a in families} for m in "AB"}
    inst = Instance(machines=(Machine("A"), Machine("B")), jobs=tuple(jobs), setup_times=setups)
    c = compile_instance(inst)
    assert work_centre_bound(c) == 40 and relaxation_bound(c) == 45
    result = solve(c, solver="cpsat", time_limit=5, workers=1)
    assert result.status == "optimal" and result.objective == 50 and result.schedule is not None
    assert validate(inst, result.schedule) == []


def test_the_heuristic_stops_once_the_relaxation_proves_its_schedule() -> None:
    """Three ops, 10 ticks on A or 20 on B: the loads need 10 (3 - y) = 20y, T = 20, which
    two ops on A and one on B reach; the other bounds say 15. The heuristic stops as soon as
    the relaxation's bound is in, long before its time limit."""
    jobs = tuple(
        Job(f"J{j}", (Operation(f"O{j}", (Mode("A", 10), Mode("B", 20))),)) for j in range(3)
    )
    c = compile_instance(Instance(machines=(Machine("A"), Machine("B")), jobs=jobs))
    assert max(c.lower_bound, work_centre_bound(c)) < 20 == relaxation_bound(c)
    result = solve(c, solver="heuristic", time_limit=30, workers=1)
    assert result.status == "optimal" and result.objective == result.bound == 20
    assert result.wall_time_s < 15


def _capped(inst: Instance, profile: bool | None) -> Instance:
    """`inst` with a power cap: 8 kW constant, or stepping 6 / 12 / 8 kW every 7 ticks
    (`profile`), or none (None)."""
    if profile is None:
        return dataclasses.replace(inst, energy=dataclasses.replace(inst.energy, power_cap_kw=None))
    cap: float | Profile = Profile(((0, 6.0), (7, 12.0), (14, 8.0)), 21) if profile else 8.0
    return dataclasses.replace(inst, energy=dataclasses.replace(inst.energy, power_cap_kw=cap))


@SETTINGS
@given(instances(energy=True, resources=False), st.sampled_from([None, False, True]), st.booleans())
def test_no_schedule_beats_the_relaxation(
    inst: Instance, profile: bool | None, zeros: bool
) -> None:
    if zeros:  # zero-duration modes too
        inst = zero_some_modes(inst, iter([True, False] * 100).__next__)
    inst = _capped(inst, profile)
    c = compile_instance(inst)
    bound = relaxation_bound(c)
    for solver, limit in (("heuristic", None), ("cpsat", 2.0)):  # the heuristic: 200 moves
        options = {"iterations": 200} if limit is None else {}
        result = solve(c, solver=solver, time_limit=limit, workers=1, warm_start=False, **options)
        if result.schedule is None:
            continue
        assert validate(inst, result.schedule) == []
        makespan = compute_kpis(inst, result.schedule)["makespan"]
        assert makespan >= bound, (solver, makespan, bound)
        assert result.bound is not None and result.bound <= makespan


@pytest.mark.parametrize("code", ["new_highs()", "new_highs(); new_highs()"])
def test_highs_prints_no_banner_on_stdout(code: str) -> None:
    out = subprocess.run(
        [sys.executable, "-c", f"from scheduler.core.highs import new_highs; {code}"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout == ""


def test_exit_with_the_relaxation_still_solving_is_clean() -> None:
    """A process that ends while the background LP runs (a 2,000-job capped plant, about 1 s
    of HiGHS) cancels it at exit: exit code 0, nothing on stderr."""
    tests = str(Path(__file__).resolve().parents[2])
    code = (
        f"import sys; sys.path.append({tests!r})\n"  # (appended: tests/scheduler is a package)
        "from paths import plant_generator\n"
        "from scheduler.core.bounds import relaxation_bound\n"
        "from scheduler.core.compile import compile_instance\n"
        "plant = plant_generator().generate_plant(1, power_cap=True)\n"
        "assert relaxation_bound(compile_instance(plant), wait=0.0) == 0\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and out.stderr == "", out.stderr[-500:]


def test_a_cancel_stops_the_background_lp() -> None:
    """Cancelling the relaxation of a 2,000-job capped plant (about 1 s of HiGHS) 50 ms in
    stops it without a bound, sent while the LP is still being built or already solving (it
    ran to its end before HiGHS was told to heed user interrupts)."""
    c = compile_instance(plant_generator().generate_plant(1, power_cap=True))
    bounds.prefetch(c)
    job = bounds._RELAXED[c]
    time.sleep(0.05)
    began = time.perf_counter()
    job.cancel()
    assert job.done.is_set() and job.value == 0 and time.perf_counter() - began < 0.5


def test_exit_waits_for_an_lp_still_being_built(monkeypatch: pytest.MonkeyPatch) -> None:
    """Exit waits for a background LP still being built (1.6 s at 50,000 operations) to end,
    as a process exiting under HiGHS's threads aborts."""

    def slow_build(c: object, highs: object) -> None:
        time.sleep(1.5)

    monkeypatch.setattr(bounds, "load_lp", slow_build)
    c = compile_instance(_lean_or_fast(4.0))
    assert relaxation_bound(c, wait=0.0) == 0  # started, not done
    job = bounds._RELAXED[c]
    bounds._cancel_at_exit()
    assert not job.thread.is_alive()


def test_an_energy_weight_trades_the_lps_makespan_for_lean_modes() -> None:
    """Without a cap the fastest loads split the ops 2/3 on A, T = 20/3; weighing a kWh
    (1/6 on A, 1/3 on B at one minute a tick) above 60 ticks puts both on lean A, T = 20."""
    c = compile_instance(dataclasses.replace(_lean_or_fast(4.0), energy=Energy()))
    fastest, lean = load_lp(c), load_lp(c, energy_weight=100.0)
    assert fastest is not None and lean is not None
    assert fastest[0] == pytest.approx(20 / 3) and fastest[1][[0, 2]].sum() == pytest.approx(2 / 3)
    assert lean[0] == pytest.approx(20.0) and lean[1][[0, 2]] == pytest.approx([1.0, 1.0])
    assert load_lp(c, energy_weight=50.0)[0] == pytest.approx(20 / 3)  # type: ignore[index]


def test_the_lp_leaves_the_callers_highs_threads_alone() -> None:
    """HiGHS refuses a run in a thread whose task scheduler was set up for another thread
    count: the relaxation solves in a thread of its own, so a MILP solved afterwards in the
    caller's thread with one worker is still proven (it came back 'feasible' in CI)."""
    c = compile_instance(_lean_or_fast(4.0))
    assert load_lp(c) is not None
    ft06 = load(INSTANCES / "jssp" / "ft06.txt")
    result = solve(ft06, "milp", time_limit=20, workers=1, warm_start=False, backend="appsi_highs")
    assert result.status == "optimal" and result.objective == 55


def test_the_shares_are_the_lps_and_the_largest_pick_one_mode_per_operation() -> None:
    """The background solve keeps the LP's mode shares beside its bound; `largest_shares`
    takes each operation's mode of largest share (ties: the first mode)."""
    c = compile_instance(dataclasses.replace(_lean_or_fast(4.0), energy=Energy()))
    shares = relaxation_shares(c)
    solved = load_lp(c)
    assert shares is not None and solved is not None
    assert shares == pytest.approx(solved[1], abs=1e-6)
    assert np.add.reduceat(shares, c.mode_ptr[:-1]) == pytest.approx(1.0)
    picked = largest_shares(c, np.array([0.2, 0.8, 0.5, 0.5]))
    assert picked.tolist() == [1, 2] and c.mode_op[picked].tolist() == [0, 1]
    jobs = (Job("J0", (Operation("O0", (Mode("A", 10),)),)),)
    alone = compile_instance(Instance(machines=(Machine("A"),), jobs=jobs))
    assert relaxation_shares(alone) is None
