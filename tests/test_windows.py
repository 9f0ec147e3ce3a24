"""Windows: backfill chunks, resumed backfill, delta with overlap, clock skew."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import pairwise

from config.settings import load_settings
from ingest.client import format_api_time
from ingest.windows import choose_window, plan_windows

NOW = datetime(2026, 11, 26, 12, 0, 0, tzinfo=UTC)
SETTINGS = load_settings({"INITIAL_BACKFILL_DAYS": "3", "LOOKBACK_SECONDS": "7200"})


def test_backfill_is_cut_into_day_chunks_oldest_first():
    windows = plan_windows(NOW - timedelta(days=3), NOW)
    assert [w[0] for w in windows] == [NOW - timedelta(days=d) for d in (3, 2, 1)]
    assert windows[-1][1] == NOW
    assert all(b[0] == a[1] for a, b in pairwise(windows))


def test_first_run_backfills_initial_backfill_days():
    assert choose_window(SETTINGS, None, False, NOW)[:2] == ("bootstrap", NOW - timedelta(days=3))


def test_interrupted_backfill_resumes_at_the_cursor():
    cursor = NOW - timedelta(days=1, hours=5)
    assert choose_window(SETTINGS, cursor, False, NOW)[:2] == ("bootstrap", cursor)


def test_delta_rereads_the_lookback_window_before_the_cursor():
    cursor = NOW - timedelta(hours=1)
    assert choose_window(SETTINGS, cursor, True, NOW)[:2] == ("delta", cursor - timedelta(hours=2))


def test_cursor_in_the_future_rereads_from_the_newest_stored_search():
    newest = NOW - timedelta(hours=5)  # the last poll ran 5 h ago with a clock 2 days fast
    kind, start, warnings = choose_window(SETTINGS, NOW + timedelta(days=2), True, NOW, newest)
    assert (kind, start) == ("delta", newest - timedelta(hours=2))
    assert "ahead of this machine's clock" in warnings[0]
    assert "check the clock" in warnings[0]


def test_cursor_in_the_future_with_nothing_stored_backfills_again():
    kind, start, warnings = choose_window(SETTINGS, NOW + timedelta(days=2), False, NOW)
    assert (kind, start) == ("bootstrap", NOW - timedelta(days=3))
    assert "nothing is stored" in warnings[0]


def test_empty_window_plans_no_chunks():
    assert plan_windows(NOW, NOW) == []


def test_only_records_inside_the_requested_window_are_kept():
    from ingest.records import EventKeyer
    from ingest.windows import sort_page

    window = (NOW - timedelta(hours=1), NOW)
    records = [
        {"createTime": "2026-11-26T12:00:00+0000", "emailAddr": "edge@x.com"},
        {"createTime": "2026-11-26T11:00:00+0000", "emailAddr": "edge@x.com"},
        {"createTime": "2026-11-26T12:00:01+0000", "emailAddr": "after@x.com"},
        {"createTime": "2026-11-26T10:59:59+0000", "emailAddr": "before@x.com"},
    ]
    batch = sort_page(records, window, EventKeyer(), [])
    assert [event.create_time for _key, event in batch.events] == [NOW, window[0]]
    assert batch.out_of_window == 2
    assert batch.fetched == 4


def test_a_rejected_record_keeps_its_key_when_newer_searches_arrive_above_it():
    from ingest.records import EventKeyer
    from ingest.windows import sort_page

    window = (NOW - timedelta(hours=1), NOW)
    broken = {"createTime": "not a date", "emailAddr": "edge@example.com"}
    older = {"createTime": format_api_time(NOW - timedelta(minutes=5)), "emailAddr": "a@x.org"}
    newer = {"createTime": format_api_time(NOW - timedelta(minutes=1)), "emailAddr": "b@x.org"}
    first = sort_page([broken, older], window, EventKeyer(), [])
    later = sort_page([newer, broken, older], window, EventKeyer(), [])
    assert [key for key, _ in first.rejections] == [key for key, _ in later.rejections]
    held: list = []
    waiting = sort_page([older, broken], window, EventKeyer(), held)
    assert waiting.rejections == [] and len(held) == 1, "held until an older search is served"


def test_a_sweep_rereads_reconcile_days_before_the_cursor_less_the_lookback():
    from ingest.windows import reconcile_range

    cursor = NOW - timedelta(minutes=10)
    start, end = reconcile_range(SETTINGS, cursor, NOW)
    assert (start, end) == (cursor - timedelta(days=3), cursor - timedelta(hours=2))
    assert len(plan_windows(start, end)) == 3, "one-day windows"


def test_a_sweep_never_reads_past_the_clock_when_the_cursor_is_ahead_of_it():
    from ingest.windows import reconcile_range

    start, end = reconcile_range(SETTINGS, NOW + timedelta(days=2), NOW)
    assert (start, end) == (NOW - timedelta(days=3), NOW - timedelta(hours=2))


def test_a_sweep_has_nothing_to_read_when_the_lookback_covers_reconcile_days():
    from ingest.windows import reconcile_range

    settings = load_settings({"RECONCILE_DAYS": "1", "LOOKBACK_SECONDS": str(2 * 86_400)})
    start, end = reconcile_range(settings, NOW, NOW)
    assert start == end == NOW - timedelta(days=1)
    assert plan_windows(start, end) == []
