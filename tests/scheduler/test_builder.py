"""`scheduler.Model`: an instance built call by call, each call checked with the JSON reader's
own message, the same Instance as the JSON form, and the README's example runs as printed."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from io_examples import design_example
from paths import ROOT

import scheduler
from scheduler.builder import Model
from scheduler.core.errors import InstanceError


def _json_error(data: dict) -> str:
    with pytest.raises(InstanceError) as caught:
        scheduler.read_json(data)
    return str(caught.value)


def _model_error(call) -> str:  # type: ignore[no-untyped-def]
    with pytest.raises(InstanceError) as caught:
        call()
    return str(caught.value)


def test_the_design_example_built_call_by_call_equals_the_json() -> None:
    data = design_example()
    m = Model(data["name"], horizon=data["horizon"])
    for machine in data["machines"]:
        m.add_machine(
            machine["id"], machine.get("idle_power_kw", 0.0), machine.get("unavailable", ())
        )
    for resource in data["resources"]:
        m.add_resource(resource["id"], resource["capacity"])
    for job in data["jobs"]:
        keys = ("release", "due", "deadline", "weight")
        handle = m.add_job(job["id"], **{k: job[k] for k in keys if k in job})
        for op in job["operations"]:
            m.add_operation(handle, op["id"], op.get("family"))
            for mode in op["modes"]:
                m.add_mode(
                    op["id"],
                    mode["machine"],
                    mode["duration"],
                    mode.get("power_kw", 0.0),
                    mode.get("resources"),
                )
    for job in data["jobs"]:
        for op in job["operations"]:
            for pred in op.get("predecessors", []):
                before, lag = (pred, 0) if isinstance(pred, str) else pred
                m.add_precedence(before, op["id"], lag)
    for machine, table in data["setup_times"].items():
        for a, row in table.items():
            for b, ticks in row.items():
                m.set_setup(machine, a, b, ticks)
    m.set_energy(**data["energy"])
    assert m.instance() == scheduler.read_json(data)
    assert Model.from_json(m.to_json()).instance() == m.instance()


def test_each_call_fails_with_the_json_readers_message() -> None:
    m = Model("x")
    saw = m.add_machine("M1")
    m.add_resource("operators", 3)
    job = m.add_job("J1", due=600, deadline=900, weight=2)
    op = m.add_operation(job, "J1-1", family="A")
    m.add_mode(op, saw, 30, power_kw=12.5, resources={"operators": 1})
    base = design_example()

    bad = design_example()
    bad["jobs"][0]["operations"][0]["modes"][1]["machine"] = "M9"
    assert _model_error(lambda: m.add_mode(op, "M9", 45)) == _json_error(bad)

    bad = design_example()
    bad["jobs"][0]["operations"][0]["modes"][1]["duration"] = -5
    bad["jobs"][0]["operations"][0]["modes"][1]["machine"] = "M1"
    assert _model_error(lambda: m.add_mode(op, saw, -5)) == _json_error(bad)

    bad = design_example()
    bad["jobs"][0]["operations"][0]["modes"][1]["resources"] = {"operators": 4}
    bad["jobs"][0]["operations"][0]["modes"][1]["machine"] = "M1"
    assert _model_error(lambda: m.add_mode(op, saw, 45, resources={"operators": 4})) == _json_error(
        bad
    )

    bad = design_example()
    bad["machines"].append({"id": "M1"})
    bad["machines"][1]["id"] = "M1b"
    m2 = Model("x")
    m2.add_machine("M1")
    m2.add_machine("M1b")
    assert _model_error(lambda: m2.add_machine("M1")) == _json_error(bad)

    bad = design_example()
    bad["jobs"][0]["weight"] = -1
    assert _model_error(lambda: Model().add_job("J1", weight=-1)) == _json_error(bad)
    assert base == design_example()  # the helper hands out fresh copies
    with pytest.raises(InstanceError, match="'J9' is not a known job"):
        m.add_operation("J9", "x")
    # a failed call leaves the model as it was
    assert len(m.instance().jobs[0].operations[0].modes) == 1


def test_cycles_are_found_when_the_instance_is_made() -> None:
    m = Model()
    m.add_machine("M")
    job = m.add_job("J")
    for name in ("a", "b"):
        m.add_mode(m.add_operation(job, name), "M", 1)
    m.add_precedence("a", "b")
    m.add_precedence("b", "a")
    with pytest.raises(InstanceError, match="cycle"):
        m.instance()


def test_the_readme_example_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Building an instance in code", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, re.S)
    assert code is not None
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    exec(compile(code.group(1), "README.md", "exec"), namespace)  # noqa: S102
    assert namespace["result"].schedule is not None
