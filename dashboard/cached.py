"""The store's reads (`db.store.SearchStore`) behind Streamlit's caches, keyed on the
database's data version.

Every cached answer takes the database URL and `version` (from `store(url).data_version()`,
read afresh on each rerun), so rows stored by a new poll show up at once, without a TTL;
answers for older versions simply age out of the bounded cache.

With a ClickHouse DATABASE_URL (docs/clickhouse.md) the searches are read from the
ClickHouse store and everything else (sign-in, audit rows, alerts, tokens, the status
page's actions) goes to the control database: `engine(url)` is then that database.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st
from sqlalchemy import Engine

from config.settings import load_settings
from db import queries
from db.clickhouse import health as ch_health
from db.clickhouse.url import is_clickhouse_url
from db.engine import DatabaseSetupError, open_database
from db.queries import FilterOptions, IngestHealth, SearchFilters
from db.scope import TenantScope
from db.state import IngestStatus, read_status
from db.store import SearchStore, SqlStore
from db.stores import Stores, shared_stores

ENTRIES = 64


@st.cache_resource(show_spinner=False)
def clickhouse_stores(url: str) -> Stores | None:
    """The process's ClickHouse and control stores for `url`, or None on SQL backends (a
    failure is not cached: the next rerun tries again)."""
    if not is_clickhouse_url(url):
        return None
    settings = load_settings()
    if settings.effective_database_url != url:  # the caches are keyed by the settings' URL
        raise DatabaseSetupError("DATABASE_URL changed while the dashboard runs: restart it")
    return shared_stores(settings)


@st.cache_resource(show_spinner=False)
def engine(url: str) -> Engine:
    """One engine (and one schema upgrade) per database per server process: on ClickHouse
    the control database's."""
    stores = clickhouse_stores(url)
    return stores.control if stores is not None else open_database(url)


@st.cache_resource(show_spinner=False)
def store(url: str) -> SearchStore:
    """The reads of the pages' data, through the one interface every backend implements,
    so no page runs SQL that compiles for one dialect only: `SqlStore` over `engine`
    (SQLite, PostgreSQL, libSQL). The ingest's own state (runs, cursors) is read from the
    engine below. On ClickHouse, the `ClickHouseStore` the API shares."""
    stores = clickhouse_stores(url)
    return stores.search if stores is not None else SqlStore(engine(url))


def data_version(url: str) -> str:
    """Not cached: this is what tells the caches below that the data changed (it moves
    only when a poll stored rows, so a poll that stored nothing keeps every answer)."""
    return store(url).data_version()


def ingest_version(url: str) -> str:
    """Not cached: the key of the ingest's own state (runs, cursors), which every poll moves."""
    stores = clickhouse_stores(url)
    if stores is not None and stores.clickhouse is not None:
        return ch_health.ingest_version(stores.clickhouse.client, data_version(url))
    return queries.ingest_version(engine(url))


@st.cache_data(show_spinner=False, max_entries=ENTRIES)
def ingest_health(url: str, ingest_version: str, scope: TenantScope) -> IngestHealth:
    stores = clickhouse_stores(url)
    if stores is not None and stores.clickhouse is not None:
        return ch_health.ingest_health(stores.clickhouse.client, scope)
    return queries.ingest_health(engine(url), scope)


@st.cache_data(show_spinner=False, max_entries=ENTRIES)
def filter_options(url: str, version: str, scope: TenantScope) -> FilterOptions:
    return store(url).filter_options(scope)


@st.cache_data(show_spinner=False, max_entries=ENTRIES)
def activity(
    url: str, version: str, filters: SearchFilters, tz: str, hours: bool = True
) -> queries.Activity:
    """The summary and user pages' figures: two or three statements, not four or six."""
    return store(url).activity(filters, tz, hours=hours)


@st.cache_data(show_spinner=False, max_entries=ENTRIES)
def summary_by_user(url: str, version: str, filters: SearchFilters, tz: str) -> pd.DataFrame:
    return store(url).summary_by_user(filters, tz)


@st.cache_data(show_spinner=False, max_entries=ENTRIES)
def searches_per_day(url: str, version: str, filters: SearchFilters, tz: str) -> pd.DataFrame:
    return store(url).searches_per_day(filters, tz)


@st.cache_data(show_spinner=False, max_entries=ENTRIES)
def hour_weekday_counts(url: str, version: str, filters: SearchFilters, tz: str) -> pd.DataFrame:
    return store(url).hour_weekday_counts(filters, tz)


@st.cache_data(show_spinner=False, max_entries=ENTRIES)
def user_counts(url: str, version: str, filters: SearchFilters, tz: str) -> pd.DataFrame:
    return store(url).user_counts(filters, tz)


@st.cache_data(show_spinner=False, max_entries=ENTRIES)
def count_searches(url: str, version: str, filters: SearchFilters, tz: str) -> int:
    return store(url).count_searches(filters, tz)


@st.cache_data(show_spinner=False, max_entries=ENTRIES)
def search_page(
    url: str,
    version: str,
    filters: SearchFilters,
    tz: str,
    limit: int,
    offset: int,
    total: int | None = None,
) -> pd.DataFrame:
    return store(url).search_page(filters, tz, limit=limit, offset=offset, total=total)


@st.cache_data(show_spinner=False, max_entries=ENTRIES)
def searches_by_user(
    url: str, version: str, filters: SearchFilters, tz: str, per_user: int
) -> pd.DataFrame:
    return store(url).searches_by_user(filters, tz, per_user=per_user)


@st.cache_data(show_spinner=False, max_entries=ENTRIES)
def ingest_status(url: str, ingest_version: str, scope: TenantScope) -> IngestStatus:
    return read_status(engine(url), scope, runs=20, rejects=50)
