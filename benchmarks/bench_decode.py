"""Decode throughput of the heuristic's Numba schedule generation scheme against its pure-Python
reference, and the kernels' first-call time with and without Numba's on-disk cache.

    python benchmarks/bench_decode.py [--seconds 2] [--out benchmarks/results/decode.md]

Instances: ta11 (20 jobs x 15 machines, the size of the throughput target), ta21 (20 x 20) and a
seeded random 100 x 20 job shop. Each decode turns a random priority vector into a schedule with
the serial (gap insertion) or append (semi-active) scheme, the two the local search uses; the
Numba figures come from a compiled loop over many vectors, so they exclude Python call overhead.
Both wall-clock and CPU time are reported because the machine may be shared."""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from numba import njit

from scheduler.core.compile import compile_instance
from scheduler.core.model import Instance, Job, Machine, Mode, Operation
from scheduler.core.objective import Objective
from scheduler.io import load
from scheduler.io.atomic import atomic_write
from solvers.heuristics.decode import APPEND, FAILED, RULES, SCHEMES, STATIC, decode
from solvers.heuristics.plain import decode_plain
from solvers.heuristics.problem import NO_DEADLINE, Problem, Workspace, make_problem, make_workspace

# the pure-Python reference decoder lives with the tests that check the kernels against it
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "solvers" / "heuristics"))
import reference_decoder as reference  # noqa: E402

ROOT = Path(__file__).resolve().parent
FIRST_CALL = "from solvers.heuristics.warmup import first_call_seconds; print(first_call_seconds())"


@njit
def _decode_all(
    p: Problem,
    w: Workspace,
    scheme: int,
    rule: int,
    prios: np.ndarray,
    ranks: np.ndarray,
    assign: np.ndarray,
    kept: bool,
) -> float:
    """Decode every row of `prios` with `decode`, or (`kept`) as the local search does: the
    fast decoder given the rank table the search keeps (row of `ranks`). Returns the summed
    violation (kept so nothing is elided)."""
    defer = np.zeros(p.n_ops, dtype=np.bool_)
    total = 0.0
    for i in range(prios.shape[0]):
        if kept:
            total += decode_plain(p, w, scheme == APPEND, prios[i], ranks[i], assign, False)
        else:
            total += decode(p, w, scheme, rule, prios[i], assign, False, defer, NO_DEADLINE)
    return total


def random_job_shop(n_jobs: int, n_machines: int, seed: int) -> Instance:
    """A Taillard-style job shop: each job visits every machine once in random order, with
    durations uniform in [1, 99]."""
    rng = np.random.default_rng(seed)
    jobs = []
    for j in range(n_jobs):
        order = rng.permutation(n_machines)
        durations = rng.integers(1, 100, n_machines)
        ops = tuple(
            Operation(f"J{j}-{k}", (Mode(f"M{m}", int(d)),))
            for k, (m, d) in enumerate(zip(order, durations, strict=True))
        )
        jobs.append(Job(f"J{j}", ops))
    machines = tuple(Machine(f"M{m}") for m in range(n_machines))
    return Instance(machines, tuple(jobs), name=f"random-{n_jobs}x{n_machines}-seed{seed}")


def _numba_rate(
    p: Problem,
    scheme: int,
    rule: int,
    seconds: float,
    rng: np.random.Generator,
    kept: bool = False,
) -> tuple[float, float]:
    """(decodes per wall-clock second, per CPU second) over about `seconds` of decoding."""
    w = make_workspace(p)
    assign = np.full(p.n_ops, -1, dtype=np.int64)
    prios = np.array([rng.permutation(p.n_ops) for _ in range(1000)], dtype=np.float64)
    ranks = np.argsort(prios, axis=1)
    args = (p, w, scheme, rule, prios, ranks, assign, kept)
    assert _decode_all(*args[:4], prios[:2], ranks[:2], *args[6:]) != FAILED  # compile, check
    count, wall, cpu = 0, 0.0, 0.0
    while wall < seconds:
        w0, c0 = time.perf_counter(), time.process_time()
        _decode_all(*args)
        wall += time.perf_counter() - w0
        cpu += time.process_time() - c0
        count += prios.shape[0]
    return count / wall, count / cpu


def _reference_rate(
    p: Problem, scheme: int, seconds: float, rng: np.random.Generator
) -> tuple[float, float]:
    """The same for the pure-Python reference, checking it agrees with the kernel."""
    w = make_workspace(p)
    assign = np.full(p.n_ops, -1, dtype=np.int64)
    none = np.zeros(p.n_ops, dtype=np.bool_)
    count, wall, cpu = 0, 0.0, 0.0
    while wall < seconds or count < 3:
        prio = rng.permutation(p.n_ops).astype(np.float64)
        w0, c0 = time.perf_counter(), time.process_time()
        got = reference.decode(p, scheme, STATIC, prio, assign, False, none)
        wall += time.perf_counter() - w0
        cpu += time.process_time() - c0
        count += 1
        decode(p, w, scheme, STATIC, prio, assign, False, none, NO_DEADLINE)
        assert got.start == w.start.tolist(), "the kernel and the reference disagree"
    return count / wall, count / cpu


