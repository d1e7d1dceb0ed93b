"""Re-planning (`scheduler.replan`): each event type gives a schedule valid for the updated
instance that keeps the frozen past exactly and respects the new window; right shift keeps the
machine sequences; the deviation term agrees between the KPIs, cpsat and the heuristic; bad
events name the event and field; random instances and events always re-plan validly."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from strategies import instances

from scheduler.core.compile import compile_instance, compile_reference
from scheduler.core.errors import InstanceError, UnsupportedFeatureError
from scheduler.core.kpi import compute_kpis, stability_kpis
from scheduler.core.model import Instance
from scheduler.core.objective import Objective
from scheduler.core.schedule import Assignment, Schedule
from scheduler.core.solve import DEFAULT_SOLVER, solve
from scheduler.core.validate import validate
from scheduler.io.instance_json import instance_from_dict, instance_to_dict
from scheduler.replan import read_events, reschedule, update_instance
from solvers.cpsat.terms import schedule_terms
from solvers.heuristics.evaluate import DEVIATION, N_TERMS, terms
from solvers.heuristics.problem import make_problem
from solvers.heuristics.warmup import first_call_seconds

FAST = {"time_limit": 1.0, "workers": 1}  # cpsat proves these tiny plans optimal at once


def _op(op_id: str, *modes: tuple[str, int]) -> dict[str, Any]:
    """An operation in the JSON format with (machine, duration) modes."""
    return {"id": op_id, "modes": [{"machine": m, "duration": d} for m, d in modes]}


PLANT: dict[str, Any] = {
    "machines": [{"id": "M1"}, {"id": "M2"}, {"id": "M3"}],
    "jobs": [
        {
            "id": "J1",
            "operations": [
                _op("J1-1", ("M1", 4), ("M2", 6)),
                _op("J1-2", ("M2", 3)),
                _op("J1-3", ("M3", 5)),
            ],
        },
        {
            "id": "J2",
            "operations": [
                _op("J2-1", ("M2", 5)),
                _op("J2-2", ("M1", 4), ("M3", 4)),
                _op("J2-3", ("M1", 2)),
            ],
        },
        {
            "id": "J3",
            "operations": [
                _op("J3-1", ("M3", 3)),
                _op("J3-2", ("M1", 5)),
                _op("J3-3", ("M2", 4), ("M3", 2)),
            ],
        },
    ],
}


@pytest.fixture(scope="module")
def plan() -> tuple[Instance, Schedule, int]:
    """The plant, a makespan-optimal plan, and a tick at which some operations are done, one
    is running and some have not started. The heuristic's kernels are loaded first, so that
    its short time limits below are spent searching."""
    first_call_seconds()
    instance = instance_from_dict(PLANT)
    result = solve(instance, solver="cpsat", warm_start=False, **FAST)
    assert result.schedule is not None
    rows = result.schedule.assignments
    at = next(
        t
        for t in range(1, result.schedule.makespan)
        if any(a.end <= t for a in rows)
        and any(a.start < t < a.end for a in rows)
        and sum(a.start >= t for a in rows) >= 3
    )
    return instance, result.schedule, at


def _rows(schedule: Schedule) -> dict[str, Assignment]:
    return {a.operation: a for a in schedule.assignments}


def _running(schedule: Schedule, at: int) -> Assignment:
    return next(a for a in schedule.assignments if a.start < at < a.end)


def _open(schedule: Schedule, at: int) -> list[Assignment]:
    return sorted((a for a in schedule.assignments if a.start >= at), key=lambda a: a.start)


def _check_frozen(old: Schedule, new: Schedule, at: int, stopped: set[str] = frozenset()) -> None:
    """What ended by `at` is identical; a running operation keeps machine, mode and start."""
    now = _rows(new)
    for a in old.assignments:
        if a.operation in stopped or a.operation not in now:
            continue
        b = now[a.operation]
        if a.end <= at:
            assert (b.machine, b.start, b.end) == (a.machine, a.start, a.end)
        elif a.start < at:
            assert (b.machine, b.start) == (a.machine, a.start)
        else:
            assert b.start >= at
    for b in new.assignments:
        if b.operation not in _rows(old):
            assert b.start >= at


def _same_mode(old: Instance, new: Instance, op: str, old_mode: int, new_mode: int) -> bool:
    """The mode run in the updated instance is the one the old plan ran."""
    before = {o.id: o for _, o in old.operations}[op].modes[old_mode]
    after = {o.id: o for _, o in new.operations}[op].modes[new_mode]
    return (before.machine, before.power_kw) == (after.machine, after.power_kw)


@pytest.mark.parametrize("policy", ["right_shift", "reoptimize"])
def test_machine_down_interrupts_the_running_operation(plan: Any, policy: str) -> None:
    instance, old, at = plan
    running = _running(old, at)
    event = {"type": "machine_down", "machine": running.machine, "start": at, "end": at + 7}
    replan = reschedule(instance, old, at=at, events=[event], policy=policy, **FAST)
    new = replan.schedule
    assert new is not None and not validate(replan.instance, new)
    _check_frozen(old, new, at, stopped={running.operation})
    assert running.operation not in replan.kept
    redone = _rows(new)[running.operation]
    assert redone.start >= at + 7 or redone.machine != running.machine
    for a in new.assignments:  # the new window is respected
        if a.machine == running.machine and a.end > a.start:
            assert a.end <= at or a.start >= at + 7


@pytest.mark.parametrize("solver", ["cpsat", "heuristic"])
def test_delay_of_the_running_operation_keeps_it_in_place(plan: Any, solver: str) -> None:
    instance, old, at = plan
    running = _running(old, at)
    event = {"type": "operation_delay", "operation": running.operation, "by": 3}
    replan = reschedule(instance, old, at=at, events=[event], solver=solver, **FAST)
    new = replan.schedule
    assert new is not None and not validate(replan.instance, new)
    _check_frozen(old, new, at)
    row = _rows(new)[running.operation]
    assert (row.start, row.end) == (running.start, running.end + 3)
    assert _same_mode(instance, replan.instance, running.operation, running.mode, row.mode)
    assert running.operation in replan.kept


def test_delay_of_an_open_operation_sets_every_mode(plan: Any) -> None:
    instance, old, at = plan
    later = _open(old, at)[0]
    event = {"type": "operation_delay", "operation": later.operation, "duration": 9}
    update = update_instance(instance, old, at, [event])
    op = {o.id: o for _, o in update.instance.operations}[later.operation]
    assert {m.duration for m in op.modes} == {9} and op.release == at


def test_rush_order_is_released_at_the_replan_tick(plan: Any) -> None:
    instance, old, at = plan
    job = {
        "id": "R1",
        "release": 0,
        "operations": [_op("R1-1", ("M1", 2)), _op("R1-2", ("M2", 2), ("M3", 3))],
    }
    for policy in ("right_shift", "reoptimize"):
        replan = reschedule(
            instance, old, at=at, events=[{"type": "rush_order", "job": job}], policy=policy, **FAST
        )
        new = replan.schedule
        assert new is not None and not validate(replan.instance, new)
        _check_frozen(old, new, at)
        assert min(a.start for a in new.assignments if a.job == "R1") >= at


def test_redo_adds_a_copy_between_the_operation_and_its_successors(plan: Any) -> None:
    instance, old, at = plan
    done = next(a for a in old.assignments if a.end <= at)
    replan = reschedule(
        instance, old, at=at, events=[{"type": "redo", "operation": done.operation}], **FAST
    )
    new = replan.schedule
    assert new is not None and not validate(replan.instance, new)
    _check_frozen(old, new, at)
    copy = _rows(new)[f"{done.operation}-redo1"]
    assert copy.start >= at and copy.job == done.job
    arcs = replan.instance.precedences()
    assert (done.operation, copy.operation, 0) in arcs
    for pred, succ, _ in arcs:  # successors not started yet wait for the copy
        if pred == done.operation and succ != copy.operation and _rows(old)[succ].start >= at:
            assert (copy.operation, succ) in {(p, s) for p, s, _ in arcs}
    # a second redo of the same operation gets the next number
    twice = update_instance(instance, old, at, [{"type": "redo", "operation": done.operation}] * 2)
    assert f"{done.operation}-redo2" in {o.id for _, o in twice.instance.operations}


def test_cancel_job_drops_what_is_not_done(plan: Any) -> None:
    instance, old, at = plan
    running = _running(old, at)
    replan = reschedule(
        instance, old, at=at, events=[{"type": "cancel_job", "job": running.job}], **FAST
    )
    new = replan.schedule
    assert new is not None and not validate(replan.instance, new)
    _check_frozen(old, new, at)
    kept = {a.operation for a in new.assignments if a.job == running.job}
    assert kept == {a.operation for a in old.assignments if a.job == running.job and a.end <= at}


def test_right_shift_keeps_every_machine_sequence(plan: Any) -> None:
    instance, old, at = plan
    running = _running(old, at)
    events = [
        {"type": "machine_down", "machine": running.machine, "start": at, "end": at + 5},
        {"type": "operation_delay", "operation": _open(old, at)[0].operation, "by": 4},
    ]
    replan = reschedule(instance, old, at=at, events=events, policy="right_shift")
    new = replan.schedule
    assert new is not None and not validate(replan.instance, new)
    assert replan.result.solver == "right_shift" and replan.result.status == "feasible"
    after = _rows(new)
    for machine in {a.machine for a in old.assignments}:
        before = [
            a.operation
            for a in sorted(old.assignments, key=lambda a: a.start)
            if a.machine == machine
        ]
        assert sorted(before, key=lambda o: after[o].start) == before
        assert all(after[o].machine == machine for o in before)
    assert replan.result.kpis["total_shift"] > 0


def test_no_event_keeps_the_plan_and_the_deviation_is_zero(plan: Any) -> None:
    instance, old, at = plan
    assert stability_kpis(old, old) == {
        "ops_moved": 0,
        "machines_changed": 0,
        "total_shift": 0,
        "deviation": 0,
    }
    shifted = reschedule(instance, old, at=at, policy="right_shift")
    assert shifted.schedule is not None
    assert stability_kpis(old, shifted.schedule)["ops_moved"] == 0
    for solver in ("cpsat", "heuristic"):
        replan = reschedule(instance, old, at=at, solver=solver, objective="deviation", **FAST)
        assert replan.result.objective == 0 and replan.result.kpis["deviation"] == 0


def test_cpsat_heuristic_and_kpis_agree_on_the_deviation(plan: Any) -> None:
    instance, old, at = plan
    running = _running(old, at)
    event = {"type": "machine_down", "machine": running.machine, "start": at, "end": at + 6}
    rng = np.random.default_rng(1)
    for objective in ("makespan=1,deviation=0.5", "makespan>deviation"):
        for solver in ("cpsat", "heuristic"):
            replan = reschedule(
                instance, old, at=at, events=[event], solver=solver, objective=objective, **FAST
            )
            new = replan.schedule
            assert new is not None
            c = compile_instance(replan.instance)
            ref = compile_reference(c, old)
            mode, start = new.to_arrays(c)
            start = start + rng.integers(0, 3, size=start.size)  # any arrays: the terms only
            shifted = Schedule.from_arrays(c, mode, start)
            expected = stability_kpis(old, shifted)["deviation"]
            assert schedule_terms(c, mode, start, ref)["deviation"] == expected
            out = np.zeros(N_TERMS)
            terms(make_problem(c, Objective.parse(objective), ref), start, mode, out)
            assert out[DEVIATION] == expected
            assert replan.result.kpis["deviation"] == stability_kpis(old, new)["deviation"]


def test_stability_weight_and_its_kpis(plan: Any) -> None:
    instance, old, at = plan
    running = _running(old, at)
    event = {"type": "machine_down", "machine": running.machine, "start": at, "end": at + 6}
    plain = reschedule(instance, old, at=at, events=[event], **FAST).result
    stable = reschedule(
        instance, old, at=at, events=[event], objective="deviation>makespan", **FAST
    ).result
    assert stable.kpis["deviation"] <= plain.kpis["deviation"]
    weighted = reschedule(instance, old, at=at, events=[event], stability=1000.0, **FAST).result
    assert weighted.kpis["deviation"] == stable.kpis["deviation"]
    for key in ("ops_moved", "machines_changed", "total_shift"):
        assert key in plain.kpis


def test_deviation_needs_a_reference_and_a_solver_that_models_it(plan: Any) -> None:
    instance, old, _ = plan
    with pytest.raises(UnsupportedFeatureError, match="reference"):
        solve(instance, solver="cpsat", objective="deviation", **FAST)
    with pytest.raises(UnsupportedFeatureError, match="deviation"):
        solve(instance, solver="baseline", objective="deviation", reference=old, **FAST)


@pytest.mark.parametrize(
    ("events", "message"),
    [
        ([{"type": "melt"}], r"events\[0\]: type"),
        ([{"type": "redo"}], r"events\[0\] \(redo\): missing required key 'operation'"),
        ([{"type": "redo", "operation": "J1-1", "why": 1}], r"events\[0\] \(redo\): unknown key"),
        ([{"type": "redo", "operation": "nope"}], r"events\[0\] \(redo\): operation: 'nope'"),
        ([{"type": "cancel_job", "job": "J9"}], r"events\[0\] \(cancel_job\): job: 'J9'"),
        (
            [
                {"type": "redo", "operation": "J1-1"},
                {"type": "machine_down", "machine": "M9", "start": 50, "end": 60},
            ],
            r"events\[1\] \(machine_down\): machine: 'M9'",
        ),
        ([{"type": "machine_down", "machine": "M1", "start": -1, "end": 3}], r"start"),
        ([{"type": "machine_down", "machine": "M1", "start": 90, "end": 80}], r"end"),
        ([{"type": "machine_down", "machine": "M1", "start": 0, "end": 80}], r"re-plan time"),
        ([{"type": "operation_delay", "operation": "J1-1"}], r"exactly one of"),
        ([{"type": "operation_delay", "operation": "J1-1", "by": -2}], r"by"),
        (
            [{"type": "rush_order", "job": {"id": "J1", "operations": [_op("X", ("M1", 1))]}}],
            r"job: id 'J1'",
        ),
        (
            [{"type": "rush_order", "job": {"id": "R", "operations": [_op("X", ("M7", 1))]}}],
            r"machine: 'M7'",
        ),
        ("not a list", r"events"),
    ],
)
def test_bad_events_name_the_event_and_field(plan: Any, events: Any, message: str) -> None:
    instance, old, at = plan
    with pytest.raises(InstanceError, match=message):
        update_instance(instance, old, max(at, 1), events)


def test_a_done_operation_cannot_be_delayed_and_a_bad_plan_is_refused(plan: Any) -> None:
    instance, old, at = plan
    done = next(a for a in old.assignments if a.end <= at)
    with pytest.raises(InstanceError, match="ended by the re-plan time"):
        delay = {"type": "operation_delay", "operation": done.operation, "by": 1}
        update_instance(instance, old, at, [delay])
    broken = Schedule(instance, old.assignments[1:])
    with pytest.raises(InstanceError, match="not a valid schedule"):
        update_instance(instance, broken, at, [])
    with pytest.raises(InstanceError, match="at"):
        update_instance(instance, old, -1, [])


def test_updated_instance_round_trips_through_json(plan: Any) -> None:
    instance, old, at = plan
    update = update_instance(
        instance, old, at, [{"type": "redo", "operation": _running(old, at).operation}]
    )
    again = instance_from_dict(instance_to_dict(update.instance))
    assert again == update.instance
    pinned = {o.id: o for _, o in again.operations}
    for op_id in update.kept:
        row = _rows(old)[op_id]
        assert (pinned[op_id].release, pinned[op_id].deadline) == (row.start, row.end)


def test_validator_checks_operation_windows_alone(plan: Any) -> None:
    instance, old, _ = plan
    kept = reschedule(instance, old, at=old.makespan, policy="right_shift")  # all pinned
    assert kept.schedule is not None and len(kept.kept) == len(old.assignments)
    done = next(a for a in kept.schedule.assignments if a.start > 0)

    def moved(by: int) -> list[str]:
        rows = tuple(
            dataclasses.replace(a, start=a.start + by, end=a.end + by)
            if a.operation == done.operation
            else a
            for a in kept.schedule.assignments
        )
        return [v.rule for v in validate(kept.instance, Schedule(kept.instance, rows))]

    assert moved(0) == []
    assert "release" in moved(-1) and "deadline" not in moved(-1)
    assert "deadline" in moved(1) and "release" not in moved(1)


def _event(draw: st.DrawFn, instance: Instance, plan: Schedule, at: int) -> dict[str, Any]:
    ops = [a.operation for a in plan.assignments]
    kind = draw(
        st.sampled_from(["machine_down", "operation_delay", "redo", "cancel_job", "rush_order"])
    )
    if kind == "machine_down":
        start = at + draw(st.integers(0, 5))
        machine = draw(st.sampled_from([m.id for m in instance.machines]))
        return {
            "type": kind,
            "machine": machine,
            "start": start,
            "end": start + draw(st.integers(1, 6)),
        }
    if kind == "operation_delay":
        open_ops = [a.operation for a in plan.assignments if a.end > at]
        op = draw(st.sampled_from(open_ops or ops))
        return {"type": kind, "operation": op, "by": draw(st.integers(0, 4))}
    if kind == "redo":
        return {"type": kind, "operation": draw(st.sampled_from(ops))}
    if kind == "cancel_job":
        return {"type": kind, "job": draw(st.sampled_from([j.id for j in instance.jobs]))}
    machine = draw(st.sampled_from([m.id for m in instance.machines]))
    job = {"id": "RUSH", "operations": [_op("RUSH-1", (machine, draw(st.integers(1, 4))))]}
    return {"type": kind, "job": job}


@st.composite
def _disruptions(draw: st.DrawFn) -> tuple[Instance, Schedule, int, list[dict[str, Any]]]:
    instance = draw(instances(deadlines=False, horizon=False, energy=False))
    result = solve(instance, solver="heuristic", time_limit=0.2, workers=1, seed=0)
    assume(result.schedule is not None)
    assert result.schedule is not None
    at = draw(st.integers(0, result.schedule.makespan))
    events = [_event(draw, instance, result.schedule, at) for _ in range(draw(st.integers(0, 2)))]
    return instance, result.schedule, at, events


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_disruptions(), st.sampled_from(["right_shift", "reoptimize"]))
def test_random_disruptions_always_replan_validly(case: Any, policy: str) -> None:
    instance, old, at, events = case
    try:
        read_events(events)
        update_instance(instance, old, at, events)
    except InstanceError as error:  # e.g. a cancelled job another job depends on, twice
        assert "events[" in str(error) or "updated instance" in str(error)
        return
    replan = reschedule(
        instance,
        old,
        at=at,
        events=events,
        policy=policy,
        solver="heuristic",
        time_limit=0.3,
        workers=1,
    )
    if policy == "right_shift":
        assert replan.schedule is not None  # no deadline or horizon: a right shift always fits
    if replan.schedule is None:
        return
    assert not validate(replan.instance, replan.schedule)
    rows = _rows(replan.schedule)
    for a in old.assignments:  # the past exactly; a running op kept in place or redone later
        if a.end <= at:
            assert (rows[a.operation].machine, rows[a.operation].start) == (a.machine, a.start)
            assert rows[a.operation].end == a.end
        elif a.operation in replan.kept:
            assert (rows[a.operation].machine, rows[a.operation].start) == (a.machine, a.start)
        elif a.operation in rows:
            assert rows[a.operation].start >= at
    assert compute_kpis(replan.instance, replan.schedule, old)["deviation"] >= 0


def test_default_replan_is_the_default_solve_even_where_cpsat_refuses() -> None:
    """One machine with 1,500 operations of two families: cpsat refuses its setup circuit
    (about 2.25 million arcs), so a re-plan defaulting to cpsat raised; the default re-plan is
    the default solve (`auto`), whose heuristic schedules it."""
    n = 1500
    doc = {
        "machines": [{"id": "M1"}],
        "jobs": [
            {"id": f"J{j}", "operations": [{"id": f"O{j}", "family": "AB"[j % 2],
                                            "modes": [{"machine": "M1", "duration": 2}]}]}
            for j in range(n)
        ],
        "setup_times": {"M1": {"A": {"B": 3}, "B": {"A": 3}}},
    }  # fmt: skip
    instance = instance_from_dict(doc)
    rows, t = [], 0
    for j in [*range(0, n, 2), *range(1, n, 2)]:  # the As, one changeover, the Bs
        t += 3 if j == 1 else 0
        rows.append(Assignment(f"J{j}", f"O{j}", "M1", 0, t, t + 2))
        t += 2
    old = Schedule(instance, tuple(rows))
    assert validate(instance, old) == []
    with pytest.raises(UnsupportedFeatureError, match="arcs"):
        solve(instance, solver="cpsat", time_limit=1.0)
    event = {"type": "machine_down", "machine": "M1", "start": 1000, "end": 1010}
    replan = reschedule(instance, old, at=1000, events=[event], time_limit=5.0, workers=1)
    assert replan.result.solver == DEFAULT_SOLVER
    assert replan.schedule is not None
    assert validate(replan.instance, replan.schedule) == []
