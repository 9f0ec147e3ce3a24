"""The dashboard's data layer over databases with known rows: exact figures, every filter,
time-zone bucketing across DST and half-hour zones, and agreement with the simulator.

Rows go in through the real write path (`parse_record`, `EventKeyer`, `Store.write_page`).
Runs on SQLite; also on PostgreSQL when TEST_DATABASE_URL points at a scratch database.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pandas as pd
import pytest
from sqlalchemy import Engine, update

from db import queries
from db.engine import open_database
from db.models import SearchLog
from db.queries import SYSTEM_SENDER, SearchFilters
from ingest.records import EventKeyer, SearchEvent, parse_record
from ingest.store import PageBatch, PageCounts, Store
from tests.support.builders import WINDOW, record, store_records
from tests.support.harness import fixed_clock, run_ingest_once, settled_now
from tests.support.tenancy import SCOPE, TENANT

MARCH = SearchFilters(SCOPE, start=date(2026, 3, 28), end=date(2026, 3, 31))


def per_day(engine: Engine, filters: SearchFilters, tz: str) -> dict[str, int]:
    frame = queries.searches_per_day(engine, filters, tz)
    return {day.isoformat(): n for day, n in zip(frame["date"], frame["searches"], strict=True)}


# --- summary ----------------------------------------------------------------------------


def test_summary_counts_each_user_once_whatever_the_spelling(known: Engine) -> None:
    summary = queries.summary_by_user(known, MARCH, "UTC")
    assert list(summary["email"]) == ["a@example.com", "b@example.com", "<>", "c@example.com"]
    assert list(summary["searches"]) == [3, 2, 1, 1]


def test_summary_figures_per_user(known: Engine) -> None:
    row = queries.summary_by_user(known, MARCH, "Europe/Berlin").set_index("email")
    a = row.loc["a@example.com"]
    assert a["active_days"] == 3  # 28th, 29th (01:30 CET), 30th (01:30 CEST)
    assert a["first_search"] == pd.Timestamp("2026-03-28 11:00:00", tz="Europe/Berlin")
    assert a["last_search"] == pd.Timestamp("2026-03-30 01:30:00", tz="Europe/Berlin")
    assert a["top_description"] == "Message Tracking Search"
    assert a["reason_share"] == pytest.approx(1 / 3)  # "" and a missing reason do not count
    assert row.loc["b@example.com", "reason_share"] == pytest.approx(0.5)
    assert row.loc["<>", "reason_share"] == 0.0


def test_active_days_are_counted_in_the_display_time_zone(known: Engine) -> None:
    def days(tz: str) -> int:
        row = queries.summary_by_user(known, MARCH, tz).set_index("email")
        return int(row.loc["a@example.com", "active_days"])

    assert days("UTC") == 2
    assert days("Europe/Berlin") == 3


def test_active_days_follow_every_offset_change_in_the_range(engine: Engine) -> None:
    store_records(
        engine,
        [
            record("2026-03-28T23:30:00", "d@example.com"),  # Berlin 00:30 CET, 29 March
            record("2026-10-24T22:30:00", "d@example.com"),  # Berlin 00:30 CEST, 25 October
            record("2026-10-25T22:30:00", "d@example.com"),  # Berlin 23:30 CET, 25 October
        ],
    )
    year = SearchFilters(SCOPE, start=date(2026, 1, 1), end=date(2026, 12, 31))

    def days(tz: str) -> int:
        return int(queries.summary_by_user(engine, year, tz).loc[0, "active_days"])

    assert (days("Europe/Berlin"), days("UTC")) == (2, 3)


def test_offset_changes_are_found_to_the_second() -> None:
    lower, upper = queries.utc_bounds(date(2026, 1, 1), date(2026, 12, 31), "Europe/Berlin")
    assert queries.offset_changes("Europe/Berlin", lower, upper) == [
        (lower, 3600),
        (datetime(2026, 3, 29, 1, tzinfo=UTC), 7200),
        (datetime(2026, 10, 25, 1, tzinfo=UTC), 3600),
    ]
    assert queries.offset_changes("Asia/Kolkata", lower, upper) == [(lower, 19800)]


def test_most_common_type_ties_go_to_the_alphabetically_first(engine: Engine) -> None:
    store_records(
        engine,
        [
            record("2026-03-28T10:00:00", "t@example.com", description="Zeta"),
            record("2026-03-28T11:00:00", "t@example.com", description="Alpha"),
        ],
    )
    summary = queries.summary_by_user(engine, MARCH, "UTC")
    assert summary.loc[0, "top_description"] == "Alpha"


# --- days and hours ---------------------------------------------------------------------


def test_searches_per_day_in_utc(known: Engine) -> None:
    assert per_day(known, MARCH, "UTC") == {
        "2026-03-28": 1,
        "2026-03-29": 4,
        "2026-03-30": 1,
        "2026-03-31": 1,
    }


def test_searches_per_day_across_the_spring_dst_change_in_berlin(known: Engine) -> None:
    # 23:30 UTC on the 29th is 01:30 CEST on the 30th; 22:30 UTC on the 31st is 1 April.
    assert per_day(known, MARCH, "Europe/Berlin") == {
        "2026-03-28": 1,
        "2026-03-29": 3,
        "2026-03-30": 2,
        "2026-03-31": 0,
    }


def test_searches_per_day_in_a_half_hour_zone(known: Engine) -> None:
    # Kolkata is +05:30: 18:29 UTC is 23:59 on the 29th, 18:30 UTC is midnight on the 30th.
    assert per_day(known, MARCH, "Asia/Kolkata") == {
        "2026-03-28": 1,
        "2026-03-29": 2,
        "2026-03-30": 3,
        "2026-03-31": 0,
    }
    assert per_day(known, MARCH.for_days(date(2026, 4, 1), date(2026, 4, 1)), "Asia/Kolkata") == {
        "2026-04-01": 1
    }


def test_bucket_length_follows_the_zone_offset() -> None:
    start, end = queries.utc_bounds(date(2026, 1, 1), date(2026, 12, 31), "Europe/Berlin")
    assert queries.bucket_seconds("Europe/Berlin", start, end) == 3600
    assert queries.bucket_seconds("Asia/Kolkata", start, end) == 900
    assert queries.bucket_seconds("Asia/Kathmandu", start, end) == 900
    assert queries.bucket_seconds("UTC", start, end) == 3600


def test_date_range_is_whole_local_days_converted_to_utc() -> None:
    assert queries.utc_bounds(date(2026, 3, 29), date(2026, 3, 29), "Europe/Berlin") == (
        datetime(2026, 3, 28, 23, 0, tzinfo=UTC),
        datetime(2026, 3, 29, 22, 0, tzinfo=UTC),  # a 23-hour day
    )
    assert queries.utc_bounds(date(2026, 3, 30), date(2026, 3, 30), "Asia/Kolkata") == (
        datetime(2026, 3, 29, 18, 30, tzinfo=UTC),
        datetime(2026, 3, 30, 18, 30, tzinfo=UTC),
    )


def test_hour_weekday_grid_counts_the_repeated_autumn_hour_twice(known: Engine) -> None:
    # 00:30 and 01:30 UTC on 25 Oct 2026 are both 02:30 in Berlin (CEST, then CET): Sunday 2h.
    day = SearchFilters(SCOPE, start=date(2026, 10, 25), end=date(2026, 10, 25))
    grid = queries.hour_weekday_counts(known, day, "Europe/Berlin")
    assert len(grid) == 7 * 24
    assert grid["searches"].sum() == 2
    assert grid.set_index(["weekday", "hour"]).loc[(6, 2), "searches"] == 2
    in_utc = queries.hour_weekday_counts(known, day, "UTC").set_index(["weekday", "hour"])
    assert in_utc.loc[(6, 0), "searches"] == 1
    assert in_utc.loc[(6, 1), "searches"] == 1
    assert per_day(known, day, "Europe/Berlin") == {"2026-10-25": 2}


def test_hour_weekday_grid_in_a_half_hour_zone(known: Engine) -> None:
    grid = queries.hour_weekday_counts(
        known, MARCH.for_user("b@example.com"), "Asia/Kolkata"
    ).set_index(["weekday", "hour"])
    assert grid.loc[(6, 23), "searches"] == 1  # Sunday 23:59
    assert grid.loc[(0, 0), "searches"] == 1  # Monday 00:00
    assert grid["searches"].sum() == 2


def test_the_last_fraction_of_a_second_stays_in_its_hour_and_day(engine: Engine) -> None:
    # SQLite rounds fractions to milliseconds: 23:59:59.9999 must not become the next day.
    store_records(engine, [record("2026-03-28T23:59:59", "f@example.com")])
    late = datetime(2026, 3, 28, 23, 59, 59, 999_900, tzinfo=UTC)
    with engine.begin() as conn:
        conn.execute(update(SearchLog).values(create_time=late))
    assert per_day(engine, MARCH, "UTC")["2026-03-28"] == 1
    grid = queries.hour_weekday_counts(engine, MARCH, "UTC").set_index(["weekday", "hour"])
    assert grid.loc[(5, 23), "searches"] == 1  # Saturday 23:00–24:00
    assert queries.summary_by_user(engine, MARCH, "UTC").loc[0, "active_days"] == 1


def test_a_fraction_of_a_second_does_not_move_a_search_out_of_its_hour(engine: Engine) -> None:
    store_records(engine, [record("2026-03-28T10:00:00", "f@example.com")])
    with engine.begin() as conn:
        conn.execute(
            update(SearchLog).values(
                create_time=datetime(2026, 3, 28, 10, 0, 0, 500_000, tzinfo=UTC)
            )
        )
    buckets, seconds = queries.bucket_counts(engine, MARCH, "UTC")
    assert seconds == 3600
    assert list(buckets["bucket"]) == [
        int(datetime(2026, 3, 28, 10, tzinfo=UTC).timestamp()) // 3600
    ]
    assert buckets["bucket"].dtype == "int64"


@pytest.mark.parametrize("tz", ["UTC", "Europe/Berlin", "Asia/Kolkata"])
@pytest.mark.parametrize(
    "filters",
    [
        MARCH,
        MARCH.for_user("a@example.com"),
        SearchFilters(SCOPE, start=date(2026, 10, 25), end=date(2026, 10, 25)),
        SearchFilters(SCOPE, start=date(2026, 1, 1), end=date(2026, 1, 2)),
    ],
)
def test_activity_gives_the_figures_each_query_gives_alone(
    known: Engine, filters: SearchFilters, tz: str
) -> None:
    activity = queries.activity(known, filters, tz)
    pd.testing.assert_frame_equal(activity.summary, queries.summary_by_user(known, filters, tz))
    pd.testing.assert_frame_equal(activity.per_day, queries.searches_per_day(known, filters, tz))
    pd.testing.assert_frame_equal(
        activity.hour_weekday, queries.hour_weekday_counts(known, filters, tz)
    )
    assert activity.searches == queries.count_searches(known, filters, tz)


# --- the day page -----------------------------------------------------------------------


def test_a_day_is_grouped_by_user_newest_first(known: Engine) -> None:
    day = MARCH.for_days(date(2026, 3, 29), date(2026, 3, 29))
    counts = queries.user_counts(known, day, "UTC")
    assert counts.to_dict("records") == [
        {"email": "a@example.com", "searches": 2},
        {"email": "b@example.com", "searches": 2},
    ]
    rows = queries.searches_by_user(known, day, "UTC")
    assert list(rows["email"]) == ["a@example.com"] * 2 + ["b@example.com"] * 2
    assert list(rows["search_text"]) == [
        '=HYPERLINK("http://evil","x")',
        "Invoice March",
        "100 percent_done",
        "100% done",
    ]


def test_a_day_lists_at_most_n_searches_per_user(known: Engine) -> None:
    day = MARCH.for_days(date(2026, 3, 29), date(2026, 3, 29))
    rows = queries.searches_by_user(known, day, "UTC", per_user=1)
    assert list(zip(rows["email"], rows["search_text"], strict=True)) == [
        ("a@example.com", '=HYPERLINK("http://evil","x")'),
        ("b@example.com", "100 percent_done"),
    ]


# --- filters ----------------------------------------------------------------------------


def emails(engine: Engine, filters: SearchFilters, tz: str = "UTC") -> Counter[str]:
    frame = queries.user_counts(engine, filters, tz)
    return Counter(dict(zip(frame["email"], frame["searches"], strict=True)))


def test_filter_by_users(known: Engine) -> None:
    only = MARCH.for_user("b@example.com")
    assert emails(known, only) == {"b@example.com": 2}
    both = SearchFilters(SCOPE, MARCH.start, MARCH.end, users=("b@example.com", "c@example.com"))
    assert emails(known, both) == {"b@example.com": 2, "c@example.com": 1}


def test_filter_by_source(known: Engine) -> None:
    filters = SearchFilters(SCOPE, MARCH.start, MARCH.end, sources=("console",))
    assert emails(known, filters) == {"a@example.com": 1, "b@example.com": 1}


def test_filter_by_search_type(known: Engine) -> None:
    filters = SearchFilters(
        SCOPE, MARCH.start, MARCH.end, descriptions=("Audit [Page 1] - Depth 100",)
    )
    assert emails(known, filters) == {SYSTEM_SENDER: 1}


def test_text_filter_is_case_insensitive_and_takes_wildcards_literally(known: Engine) -> None:
    def matching(needle: str) -> list[str]:
        filters = SearchFilters(SCOPE, MARCH.start, MARCH.end, text=needle)
        return list(queries.search_page(known, filters, "UTC", limit=50)["search_text"])

    assert sorted(matching("INVOICE")) == ["Invoice March", "invoice"]
    assert matching("100%") == ["100% done"]
    assert matching("t_d") == ["100 percent_done"]
    assert matching("<img") == ["<img src=x onerror=alert(1)>"]
    assert matching("nothing like this") == []


def test_system_sender_is_included_unless_excluded(known: Engine) -> None:
    assert SYSTEM_SENDER in emails(known, MARCH)
    excluded = SearchFilters(SCOPE, MARCH.start, MARCH.end, include_system=False)
    assert SYSTEM_SENDER not in emails(known, excluded)
    assert queries.count_searches(known, MARCH, "UTC") == 7
    assert queries.count_searches(known, excluded, "UTC") == 6


def test_filters_combine(known: Engine) -> None:
    filters = SearchFilters(
        SCOPE,
        date(2026, 3, 29),
        date(2026, 3, 29),
        users=("a@example.com", "b@example.com"),
        sources=("console",),
        descriptions=("Archive Search",),
        text="done",
    )
    rows = queries.search_page(known, filters, "UTC", limit=10)
    assert list(rows["search_text"]) == ["100% done"]


def test_the_date_range_ends_at_local_midnight(known: Engine) -> None:
    # c's search (22:30 UTC on the 31st) is on 1 April in Berlin, so outside March there.
    assert "c@example.com" in emails(known, MARCH, "UTC")
    assert "c@example.com" not in emails(known, MARCH, "Europe/Berlin")


# --- lists ------------------------------------------------------------------------------


def test_search_pages_are_newest_first_and_do_not_overlap(known: Engine) -> None:
    first = queries.search_page(known, MARCH, "UTC", limit=3, offset=0)
    second = queries.search_page(known, MARCH, "UTC", limit=3, offset=3)
    third = queries.search_page(known, MARCH, "UTC", limit=3, offset=6)
    assert (len(first), len(second), len(third)) == (3, 3, 1)
    times = list(pd.concat([first, second, third])["time"])
    assert times == sorted(times, reverse=True)
    assert list(first.columns) == list(queries.SEARCH_COLUMNS)
    assert str(first["time"].dt.tz) == "UTC"


def test_streamed_chunks_hold_every_matching_search_once(known: Engine) -> None:
    chunks = list(queries.iter_searches(known, MARCH, "Europe/Berlin", chunk_rows=2))
    assert [len(chunk) for chunk in chunks] == [2, 2, 2]  # c is in April in Berlin
    everything = pd.concat(chunks, ignore_index=True)
    page = queries.search_page(known, MARCH, "Europe/Berlin", limit=100)
    pd.testing.assert_frame_equal(everything, page)
    assert str(everything["time"].dt.tz) == "Europe/Berlin"


def test_a_full_export_is_every_matching_search_neutralised(known: Engine) -> None:
    from dashboard.export import csv_from_chunks

    filters = MARCH.for_user("a@example.com")
    chunks = queries.iter_searches(known, filters, "Europe/Berlin", chunk_rows=1)
    assert csv_from_chunks(chunks, queries.SEARCH_COLUMNS).decode("utf-8") == (
        '"time","email","source","search_text","search_reason","description"\r\n'
        '"2026-03-30T01:30:00+02:00","a@example.com","console",'
        '"\'=HYPERLINK(""http://evil"",""x"")","","Message Tracking Search"\r\n'
        '"2026-03-29T01:30:00+01:00","a@example.com","archive","Invoice March","",'
        '"Message Tracking Search"\r\n'
        '"2026-03-28T11:00:00+01:00","a@example.com","archive","invoice","Legal hold",'
        '"Archive Search"\r\n'
    )


# --- state ------------------------------------------------------------------------------


def test_data_version_changes_only_when_rows_are_stored(engine: Engine) -> None:
    empty = queries.data_version(engine)
    assert queries.data_version(engine) == empty
    store = Store(engine, TENANT)
    run_id = store.start_run("delta", *WINDOW)
    assert queries.data_version(engine) == empty, "a run that stored nothing yet"
    keyer = EventKeyer()
    event = parse_record(record("2026-03-28T10:00:00", "a@example.com"))
    assert isinstance(event, SearchEvent)
    page = PageBatch(events=[(keyer.event_key(event), event)])
    store.write_page(page, run_id, WINDOW)
    written = queries.data_version(engine)
    assert written != empty
    store.write_page(page, run_id, WINDOW)  # the same page again: nothing new
    assert queries.data_version(engine) == written
    store.finish_run(run_id, "ok", PageCounts(), api_requests=1)
    store.advance_cursor(WINDOW[1], backfill_done=True)
    store.reset_cursor()
    assert queries.data_version(engine) == written


def test_ingest_version_changes_with_every_run_and_cursor_move(engine: Engine) -> None:
    empty = queries.ingest_version(engine)
    assert queries.ingest_version(engine) == empty
    store = Store(engine, TENANT)
    run_id = store.start_run("delta", *WINDOW)
    started = queries.ingest_version(engine)
    assert started != empty
    keyer = EventKeyer()
    event = parse_record(record("2026-03-28T10:00:00", "a@example.com"))
    assert isinstance(event, SearchEvent)
    store.write_page(PageBatch(events=[(keyer.event_key(event), event)]), run_id, WINDOW)
    written = queries.ingest_version(engine)
    assert written != started
    store.finish_run(run_id, "ok", PageCounts(), api_requests=1)
    finished = queries.ingest_version(engine)
    assert finished != written
    store.advance_cursor(WINDOW[1], backfill_done=True)
    advanced = queries.ingest_version(engine)
    assert advanced != finished
    store.reset_cursor()
    assert queries.ingest_version(engine) != advanced


def test_ingest_health_reports_the_last_runs(known: Engine) -> None:
    health = queries.ingest_health(known, SCOPE)
    assert health.has_searches
    assert health.last_ok_finished is not None
    assert health.last_run_status == "ok"
    store = Store(known, TENANT)
    run_id = store.start_run("delta", *WINDOW)
    store.finish_run(run_id, "failed", PageCounts(), api_requests=1, error="HTTP 500 from API")
    health = queries.ingest_health(known, SCOPE)
    assert (health.last_run_status, health.last_run_error) == ("failed", "HTTP 500 from API")


def test_filter_options_are_the_distinct_stored_values(known: Engine) -> None:
    options = queries.filter_options(known, SCOPE)
    assert options.users == (
        "<>",
        "a@example.com",
        "b@example.com",
        "c@example.com",
        "d@example.com",
    )
    assert options.sources == ("api", "archive", "console")
    assert options.descriptions == (
        "Archive Search",
        "Audit [Page 1] - Depth 100",
        "Message Tracking Search",
    )


def test_an_empty_database_gives_empty_answers_not_errors(engine: Engine) -> None:
    assert queries.summary_by_user(engine, MARCH, "Europe/Berlin").empty
    assert list(queries.summary_by_user(engine, MARCH, "UTC").columns) == [
        "email",
        "searches",
        "active_days",
        "first_search",
        "last_search",
        "top_description",
        "reason_share",
    ]
    assert per_day(engine, MARCH, "Asia/Kolkata") == {
        "2026-03-28": 0,
        "2026-03-29": 0,
        "2026-03-30": 0,
        "2026-03-31": 0,
    }
    grid = queries.hour_weekday_counts(engine, MARCH, "UTC")
    assert (len(grid), int(grid["searches"].sum())) == (168, 0)
    assert queries.count_searches(engine, MARCH, "UTC") == 0
    assert queries.user_counts(engine, MARCH, "UTC").empty
    assert queries.search_page(engine, MARCH, "UTC", limit=10).empty
    assert queries.searches_by_user(engine, MARCH, "UTC").empty
    assert list(queries.iter_searches(engine, MARCH, "UTC")) == []
    assert queries.filter_options(engine, SCOPE) == queries.FilterOptions((), (), ())
    health = queries.ingest_health(engine, SCOPE)
    assert not health.has_searches and health.last_ok_finished is None


# --- against the simulator --------------------------------------------------------------


def test_per_user_and_per_day_counts_match_the_simulator_truth(sim, settings) -> None:
    now = settled_now()
    result = run_ingest_once(settings, clock=fixed_clock(now))
    valid, _malformed = sim.truth(result.window_start, result.window_end)
    events = [
        event
        for event in map(parse_record, valid)
        if isinstance(event, SearchEvent)
        and result.window_start <= event.create_time <= result.window_end
    ]
    assert events, "the simulator served no searches"
    tz = "Europe/Berlin"
    first = min(e.create_time for e in events).astimezone(ZoneInfo(tz)).date()
    last = max(e.create_time for e in events).astimezone(ZoneInfo(tz)).date()
    everything = SearchFilters(SCOPE, start=first, end=last)
    engine = open_database(settings.effective_database_url)
    try:
        summary = queries.summary_by_user(engine, everything, tz)
        days = per_day(engine, everything, tz)
        without_system = queries.count_searches(
            engine, SearchFilters(SCOPE, first, last, include_system=False), tz
        )
    finally:
        engine.dispose()
    expected_users = Counter(e.email_addr for e in events)
    assert dict(zip(summary["email"], summary["searches"], strict=True)) == expected_users
    expected_days = Counter(
        e.create_time.astimezone(ZoneInfo(tz)).date().isoformat() for e in events
    )
    assert {day: n for day, n in days.items() if n} == expected_days
    assert without_system == len(events) - expected_users[SYSTEM_SENDER]
    assert expected_users[SYSTEM_SENDER] > 0
    # a user with mixed-case spellings in the feed is one row
    assert "admin@example.com" in expected_users
    assert not any(email != email.lower() for email in summary["email"])


def test_day_bounds_of_a_dst_day_hold_23_hours() -> None:
    start, end = queries.utc_bounds(date(2026, 3, 29), date(2026, 3, 29), "Europe/Berlin")
    assert end - start == timedelta(hours=23)
