"""The collector paused while a large instance is read or compiled (`scheduler.core.bulk`)."""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from io_examples import design_example

import scheduler.core.compile as compile_module
from scheduler.core.bulk import gc_paused
from scheduler.io import read_json


def test_the_collector_is_paused_inside_and_resumed_after_even_on_error() -> None:
    seen: list[bool] = []

    @gc_paused
    def work(fail: bool) -> None:
        seen.append(gc.isenabled())
        if fail:
            raise ValueError("bad input")

    assert gc.isenabled()
    work(False)
    with pytest.raises(ValueError):
        work(True)
    assert seen == [False, False] and gc.isenabled()


def test_a_collector_paused_by_the_caller_stays_paused() -> None:
    gc.disable()
    try:
        gc_paused(lambda: None)()
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_overlapping_pauses_in_two_threads_resume_the_collector_once_both_end() -> None:
    """A read in one thread and a compile in another (the command line's read beside the
    kernels' warm-up): the collector stays off until the last pause ends, then is back on
    (each pause resuming what it found resumed it inside the other's)."""
    inside, release, done = threading.Event(), threading.Event(), threading.Event()

    @gc_paused
    def long_pause() -> None:
        inside.set()
        release.wait(10)

    def other() -> None:
        long_pause()
        done.set()

    seen: list[bool] = []

    @gc_paused
    def outlasting() -> None:  # starts inside the other thread's pause and ends after it
        release.set()
        thread.join(10)
        seen.append(gc.isenabled())

    thread = threading.Thread(target=other)
    thread.start()
    assert inside.wait(10)
    outlasting()
    assert done.is_set() and seen == [False] and gc.isenabled()


class _Watched(dict[str, Any]):
    """The instance's top-level object, noting whether the collector ran while it was read."""

    def __init__(self, data: dict[str, Any], seen: list[bool]) -> None:
        super().__init__(data)
        self.seen = seen

    def __iter__(self) -> Iterator[str]:
        self.seen.append(gc.isenabled())
        return super().__iter__()


def test_reading_and_compiling_an_instance_pause_the_collector(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen: list[bool] = []
    instance = read_json(_Watched(design_example(), seen))
    assert seen and not any(seen) and gc.isenabled()
    numbers = compile_module._family_numbers

    def watched(*args: Any) -> Any:
        seen.append(gc.isenabled())
        return numbers(*args)

    monkeypatch.setattr(compile_module, "_family_numbers", watched)
    assert compile_module.compile_instance(instance).n_ops == len(instance.operations)
    assert seen == [False, False] and gc.isenabled()