def _first_call(cache_dir: str) -> float:
    """Seconds of the kernels' first call in a fresh process using `cache_dir` as the cache."""
    env = dict(os.environ, NUMBA_CACHE_DIR=cache_dir)
    out = subprocess.run(
        [sys.executable, "-c", FIRST_CALL], env=env, capture_output=True, text=True, check=True
    )
    return float(out.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=2.0, help="timing per measurement")
    parser.add_argument("--out", type=Path, default=ROOT / "results" / "decode.md")
    args = parser.parse_args(argv)
    rng = np.random.default_rng(0)
    objective = Objective.parse("makespan")
    cases = {
        "ta11 (20x15)": load(ROOT / "instances" / "jssp" / "ta11.txt"),
        "ta21 (20x20)": load(ROOT / "instances" / "jssp" / "ta21.txt"),
        "random 100x20": random_job_shop(100, 20, seed=1),
    }
    load_before = os.getloadavg()
    rows = []
    for label, inst in cases.items():
        p = make_problem(compile_instance(inst), objective)
        for scheme in ("serial", "append"):
            fast_wall, fast_cpu = _numba_rate(p, SCHEMES[scheme], STATIC, args.seconds, rng)
            _, kept_cpu = _numba_rate(p, SCHEMES[scheme], STATIC, args.seconds, rng, kept=True)
            ref_wall, ref_cpu = _reference_rate(p, SCHEMES[scheme], args.seconds, rng)
            rows.append((label, p.n_ops, scheme, fast_wall, fast_cpu, kept_cpu, ref_wall, ref_cpu))
            print(
                f"{label} {scheme}: numba {fast_cpu:,.0f}/s CPU ({kept_cpu:,.0f}/s as the "
                f"search calls it), reference {ref_cpu:,.1f}/s"
            )
    ta21 = make_problem(compile_instance(cases["ta21 (20x20)"]), objective)
    rule_rows = [
        (scheme, rule, *_numba_rate(ta21, SCHEMES[scheme], RULES[rule], args.seconds / 2, rng))
        for scheme, rule in (("serial", "atc"), ("active", "mwkr"), ("nondelay", "spt"))
    ]
    with tempfile.TemporaryDirectory() as cache:
        cold, warm = _first_call(cache), _first_call(cache)
    lines = [
        "# Decode throughput of the heuristic (Numba) and its pure-Python reference",
        "",
        f"Command: `python benchmarks/bench_decode.py --seconds {args.seconds:g}`",
        "",
        f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} logical CPUs, "
        f"Python {platform.python_version()}; load average before the run "
        f"{load_before[0]:.1f} (shared machine: CPU-time rates are the steadier figure).",
        "",
        "Random priority vectors, machine selection by earliest finish, decoded by the two "
        "schemes the local search alternates between: serial (each op inserted at its "
        "earliest feasible start, gaps included) and append (semi-active: after the last op "
        "on its machine). These are plain job shops (no setups, windows, resources or power "
        "cap) and the priorities are ranks, so `decode` hands them to the fast decoder of "
        "`solvers.heuristics.plain`, as the local search does; the reference is the general "
        "decoder's pure-Python twin. `decode` first checks that the priorities are ranks and "
        "builds their inverse; the search keeps that inverse, so its calls skip the check "
        "(the 'as the search calls it' column).",
        "",
        "| instance | ops | scheme | Numba decodes/s (wall) | Numba decodes/s (CPU) | "
        "Numba as the search calls it, decodes/s (CPU) | reference decodes/s (wall) | "
        "reference decodes/s (CPU) | speed-up (CPU) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for label, n, scheme, fast_wall, fast_cpu, kept_cpu, ref_wall, ref_cpu in rows:
        lines.append(
            f"| {label} | {n} | {scheme} | {fast_wall:,.0f} | {fast_cpu:,.0f} | "
            f"{kept_cpu:,.0f} | {ref_wall:,.1f} | {ref_cpu:,.1f} | {fast_cpu / ref_cpu:,.0f}x |"
        )
    lines += [
        "",
        "Dispatching-rule decodes on ta21 (the construction phase):",
        "",
        "| scheme | rule | Numba decodes/s (wall) | Numba decodes/s (CPU) |",
        "|---|---|---|---|",
        *(f"| {s} | {r} | {fw:,.0f} | {fc:,.0f} |" for s, r, fw, fc in rule_rows),
        "",
        "First call of the kernels in a fresh process (`solvers.heuristics.warmup`): "
        f"{cold:.2f} s with an empty cache (JIT compile), {warm:.2f} s with the cache "
        "written by that first process (`cache=True`).",
        "",
    ]
    atomic_write(args.out, "\n".join(lines))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
