"""Where the searches and the control records live, resolved once from the settings.

On SQLite, PostgreSQL and libSQL one database holds everything. With a ClickHouse
DATABASE_URL the searches (rows, rejects, rollups, cursor, run log, filter values) go to
ClickHouse, and what needs transactions — locks, alerts and their triage, the audit trail,
API tokens, forwarding cursors, seals, sign-in — stays in a SQL "control" database:
CONTROL_DATABASE_URL if set, else the SQLite file at DB_PATH (docs/clickhouse.md says why).

`open_stores(settings)` is the one entry: the ingest uses it today, the dashboard and API
can use it the same way (`stores.search` for the frames, `stores.control` for the rest).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine
from sqlalchemy.engine import URL

from config.settings import Settings
from db.clickhouse.url import is_clickhouse_url
from db.engine import DatabaseSetupError, open_database, redact_text, redact_url
from db.store import SearchStore, SqlStore

if TYPE_CHECKING:
    from db.clickhouse.store import ClickHouseStore

NO_DRIVERS = (
    "DATABASE_URL names a ClickHouse store, but its drivers are not installed: "
    "pip install '.[clickhouse]' (clickhouse-connect; chdb for chdb:/// folders)"
)


@dataclass
class Stores:
    """The searches' store and the control database (the same engine on SQL backends)."""

    search: SearchStore
    control: Engine
    search_shown: str
    """The searches' URL fit to show (password and secret parameters hidden)."""

    @property
    def clickhouse(self) -> ClickHouseStore | None:
        """The ClickHouse store, or None on SQL backends."""
        from db.clickhouse.store import ClickHouseStore  # no driver import (lazy inside)

        return self.search if isinstance(self.search, ClickHouseStore) else None

    def close(self) -> None:
        closer = getattr(self.search, "close", None)
        if closer is not None:
            closer()
        self.control.dispose()


def on_clickhouse(settings: Settings) -> bool:
    return is_clickhouse_url(settings.effective_database_url)


def control_url(settings: Settings) -> str:
    """The control database's URL: CONTROL_DATABASE_URL, else a SQLite URL for DB_PATH
    (with a SQL DATABASE_URL the control database is that one)."""
    if not on_clickhouse(settings):
        if settings.control_database_url:
            raise DatabaseSetupError(
                "CONTROL_DATABASE_URL is set but DATABASE_URL is not a ClickHouse store: "
                "unset CONTROL_DATABASE_URL (one SQL database holds everything)"
            )
        return settings.effective_database_url
    url = settings.control_database_url
    if url and is_clickhouse_url(url):
        raise DatabaseSetupError(
            "CONTROL_DATABASE_URL must name a SQL database (sqlite:/// or "
            "postgresql+psycopg://), not ClickHouse: it keeps what needs transactions"
        )
    if url:
        return url
    return URL.create("sqlite", database=settings.db_path).render_as_string(hide_password=False)


def open_control(settings: Settings) -> Engine:
    """The control database, its schema at the newest revision."""
    url = control_url(settings)
    try:
        return open_database(url)
    except DatabaseSetupError as exc:
        if settings.control_database_url and on_clickhouse(settings):
            raise DatabaseSetupError(f"CONTROL_DATABASE_URL: {exc}") from None
        raise


def open_search(url: str) -> ClickHouseStore:
    """The ClickHouse store at `url`, or DatabaseSetupError in one line (no password)."""
    try:
        from db.clickhouse.store import ClickHouseStore, StoreOpenError

        return ClickHouseStore.open(url)
    except ImportError:
        raise DatabaseSetupError(NO_DRIVERS) from None
    except StoreOpenError as exc:
        raise DatabaseSetupError(redact_text(str(exc), url)) from None


def open_stores(settings: Settings) -> Stores:
    """The searches' store and the control database for `settings`; DatabaseSetupError (one
    line, secrets hidden) if either cannot be opened. Close with `Stores.close`."""
    url = settings.effective_database_url
    if not is_clickhouse_url(url):
        control_url(settings)  # refuses a CONTROL_DATABASE_URL that nothing would use
        engine = open_database(url)
        return Stores(SqlStore(engine), engine, redact_url(engine.url))
    control = open_control(settings)
    try:
        search = open_search(url)
    except BaseException:
        control.dispose()
        raise
    return Stores(search, control, redact_url(url))


class SerialClient:
    """A ClickHouse client that serves one query at a time: the dashboard's sessions and the
    API's calls are threads of one process sharing one store, and neither clickhouse-connect's
    HTTP session nor chDB's connection takes concurrent queries."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self._lock = threading.RLock()

    def query(self, *args: Any, **kwargs: Any) -> Any:
        with self._lock:
            return self._client.query(*args, **kwargs)

    def command(self, *args: Any, **kwargs: Any) -> Any:
        with self._lock:
            return self._client.command(*args, **kwargs)

    def insert(self, *args: Any, **kwargs: Any) -> Any:
        with self._lock:
            return self._client.insert(*args, **kwargs)

    @contextmanager
    def query_row_block_stream(self, *args: Any, **kwargs: Any) -> Iterator[Any]:
        """The lock is held until the stream is closed (a CSV download reads it whole)."""
        with self._lock, self._client.query_row_block_stream(*args, **kwargs) as blocks:
            yield blocks

    def close(self) -> None:
        with self._lock:
            self._client.close()


_SHARED: dict[tuple[str, str], Stores] = {}
_SHARED_LOCK = threading.Lock()


def shared_stores(settings: Settings) -> Stores:
    """The process's one `Stores` for these settings' URLs, opened on first use: the
    dashboard's sessions and the API share it (a chDB folder opens once, in one process).
    A failure is not kept: the next call tries again."""
    key = (settings.effective_database_url, control_url(settings))
    with _SHARED_LOCK:
        stores = _SHARED.get(key)
        if stores is None:
            stores = open_stores(settings)
            clickhouse = stores.clickhouse
            if clickhouse is not None:
                clickhouse.client = SerialClient(clickhouse.client)
            _SHARED[key] = stores
        return stores
