"""The independent validator: each rule broken once on a hand-built instance and caught, and a
property test against a brute-force tick-by-tick checker."""

from __future__ import annotations

import dataclasses
from types import MappingProxyType

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scheduler.core.model import Energy, Instance, Job, Machine, Mode, Operation, Profile, Resource
from scheduler.core.schedule import Assignment, Schedule
from scheduler.core.validate import Violation, validate


def _instance(**changes: object) -> Instance:
    """Two machines, a window on M1 at [20, 25), an A->B setup of 3 on M1, one operator,
    a power cap of 15 kW, a carbon cap; J2-2 waits for J2-1 (lag 2) and for J1-1 (cross-job)."""
    machines = (Machine("M1", idle_power_kw=2.0, unavailable=((20, 25),)), Machine("M2"))
    jobs = (
        Job(
            "J1",
            (
                Operation("J1-1", (Mode("M1", 5, 10.0), Mode("M2", 8, 4.0)), family="A"),
                Operation("J1-2", (Mode("M1", 4, 6.0, MappingProxyType({"op": 1})),), family="B"),
            ),
            due=15,
            deadline=40,
        ),
        Job(
            "J2",
            (
                Operation("J2-1", (Mode("M2", 3, 5.0, MappingProxyType({"op": 1})),)),
                Operation("J2-2", (Mode("M1", 2, 3.0),), predecessors=(("J2-1", 2), ("J1-1", 0))),
            ),
            release=3,
        ),
    )
    energy = Energy(
        power_cap_kw=15.0,
        carbon_intensity=Profile(((0, 0.5), (10, 0.25))),
        carbon_cap_kg=100.0,
    )
    fields: dict[str, object] = {
        "machines": machines,
        "jobs": jobs,
        "time_unit_minutes": 60.0,
        "horizon": 50,
        "resources": (Resource("op", 1),),
        "setup_times": {"M1": {"A": {"B": 3}, "B": {"A": 1}}},
        "energy": energy,
    }
    fields.update(changes)
    return Instance(**fields)  # type: ignore[arg-type]


BASE = {
    "J1-1": ("J1", "M1", 0, 0, 5),
    "J1-2": ("J1", "M1", 0, 8, 12),
    "J2-1": ("J2", "M2", 0, 3, 6),
    "J2-2": ("J2", "M1", 0, 14, 16),
}


def _schedule(instance: Instance, **moves: tuple[int, int]) -> Schedule:
    """The base schedule (power peaks at exactly 15 kW; carbon is 43 kg) with some operations
    moved to new (start, end), keyed J1_1 for J1-1."""
    rows = []
    for op, (job, machine, mode, start, end) in BASE.items():
        start, end = moves.get(op.replace("-", "_"), (start, end))
        rows.append(Assignment(job, op, machine, mode, start, end))
    return Schedule(instance, tuple(rows))


def _rules(schedule: Schedule) -> list[str]:
    return [v.rule for v in validate(schedule.instance, schedule)]


def _edit(schedule: Schedule, op: str, **changes: object) -> Schedule:
    rows = tuple(
        dataclasses.replace(a, **changes) if a.operation == op else a  # type: ignore[arg-type]
        for a in schedule.assignments
    )
    return Schedule(schedule.instance, rows)


def test_the_base_schedule_is_valid_at_the_caps() -> None:
    assert validate(_instance(), _schedule(_instance())) == []


@pytest.mark.parametrize(
    ("moves", "rule"),
    [
        ({"J2_1": (2, 5)}, "release"),  # J2 is released at 3
        ({"J2_1": (12, 15)}, "precedence"),  # J2-2 at 14 < 15 + lag 2
        ({"J2_2": (8, 10), "J1_1": (10, 15), "J1_2": (25, 29)}, "precedence"),  # J1-1 ends 15
        ({"J2_2": (49, 51)}, "horizon"),
        ({"J1_2": (37, 41)}, "deadline"),
        ({"J2_2": (10, 12)}, "overlap"),
        ({"J1_2": (7, 11)}, "setup"),  # A->B needs 3 ticks in [5, 7)
        ({"J2_2": (19, 21)}, "unavailable"),
        ({"J2_1": (7, 10)}, "resource"),  # J1-2 holds the operator over [8, 12)
        ({"J2_1": (4, 7), "J1_2": (9, 13), "J2_2": (14, 16)}, None),  # still valid
    ],
)
def test_each_time_rule_is_caught_alone(
    moves: dict[str, tuple[int, int]], rule: str | None
) -> None:
    instance = _instance()
    schedule = _schedule(instance, **moves)
    assert _rules(schedule) == ([rule] if rule else [])


