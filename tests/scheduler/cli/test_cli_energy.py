"""The energy side of the command line: `pareto` (CSV, plot, exit codes 0/2/3) and `solve`
explaining which cap makes an instance infeasible; and the energy benchmark pipeline in
miniature through the facade (makespan-optimal, then least carbon within +10% makespan)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from paths import ROOT

from scheduler.cli import main
from scheduler.core.kpi import compute_kpis
from scheduler.core.solve import solve
from scheduler.core.validate import validate
from scheduler.io import load

MK01 = ROOT / "benchmarks/instances/energy/mk01-energy-week.json"
FAST = ["--time-limit", "10", "--workers", "1", "--no-warm-start"]


def _write(path: Path, data: dict[str, Any]) -> Path:
    path.write_text(json.dumps(data))
    return path


def _op(op_id: str, *modes: tuple[str, int, float]) -> dict[str, Any]:
    return {
        "id": op_id,
        "modes": [{"machine": m, "duration": d, "power_kw": p} for m, d, p in modes],
    }


def _two_machines(energy: dict[str, Any]) -> dict[str, Any]:
    """Two jobs on two machines with fast/slow modes; carbon cleaner later in the horizon."""
    jobs = [
        {
            "id": "A",
            "operations": [
                _op("A1", ("M1", 3, 6.0), ("M2", 5, 3.0)),
                _op("A2", ("M2", 2, 4.0)),
            ],
        },
        {"id": "B", "operations": [_op("B1", ("M1", 4, 5.0))]},
    ]
    return {
        "name": "two-machines",
        "horizon": 16,
        "machines": [{"id": "M1"}, {"id": "M2"}],
        "jobs": jobs,
        "energy": energy,
    }


CARBON = {"steps": [[0, 0.5], [6, 0.3], [10, 0.1]]}


def test_pareto_writes_the_front_and_its_plot(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    instance = _write(tmp_path / "i.json", _two_machines({"carbon_intensity": CARBON}))
    out, png = tmp_path / "front.csv", tmp_path / "front.png"
    argv = ["pareto", str(instance), "--objectives", "makespan,carbon", "--points", "5"]
    code = main([*argv, *FAST, "--out", str(out), "--plot", str(png)])
    assert code == 0
    front = pd.read_csv(out)
    assert list(front.columns) == ["makespan", "carbon", "status", "epsilon"]
    assert front["makespan"].is_monotonic_increasing
    assert front["carbon"].is_monotonic_decreasing
    assert len(front) >= 3 and (front["status"] == "optimal").all()
    assert front["makespan"].iloc[0] == 7  # the makespan optimum
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "makespan" in capsys.readouterr().out


@pytest.mark.parametrize(
    "objectives", ["makespan", "makespan,makespan", "makespan,co2", "makespan,carbon,energy"]
)
def test_pareto_refuses_bad_objectives_with_exit_2(
    tmp_path: Path, objectives: str, capsys: pytest.CaptureFixture[str]
) -> None:
    instance = _write(tmp_path / "i.json", _two_machines({"carbon_intensity": CARBON}))
    assert main(["pareto", str(instance), "--objectives", objectives, *FAST]) == 2
    assert capsys.readouterr().err.startswith("error: --objectives")


def test_pareto_of_an_infeasible_instance_exits_3(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    capped = _two_machines({"carbon_intensity": CARBON, "carbon_cap_kg": 0.01})
    instance = _write(tmp_path / "i.json", capped)
    assert main(["pareto", str(instance), *FAST]) == 3
    assert "infeasible" in capsys.readouterr().err


def test_solve_says_the_carbon_cap_is_below_the_minimum_achievable(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Two 5-tick operations on one machine: only one fits the clean hours [0, 5), so the
    least carbon is 0.05 + 0.5 kg, above the 0.3 kg cap (each alone could emit 0.05 kg)."""
    data = {
        "name": "capped",
        "horizon": 10,
        "machines": [{"id": "M"}],
        "jobs": [{"id": j, "operations": [_op(f"{j}1", ("M", 5, 6.0))]} for j in "AB"],
        "energy": {
            "carbon_intensity": {"steps": [[0, 0.1], [5, 1.0]]},
            "carbon_cap_kg": 0.3,
        },
    }
    instance = _write(tmp_path / "i.json", data)
    summary = tmp_path / "s.json"
    code = main(["solve", str(instance), *FAST, "--summary", str(summary)])
    assert code == 3
    reason = "carbon cap 0.3 kg is below the minimum achievable 0.55 kg"
    assert reason in capsys.readouterr().out
    assert reason in json.loads(summary.read_text())["message"]


def test_solve_names_the_operation_above_the_power_cap(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = _two_machines({"power_cap_kw": 40})
    data["jobs"][1]["operations"][0] = _op("B1", ("M1", 10, 55.0), ("M2", 8, 55.0))
    instance = _write(tmp_path / "i.json", data)
    assert main(["solve", str(instance), *FAST]) == 3
    assert "operation B1 draws 55 kW in every mode, above the 40 kW cap" in capsys.readouterr().out


def test_the_benchmark_pipeline_on_a_week_long_instance() -> None:
    """mk01-energy-week (week horizon, step power cap, tariff, carbon profile and cap): a
    makespan schedule, then the least carbon within +10% of its makespan, warm-started from
    it; both valid, the second no dirtier and within the bound."""
    instance = load(MK01)
    fast = solve(instance, objective="makespan", time_limit=6, workers=2, warm_start=False)
    assert fast.schedule is not None and validate(instance, fast.schedule) == []
    limit = 1.1 * fast.kpis["makespan"]
    clean = solve(
        instance,
        objective="carbon",
        time_limit=6,
        workers=2,
        warm_start=fast.schedule,
        bounds={"makespan": limit},
    )
    assert clean.schedule is not None and validate(instance, clean.schedule) == []
    kpis = compute_kpis(instance, clean.schedule)
    assert kpis["makespan"] <= limit
    assert kpis["carbon"] <= fast.kpis["carbon"] + 1e-9
    assert clean.objective == pytest.approx(kpis["carbon"], rel=1e-9)
    assert kpis["carbon"] <= instance.energy.carbon_cap_kg  # type: ignore[operator]
