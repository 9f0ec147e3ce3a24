"""Reading ahead: order kept, errors where they happened, bounded, and stopped on exit."""

from __future__ import annotations

import threading
import time

import pytest

from ingest.prefetch import Prefetched


def test_every_item_arrives_in_the_order_the_source_made_it():
    with Prefetched(iter(range(1000)), depth=2) as items:
        assert list(items) == list(range(1000))


def test_an_error_in_the_source_is_raised_after_the_items_made_before_it():
    def source():
        yield 1
        yield 2
        raise ValueError("page 3 failed")

    seen = []
    with pytest.raises(ValueError, match="page 3 failed"), Prefetched(source()) as items:
        for item in items:
            seen.append(item)
    assert seen == [1, 2]


def test_the_producer_runs_no_more_than_depth_items_ahead_of_the_reader():
    made: list[int] = []

    def source():
        for number in range(100):
            made.append(number)
            yield number

    with Prefetched(source(), depth=2) as items:
        assert next(items) == 0
        time.sleep(0.3)  # ample time for an unbounded producer to run away
        # one item handed over, two waiting in the queue, one made and waiting for room
        assert len(made) <= 4


def test_leaving_early_stops_the_producer_and_closes_the_source():
    closed = threading.Event()

    def source():
        try:
            yield from range(1_000_000)
        finally:
            closed.set()

    with Prefetched(source(), depth=2) as items:
        assert next(items) == 0
    assert closed.is_set(), "the source's cleanup ran before the block was left"
    assert not any(thread.name == "prefetch" for thread in threading.enumerate())
