"""Run independent tasks (benchmark runs, scenario replications) on a concurrent.futures
Executor: a local process pool by default, a dask.distributed cluster given its address
(optional extra `.[dask]`). Also the default split of the cores between parallel tasks and
CP-SAT workers per task, so that tasks x workers never oversubscribes the machine."""

from __future__ import annotations

import multiprocessing
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Executor, Future, ProcessPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

T = TypeVar("T")
R = TypeVar("R")

MAX_DEFAULT_WORKERS = 8  # CP-SAT gains little beyond 8 workers on benchmark-sized models
LOCAL = "local"
DASK_HINT = "pip install .[dask]  (or: pip install 'prodsched[dask]')"


def available_cores() -> int:
    """Cores this process may run on (the affinity mask where the OS has one)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


@dataclass(frozen=True)
class Plan:
    """`tasks` run side by side per node, each with `workers` CP-SAT workers."""

    tasks: int
    workers: int

    @property
    def threads(self) -> int:
        return self.tasks * self.workers


def plan(cores: int, workers: int | None = None, tasks: int | None = None) -> Plan:
    """Split `cores` between tasks and workers per task: given one, the other fills the cores
    (at least 1); given neither, workers = min(cores, 8) and tasks = cores // workers."""
    if workers is not None and workers < 1 or tasks is not None and tasks < 1:
        raise ValueError("workers and tasks must be >= 1")
    if workers is None:
        workers = max(1, cores // tasks) if tasks else min(cores, MAX_DEFAULT_WORKERS)
    if tasks is None:
        tasks = max(1, cores // workers)
    return Plan(tasks=tasks, workers=workers)


@contextmanager
def open_executor(
    where: str | None,
    workers: int | None = None,
    tasks: int | None = None,
    isolate: bool = False,
    keep_on_ctrl_c: bool = False,
) -> Iterator[tuple[Executor, int, Plan]]:
    """Yield (executor, tasks in flight, plan). `where` is `local` (or None): a process pool on
    this machine; otherwise a dask scheduler address, whose workers' threads give the cores.
    `isolate` runs every task in a fresh local process (clean peak-memory readings).
    `keep_on_ctrl_c`: the local workers ignore SIGINT, which a terminal sends to the whole
    process group, so that they finish their tasks while the caller stops submitting."""
    if where in (None, "", LOCAL):
        local = plan(available_cores(), workers, tasks)
        options: dict[str, Any] = {"mp_context": multiprocessing.get_context("spawn")}
        if keep_on_ctrl_c:
            options["initializer"] = _ignore_ctrl_c
        if isolate:
            if sys.version_info < (3, 11):
                raise ValueError("isolated runs need Python >= 3.11 (max_tasks_per_child)")
            options["max_tasks_per_child"] = 1
        with ProcessPoolExecutor(max_workers=local.tasks, **options) as pool:
            yield pool, local.tasks, local
        return
    if isolate:
        raise ValueError("isolated runs are for the local executor only")
    with _dask_client(where) as client:
        threads = [int(info["nthreads"]) for info in client.scheduler_info()["workers"].values()]
        if not threads:
            raise ValueError(f"the dask cluster at {where} has no workers")
        per_task = workers or min(min(threads), MAX_DEFAULT_WORKERS)
        per_node = [tasks or max(1, n // per_task) for n in threads]
        yield client.get_executor(pure=False), sum(per_node), Plan(max(per_node), per_task)


def _ignore_ctrl_c() -> None:
    """A pool worker's initializer: SIGINT ignored (the parent decides what a Ctrl-C stops)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


@contextmanager
def _dask_client(address: str) -> Iterator[Any]:
    """A dask.distributed Client connected to `address`, closed afterwards."""
    try:
        from distributed import Client
    except ImportError:
        raise ValueError(f"a dask executor needs dask.distributed: {DASK_HINT}") from None
    client = Client(address, set_as_default=False)
    try:
        yield client
    finally:
        client.close()


def run_bounded(
    executor: Executor,
    fn: Callable[[T], R],
    items: Iterable[T],
    in_flight: int,
    on_done: Callable[[T, R], None] | None = None,
    stop: threading.Event | None = None,
) -> list[R]:
    """fn(item) for every item on `executor`, at most `in_flight` at a time (so a cluster
    is never asked for more parallel tasks than the plan allows); results in input order.
    `on_done(item, result)` is called as each finishes. Once `stop` is set no item is
    submitted: the ones running finish, and the results are those of the items submitted."""
    queue = list(items)
    results: dict[int, R] = {}
    running: dict[Future[R], int] = {}
    position = 0
    while True:
        while (
            position < len(queue)
            and len(running) < max(1, in_flight)
            and not (stop and stop.is_set())
        ):
            running[executor.submit(fn, queue[position])] = position
            position += 1
        if not running:  # every item submitted is done, and none is left or a stop came
            break
        done, _ = wait(running, return_when=FIRST_COMPLETED)
        for future in done:
            index = running.pop(future)
            results[index] = future.result()
            if on_done is not None:
                on_done(queue[index], results[index])
    return [results[i] for i in range(position)]
