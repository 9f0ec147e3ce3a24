"""Reading ahead: order kept, errors where they happened, bounded, and stopped on exit."""

from __future__ import annotations

import threading
import time

import pytest

from ingest.prefetch import Prefetched
from tests.support.tenancy import TENANT


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


def test_rejects_that_end_a_window_are_anchored_once_the_window_before_is_committed(tmp_path):
    """Pages are read ahead of the writer: the anchor of a window's trailing rejects (the
    newest search stored before the window) must be looked up only after the window
    before it is committed, however far ahead the reader is."""
    from datetime import UTC, datetime, timedelta

    from config.settings import load_settings
    from db.engine import open_database
    from ingest.client import Page, format_api_time
    from ingest.poller import Poller
    from ingest.records import EventKeyer, parse_record
    from ingest.store import Store

    now = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)

    class OnePagePerWindow:
        """Each window: one page, a search an hour before its end, then a broken record."""

        requests_made = tokens_fetched = 0

        def iter_pages(self, start, end):
            search = {"createTime": format_api_time(end - timedelta(hours=1)), "emailAddr": "a@x"}
            yield Page(records=[search, None], number=1)

    class SlowCommits(Store):
        def page_writer(self, run_id):
            writer = super().page_writer(run_id)
            commit = writer.commit

            def slow_commit():
                time.sleep(0.3)  # the reader runs ahead meanwhile
                return commit()

            writer.commit = slow_commit
            return writer

    settings = load_settings({"DB_PATH": str(tmp_path / "db.sqlite"), "INITIAL_BACKFILL_DAYS": "2"})
    store = SlowCommits(open_database(settings.effective_database_url), TENANT)
    Poller(settings, store, OnePagePerWindow(), clock=lambda: now).run_cycle()

    with store.engine.connect() as conn:
        keys = set(conn.exec_driver_sql("SELECT reject_key FROM rejected_records").scalars())
    second_window_anchor = (now - timedelta(days=1, hours=1)).isoformat()
    expected = EventKeyer().reject_key(parse_record(None), second_window_anchor)
    assert expected in keys, "the second window's reject was anchored to the first's search"