def test_power_cap_and_carbon_cap() -> None:
    schedule = _schedule(_instance())
    tighter = _instance(energy=Energy(power_cap_kw=14.9))
    (power,) = validate(tighter, Schedule(tighter, schedule.assignments))
    assert power.rule == "power_cap" and power.time == 3
    assert "J1-1" in power.message and "J2-1" in power.message
    # carbon 10*5*0.5 + 6*(2*0.5 + 2*0.25) + 5*3*0.5 + 3*2*0.25 = 43 kg (1 tick = 1 hour)
    for cap_kg, rules in ((43.0, []), (42.9, ["carbon_cap"])):
        intensity = Profile(((0, 0.5), (10, 0.25)))
        capped = _instance(energy=Energy(carbon_intensity=intensity, carbon_cap_kg=cap_kg))
        assert _rules(Schedule(capped, schedule.assignments)) == rules


def test_row_rules() -> None:
    good = _schedule(_instance())
    missing = Schedule(good.instance, good.assignments[:-1])
    assert _rules(missing) == ["missing"]
    assert validate(missing.instance, missing)[0].operation == "J2-2"
    duplicate = Schedule(good.instance, (*good.assignments, good.assignments[-1]))
    assert _rules(duplicate) == ["duplicate"]
    unknown = Schedule(good.instance, (*good.assignments, Assignment("J9", "X", "M1", 0, 0, 1)))
    assert _rules(unknown) == ["unknown_operation"]
    assert _rules(_edit(good, "J2-2", job="J1")) == ["job"]
    assert _rules(_edit(good, "J2-2", mode=3)) == ["mode"]
    assert _rules(_edit(good, "J2-2", mode=-1)) == ["mode"]
    assert _rules(_edit(good, "J2-2", machine="M2")) == ["machine"]
    assert _rules(_edit(good, "J2-2", end=17)) == ["duration"]
    assert _rules(_edit(good, "J1-1", start=-1, end=4)) == ["negative_start", "release"]
    # mode 1 of J1-1 runs on M2 for 8 ticks
    on_m2 = _edit(good, "J1-1", mode=1, machine="M2", start=6, end=14)
    assert _rules(on_m2) == ["precedence"]  # J1-2 at 8 is before J1-1 ends
    moved = _edit(_edit(on_m2, "J1-2", start=14, end=18), "J2-2", start=18, end=20)
    assert _rules(moved) == []


def test_overlap_with_an_operation_that_ended_earlier_in_the_order() -> None:
    # L [0, 10) holds the machine; S [2, 3) sits inside it, T [5, 7) is after S but inside L
    ops = {"L": 10, "S": 1, "T": 2}
    jobs = tuple(Job(f"J{o}", (Operation(o, (Mode("M1", d),)),)) for o, d in ops.items())
    instance = Instance((Machine("M1"),), jobs)
    rows = tuple(
        Assignment(f"J{o}", o, "M1", 0, s, s + ops[o]) for o, s in (("L", 0), ("S", 2), ("T", 5))
    )
    overlaps = validate(instance, Schedule(instance, rows))
    assert [(v.rule, v.operation) for v in overlaps] == [("overlap", "S"), ("overlap", "T")]


def test_setup_that_only_fits_across_a_window_is_a_violation() -> None:
    instance = _instance()
    # J1-1 ends at 20 where the window starts: [20, 25) is not a setup stretch
    blocked = _schedule(instance, J1_1=(15, 20), J1_2=(25, 29), J2_2=(30, 32))
    (setup,) = validate(instance, blocked)
    assert setup.rule == "setup" and setup.machine == "M1" and setup.operation == "J1-2"
    # two ticks after the window are still too few; three are enough
    assert _rules(_schedule(instance, J1_1=(15, 20), J1_2=(27, 31), J2_2=(31, 33))) == ["setup"]
    assert _rules(_schedule(instance, J1_1=(15, 20), J1_2=(28, 32), J2_2=(32, 34))) == []
    # the setup may sit before the window: [17, 20) is free
    assert _rules(_schedule(instance, J1_1=(12, 17), J1_2=(26, 30), J2_2=(30, 32))) == []


