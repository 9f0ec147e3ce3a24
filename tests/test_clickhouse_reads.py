"""The dashboard's main frames on ClickHouse equal SQLite's: the same records stored through
each backend's write path, the same `SearchFilters`, and the SQL data functions
(`db.aggregates`) on SQLite as the oracle; from the rollup, and from raw rows (`FINAL`) for
a search-text filter or a zone with a half-hour offset."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from db.engine import open_database
from db.filters import SearchFilters
from db.scope import TenantScope
from db.store import SearchStore, SqlStore
from tests.support.builders import KNOWN, WINDOW, record, store_records
from tests.support.clickhouse import chdb_store, keyed

SHARED = "a@example.com"  # searches in both tenants
GLOBEX = [
    record("2026-03-29T00:30:00", SHARED, source="console", description="Archive Search"),
    record("2026-03-29T00:30:00", SHARED, source="console", description="Archive Search"),
    record("2026-06-10T08:00:00", "z@example.com", searchReason="Case 7", description="X"),
    record("2026-10-25T00:30:00", SHARED, description="Message Tracking Search"),
]
DATA = {"acme": KNOWN, "globex": GLOBEX}
START, END = date(2026, 3, 1), date(2026, 10, 31)
ZONES = ["UTC", "Europe/Berlin", "America/New_York", "Asia/Kolkata"]  # Kolkata: raw rows


@pytest.fixture(scope="module")
def stores(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[SearchStore, SearchStore]]:
    """(SQLite, ClickHouse), each holding DATA through its own write path."""
    folder: Path = tmp_path_factory.mktemp("reads")
    engine = open_database(f"sqlite:///{folder / 'oracle.db'}")
    for tenant, records in DATA.items():
        store_records(engine, records, tenant)
    with chdb_store(folder) as clickhouse:
        for tenant, records in DATA.items():
            clickhouse.write_page(tenant, keyed(records), [], 1, WINDOW)
        yield SqlStore(engine), clickhouse
    engine.dispose()


def _filters_cases() -> list[SearchFilters]:
    acme = SearchFilters(TenantScope.one("acme"), START, END)
    return [
        acme,
        SearchFilters(TenantScope.one("globex"), START, END),
        SearchFilters(TenantScope.every_tenant(), START, END),
        replace(acme, include_system=False),
        replace(acme, sources=("archive",)),
        replace(acme, descriptions=("Archive Search",)),
        acme.for_user(SHARED),
        SearchFilters(TenantScope.every_tenant(), START, END).for_user(SHARED),
        acme.for_days(date(2026, 3, 29), date(2026, 3, 30)),
        replace(acme, text="INVOICE"),  # raw rows: a case-insensitive substring
        replace(acme, text="100%"),  # "%" is a character, not a wildcard
        SearchFilters(TenantScope.every_tenant(), START, END, text="a"),
    ]


CASES = [pytest.param(f, id=f"case{n}") for n, f in enumerate(_filters_cases())]


@pytest.mark.parametrize("tz", ZONES)
@pytest.mark.parametrize("filters", CASES)
def test_summary_by_user_equals_sqlite(
    stores: tuple[SearchStore, SearchStore], filters: SearchFilters, tz: str
) -> None:
    sqlite, clickhouse = stores
    expected = sqlite.summary_by_user(filters, tz)
    assert not expected.empty
    pd.testing.assert_frame_equal(clickhouse.summary_by_user(filters, tz), expected)


@pytest.mark.parametrize("tz", ZONES)
@pytest.mark.parametrize("filters", CASES)
def test_searches_per_day_equals_sqlite(
    stores: tuple[SearchStore, SearchStore], filters: SearchFilters, tz: str
) -> None:
    sqlite, clickhouse = stores
    expected = sqlite.searches_per_day(filters, tz)
    assert expected["searches"].sum() > 0
    pd.testing.assert_frame_equal(clickhouse.searches_per_day(filters, tz), expected)


@pytest.mark.parametrize("tz", ZONES)
@pytest.mark.parametrize("filters", CASES)
def test_hour_weekday_counts_equal_sqlite(
    stores: tuple[SearchStore, SearchStore], filters: SearchFilters, tz: str
) -> None:
    sqlite, clickhouse = stores
    expected = sqlite.hour_weekday_counts(filters, tz)
    assert expected["searches"].sum() > 0
    pd.testing.assert_frame_equal(clickhouse.hour_weekday_counts(filters, tz), expected)


def test_tenants_with_a_shared_user_get_their_own_figures(
    stores: tuple[SearchStore, SearchStore],
) -> None:
    _sqlite, clickhouse = stores
    figures = {
        tenant: clickhouse.summary_by_user(
            SearchFilters(TenantScope.one(tenant), START, END), "UTC"
        ).set_index("email")["searches"][SHARED]
        for tenant in DATA
    }
    assert figures == {"acme": 3, "globex": 3}
    every = SearchFilters(TenantScope.every_tenant(), START, END)
    assert clickhouse.summary_by_user(every, "UTC").set_index("email")["searches"][SHARED] == 6
