"""The collector paused while a large instance is read or compiled (`scheduler.core.bulk`)."""

from __future__ import annotations

import gc
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
