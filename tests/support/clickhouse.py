"""ClickHouse stores for the tests: a fresh chDB folder per test (chDB locks its folder to
one process), and the same records as (key, event) pairs for any backend."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from db.clickhouse.store import ClickHouseStore
from ingest.records import EventKeyer, SearchEvent, parse_record


def keyed(records: list[dict[str, object]]) -> list[tuple[str, SearchEvent]]:
    """`records` keyed as the ingest keys one window (`EventKeyer`), all valid."""
    keyer = EventKeyer()
    events = [parse_record(record) for record in records]
    assert all(isinstance(event, SearchEvent) for event in events)
    return [(keyer.event_key(e), e) for e in events if isinstance(e, SearchEvent)]


@contextmanager
def chdb_store(folder: Path) -> Iterator[ClickHouseStore]:
    """A fresh, empty ClickHouse store on chDB in `folder`, with its schema; closed after."""
    store = ClickHouseStore.open(f"chdb://{folder / 'clickhouse'}")
    try:
        yield store
    finally:
        store.close()
