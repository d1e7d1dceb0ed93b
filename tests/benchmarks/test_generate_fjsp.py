"""The large flexible job shops of benchmarks/generate_fjsp.py: reproducible, in the `.fjs`
format the loader reads, with the flexibility asked for."""

from __future__ import annotations

from pathlib import Path

from paths import fjsp_generator

from scheduler.io import load

fjsp = fjsp_generator()


def test_the_same_seed_gives_the_same_instance_and_the_loader_reads_it(tmp_path: Path) -> None:
    text = fjsp.generate_fjsp(7, jobs=12, ops=6, machines=9, alternatives=4)
    assert text == fjsp.generate_fjsp(7, jobs=12, ops=6, machines=9, alternatives=4)
    assert text != fjsp.generate_fjsp(8, jobs=12, ops=6, machines=9, alternatives=4)
    path = tmp_path / "g.fjs"
    assert fjsp.main(["--seed", "7", "--jobs", "12", "--ops", "6", "--machines", "9",
                      "--alternatives", "4", "--out", str(path)]) == 0  # fmt: skip
    assert path.read_text() == text
    inst = load(path)
    ops = [op for job in inst.jobs for op in job.operations]
    assert len(inst.jobs) == 12 and len(ops) == 72 and len(inst.machines) == 9
    counts = {len(op.modes) for op in ops}
    assert min(counts) >= 1 and max(counts) <= 4 and len(counts) > 1
    low, high = fjsp.DURATION[0] * fjsp.SPEED[0], fjsp.DURATION[1] * fjsp.SPEED[1]
    assert all(low - 1 <= m.duration <= high + 1 for op in ops for m in op.modes)


def test_more_alternatives_than_machines_is_refused(tmp_path: Path) -> None:
    out = tmp_path / "g.fjs"
    assert fjsp.main(["--machines", "5", "--alternatives", "6", "--out", str(out)]) == 2
    assert not out.exists()
