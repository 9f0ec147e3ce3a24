"""Every read the Summary, User, Calendar and Day pages and the API's search endpoints make
equals SQLite's on ClickHouse: the same records stored through each backend's write path
(two tenants sharing a user, hostile text, many searches in one second), the SQL data
functions on SQLite as the oracle, in UTC, Europe/Berlin and Asia/Kolkata (raw rows).

ClickHouse has no row id, so searches with one timestamp may be listed in another order
than SQLite's (by key, not by id): lists are compared as the same rows in the same order of
times, and keyset pages as a walk that neither loses nor doubles a row."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from sqlalchemy import Engine

from dashboard.export import csv_with_rows
from db.clickhouse.writer import event_rows
from db.engine import open_database
from db.filters import SearchFilters
from db.models import EVENT_COLUMNS
from db.raw_reads import SEARCH_COLUMNS
from db.scope import TenantScope
from db.store import SearchStore, SqlStore
from tests.support.builders import WINDOW, record, store_records
from tests.support.clickhouse import chdb_store, keyed

SHARED = "a@example.com"  # searches in both tenants
HOSTILE = "h@example.com"  # hostile text, at distinct times
HUGE = "x" * 100_000
FORMULA = "=cmd|' /C calc'!A0"
TIE = "2026-03-29T00:30:00"  # Berlin's and Kolkata's day boundary zone: many in one second
# the same search in both tenants: one content key, two searches (a key is per tenant)
IN_BOTH = record("2026-04-02T08:00:00", SHARED, searchText="both", searchReason="Case 9")


def _spread(tenant: str, users: list[str], count: int, step_minutes: int) -> list[dict[str, Any]]:
    start = datetime(2026, 3, 20, 3, 7)
    return [
        record(
            (start + timedelta(minutes=step_minutes * i)).strftime("%Y-%m-%dT%H:%M:%S"),
            users[i % len(users)],
            source=("archive", "console", None)[i % 3],
            searchText=f"{tenant} report {i}",
            searchReason=("Case 1", "", None, " ")[i % 4],
            description=("Archive Search", "Message Tracking Search", None)[i % 3],
        )
        for i in range(count)
    ]


ACME = [
    *_spread("acme", [SHARED, "b@example.com", "c@example.com"], 40, 437),
    *[record(TIE, SHARED, searchText=f"same second {i}", source="archive") for i in range(12)],
    record(TIE, SHARED, searchText="twin"),  # identical twins: two searches
    record(TIE, SHARED, searchText="twin"),
    record(TIE, "b@example.com", searchText="same second b"),
    record("2026-04-01T09:00:00", HOSTILE, searchText="nul\x00inside", source="archive"),
    record("2026-04-01T09:00:01", HOSTILE, searchText="lone \ud800 surrogate"),
    record("2026-04-01T09:00:02", HOSTILE, searchText=HUGE, description="Archive Search"),
    record("2026-04-01T09:00:03", HOSTILE, searchText=FORMULA, searchReason="=HYPERLINK()"),
    record("2026-04-01T09:00:04", HOSTILE, searchText="<script>alert(1)</script>"),
    IN_BOTH,
]
GLOBEX = [
    *_spread("globex", [SHARED, "z@example.com"], 25, 611),
    *[record(TIE, "z@example.com", searchText=f"globex tie {i}") for i in range(6)],
    IN_BOTH,
]
DATA = {"acme": ACME, "globex": GLOBEX}
START, END = date(2026, 3, 19), date(2026, 4, 30)
ZONES = ["UTC", "Europe/Berlin", "Asia/Kolkata"]


def _racing_copy(clickhouse: Any, tenant: str, records: list[dict[str, Any]]) -> None:
    """The rows again in a block of their own, as a second writer racing the first would
    leave them until a merge: every read must still count and list each search once."""
    rows = event_rows(tenant, keyed(records), 9, datetime.now(UTC))
    settings = {"insert_deduplication_token": f"racing-{tenant}-{len(rows)}-{rows[0][1]}"}
    clickhouse.client.insert(
        "search_logs", rows, column_names=list(EVENT_COLUMNS), settings=settings
    )


@pytest.fixture(scope="module")
def backends(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Engine, Any]]:
    """(the SQLite engine, the ClickHouse store), each holding DATA via its write path."""
    folder: Path = tmp_path_factory.mktemp("listing")
    engine = open_database(f"sqlite:///{folder / 'oracle.db'}")
    for tenant, records in DATA.items():
        store_records(engine, records, tenant)
    with chdb_store(folder) as clickhouse:
        for tenant, records in DATA.items():
            clickhouse.write_page(tenant, keyed(records), [], 1, WINDOW)
            clickhouse.write_page(tenant, keyed(records), [], 2, WINDOW)  # a replay: nothing
            _racing_copy(clickhouse, tenant, records)
        stored = clickhouse.client.query("SELECT count() FROM search_logs").result_rows
        assert stored == [(2 * (len(ACME) + len(GLOBEX)),)]  # every search twice, unmerged
        yield engine, clickhouse
    engine.dispose()


@pytest.fixture(scope="module")
def stores(backends: tuple[Engine, Any]) -> tuple[SearchStore, SearchStore]:
    engine, clickhouse = backends
    return SqlStore(engine), clickhouse


def _filters_cases() -> list[SearchFilters]:
    acme = SearchFilters(TenantScope.one("acme"), START, END)
    every = SearchFilters(TenantScope.every_tenant(), START, END)
    return [
        acme,
        SearchFilters(TenantScope.one("globex"), START, END),
        every,
        acme.for_user(SHARED),
        every.for_user(SHARED),
        replace(acme, users=(SHARED, HOSTILE)),
        replace(acme, sources=("archive",), descriptions=("Archive Search",)),
        replace(acme, include_system=False, text="REPORT 1"),
        acme.for_days(date(2026, 3, 29), date(2026, 3, 29)),  # the Day page
        replace(every, text="%"),  # a plain character: no search text has one
    ]


CASES = [pytest.param(f, id=f"case{n}") for n, f in enumerate(_filters_cases())]


def _rows(frame: pd.DataFrame) -> list[tuple[Any, ...]]:
    """The rows as tuples, a missing value as None (pandas mixes None and NaN)."""
    return [tuple(None if pd.isna(v) else v for v in row) for row in frame.itertuples(False)]


def _same_rows(actual: pd.DataFrame, expected: pd.DataFrame) -> None:
    """The same rows, times in the same order; rows with one time in any order."""
    assert list(actual.columns) == list(expected.columns)
    pd.testing.assert_series_equal(
        actual["time"].reset_index(drop=True), expected["time"].reset_index(drop=True)
    )

    def key(row: tuple[Any, ...]) -> tuple[str, ...]:
        return tuple(repr(value) for value in row)

    assert sorted(_rows(actual), key=key) == sorted(_rows(expected), key=key)


@pytest.mark.parametrize("tz", ZONES)
@pytest.mark.parametrize("filters", CASES)
def test_activity_equals_sqlite(
    stores: tuple[SearchStore, SearchStore], filters: SearchFilters, tz: str
) -> None:
    sqlite, clickhouse = stores
    for hours in (True, False):
        expected, actual = (
            sqlite.activity(filters, tz, hours=hours),
            clickhouse.activity(filters, tz, hours=hours),
        )
        pd.testing.assert_frame_equal(actual.summary, expected.summary)
        pd.testing.assert_frame_equal(actual.per_day, expected.per_day)
        if hours:
            pd.testing.assert_frame_equal(actual.hour_weekday, expected.hour_weekday)
        else:
            assert actual.hour_weekday is None
        assert actual.searches == expected.searches
    assert expected.searches > 0 or filters.text == "%"


@pytest.mark.parametrize("tz", ZONES)
@pytest.mark.parametrize("filters", CASES)
def test_user_counts_and_count_equal_sqlite(
    stores: tuple[SearchStore, SearchStore], filters: SearchFilters, tz: str
) -> None:
    sqlite, clickhouse = stores
    pd.testing.assert_frame_equal(
        clickhouse.user_counts(filters, tz), sqlite.user_counts(filters, tz)
    )
    assert clickhouse.count_searches(filters, tz) == sqlite.count_searches(filters, tz)


@pytest.mark.parametrize("tz", ZONES)
@pytest.mark.parametrize("filters", CASES)
def test_search_pages_list_every_row_once(
    stores: tuple[SearchStore, SearchStore], filters: SearchFilters, tz: str
) -> None:
    sqlite, clickhouse = stores
    total = sqlite.count_searches(filters, tz)
    pages = [
        (store.search_page(filters, tz, limit=7, offset=offset, total=total))
        for store in (clickhouse, sqlite)
        for offset in range(0, total + 7, 7)
    ]
    half = len(pages) // 2
    actual, expected = pd.concat(pages[:half]), pd.concat(pages[half:])
    assert len(expected) == total
    _same_rows(actual.reset_index(drop=True), expected.reset_index(drop=True))


@pytest.mark.parametrize("tz", ZONES)
@pytest.mark.parametrize("filters", CASES)
def test_searches_by_user_equal_sqlite(
    stores: tuple[SearchStore, SearchStore], filters: SearchFilters, tz: str
) -> None:
    sqlite, clickhouse = stores
    everything = clickhouse.searches_by_user(filters, tz, per_user=1000)
    _same_rows(everything, sqlite.searches_by_user(filters, tz, per_user=1000))
    newest = clickhouse.searches_by_user(filters, tz, per_user=3)  # a cut among ties
    expected = sqlite.searches_by_user(filters, tz, per_user=3)
    pd.testing.assert_frame_equal(newest[["email", "time"]], expected[["email", "time"]])


@pytest.mark.parametrize("tz", ZONES)
@pytest.mark.parametrize("filters", CASES)
def test_streamed_chunks_equal_sqlite(
    stores: tuple[SearchStore, SearchStore], filters: SearchFilters, tz: str
) -> None:
    sqlite, clickhouse = stores
    actual = list(clickhouse.iter_searches(filters, tz, chunk_rows=9))
    expected = list(sqlite.iter_searches(filters, tz, chunk_rows=9))
    assert [len(chunk) for chunk in actual] == [len(chunk) for chunk in expected]
    if expected:
        _same_rows(pd.concat(actual, ignore_index=True), pd.concat(expected, ignore_index=True))


@pytest.mark.parametrize("tz", ZONES)
def test_csv_of_a_selection_is_byte_equal(stores: tuple[SearchStore, SearchStore], tz: str) -> None:
    """The download of hostile text: NUL and a lone surrogate stored as U+FFFD, the huge
    text whole, the formula neutralised; the same bytes from both stores."""
    sqlite, clickhouse = stores
    filters = SearchFilters(TenantScope.one("acme"), START, END).for_user(HOSTILE)
    expected, rows = csv_with_rows(sqlite.iter_searches(filters, tz), SEARCH_COLUMNS)
    assert rows == 5
    assert csv_with_rows(clickhouse.iter_searches(filters, tz), SEARCH_COLUMNS) == (expected, 5)
    text = expected.decode()
    assert "nul\ufffdinside" in text and "lone \ufffd surrogate" in text and HUGE in text
    assert f"'{FORMULA}" in text and "'=HYPERLINK()" in text


@pytest.mark.parametrize("tz", ZONES)
@pytest.mark.parametrize("filters", CASES)
def test_keyset_pages_lose_and_double_no_row(
    stores: tuple[SearchStore, SearchStore], filters: SearchFilters, tz: str
) -> None:
    walks = []
    for store in stores:
        keyset: Any = store.newest_keyset(filters.scope)
        rows: list[tuple[Any, ...]] = []
        for _ in range(100):
            page, keyset = store.search_keyset_rows(filters, tz, keyset, limit=4)
            assert len(page) <= 4
            rows += page
            if keyset is None:
                break
        walks.append(pd.DataFrame(rows, columns=list(SEARCH_COLUMNS)))
    actual, expected = walks[1], walks[0]
    assert len(expected) == stores[0].count_searches(filters, tz)
    _same_rows(actual, expected)


@pytest.mark.parametrize(
    "scope", [TenantScope.one("acme"), TenantScope.one("globex"), TenantScope.every_tenant()]
)
def test_filter_options_equal_sqlite(
    stores: tuple[SearchStore, SearchStore], scope: TenantScope
) -> None:
    sqlite, clickhouse = stores
    expected = sqlite.filter_options(scope)
    assert SHARED in expected.users
    assert clickhouse.filter_options(scope) == expected


def test_known_user_is_per_tenant(stores: tuple[SearchStore, SearchStore]) -> None:
    sqlite, clickhouse = stores
    scopes = [TenantScope.one("acme"), TenantScope.one("globex"), TenantScope.every_tenant()]
    emails = [SHARED, HOSTILE, "z@example.com", "nobody@example.com", ""]
    answers = {
        (scope.label(), email): clickhouse.known_user(scope, email)
        for scope in scopes
        for email in emails
    }
    assert answers == {
        (scope.label(), email): sqlite.known_user(scope, email)
        for scope in scopes
        for email in emails
    }
    assert answers[("acme", "z@example.com")] is False
    assert answers[("globex", SHARED)] is True


def test_keyset_listing_ignores_rows_stored_after_its_first_page(
    backends: tuple[Engine, Any],
) -> None:
    """A late search (an older time, stored while a client pages) is not part of a listing
    that began before it, and a racing writer's copy of a listed row stored then hides
    none: on both stores (tenant initech, which no other test reads)."""
    engine, clickhouse = backends
    first = [record(f"2026-04-0{d}T10:00:00", SHARED, searchText=f"i{d}") for d in range(1, 7)]
    late = [record("2026-04-02T12:00:00", SHARED, searchText="late")]
    filters = SearchFilters(TenantScope.one("initech"), START, END)
    walks = []
    for store, write in (
        (SqlStore(engine), lambda rs: store_records(engine, rs, "initech")),
        (clickhouse, lambda rs: clickhouse.write_page("initech", keyed(rs), [], 3, WINDOW)),
    ):
        write(first)
        keyset: Any = store.newest_keyset(filters.scope)
        rows, keyset = store.search_keyset_rows(filters, "UTC", keyset, limit=2)
        write(late)
        if store is clickhouse:  # and a racing copy of rows not listed yet
            _racing_copy(clickhouse, "initech", first)
        while keyset is not None:
            page, keyset = store.search_keyset_rows(filters, "UTC", keyset, limit=2)
            rows += page
        walks.append([row[3] for row in rows])
        assert store.count_searches(filters, "UTC") == 7  # stored, just not in this listing
    assert walks == [["i6", "i5", "i4", "i3", "i2", "i1"]] * 2


def test_data_version_moves_only_when_rows_are_stored(backends: tuple[Engine, Any]) -> None:
    """On both stores alike (tenant versioned, which no other test reads)."""
    engine, clickhouse = backends
    first = [record("2026-04-20T10:00:00", "v@example.com", searchText="v")]
    more = [record("2026-04-21T10:00:00", "v@example.com", searchText="w")]
    store_records(engine, first, "versioned")
    clickhouse.write_page("versioned", keyed(first), [], 4, WINDOW)
    before = clickhouse.data_version()
    assert clickhouse.write_page("versioned", keyed(first), [], 5, WINDOW).inserted == 0
    assert clickhouse.data_version() == before  # a replay stored nothing
    store_records(engine, more, "versioned")
    clickhouse.write_page("versioned", keyed(more), [], 6, WINDOW)
    assert clickhouse.data_version() != before
