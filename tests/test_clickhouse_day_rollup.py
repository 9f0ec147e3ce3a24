"""The per-day ClickHouse rollup (`db.clickhouse.day_rollup`) on chDB: exact after duplicate
blocks, filled from the searches a store held before it existed, and the source of a year's
figures in UTC, equal to SQLite's."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd

from db.clickhouse.day_rollup import TABLE
from db.clickhouse.store import ClickHouseStore
from db.clickhouse.writer import event_rows
from db.engine import open_database
from db.filters import SearchFilters
from db.models import EVENT_COLUMNS
from db.scope import TenantScope
from db.store import SqlStore
from tests.support.builders import WINDOW, record, store_records
from tests.support.clickhouse import chdb_store, keyed

SHARED = "a@example.com"


def _year(tenant: str, users: list[str]) -> list[dict[str, Any]]:
    """Searches every 53 hours over 2026, a few in one second, one the same in both tenants."""
    start = datetime(2026, 1, 1, 0, 30)
    spread = [
        record(
            (start + timedelta(hours=53 * i)).strftime("%Y-%m-%dT%H:%M:%S"),
            users[i % len(users)],
            source=("archive", None)[i % 2],
            searchText=f"{tenant} {i}",
            searchReason=("Case", "", None)[i % 3],
            description=("Archive Search", "Message Tracking Search", None)[i % 3],
        )
        for i in range(160)
    ]
    same = [record("2026-07-01T23:59:59", SHARED, searchText=f"tie {i}") for i in range(4)]
    return [*spread, *same, record("2026-12-31T23:59:59", SHARED, searchText="in both")]


DATA = {"acme": _year("acme", [SHARED, "b@example.com"]), "globex": _year("globex", [SHARED])}
YEAR = (date(2026, 1, 1), date(2026, 12, 31))


def _write(clickhouse: ClickHouseStore, racing: bool = True) -> None:
    for tenant, records in DATA.items():
        clickhouse.write_page(tenant, keyed(records), [], 1, WINDOW)
        if racing:  # a second writer's copy of every row, waiting for a merge
            rows = event_rows(tenant, keyed(records), 2, datetime.now(UTC))
            clickhouse.client.insert(
                "search_logs",
                rows,
                column_names=list(EVENT_COLUMNS),
                settings={"insert_deduplication_token": f"racing-{tenant}"},
            )


def _per_day_rollup(clickhouse: ClickHouseStore) -> dict[tuple[str, int, str], int]:
    rows = clickhouse.client.query(
        f"SELECT tenant, bucket, email_addr, uniqExactMerge(searches) FROM {TABLE}"
        " GROUP BY tenant, bucket, email_addr"
    ).result_rows
    return {(t, b, e): n for t, b, e, n in rows}


def _per_day_raw(clickhouse: ClickHouseStore) -> dict[tuple[str, int, str], int]:
    rows = clickhouse.client.query(
        "SELECT tenant, intDiv(toUnixTimestamp(create_time), 86400) AS b, email_addr, count()"
        " FROM search_logs FINAL GROUP BY tenant, b, email_addr"
    ).result_rows
    return {(t, b, e): n for t, b, e, n in rows}


def test_day_rollup_counts_each_search_once_after_duplicate_blocks(tmp_path: Path) -> None:
    with chdb_store(tmp_path) as clickhouse:
        _write(clickhouse)
        raw = clickhouse.client.query("SELECT count() FROM search_logs").result_rows[0][0]
        assert raw == 2 * sum(len(records) for records in DATA.values())
        per_day = _per_day_rollup(clickhouse)
        assert per_day == _per_day_raw(clickhouse)
        assert sum(per_day.values()) == sum(len(records) for records in DATA.values())


def test_a_store_that_held_searches_before_the_day_rollup_gets_it_filled(
    tmp_path: Path,
) -> None:
    with chdb_store(tmp_path) as clickhouse:
        clickhouse.client.command(f"DROP VIEW {TABLE}_mv")  # a store made before this module
        clickhouse.client.command(f"DROP TABLE {TABLE}")
        _write(clickhouse)
    reopened = ClickHouseStore.open(f"chdb://{tmp_path / 'clickhouse'}")
    try:
        assert _per_day_rollup(reopened) == _per_day_raw(reopened)
        ClickHouseStore(reopened.client)  # opened again: filled once, not twice
        assert sum(_per_day_rollup(reopened).values()) == sum(map(len, DATA.values()))
    finally:
        reopened.close()


def test_a_years_figures_in_utc_come_from_the_day_rollup_equal_to_sqlite(
    tmp_path: Path,
) -> None:
    engine = open_database(f"sqlite:///{tmp_path / 'oracle.db'}")
    for tenant, records in DATA.items():
        store_records(engine, records, tenant)
    sqlite = SqlStore(engine)
    with chdb_store(tmp_path) as clickhouse:
        _write(clickhouse)
        clickhouse.client.command("TRUNCATE TABLE rollup_user_hour")  # days only from now
        for scope in (TenantScope.one("acme"), TenantScope.every_tenant()):
            for filters in (
                SearchFilters(scope, *YEAR),
                SearchFilters(scope, *YEAR).for_user(SHARED),
            ):
                expected = sqlite.activity(filters, "UTC", hours=False)
                actual = clickhouse.activity(filters, "UTC", hours=False)
                pd.testing.assert_frame_equal(actual.summary, expected.summary)
                pd.testing.assert_frame_equal(actual.per_day, expected.per_day)
                assert actual.searches == expected.searches > 0
                pd.testing.assert_frame_equal(
                    clickhouse.searches_per_day(filters, "UTC"),
                    sqlite.searches_per_day(filters, "UTC"),
                )
                pd.testing.assert_frame_equal(
                    clickhouse.user_counts(filters, "UTC"), sqlite.user_counts(filters, "UTC")
                )
                assert clickhouse.count_searches(filters, "UTC") == expected.searches
        # the hourly figures had only the truncated table: the days above did not use it
        grid = clickhouse.hour_weekday_counts(SearchFilters(TenantScope.one("acme"), *YEAR), "UTC")
        assert grid["searches"].sum() == 0
    engine.dispose()