def _power_instance(cap: Profile) -> Instance:
    ops = tuple(Operation(f"O{i}", (Mode("M1", 1, 10.0),)) for i in range(3))
    long = Operation("L", (Mode("M2", 25, 1.0),))
    return Instance(
        (Machine("M1"), Machine("M2")),
        (Job("J", ops), Job("K", (long,))),
        energy=Energy(power_cap_kw=cap),
    )


def test_periodic_power_cap() -> None:
    cap = Profile(((0, 20.0), (6, 8.0)), period=10)  # 8 kW on ticks 6-9, 16-19, 26-29, ...
    instance = _power_instance(cap)

    def run(*starts: int) -> list[Violation]:
        rows = [Assignment("J", f"O{i}", "M1", 0, s, s + 1) for i, s in enumerate(starts)]
        rows.append(Assignment("K", "L", "M2", 0, 0, 25))  # 1 kW for 25 ticks
        return validate(instance, Schedule(instance, tuple(rows)))

    assert run(0, 11, 25) == []  # 11 and 25 are in the 20 kW part of their periods
    (late,) = run(0, 11, 16)
    assert late.rule == "power_cap" and late.time == 16 and "O2" in late.message
    flat = _power_instance(Profile(((0, 20.0), (6, 8.0))))
    rows = (
        Assignment("J", "O0", "M1", 0, 0, 1),
        Assignment("J", "O1", "M1", 0, 11, 12),
        Assignment("J", "O2", "M1", 0, 25, 26),
        Assignment("K", "L", "M2", 0, 0, 25),
    )
    assert [v.time for v in validate(flat, Schedule(flat, rows))] == [11, 25]


def test_long_load_over_a_periodic_cap_is_caught() -> None:
    instance = _power_instance(Profile(((0, 5.0), (7, 0.5)), period=10))
    rows = (
        Assignment("J", "O0", "M1", 0, 0, 1),
        Assignment("J", "O1", "M1", 0, 1, 2),
        Assignment("J", "O2", "M1", 0, 2, 3),
        Assignment("K", "L", "M2", 0, 0, 25),
    )
    violations = validate(instance, Schedule(instance, rows))
    # 10 kW over [0, 3) breaks the 5 kW cap; then 1 kW breaks the 0.5 kW at tick 7 (and 17)
    assert [(v.rule, v.time) for v in violations] == [("power_cap", 0), ("power_cap", 7)]


@pytest.mark.parametrize(
    ("preds", "start_b", "ok"),
    [
        (None, 2, True),  # chain: B after A (ends 2)
        (None, 1, False),
        ((), 0, True),  # named (none) on some op: the chain is gone
        ((("X1", 3),), 4, False),  # cross-job with lag: X1 ends 2, +3
        ((("X1", 3),), 5, True),
    ],
)
def test_precedence_semantics(
    preds: tuple[tuple[str, int], ...] | None, start_b: int, ok: bool
) -> None:
    job = Job(
        "J",
        (
            Operation("A", (Mode("M1", 2),)),
            Operation("B", (Mode("M2", 1),), predecessors=preds),
        ),
    )
    other = Job("X", (Operation("X1", (Mode("M3", 2),)),))
    instance = Instance((Machine("M1"), Machine("M2"), Machine("M3")), (job, other))
    rows = (
        Assignment("J", "A", "M1", 0, 0, 2),
        Assignment("J", "B", "M2", 0, start_b, start_b + 1),
        Assignment("X", "X1", "M3", 0, 0, 2),
    )
    assert _rules(Schedule(instance, rows)) == ([] if ok else ["precedence"])


def test_violation_reads_as_one_line() -> None:
    instance = _instance()
    (v,) = validate(instance, _schedule(instance, J2_2=(19, 21)))
    assert str(v).startswith("[unavailable] operation 'J2-2'")
    assert "\n" not in str(v) and "[20, 25)" in str(v)
    assert (v.job, v.operation, v.machine, v.time) == ("J2", "J2-2", "M1", 19)


# -- property test against a brute-force checker ---------------------------------------


