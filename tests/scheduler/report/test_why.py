"""`scheduler.explain`: on hand-made schedules it names the known critical path (with its
setups, windows, lags and releases), the binding power cap and the cause of each late job; on
any solved instance the critical path runs without gaps from a release (or time 0) to the
makespan, and each late job's chain ends at its completion."""

from __future__ import annotations

from types import MappingProxyType

from hypothesis import HealthCheck, given, settings
from strategies import instances

import scheduler
from scheduler.core.model import Energy, Instance, Job, Machine, Mode, Operation
from scheduler.core.schedule import Assignment, Schedule
from scheduler.report.why import Link, explain


def _op(id: str, machine: str, duration: int, family: str | None = None, **kw: object) -> Operation:
    return Operation(id, (Mode(machine, duration, **kw),), family)  # type: ignore[arg-type]


def _path(links: tuple[Link, ...]) -> list[tuple[str, int, int]]:
    return [(link.operation or link.kind, link.start, link.end) for link in links]


def test_the_critical_path_names_setups_windows_lags_and_the_machine() -> None:
    """M1 runs a (family x) then c (family y, setup 2) but a window [7, 10) pushes c to 10 and
    its setup before the window; d follows c after a lag of 4."""
    instance = Instance(
        (Machine("M1", unavailable=((7, 10),)), Machine("M2")),
        (
            Job("J1", (_op("a", "M1", 5, "x"),)),
            Job(
                "J2",
                (
                    _op("c", "M1", 3, "y"),
                    Operation("d", (Mode("M2", 2),), predecessors=(("c", 4),)),
                ),
                release=2,
            ),
        ),
        setup_times=MappingProxyType({"M1": {"x": {"y": 2}}}),
    )
    rows = (
        Assignment("J1", "a", "M1", 0, 0, 5),
        Assignment("J2", "c", "M1", 0, 10, 13),
        Assignment("J2", "d", "M2", 0, 17, 19),
    )
    found = scheduler.explain(instance, Schedule(instance, rows))
    assert found.makespan == 19
    assert _path(found.critical_path) == [
        ("start", 0, 0),
        ("a", 0, 5),
        ("setup", 5, 7),
        ("window", 7, 10),
        ("c", 10, 13),
        ("lag", 13, 17),
        ("d", 17, 19),
    ]
    assert [link.via for link in found.critical_path if link.kind == "operation"] == [
        "release",
        "window",
        "job",
    ]
    top = found.bottlenecks[0]
    assert (top.machine, top.busy, top.setup, top.unavailable, top.idle) == ("M1", 8, 2, 3, 6)


def test_the_binding_power_cap_and_the_wait_it_causes() -> None:
    """p (8 kW) and q (5 kW) on two machines under an 8 kW cap cannot overlap: q waits."""
    instance = Instance(
        (Machine("M1"), Machine("M2")),
        (
            Job("J1", (_op("p", "M1", 4, power_kw=8.0),)),
            Job("J2", (_op("q", "M2", 3, power_kw=5.0),)),
        ),
        energy=Energy(power_cap_kw=8.0),
    )
    rows = (Assignment("J1", "p", "M1", 0, 0, 4), Assignment("J2", "q", "M2", 0, 4, 7))
    found = explain(instance, Schedule(instance, rows))
    assert _path(found.critical_path) == [("start", 0, 0), ("p", 0, 4), ("q", 4, 7)]
    assert found.critical_path[-1].via == "power cap"
    assert [dict(b) for b in found.power_binding] == [
        {"start": 0, "end": 4, "load_kw": 8.0, "cap_kw": 8.0}
    ]
    assert found.to_dict()["power_binding"][0]["cap_kw"] == 8.0


def test_each_late_job_is_given_its_cause() -> None:
    """J2 waits for M1 busy with J1; J3 waits for a window on M2; J4 is released too late;
    J5 waits with nothing forcing it."""
    instance = Instance(
        (Machine("M1"), Machine("M2", unavailable=((0, 6),)), Machine("M3")),
        (
            Job("J1", (_op("a", "M1", 10),)),
            Job("J2", (_op("b", "M1", 3),), due=5),
            Job("J3", (_op("c", "M2", 2),), due=4),
            Job("J4", (_op("e", "M3", 3),), release=20, due=21),
            Job("J5", (_op("f", "M3", 1),), due=2),
        ),
    )
    rows = (
        Assignment("J1", "a", "M1", 0, 0, 10),
        Assignment("J2", "b", "M1", 0, 10, 13),
        Assignment("J3", "c", "M2", 0, 6, 8),
        Assignment("J4", "e", "M3", 0, 20, 23),
        Assignment("J5", "f", "M3", 0, 5, 6),
    )
    found = explain(instance, Schedule(instance, rows), "weighted_tardiness")
    causes = {late.job: (late.lateness, late.cause) for late in found.late_jobs}
    assert [late.job for late in found.late_jobs] == ["J2", "J3", "J5", "J4"]
    assert causes["J2"][0] == 8 and "machine M1" in causes["J2"][1] and "job J1" in causes["J2"][1]
    assert causes["J3"][0] == 4 and "M2 is unavailable" in causes["J3"][1]
    assert causes["J4"][0] == 2 and "released at 20" in causes["J4"][1]
    assert causes["J5"][0] == 4 and "waits" in causes["J5"][1]
    terms = {t["name"]: t for t in found.terms}
    assert terms["weighted_tardiness"]["value"] == 18 and terms["weighted_tardiness"]["level"] == 1
    assert "level" not in terms["makespan"]
    text = found.text()
    assert "J2: ends 13, due 5, 8 ticks late; cause: b waits for machine M1" in text


def _check_chain(links: tuple[Link, ...], schedule: Schedule, end: int) -> None:
    rows = {a.operation: a for a in schedule.assignments}
    releases = {0} | {j.release for j in schedule.instance.jobs}
    releases |= {op.release for _, op in schedule.instance.operations}
    assert links and links[0].start in releases and links[-1].end == end
    for before, after in zip(links, links[1:], strict=False):
        assert before.end == after.start, (before, after)
    for link in links:
        assert link.start <= link.end
        if link.kind == "operation":
            a = rows[link.operation]  # type: ignore[index]
            assert (a.start, a.end, a.machine) == (link.start, link.end, link.machine)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(instance=instances(jobs=(2, 4), energy_caps=True))
def test_on_any_solved_instance_the_chains_run_without_gaps(instance: Instance) -> None:
    objective = "weighted_tardiness>makespan"
    result = scheduler.solve(
        instance, objective=objective, time_limit=2, workers=1, warm_start=False
    )
    if result.schedule is None:
        return
    found = explain(instance, result.schedule, objective)
    _check_chain(found.critical_path, result.schedule, result.schedule.makespan)
    for late in found.late_jobs:
        _check_chain(late.chain, result.schedule, late.completion)
        assert late.cause
