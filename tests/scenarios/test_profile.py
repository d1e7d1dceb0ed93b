"""Adoption profiles: the bundled ones parse and cite a source for every number; malformed
profiles are refused naming the field (exit 2 on the command line)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from helpers import before_data

from scenarios.profile import BUNDLED, ProfileError, bundled_profile, bundled_text, parse_profile
from scheduler.cli import main


def _numbers(data: Any, path: str = "") -> list[str]:
    """Dotted paths of every number in a JSON object."""
    if isinstance(data, dict):
        return [p for k, v in data.items() if k != "sources" for p in _numbers(v, f"{path}{k}.")]
    if isinstance(data, (int, float)) and not isinstance(data, bool):
        return [path[:-1]]
    return []


@pytest.mark.parametrize("name", BUNDLED)
def test_bundled_profiles_parse_and_cite_every_number(name: str) -> None:
    profile = bundled_profile(name)
    assert profile.name == name
    data = json.loads(bundled_text(name))
    sources = data["sources"]
    for path in _numbers(data):
        parts = path.split(".")
        cited = [".".join(parts[:i]) for i in range(1, len(parts) + 1)]
        assert any(key in sources for key in cited), f"{name}: {path} names no source"


def test_one_lever_profiles_differ_from_before_in_one_lever() -> None:
    before = bundled_profile("before")
    quality = bundled_profile("after-quality-only")
    assert quality.scheduling == before.scheduling and quality.maintenance == before.maintenance
    assert quality.quality != before.quality
    maintenance = bundled_profile("after-maintenance-only")
    assert maintenance.quality == before.quality and maintenance.maintenance != before.maintenance


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d.update(colour="red"), "unknown field(s) 'colour'"),
        (lambda d: d["quality"].update(final_detection=1.5), "quality.final_detection"),
        (lambda d: d["quality"].update(defect_rate=-0.1), "quality.defect_rate"),
        (lambda d: d["maintenance"].update(breakdown_cut=2), "maintenance.breakdown_cut"),
        (
            lambda d: d["maintenance"]["breakdowns"]["time_between_failures"].update(mean_hours=-5),
            "time_between_failures.mean_hours",
        ),
        (
            lambda d: d["maintenance"]["breakdowns"]["repair_time"].update(distribution="gamma"),
            "repair_time.distribution",
        ),
        (lambda d: d["variability"].update(cv=-0.2), "variability.cv"),
        (lambda d: d["rescheduling"].update(policy="panic"), "rescheduling.policy"),
        (lambda d: d["scheduling"].update(objective="speed"), "scheduling.objective"),
        (lambda d: d["energy"].update(weights={"makespan": 1}), "energy.weights"),
        (lambda d: d["quality"].update(extra=1), "quality: unknown field(s) 'extra'"),
        (lambda d: d.pop("name"), "name: required"),
    ],
)
def test_malformed_profiles_are_refused_naming_the_field(change: Any, message: str) -> None:
    data = before_data()
    change(data)
    with pytest.raises(ProfileError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_profile(data, "bad.json")


def test_bad_profile_file_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = before_data()
    data["quality"]["station_detection"] = 1.2
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(data))
    instance = Path(__file__).resolve().parents[2] / "examples" / "demo_plant.json"
    code = main(["scenario", "compare", str(instance), "--profile-file", str(bad), "--quiet"])
    assert code == 2
    err = capsys.readouterr().err
    assert err.startswith("error:") and "station_detection" in err and "Traceback" not in err
    not_json = tmp_path / "x.json"
    not_json.write_text("{")
    assert main(["scenario", "compare", str(instance), "--profile-file", str(not_json)]) == 2
    assert main(["scenario", "compare", str(instance), "--profiles", "before,nope"]) == 2


def test_profiles_command_lists_and_prints(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["scenario", "profiles"]) == 0
    listed = capsys.readouterr().out
    assert all(name in listed for name in BUNDLED)
    assert main(["scenario", "profiles", "after"]) == 0
    assert json.loads(capsys.readouterr().out)["name"] == "after"
