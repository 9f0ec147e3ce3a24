"""What the detections read from the searches (`SearchStore.detection_searches`) is the
same on ClickHouse as on SQLite for the same records stored through each write path: two
tenants sharing a user and one search, hostile text, a racing writer's unmerged copies.

ClickHouse has no row id, so searches with one timestamp may come in another order than
SQLite's: rows are compared as the same rows in the same order of times."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from db.clickhouse.writer import event_rows
from db.engine import open_database
from db.models import EVENT_COLUMNS
from db.store import SearchStore, SqlStore
from tests.support.builders import WINDOW, record, store_records
from tests.support.clickhouse import chdb_store, keyed

SHARED = "a@example.com"
TIE = "2026-03-29T00:30:00"
IN_BOTH = record("2026-04-02T08:00:00", SHARED, searchText="both", searchReason="Case 9")
ACME = [
    *[
        record(f"2026-03-2{d}T0{h}:15:00", (SHARED, "b@example.com")[h % 2], searchText=f"a{d}{h}")
        for d in range(1, 8)
        for h in range(1, 6)
    ],
    record(TIE, SHARED, searchText="twin"),  # identical twins: two searches
    record(TIE, SHARED, searchText="twin"),
    record(TIE, SHARED, searchText="", searchReason=None),  # a blank text
    record("2026-04-01T09:00:00", SHARED, searchText="nul\x00inside [to: x@y.z]"),
    record("2026-04-01T09:00:01", SHARED, searchText="=cmd|' /C calc'!A0", searchReason="=1"),
    record("2026-04-01T09:00:02", SHARED, searchText="<script>alert(1)</script>"),
    record("2026-04-01T09:00:03", SHARED, searchText="x" * 100_000, searchReason=" "),
    IN_BOTH,
]
GLOBEX = [
    record(f"2026-03-2{d}T10:00:00", SHARED, searchText=f"globex {d}") for d in range(1, 8)
] + [record(TIE, "z@example.com", searchText="globex tie"), IN_BOTH]
DATA = {"acme": ACME, "globex": GLOBEX}
LOWER, UPPER = datetime(2026, 3, 20, tzinfo=UTC), datetime(2026, 4, 3, tzinfo=UTC)


@pytest.fixture(scope="module")
def stores(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[SearchStore, Any]]:
    """(SQLite's store, the ClickHouse store), each holding DATA via its write path, the
    ClickHouse one with every search stored twice (a replay and a racing writer's block)."""
    folder: Path = tmp_path_factory.mktemp("detect-reads")
    engine = open_database(f"sqlite:///{folder / 'oracle.db'}")
    for tenant, records in DATA.items():
        store_records(engine, records, tenant)
    with chdb_store(folder) as clickhouse:
        for tenant, records in DATA.items():
            clickhouse.write_page(tenant, keyed(records), [], 1, WINDOW)
            clickhouse.write_page(tenant, keyed(records), [], 2, WINDOW)  # a replay: nothing
            rows = event_rows(tenant, keyed(records), 9, datetime.now(UTC))
            token = {"insert_deduplication_token": f"racing-{tenant}"}
            clickhouse.client.insert(
                "search_logs", rows, column_names=list(EVENT_COLUMNS), settings=token
            )
        yield SqlStore(engine), clickhouse
    engine.dispose()


def _read(store: SearchStore, tenant: str, **kwargs: Any) -> list[tuple[Any, ...]]:
    chunks = list(store.detection_searches(tenant, LOWER, UPPER, chunk_rows=7, **kwargs))
    assert all(0 < len(chunk) <= 7 for chunk in chunks)
    return [row for chunk in chunks for row in chunk]


def _same(actual: list[tuple[Any, ...]], expected: list[tuple[Any, ...]]) -> None:
    """The same rows, times in the same order; rows with one time in any order."""
    assert [row[0] for row in actual] == [row[0] for row in expected]
    assert sorted(actual, key=repr) == sorted(expected, key=repr)


CASES = [
    pytest.param({}, id="every"),
    pytest.param({"blank_text": False}, id="without-blank-text"),
    pytest.param({"users": [SHARED]}, id="shared-user"),
    pytest.param({"users": []}, id="no-user"),
]


@pytest.mark.parametrize("tenant", ["acme", "globex"])
@pytest.mark.parametrize("kwargs", CASES)
def test_detection_searches_equal_sqlite(
    stores: tuple[SearchStore, Any], tenant: str, kwargs: dict[str, Any]
) -> None:
    sqlite, clickhouse = stores
    expected = _read(sqlite, tenant, **kwargs)
    _same(_read(clickhouse, tenant, **kwargs), expected)
    if kwargs.get("users") != []:
        assert expected, "the case reads searches"
    assert all(row[0].tzinfo is UTC and LOWER <= row[0] < UPPER for row in expected)


def test_detection_searches_keep_tenants_apart(stores: tuple[SearchStore, Any]) -> None:
    _, clickhouse = stores
    acme = _read(clickhouse, "acme", users=[SHARED])
    globex = _read(clickhouse, "globex", users=[SHARED])
    assert [row[2] for row in globex] == [f"globex {d}" for d in range(1, 8)] + ["both"]
    assert len(acme) == len([r for r in ACME if r["emailAddr"] == SHARED])
    assert sum(row[2] == "twin" for row in acme) == 2  # twins are two searches, once each
    assert sum(row[2] == "both" for row in acme + globex) == 2  # one key, a search each


def test_detection_searches_end_is_exclusive(stores: tuple[SearchStore, Any]) -> None:
    sqlite, clickhouse = stores
    upper = datetime(2026, 4, 1, 9, 0, 2, tzinfo=UTC)
    for store in (sqlite, clickhouse):
        rows = [
            r
            for c in store.detection_searches("acme", upper - timedelta(seconds=2), upper)
            for r in c
        ]
        texts = [row[2] for row in rows]  # the ingest stores a NUL as U+FFFD
        assert texts == ["nul\ufffdinside [to: x@y.z]", "=cmd|' /C calc'!A0"]


@pytest.mark.parametrize("tenant", ["acme", "globex"])
@pytest.mark.parametrize("seconds", [3600, 900])  # the rollups on SQL; raw rows (Kolkata)
@pytest.mark.parametrize("per_user", [True, False])
def test_detection_buckets_equal_sqlite(
    stores: tuple[SearchStore, Any], tenant: str, seconds: int, per_user: bool
) -> None:
    sqlite, clickhouse = stores
    expected, actual = (
        sorted(
            tuple(int(v) if not isinstance(v, str) else v for v in row)
            for row in store.detection_buckets(tenant, LOWER, UPPER, seconds, per_user=per_user)
        )
        for store in (sqlite, clickhouse)
    )
    assert actual == expected
    assert sum(row[-1] for row in expected) == len(DATA[tenant])  # every search once


@pytest.mark.parametrize("tenant", ["acme", "globex", "nobody"])
def test_detection_first_seen_and_first_search_equal_sqlite(
    stores: tuple[SearchStore, Any], tenant: str
) -> None:
    sqlite, clickhouse = stores
    assert clickhouse.detection_first_seen(tenant) == sqlite.detection_first_seen(tenant)
    first = sqlite.detection_first_search(tenant)
    assert clickhouse.detection_first_search(tenant) == first
    assert (first is None) == (tenant == "nobody")
