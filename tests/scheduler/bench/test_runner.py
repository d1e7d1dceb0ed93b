"""The benchmark runner: suites and references, per-run metrics, the CSV/Markdown/plot it
writes (gaps checked against bks.csv), the core split, bounded execution, and a dask cluster."""

from __future__ import annotations

import csv
import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pandas as pd
import pytest
from paths import ROOT as REPO
from paths import benchmark_script, plant_generator

import scheduler.bench.runner as runner
from scheduler.bench.metrics import Point, measure, objective_at, relative_to
from scheduler.bench.suites import (
    BenchInputError,
    Reference,
    default_root,
    resolve,
    select,
    suite_instances,
    suite_sizes,
)
from scheduler.cli import main as cli_main
from scheduler.core.parallel import plan, run_bounded
from scheduler.core.result import Result
from scheduler.io import instance_to_dict

ROOT = default_root()


def bench_main(args: list[str]) -> int:
    """`scheduler bench ARGS` through the one command line."""
    return cli_main(["bench", *args])


def _bks() -> dict[str, tuple[float, float]]:
    """Instance name -> (best known, lower bound) for the JSSP rows, read independently."""
    with (ROOT / "bks.csv").open(newline="") as handle:
        return {
            r["name"]: (float(r["upper_bound"]), float(r["lower_bound"]))
            for r in csv.DictReader(handle)
            if r["family"] == "jssp"
        }


# -- suites ---------------------------------------------------------------------------------


def test_suites_cover_the_copied_sets_in_natural_order() -> None:
    sizes = suite_sizes(ROOT)
    assert (sizes["ft"], sizes["la"], sizes["ta"], sizes["mk"]) == (3, 40, 50, 10)
    assert sizes["hurink-edata"] == 66 and sizes["hurink-vdata"] == 0
    la = suite_instances("la", ROOT, {})
    assert [i.name for i in la[:3]] == ["la01", "la02", "la03"] and la[-1].name == "la40"


def test_selection_by_range_and_glob() -> None:
    ta = resolve("ta", None, "ta01-ta30", ROOT)
    assert [i.name for i in ta] == [f"ta{k:02d}" for k in range(1, 31)]
    mixed = resolve("mk,la", None, "mk0*,la1?", ROOT)
    assert [i.name for i in mixed] == [f"mk0{k}" for k in range(1, 10)] + [
        f"la{k}" for k in range(10, 20)
    ]
    with pytest.raises(BenchInputError, match="keeps none"):
        select(ta, "ft*")
    with pytest.raises(BenchInputError, match="unknown suite"):
        resolve("nosuch", None, None, ROOT)


def test_references_come_from_bks_csv() -> None:
    ta30 = resolve("ta", None, "ta30", ROOT)[0]
    assert ta30.reference == Reference(1584.0, 1562.0, None)
    globbed = resolve(None, str(ROOT / "jssp" / "ft06.txt"), None, ROOT)[0]
    assert globbed.suite == "jssp" and globbed.reference == Reference(55.0, 55.0, 55.0)


# -- metrics --------------------------------------------------------------------------------


def test_metrics_read_gaps_and_times_off_the_curve() -> None:
    curve: list[Point] = [
        (0.2, 120.0, 80.0),
        (0.9, 110.0, 90.0),
        (4.0, 100.0, 95.0),
        (6.0, 100.0, 100.0),
    ]
    row = measure(curve, 100.0, Reference(100.0, 95.0, None), time_limit=6.0)
    assert row["gap_bks"] == 0.0 and row["gap_lb"] == pytest.approx(5 / 95)
    assert (row["time_to_first_s"], row["time_to_best_s"], row["time_to_bks_s"]) == (0.2, 4.0, 4.0)
    assert row["gap_bks_at_1s"] == pytest.approx(0.10)
    assert row["gap_bks_at_5s"] == 0.0
    assert row["gap_bks_at_10s"] is None and row["gap_bks_at_60s"] is None  # beyond the limit
    assert objective_at(curve, 0.1) is None
    assert relative_to(5.0, 0.0) is None and relative_to(0.0, 0.0) == 0.0
    assert measure([], None, None, 1.0)["gap_bks"] is None


# -- parallelism ----------------------------------------------------------------------------


