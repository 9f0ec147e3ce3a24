"""`db.store.SearchStore` keeps the same rules on every backend: SQLite, PostgreSQL
(through `SqlStore`) and ClickHouse on chDB. A replayed page stores nothing, tenants with a
shared user stay apart, and the cursor is per tenant."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from db.engine import open_database
from db.filters import SearchFilters
from db.scope import TenantScope
from db.store import SearchStore, SqlStore
from ingest.store import Store
from tests.support.backends import ALL_BACKENDS, database_name, fresh_database_url
from tests.support.builders import KNOWN, WINDOW, record
from tests.support.clickhouse import chdb_store, keyed

SHARED = record("2026-04-01T10:00:00", "a@example.com", searchText="same search")
YEAR = (date(2026, 1, 1), date(2026, 12, 31))


@pytest.fixture(params=[*ALL_BACKENDS, "chdb"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SearchStore]:
    if request.param == "chdb":
        with chdb_store(tmp_path) as clickhouse:
            yield clickhouse
        return
    url = fresh_database_url(request.param, tmp_path, database_name(request.node.nodeid))
    engine = open_database(url)
    yield SqlStore(engine)
    engine.dispose()


def _run(store: SearchStore, tenant: str) -> int:
    """A run id for `tenant`'s pages: the SQL tables keep runs; ClickHouse only the id."""
    if isinstance(store, SqlStore):
        return Store(store.engine, tenant).start_run("bootstrap", *WINDOW)
    return 1


def _searches(store: SearchStore, tenant: str) -> dict[str, int]:
    summary = store.summary_by_user(SearchFilters(TenantScope.one(tenant), *YEAR), "UTC")
    return {str(email): int(n) for email, n in summary.set_index("email")["searches"].items()}


def test_every_backend_stores_a_replayed_page_once(store: SearchStore) -> None:
    first = store.write_page("acme", keyed(KNOWN), [], _run(store, "acme"), WINDOW)
    again = store.write_page("acme", keyed(KNOWN), [], _run(store, "acme"), WINDOW)
    assert (first.inserted, first.duplicates) == (len(KNOWN), 0)
    assert (again.inserted, again.duplicates) == (0, len(KNOWN))
    assert sum(_searches(store, "acme").values()) == len(KNOWN)


def test_every_backend_keeps_tenants_apart(store: SearchStore) -> None:
    store.write_page("acme", keyed([*KNOWN, SHARED]), [], _run(store, "acme"), WINDOW)
    written = store.write_page("globex", keyed([SHARED]), [], _run(store, "globex"), WINDOW)
    assert written.inserted == 1
    assert _searches(store, "globex") == {"a@example.com": 1}
    assert _searches(store, "acme")["a@example.com"] == 4


def test_every_backend_keeps_a_cursor_per_tenant(store: SearchStore) -> None:
    first, later = datetime(2026, 5, 1, tzinfo=UTC), datetime(2026, 5, 2, tzinfo=UTC)
    store.advance_cursor("acme", first, backfill_done=False)
    store.advance_cursor("acme", later, backfill_done=True)
    store.advance_cursor("globex", first, backfill_done=None)
    assert (store.read_cursor("acme"), store.read_cursor("globex")) == (later, first)
    assert store.read_cursor("initech") is None
