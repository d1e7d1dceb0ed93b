"""The energy benchmark generator: deterministic, eco modes that save energy, caps that are
feasible (a validated reference schedule) and binding, and the committed files up to date."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest
from paths import ROOT

from scheduler.core.model import Profile
from scheduler.io.formats import load
from scheduler.io.instance_json import instance_to_dict

_spec = importlib.util.spec_from_file_location(
    "generate_energy", ROOT / "benchmarks/generate_energy.py"
)
assert _spec is not None and _spec.loader is not None
generate_energy = importlib.util.module_from_spec(_spec)
sys.modules["generate_energy"] = generate_energy
_spec.loader.exec_module(generate_energy)

MK01 = ROOT / "benchmarks/instances/fjsp/brandimarte/mk01.fjs"
TA01 = ROOT / "benchmarks/instances/jssp/ta01.txt"


@pytest.mark.parametrize("source", [MK01, TA01])
def test_energize_matches_the_committed_file(source: Path) -> None:
    generated = generate_energy.energize(load(source), generate_energy.DEFAULT_SEED)
    committed = ROOT / f"benchmarks/instances/energy/{generated.instance.name}.json"
    assert instance_to_dict(generated.instance) == json.loads(committed.read_text())


def test_jssp_operations_gain_a_slower_lower_energy_eco_mode() -> None:
    base = load(TA01)
    out = generate_energy.energize(base, 7).instance
    factor = (
        out.jobs[0].operations[0].modes[0].duration // base.jobs[0].operations[0].modes[0].duration
    )
    for job, original in zip(out.jobs, base.jobs, strict=True):
        for op, before in zip(job.operations, original.operations, strict=True):
            normal, eco = op.modes
            assert normal.machine == eco.machine == before.modes[0].machine
            assert normal.duration == before.modes[0].duration * factor
            assert 1.2 * normal.duration <= eco.duration <= 1.5 * normal.duration + 1
            assert eco.power_kw * eco.duration < normal.power_kw * normal.duration


def test_the_caps_are_feasible_and_binding() -> None:
    generated = generate_energy.energize(load(MK01), 11)
    energy = generated.instance.energy
    assert generated.aware_kg <= energy.carbon_cap_kg < generated.unaware_kg
    cap = energy.power_cap_kw
    assert isinstance(cap, Profile) and cap.period == 1440
    largest = max(m.power_kw for _, op in generated.instance.operations for m in op.modes)
    assert min(v for _, v in cap.steps) >= largest
    assert generated.instance.horizon == 7 * 1440


def test_seeds_decide_the_numbers() -> None:
    a, b, c = (generate_energy.energize(load(MK01), seed).instance for seed in (1, 1, 2))
    assert instance_to_dict(a) == instance_to_dict(b)
    assert instance_to_dict(a) != instance_to_dict(c)