def test_default_split_never_oversubscribes() -> None:
    assert plan(2) == plan(2, workers=2) and plan(2).threads == 2
    assert (plan(2, workers=1).tasks, plan(2, tasks=2).workers) == (2, 1)
    assert (plan(16).tasks, plan(16).workers) == (2, 8)
    assert plan(1, workers=4).tasks == 1
    for cores in range(1, 33):
        assert plan(cores).threads <= cores


def test_run_bounded_limits_tasks_in_flight_and_keeps_order() -> None:
    lock, state = threading.Lock(), {"now": 0, "peak": 0}

    def work(x: int) -> int:
        with lock:
            state["now"] += 1
            state["peak"] = max(state["peak"], state["now"])
        time.sleep(0.01)
        with lock:
            state["now"] -= 1
        return x * x

    seen: list[int] = []
    with ThreadPoolExecutor(8) as pool:
        out = run_bounded(pool, work, range(12), 3, lambda x, _: seen.append(x))
    assert out == [x * x for x in range(12)] and sorted(seen) == list(range(12))
    assert state["peak"] <= 3


# -- the runner end to end -------------------------------------------------------------------


def test_bench_ft06_la01_with_two_solvers_writes_csv_markdown_and_plot(tmp_path: Path) -> None:
    out = tmp_path / "results.csv"
    args = ["--suite", "ft,la", "--select", "ft06,la01", "--solvers", "cpsat,baseline"]
    args += ["--time-limit", "3", "--workers", "1", "--tasks", "2", "--out", str(out), "--quiet"]
    assert bench_main(args) == 0
    frame = pd.read_csv(out)
    assert len(frame) == 4
    assert set(zip(frame["instance"], frame["solver"], strict=True)) == {
        (i, s) for i in ("ft06", "la01") for s in ("cpsat", "baseline")
    }
    bks = _bks()
    for row in frame.to_dict("records"):
        best, lower = bks[row["instance"]]
        assert (row["best_known"], row["lower_bound"]) == (best, lower)
        assert row["gap_bks"] == pytest.approx((row["objective_value"] - best) / best)
        assert row["gap_lb"] == pytest.approx((row["objective_value"] - lower) / lower)
        curve = json.loads(row["trajectory"])
        times = [t for t, _, _ in curve]
        values = [v for _, v, _ in curve if v is not None]
        assert times == sorted(times) and values == sorted(values, reverse=True)
        assert row["time_to_first_s"] <= row["time_to_best_s"] <= row["wall_time_s"]
        assert pd.isna(row["gap_bks_at_5s"])  # a checkpoint beyond the 3 s limit stays empty
        assert row["workers"] == 1 and row["time_limit_s"] == 3
    # both instances are easy: every run reaches the optimum and shows gap 0 everywhere
    assert list(frame["objective_value"]) == [55.0, 55.0, 666.0, 666.0]
    assert (frame["gap_bks"] == 0).all() and (frame["status"] == "optimal").all()
    assert (frame["gap_bks_at_1s"] == 0).all()

    report = out.with_suffix(".md").read_text()
    assert "python -m scheduler bench --suite ft,la" in report
    assert "2 cores available" in report or "cores available" in report
    assert "ortools" in report
    assert "| ft | baseline | 1 | 1 | 1 | 1 | 0.00 | 0.00 | 0.00 |" in report
    assert "| la | cpsat | 1 | 1 | 1 | 1 | 0.00 | 0.00 | 0.00 |" in report
    assert "| ft | cpsat | baseline | 1 | 0/1/0 | 1.0000 |" in report
    assert "| ft | ft06 | 55 | 55 | 55 (0.00) | 55 (0.00) |" in report
    assert out.with_suffix(".png").stat().st_size > 0
    meta = json.loads(out.with_suffix(".meta.json").read_text())
    assert meta["workers_per_run"] == 1 and meta["parallel_runs"] == 2
    assert "ortools" in meta["versions"] and meta["machine"]["cores_available"] >= 1

    # --resume keeps the finished runs and repeats none (same wall times as before)
    assert bench_main(args + ["--resume"]) == 0
    again = pd.read_csv(out)
    assert list(again["wall_time_s"]) == list(frame["wall_time_s"])


