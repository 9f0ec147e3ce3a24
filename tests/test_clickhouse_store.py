"""The ClickHouse store's write path on chDB: idempotent without transactions (replays,
retried inserts, duplicate blocks), rollups equal to the raw rows, tenants apart, and the
cursor as state beside the data."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from db.clickhouse.store import ClickHouseStore
from db.clickhouse.writer import EVENT_COLUMNS, event_rows, insert_rows
from db.filters import SearchFilters
from db.scope import TenantScope
from ingest.records import EventKeyer, Rejection, parse_record
from tests.support.builders import KNOWN, WINDOW, record
from tests.support.clickhouse import chdb_store, keyed

NOW = datetime(2026, 11, 1, tzinfo=UTC)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[ClickHouseStore]:
    with chdb_store(tmp_path) as opened:
        yield opened


def _raw_count(store: ClickHouseStore, final: bool = False) -> int:
    table = "search_logs FINAL" if final else "search_logs"
    return int(store.client.query(f"SELECT count() FROM {table}").result_rows[0][0])


def _rows(tenant: str, events: list) -> list[list]:
    """Rows as `write_events` builds them (run 1, ingested at NOW)."""
    return event_rows(tenant, events, 1, NOW)


def _rollup_per_user(store: ClickHouseStore, tz: str = "UTC") -> dict[tuple[str, str], int]:
    """Searches per (tenant, user) as the dashboard reads them: from the rollup (from raw
    rows in a zone with a half-hour offset)."""
    counts: dict[tuple[str, str], int] = {}
    for tenant in ("acme", "globex"):
        filters = SearchFilters(TenantScope.one(tenant), date(2026, 1, 1), date(2026, 12, 31))
        summary = store.summary_by_user(filters, tz)
        searches = summary.set_index("email")["searches"]
        counts |= {(tenant, str(email)): int(n) for email, n in searches.items()}
    return counts


def _rollup_rows(store: ClickHouseStore) -> int:
    """Rows in the rollup table, merged or not: a block the view wrote twice shows here."""
    return int(store.client.query("SELECT count() FROM rollup_user_hour").result_rows[0][0])


def _raw_per_user(store: ClickHouseStore) -> dict[tuple[str, str], int]:
    rows = store.client.query(
        "SELECT tenant, email_addr, count() FROM search_logs FINAL GROUP BY tenant, email_addr"
    ).result_rows
    return {(tenant, email): int(n) for tenant, email, n in rows}


def test_replayed_page_stores_nothing_new(store: ClickHouseStore) -> None:
    events = keyed(KNOWN)
    first = store.write_page("acme", events, [], 1, WINDOW)
    again = store.write_page("acme", keyed(KNOWN), [], 2, WINDOW)
    assert (first.inserted, first.duplicates) == (len(KNOWN), 0)
    assert (again.inserted, again.duplicates) == (0, len(KNOWN))
    assert _raw_count(store) == len(KNOWN)  # not even a duplicate row waiting for a merge


def test_identical_twins_in_one_page_are_two_searches(store: ClickHouseStore) -> None:
    twin = record("2026-05-01T09:00:00", "a@example.com", searchText="same")
    written = store.write_page("acme", keyed([twin, twin]), [], 1, WINDOW)
    replay = store.write_page("acme", keyed([twin, twin]), [], 2, WINDOW)
    assert (written.inserted, replay.inserted, _raw_count(store)) == (2, 0, 2)


def test_retried_insert_with_the_same_dedup_token_is_dropped(store: ClickHouseStore) -> None:
    rows = _rows("acme", keyed(KNOWN))
    insert_rows(store.client, "search_logs", EVENT_COLUMNS, rows)
    rollup_rows = _rollup_rows(store)
    insert_rows(store.client, "search_logs", EVENT_COLUMNS, rows)  # the retry: same token
    assert _raw_count(store) == len(KNOWN)
    assert _rollup_rows(store) == rollup_rows  # the view's block was dropped with it
    assert sum(_rollup_per_user(store).values()) == len(KNOWN)


def test_rollups_equal_raw_rows_after_duplicate_inserts(store: ClickHouseStore) -> None:
    rows = _rows("acme", keyed(KNOWN))
    # the same rows in two other blocks (other tokens): what a writer killed between its
    # insert and its cursor and then racing a second writer could leave behind
    settings = {"insert_deduplication_token": "other-1"}
    store.client.insert("search_logs", rows, column_names=list(EVENT_COLUMNS), settings=settings)
    settings = {"insert_deduplication_token": "other-2"}
    store.client.insert(
        "search_logs", rows[:4], column_names=list(EVENT_COLUMNS), settings=settings
    )
    assert _raw_count(store) == len(KNOWN) + 4  # the duplicates are there, unmerged
    assert _rollup_rows(store) > len(_raw_per_user(store))  # and their rollup rows
    assert _rollup_per_user(store) == _raw_per_user(store)
    assert _rollup_per_user(store) == _rollup_per_user(store, "Asia/Kolkata")  # raw, FINAL
    assert sum(_rollup_per_user(store).values()) == len(KNOWN)


def test_two_tenants_are_kept_apart(store: ClickHouseStore) -> None:
    shared = record("2026-04-01T10:00:00", "a@example.com", searchText="same search")
    store.write_page("acme", keyed([*KNOWN, shared]), [], 1, WINDOW)
    written = store.write_page("globex", keyed([shared]), [], 1, WINDOW)
    assert written.inserted == 1  # the same search in another tenant is another row
    per_user = _rollup_per_user(store)
    assert per_user[("acme", "a@example.com")] == 4
    assert per_user[("globex", "a@example.com")] == 1
    assert [key for key in per_user if key[0] == "globex"] == [("globex", "a@example.com")]
    assert len(per_user) == 6  # acme's five users (the system sender too), globex's one


def test_cursor_is_per_tenant_and_the_newest_write_wins(store: ClickHouseStore) -> None:
    assert store.read_cursor("acme") is None
    first, later = datetime(2026, 5, 1, tzinfo=UTC), datetime(2026, 5, 2, tzinfo=UTC)
    store.advance_cursor("acme", first, backfill_done=False)
    store.advance_cursor("acme", later, backfill_done=True)
    store.advance_cursor("globex", first, backfill_done=None)
    assert store.read_cursor("acme") == later
    assert store.read_cursor("globex") == first
    assert store.read_cursor("initech") is None


def test_replayed_rejects_are_stored_once(store: ClickHouseStore) -> None:
    keyer = EventKeyer()
    bad = [parse_record({"emailAddr": "a@example.com"}), parse_record({"createTime": 5})]
    rejections = [(keyer.reject_key(r, ""), r) for r in bad if isinstance(r, Rejection)]
    first = store.write_page("acme", [], rejections, 1, WINDOW)
    again = store.write_page("acme", [], rejections, 2, WINDOW)
    other = store.write_page("globex", [], rejections, 1, WINDOW)
    assert (first.rejected, again.rejected, other.rejected) == (2, 0, 2)
    count = store.client.query("SELECT count() FROM rejected_records").result_rows[0][0]
    assert count == 4


def test_a_second_process_is_refused_the_chdb_folder_in_one_line(
    store: ClickHouseStore, tmp_path: Path
) -> None:
    folder = tmp_path / "clickhouse"  # the folder `store` holds open in this process
    opener = (
        "import sys\n"
        "from db.clickhouse.store import ClickHouseStore, StoreOpenError\n"
        "try:\n"
        f"    ClickHouseStore.open('chdb://{folder}')\n"
        "except StoreOpenError as exc:\n"
        "    sys.exit(str(exc))\n"
        "print('opened')\n"
    )
    result = subprocess.run(
        # The test tools' Python: the ClickHouse drivers are not in the runtime install
        # while the product refuses ClickHouse URLs (requirements-dev.txt, `.[clickhouse]`).
        [sys.executable, "-c", opener],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1 and "opened" not in result.stdout
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"cannot open the chDB folder {folder} (chDB serves one process")
    assert "Another server instance in same directory is already running" in lines[0]


def test_reopening_a_store_keeps_its_rows_and_its_keys(tmp_path: Path) -> None:
    with chdb_store(tmp_path) as first:
        first.write_page("acme", keyed(KNOWN), [], 1, WINDOW)
        first.advance_cursor("acme", NOW, backfill_done=True)
    with chdb_store(tmp_path) as reopened:  # the schema is created only where missing
        again = reopened.write_page("acme", keyed(KNOWN), [], 2, WINDOW)
        assert (again.inserted, _raw_count(reopened)) == (0, len(KNOWN))
        assert reopened.read_cursor("acme") == NOW
        assert sum(_rollup_per_user(reopened).values()) == len(KNOWN)