@st.composite
def _cases(draw: st.DrawFn) -> tuple[Instance, Schedule]:
    """Random small instances, and schedules with no overlap per machine but random gaps,
    so that setups, windows, resources and power may or may not hold."""
    n_machines = draw(st.integers(1, 3))
    machines = tuple(
        Machine(
            f"M{m}",
            unavailable=tuple(
                (s, s + d)
                for s, d in draw(
                    st.lists(st.tuples(st.integers(0, 40), st.integers(1, 5)), max_size=3)
                )
            ),
        )
        for m in range(n_machines)
    )
    families = ["a", "b", None]
    setup = {
        f"M{m}": {a: {b: draw(st.integers(0, 4)) for b in "ab"} for a in "ab"}
        for m in range(n_machines)
    }
    n_ops = draw(st.integers(1, 8))
    ops = []
    rows = []
    clock = dict.fromkeys(range(n_machines), 0)
    for i in range(n_ops):
        m = draw(st.integers(0, n_machines - 1))
        duration = draw(st.integers(1, 6))
        power = draw(st.integers(0, 9))
        demand = draw(st.integers(0, 2))
        mode = Mode(
            f"M{m}", duration, float(power), MappingProxyType({"r": demand} if demand else {})
        )
        ops.append(Operation(f"O{i}", (mode,), family=draw(st.sampled_from(families))))
        start = clock[m] + draw(st.integers(0, 8))
        clock[m] = start + duration
        rows.append(Assignment(f"J{i}", f"O{i}", f"M{m}", 0, start, start + duration))
    cap: float | Profile = draw(
        st.one_of(
            st.integers(0, 15).map(float),
            st.builds(
                lambda a, b, t, p: Profile(((0, float(a)), (t, float(b))), period=p),
                st.integers(0, 15),
                st.integers(0, 15),
                st.integers(1, 5),
                st.sampled_from([None, 6, 11]),
            ),
        )
    )
    instance = Instance(
        machines,
        tuple(Job(f"J{i}", (op,)) for i, op in enumerate(ops)),
        resources=(Resource("r", 2),),
        setup_times=MappingProxyType(setup),
        energy=Energy(power_cap_kw=cap),
    )
    return instance, Schedule(instance, tuple(rows))


def _brute_force(instance: Instance, schedule: Schedule) -> dict[str, int | None]:
    """First violating tick per capacity rule, and whether setup/window rules break."""
    modes = {op.id: op.modes[0] for job in instance.jobs for op in job.operations}
    family = {op.id: op.family for job in instance.jobs for op in job.operations}
    end = max(a.end for a in schedule.assignments)
    first: dict[str, int | None] = {"resource": None, "power_cap": None}
    cap = instance.energy.power_cap_kw
    for t in range(end):
        running = [a for a in schedule.assignments if a.start <= t < a.end]
        power = sum(modes[a.operation].power_kw for a in running)
        demand = sum(modes[a.operation].resources.get("r", 0) for a in running)
        limit = cap.value_at(t) if isinstance(cap, Profile) else cap
        if first["power_cap"] is None and limit is not None and power > limit:
            first["power_cap"] = t
        if first["resource"] is None and demand > 2:
            first["resource"] = t
    blocked = {m.id: {t for s, e in m.unavailable for t in range(s, e)} for m in instance.machines}
    unavailable = any(blocked[a.machine] & set(range(a.start, a.end)) for a in schedule.assignments)
    setup_broken = False
    for m in instance.machines:
        seq = sorted((a for a in schedule.assignments if a.machine == m.id), key=lambda a: a.start)
        for x, y in zip(seq, seq[1:], strict=False):
            need = instance.setup(m.id, family[x.operation], family[y.operation])
            fits = any(
                not blocked[m.id] & set(range(t, t + need))
                for t in range(x.end, y.start - need + 1)
            )
            setup_broken |= need > 0 and not fits
    return {**first, "unavailable": int(unavailable), "setup": int(setup_broken)}


@settings(max_examples=150, deadline=None)
@given(_cases())
def test_validator_agrees_with_brute_force(case: tuple[Instance, Schedule]) -> None:
    instance, schedule = case
    violations = validate(instance, schedule)
    expected = _brute_force(instance, schedule)
    found = {rule: [v for v in violations if v.rule == rule] for rule in expected}
    for rule in ("resource", "power_cap"):
        assert (found[rule][0].time if found[rule] else None) == expected[rule], rule
    assert bool(found["unavailable"]) == bool(expected["unavailable"])
    assert bool(found["setup"]) == bool(expected["setup"])
    assert {v.rule for v in violations} <= {"resource", "power_cap", "unavailable", "setup"}