def test_resume_counts_progress_within_the_selection(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "r.csv"
    base = ["--suite", "ft", "--solvers", "baseline", "--time-limit", "1", "--workers", "1"]
    assert bench_main(base + ["--select", "ft06,ft20", "--out", str(out)]) == 0
    capsys.readouterr()
    # ft20 is kept, ft06 lies outside the new selection: the one new run is the 2nd of 2
    assert bench_main(base + ["--select", "ft10,ft20", "--out", str(out), "--resume"]) == 0
    said = capsys.readouterr()
    progress = [line for line in (said.out + said.err).splitlines() if line.startswith("[")]
    assert len(progress) == 1 and progress[0].startswith("[2/2] ft10 baseline")
    assert sorted(pd.read_csv(out)["instance"]) == ["ft06", "ft10", "ft20"]


def test_bench_reports_refusals_and_rejects_bad_input(tmp_path: Path) -> None:
    out = tmp_path / "r.csv"
    assert bench_main(["--suite", "nosuch", "--out", str(out), "--quiet"]) == 2
    assert bench_main(["--suite", "ft", "--solvers", "nosuch", "--out", str(out)]) == 2
    assert not out.exists()


def test_bench_through_a_dask_local_cluster(tmp_path: Path) -> None:
    distributed = pytest.importorskip("distributed")
    out = tmp_path / "dask.csv"
    with distributed.LocalCluster(
        n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None
    ) as cluster:
        code = bench_main(
            ["--suite", "ft", "--solvers", "baseline", "--time-limit", "1", "--workers", "1"]
            + ["--executor", cluster.scheduler_address, "--out", str(out), "--quiet"]
        )
    assert code == 0
    frame = pd.read_csv(out)
    assert list(frame["instance"]) == ["ft06", "ft10", "ft20"]
    assert frame["objective_value"].notna().all()
    ft06 = frame[frame["instance"] == "ft06"].iloc[0]
    assert ft06["objective_value"] == 55 and ft06["gap_bks"] == 0
    meta = json.loads(out.with_suffix(".meta.json").read_text())
    assert meta["executor"] == cluster.scheduler_address
    assert meta["parallel_runs"] == 2 and meta["workers_per_run"] == 1  # 2 threads / 1 worker


# -- the scale generator ----------------------------------------------------------------------


def test_plant_generator_is_seeded_and_shaped_as_asked(tmp_path: Path) -> None:
    from scheduler.core.compile import compile_instance
    from scheduler.io import load

    script = plant_generator()
    generate = script.generate_plant
    plant = generate(7, jobs=30, ops=4, machines=20)
    assert instance_to_dict(plant) == instance_to_dict(generate(7, jobs=30, ops=4, machines=20))
    assert instance_to_dict(plant) != instance_to_dict(generate(8, jobs=30, ops=4, machines=20))
    c = compile_instance(plant)
    assert (c.n_jobs, c.n_ops, c.n_machines) == (30, 120, 20)
    counts = [len(op.modes) for _, op in plant.operations]
    assert min(counts) >= 1 and max(counts) <= 3 and max(counts) > 1  # alternatives
    for job in plant.jobs:  # each job visits distinct work centres of 5 machines
        centres = [{(int(m.machine[1:]) - 1) // 5 for m in op.modes} for op in job.operations]
        assert all(len(one) == 1 for one in centres) and len(set().union(*centres)) == 4
    assert c.has_setups and not c.has_energy
    capped = generate(7, jobs=30, ops=4, machines=20, power_cap=True)
    assert capped.energy.power_cap_kw is not None and capped.name.endswith("-cap")
    free = generate(7, jobs=30, ops=4, machines=20, setups=False)
    assert not compile_instance(free).has_setups and free.name.endswith("-nosetup")
    assert [op.modes for _, op in free.operations] == [op.modes for _, op in plant.operations]
    out = tmp_path / "plants" / "p.json"
    script.main(
        ["--seed", "3", "--jobs", "10", "--ops", "2", "--machines", "10", "--out", str(out)]
    )
    assert len(load(out).jobs) == 10


def test_the_scale_table_gives_the_gap_to_the_plants_yardstick(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from scheduler.core.bounds import power_cap_bound, work_centre_bound
    from scheduler.core.compile import compile_instance

    monkeypatch.syspath_prepend(str(REPO / "benchmarks"))  # scale.py imports its sibling
    scale = benchmark_script("scale")
    generate = plant_generator().generate_plant
    capped = generate(5, jobs=12, ops=2, machines=10, power_cap=True)
    plain = generate(5, jobs=12, ops=2, machines=10)
    energy, centre = scale.yardstick(capped), scale.yardstick(plain)
    assert energy == ("energy", power_cap_bound(compile_instance(capped))) and energy[1] > 0
    assert centre == ("work centre", work_centre_bound(compile_instance(plain))) and centre[1] > 0
    row = {"n_jobs": 12, "n_operations": 24, "n_machines": 10, "solver": "heuristic"}
    row |= {"status": "feasible", "time_to_first_s": 0.1, "bound": 1.0, "peak_rss_mb": 1.0}
    row |= {"load_s": 0.1}
    frame = pd.DataFrame(
        [
            row | {"instance": capped.name, "objective_value": 1.25 * energy[1]},
            row | {"instance": plain.name, "objective_value": float("nan"), "status": "unknown"},
            row | {"instance": "weighted tardiness run", "objective_value": 1e6},
        ]
    )
    lines = scale.scale_table(frame, 10, {capped.name: energy, plain.name: centre}).splitlines()
    cells = [[c.strip() for c in line.split("|")[1:-1]] for line in lines[2:5]]
    assert cells[0][9:11] == [f"{energy[1]} (energy)", "25.0"]
    assert cells[1][9:11] == [f"{centre[1]} (work centre)", "–"]  # no schedule, no gap
    assert cells[2][9:11] == ["–", "–"]  # no yardstick: it bounds the makespan only


def test_the_changeover_backlog_estimate_grows_with_the_queue_it_batches(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The fluid estimate: half a tick of backlog per tick while runs hold one operation (a
    10-tick changeover per 10-tick operation), less once the queue batches, none without
    changeovers; the script's table adds it to the plant's work-centre bound."""
    from scheduler.core.bounds import work_centre_bound
    from scheduler.core.compile import compile_instance

    monkeypatch.syspath_prepend(str(REPO / "benchmarks"))  # it imports its sibling
    fluid = benchmark_script("changeover_backlog")
    assert fluid.fluid_backlog(10.0, 10.0, 1, 3) == pytest.approx(1.5)
    assert fluid.fluid_backlog(10.0, 10.0, 1, 40) < 20.0  # runs of 2 and more past 20 ticks
    assert fluid.fluid_backlog(10.0, 0.0, 6, 100) == 0.0
    e = fluid.estimate(20, 3)
    plant = plant_generator().generate_plant(3, 20)
    assert e["bound"] == work_centre_bound(compile_instance(plant)) and e["backlog"] > 0
    out = tmp_path / "backlog.md"
    assert fluid.main(["--jobs", "20", "--seeds", "3", "--out", str(out)]) == 0
    row = out.read_text().splitlines()[-1].split("|")
    assert [c.strip() for c in row[1:5]] == ["20", "3", str(e["spread"]), str(e["bound"])]


def test_the_warm_up_solves_again_until_the_solver_gives_a_schedule(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A warm-up solve without a schedule (the heuristic's kernels still loading) is repeated,
    so the loading is not counted in the first timed run; a schedule or an error ends it."""
    calls: list[float] = []

    def solve(instance: object, **kwargs: object) -> Result:
        calls.append(kwargs["time_limit"])  # type: ignore[arg-type]
        schedule = object() if len(calls) == 4 else None  # the third solve, after the hook
        return Result("feasible" if schedule else "unknown", "fake", schedule)  # type: ignore[arg-type]

    class Fake:
        def warm_up(self) -> None:  # the solver's own hook goes first
            calls.append(-1.0)

    monkeypatch.setattr(runner, "solve", solve)
    monkeypatch.setattr(runner, "get_solver", lambda name: Fake())
    monkeypatch.setattr(runner, "_WARMED", set())
    spec = runner.RunSpec(None, "fake", 0, 1.0, 1)  # type: ignore[arg-type]
    assert runner.warm_up(spec) >= 0 and calls == [-1.0, 0.5, 0.5, 0.5]
    assert runner.warm_up(spec) == 0.0 and len(calls) == 4  # once per process and setting

    def failing(instance: object, **kwargs: object) -> Result:
        calls.append(0.0)
        raise RuntimeError("refused")

    monkeypatch.setattr(runner, "solve", failing)
    monkeypatch.setattr(runner, "_WARMED", set())
    runner.warm_up(spec)
    assert len(calls) == 6

    def unknown(name: str) -> object:  # a plug-in that fails to load: its timed run says so
        raise RuntimeError("cannot import")

    monkeypatch.setattr(runner, "get_solver", unknown)
    monkeypatch.setattr(runner, "_WARMED", set())
    assert runner.warm_up(spec) >= 0 and len(calls) == 6
