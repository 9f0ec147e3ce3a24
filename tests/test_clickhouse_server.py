"""Opt-in: the ClickHouse store on a real server over HTTP(S), the one path CI cannot run
(no ClickHouse server installs here; chDB covers the rest). Set TEST_CLICKHOUSE_URL, e.g.
`clickhousedb://default:PASSWORD@localhost:8123/default`; each test makes its own database
and drops it."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from uuid import uuid4

import pandas as pd
import pytest
from sqlalchemy.engine import make_url

from db.clickhouse.store import ClickHouseStore, connect
from db.engine import open_database
from db.filters import SearchFilters
from db.scope import TenantScope
from db.store import SqlStore
from tests.support.builders import KNOWN, WINDOW, store_records
from tests.support.clickhouse import keyed

SKIP_REASON = "no ClickHouse server: set TEST_CLICKHOUSE_URL to run these"


@pytest.fixture
def server_store() -> Iterator[ClickHouseStore]:
    url = os.environ.get("TEST_CLICKHOUSE_URL")
    if not url:
        pytest.skip(SKIP_REASON)
    name = f"searchlogs_test_{uuid4().hex[:12]}"
    admin = connect(url)
    admin.command(f"CREATE DATABASE {name}")
    store = ClickHouseStore.open(make_url(url).set(database=name).render_as_string(False))
    try:
        yield store
    finally:
        store.close()
        admin.command(f"DROP DATABASE IF EXISTS {name}")
        admin.close()


def test_server_replayed_page_stores_nothing_new(server_store: ClickHouseStore) -> None:
    first = server_store.write_page("acme", keyed(KNOWN), [], 1, WINDOW)
    again = server_store.write_page("acme", keyed(KNOWN), [], 2, WINDOW)
    assert (first.inserted, again.inserted, again.duplicates) == (len(KNOWN), 0, len(KNOWN))
    count = server_store.client.query("SELECT count() FROM search_logs").result_rows[0][0]
    assert count == len(KNOWN)


@pytest.mark.parametrize("tz", ["UTC", "Europe/Berlin"])
def test_server_summary_equals_sqlite(
    server_store: ClickHouseStore, tmp_path: Path, tz: str
) -> None:
    engine = open_database(f"sqlite:///{tmp_path / 'oracle.db'}")
    store_records(engine, KNOWN, "acme")
    server_store.write_page("acme", keyed(KNOWN), [], 1, WINDOW)
    filters = SearchFilters(TenantScope.one("acme"), date(2026, 3, 1), date(2026, 10, 31))
    expected = SqlStore(engine).summary_by_user(filters, tz)
    pd.testing.assert_frame_equal(server_store.summary_by_user(filters, tz), expected)
    engine.dispose()
