"""Alembic on ClickHouse (chDB): the store's own migration chain (db/clickhouse/migrations)
goes up, down and up again; a store made before migrations (the tables `create_schema`
made, no `alembic_version`) is adopted with its rows; opening a store migrates it."""

from __future__ import annotations

from pathlib import Path

import clickhouse_connect

from db.clickhouse import migrate
from db.clickhouse.schema import SEARCH_TABLES
from db.clickhouse.store import ClickHouseStore
from tests.support.builders import KNOWN, WINDOW
from tests.support.clickhouse import keyed

SEARCH = {"search_logs", "rejected_records", "kv", "rollup_user_hour", "rollup_user_hour_mv"}
INGEST = {"ingest_runs", "filter_values"}
DAY = {"rollup_user_day", "rollup_user_day_mv"}


def _tables(url: str) -> set[str]:
    client = clickhouse_connect.get_client(dsn=url)
    try:
        return {row[0] for row in client.query("SHOW TABLES").result_rows} - {"alembic_version"}
    finally:
        client.close()


def test_the_clickhouse_migrations_go_up_down_and_up_again(tmp_path: Path) -> None:
    url = f"chdb://{tmp_path / 'clickhouse'}"
    assert migrate.current(url) is None
    migrate.upgrade(url)
    assert (migrate.current(url), _tables(url)) == (migrate.head(), SEARCH | INGEST)
    migrate.downgrade(url, "ch0001")
    assert (migrate.current(url), _tables(url)) == ("ch0001", SEARCH)
    migrate.downgrade(url, "base")
    assert (migrate.current(url), _tables(url)) == (None, set())
    migrate.upgrade(url)
    assert (migrate.current(url), _tables(url)) == (migrate.head(), SEARCH | INGEST)


def test_a_store_made_before_migrations_is_adopted_with_its_rows(tmp_path: Path) -> None:
    url = f"chdb://{tmp_path / 'clickhouse'}"
    old = clickhouse_connect.get_client(dsn=url)
    for statement in SEARCH_TABLES:  # what `create_schema` made before this revision
        old.command(statement)
    store = ClickHouseStore(old)
    store.write_page("acme", keyed(KNOWN), [], 1, WINDOW)
    store.close()

    with ClickHouseStore.open(url) as reopened:
        assert reopened.client.query("SELECT count() FROM search_logs").result_rows[0][0] == len(
            KNOWN
        )
        assert reopened.write_page("acme", keyed(KNOWN), [], 2, WINDOW).inserted == 0
    assert migrate.current(url) == migrate.head()
    assert _tables(url) == SEARCH | INGEST | DAY  # the per-day rollup: made on open
