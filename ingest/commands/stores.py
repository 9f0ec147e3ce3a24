"""The stores a polling command writes: one SQL database, or ClickHouse for the searches
and the control database for the locks (`db.stores`), with each tenant's ingest view."""

from __future__ import annotations

import threading

from config.settings import Settings
from db.engine import DatabaseSetupError
from db.stores import Stores, open_stores
from ingest.commands.common import EXIT_CONFIG, UserError
from ingest.store import IngestStore, Store

SKIPPED_ON_CLICKHOUSE = (
    "on ClickHouse the ingest stores the searches only: sealing, detections and forwarding "
    "do not run on it yet and were skipped (docs/clickhouse.md)"
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
