"""The stores a polling command writes: one SQL database, or ClickHouse for the searches
and the control database for the locks (`db.stores`), with each tenant's ingest view."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

from config.settings import Settings
from db.detect_reads import DetectionRow, DetectionSearches
from db.engine import DatabaseSetupError
from db.stores import Stores, open_stores
from ingest.commands.common import EXIT_CONFIG, UserError
from ingest.store import IngestStore, Store

SKIPPED_ON_CLICKHOUSE = (
    "on ClickHouse the sealing of complete days does not run yet and was skipped "
    "(docs/clickhouse.md)"
)


def open_ingest_stores(settings: Settings) -> Stores:
    """The stores, or a one-line UserError (exit 2) that hides every secret."""
    try:
        return open_stores(settings)
    except DatabaseSetupError as exc:
        raise UserError(str(exc), EXIT_CONFIG) from None


class IngestStores:
    """Each tenant's `ingest.store.Store` (or its ClickHouse twin) on `stores`."""

    def __init__(self, stores: Stores) -> None:
        self.stores = stores
        self._lock = threading.RLock()  # the tenants' threads share one ClickHouse client

    def for_tenant(self, tenant: str) -> IngestStore:
        clickhouse = self.stores.clickhouse
        if clickhouse is None:
            return Store(self.stores.control, tenant)
        from ingest.clickhouse_store import ClickHouseIngestStore  # loads pandas: on use only

        return ClickHouseIngestStore(clickhouse, self.stores.control, tenant, self._lock)

    def detection_searches(self) -> DetectionSearches | None:
        """What the run's detections read the searches from: None on SQL (the control
        engine holds them), on ClickHouse its store taking turns with the polls."""
        clickhouse = self.stores.clickhouse
        return None if clickhouse is None else LockedSearches(clickhouse, self._lock)


class LockedSearches:
    """A search store's detection reads, each under `lock`: the tenants' polling threads
    use the same ClickHouse client while the main thread scores."""

    def __init__(self, store: DetectionSearches, lock: threading.RLock) -> None:
        self._store, self._lock = store, lock

    def detection_searches(
        self,
        tenant: str,
        lower: datetime,
        upper: datetime,
        *,
        users: Sequence[str] | None = None,
        blank_text: bool = True,
        chunk_rows: int = 50_000,
    ) -> Iterator[list[DetectionRow]]:
        with self._lock:  # held while the stream is read (the detector reads it whole)
            yield from self._store.detection_searches(
                tenant, lower, upper, users=users, blank_text=blank_text, chunk_rows=chunk_rows
            )

    def detection_buckets(
        self, tenant: str, lower: datetime, upper: datetime, seconds: int, *, per_user: bool
    ) -> list[tuple[Any, ...]]:
        with self._lock:
            return self._store.detection_buckets(tenant, lower, upper, seconds, per_user=per_user)

    def detection_first_seen(self, tenant: str) -> dict[str, float]:
        with self._lock:
            return self._store.detection_first_seen(tenant)

    def detection_first_search(self, tenant: str) -> datetime | None:
        with self._lock:
            return self._store.detection_first_search(tenant)

    def read_cursor(self, tenant: str) -> datetime | None:
        with self._lock:
            return self._store.read_cursor(tenant)
