"""A started stage keeps start-up state out of the garbage collector's walks."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from streams.runner import GC_YOUNG_THRESHOLD, settle_heap


@pytest.fixture
def restored_gc() -> Iterator[None]:
    threshold = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*threshold)


def test_settling_freezes_what_exists_and_collects_young_objects_less_often(restored_gc: None) -> None:
    survivor = [object() for _ in range(1000)]
    settle_heap()
    assert gc.get_freeze_count() >= len(survivor)
    assert gc.get_threshold()[0] == GC_YOUNG_THRESHOLD
    garbage = []
    garbage.append(garbage)  # a cycle made after settling is still collected
    del garbage
    assert gc.collect() >= 1
