"""`ClickHouseStore`: the `db.store.SearchStore` interface on ClickHouse, a server
(`clickhousedb://…`) or the engine in-process (`chdb:///path`, one process at a time)."""

from __future__ import annotations

import io
import logging
import os
import sys
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import pandas as pd

from db.aggregates import Activity
from db.clickhouse import catalog_reads, detect_reads, listing_reads, migrate, reads
from db.clickhouse.day_rollup import create_day_rollup
from db.clickhouse.listing_reads import ClickHouseKeyset
from db.clickhouse.writer import write_events, write_rejections
from db.detect_reads import DetectionRow
from db.engine import redact_text, redact_url
from db.filters import FilterOptions, SearchFilters
from db.scope import TenantScope
from db.state.cursor import BACKFILL_DONE_KEY, CURSOR_KEY
from db.store import ListingKeyset, Written

if TYPE_CHECKING:
    from ingest.records import Rejection, SearchEvent


def connect(url: str, database: str | None = None) -> Any:
    """A clickhouse-connect client for `url` (`chdb:///path` or `clickhousedb://…`), in
    `database` if given (else the URL's)."""
    import clickhouse_connect  # imported on use: the SQL backends never load it

    if url.startswith("clickhousedb"):  # SQLAlchemy's spelling; the driver reads any scheme
        url = "clickhouse" + url[url.index(":") :]
    if database is None:
        return clickhouse_connect.get_client(dsn=url)
    return clickhouse_connect.get_client(dsn=url, database=database)


class StoreOpenError(Exception):
    """The ClickHouse store cannot be opened; the message says why, in one line."""


def _open_failure(url: str, exc: Exception, said: str) -> StoreOpenError:
    """One line, secrets hidden. For chDB, the engine's own line (it writes the reason, such
    as a folder another process holds, to the process's stderr, not into the exception)."""
    lines = [line for line in said.splitlines() if "DB::Exception" in line]
    reason = lines[0] if lines else (str(exc).splitlines() or [type(exc).__name__])[0]
    reason = redact_text(reason, url)
    if url.startswith("chdb:"):
        return StoreOpenError(
            f"cannot open the chDB folder {url[len('chdb://') :]} (chDB serves one process "
            f"at a time): {reason}"
        )
    return StoreOpenError(f"cannot connect to ClickHouse at {redact_url(url)}: {reason}")


@contextmanager
def _engine_stderr(capture: bool) -> Iterator[io.StringIO]:
    """What the in-process engine writes to file descriptor 2 while it opens, captured: it
    is the reason of a failure (the caller writes it on to stderr after a success)."""
    said = io.StringIO()
    if not capture:
        yield said
        return
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as sink:
        os.dup2(sink.fileno(), 2)
        try:
            yield said
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            sink.seek(0)
            said.write(sink.read().decode(errors="replace"))


@contextmanager
def _quiet_drivers() -> Iterator[None]:
    """The drivers' own warnings (each retry of a refused connection) held back while the
    store opens: a failure is reported once, in one line, by the caller."""
    loggers = [logging.getLogger(name) for name in ("urllib3", "clickhouse_connect")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)


class ClickHouseStore:
    """The searches, rejects, cursor and rollup of every tenant in one ClickHouse database."""

    def __init__(self, client: Any) -> None:
        """A store on `client`, whose schema `open` (or `db.clickhouse.migrate`) made."""
        self.client = client
        create_day_rollup(client)  # the reads' per-day rollup (db.clickhouse.day_rollup)

    @classmethod
    def open(cls, url: str) -> ClickHouseStore:
        """The store at `url`, its schema migrated to the newest revision
        (`db.clickhouse.migrate`); StoreOpenError if it cannot be reached or opened."""
        from clickhouse_connect.driver.exceptions import Error
        from sqlalchemy.exc import SQLAlchemyError

        failure: Exception | None = None
        with _quiet_drivers(), _engine_stderr(url.startswith("chdb:")) as said:
            try:
                client = connect(url)
                migrate.upgrade(url)
                store = cls(client)
            except (Error, OSError, TypeError, ValueError, SQLAlchemyError) as exc:
                # TypeError: clickhouse-connect 1.12 with `?password=` in the URL as well
                failure = exc
        if failure is not None:
            raise _open_failure(url, failure, said.getvalue()) from None
        sys.stderr.write(said.getvalue())  # nothing hidden when it opened
        return store

    def write_page(
        self,
        tenant: str,
        events: Sequence[tuple[str, SearchEvent]],
        rejections: Sequence[tuple[str, Rejection]],
        run_id: int,
        window: tuple[datetime, datetime],
    ) -> Written:
        now = datetime.now(UTC)
        inserted = write_events(self.client, tenant, events, run_id, now)
        rejected = write_rejections(self.client, tenant, rejections, run_id, now, window)
        return Written(inserted, len(dict(events)) - inserted, rejected)

    # --- state: the newest write of a key wins (ReplacingMergeTree(updated_at), FINAL) --
    def _read_value(self, tenant: str, key: str) -> str | None:
        rows = self.client.query(
            "SELECT value FROM kv FINAL WHERE tenant = {tenant:String} AND key = {key:String}",
            parameters={"tenant": tenant, "key": key},
        ).result_rows
        return rows[0][0] if rows else None

    def _write_values(self, tenant: str, values: dict[str, str]) -> None:
        now = datetime.now(UTC)
        rows = [[tenant, key, value, now] for key, value in values.items()]
        self.client.insert("kv", rows, column_names=["tenant", "key", "value", "updated_at"])

    def read_cursor(self, tenant: str) -> datetime | None:
        value = self._read_value(tenant, CURSOR_KEY)
        return datetime.fromisoformat(value) if value else None

    def read_backfill_done(self, tenant: str) -> bool:
        return self._read_value(tenant, BACKFILL_DONE_KEY) == "1"

    def forget_cursor(self, tenant: str) -> None:
        """The cursor and backfill flag unset (a newer empty value wins over the old one)."""
        self._write_values(tenant, {CURSOR_KEY: "", BACKFILL_DONE_KEY: ""})

    def advance_cursor(self, tenant: str, end: datetime, *, backfill_done: bool | None) -> None:
        """After the rows: `write_page` returned, so they are durable (no transaction)."""
        values = {CURSOR_KEY: end.isoformat()}
        if backfill_done is not None:
            values[BACKFILL_DONE_KEY] = "1" if backfill_done else "0"
        self._write_values(tenant, values)

    # --- the dashboard's main frames ---------------------------------------------------
    def summary_by_user(self, filters: SearchFilters, tz: str) -> pd.DataFrame:
        return reads.summary_by_user(self.client, filters, tz)

    def searches_per_day(self, filters: SearchFilters, tz: str) -> pd.DataFrame:
        return reads.searches_per_day(self.client, filters, tz)

    def hour_weekday_counts(self, filters: SearchFilters, tz: str) -> pd.DataFrame:
        return reads.hour_weekday_counts(self.client, filters, tz)

    def close(self) -> None:
        self.client.close()

    def __enter__(self) -> ClickHouseStore:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # --- every other read of the pages and the API (`FINAL` or exact uniqExact states) ---
    def activity(self, filters: SearchFilters, tz: str, *, hours: bool = True) -> Activity:
        return reads.activity(self.client, filters, tz, hours=hours)

    def user_counts(self, filters: SearchFilters, tz: str) -> pd.DataFrame:
        return reads.user_counts(self.client, filters, tz)

    def count_searches(self, filters: SearchFilters, tz: str) -> int:
        return reads.count_searches(self.client, filters, tz)

    def search_page(
        self,
        filters: SearchFilters,
        tz: str,
        *,
        limit: int,
        offset: int = 0,
        total: int | None = None,
    ) -> pd.DataFrame:
        return listing_reads.search_page(self.client, filters, tz, limit=limit, offset=offset)

    def searches_by_user(
        self, filters: SearchFilters, tz: str, *, per_user: int = 200
    ) -> pd.DataFrame:
        return listing_reads.searches_by_user(self.client, filters, tz, per_user=per_user)

    def iter_searches(
        self, filters: SearchFilters, tz: str, *, chunk_rows: int = 5_000
    ) -> Iterator[pd.DataFrame]:
        return listing_reads.iter_searches(self.client, filters, tz, chunk_rows=chunk_rows)

    def filter_options(self, scope: TenantScope) -> FilterOptions:
        return catalog_reads.filter_options(self.client, scope)

    def data_version(self) -> str:
        return catalog_reads.data_version(self.client)

    def known_user(self, scope: TenantScope, email: str) -> bool:
        return listing_reads.known_user(self.client, scope, email)

    def newest_keyset(self, scope: TenantScope) -> ClickHouseKeyset:
        return listing_reads.newest_keyset(self.client, scope)

    def search_keyset_rows(
        self, filters: SearchFilters, tz: str, keyset: ListingKeyset, *, limit: int
    ) -> tuple[list[tuple[Any, ...]], ClickHouseKeyset | None]:
        if not isinstance(keyset, ClickHouseKeyset):
            raise TypeError(f"a ClickHouse listing pages with its own keyset, not {keyset!r}")
        return listing_reads.search_keyset_rows(self.client, filters, tz, keyset, limit=limit)

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
        return detect_reads.detection_searches(
            self.client,
            tenant,
            lower,
            upper,
            users=users,
            blank_text=blank_text,
            chunk_rows=chunk_rows,
        )

    def detection_buckets(
        self, tenant: str, lower: datetime, upper: datetime, seconds: int, *, per_user: bool
    ) -> list[tuple[Any, ...]]:
        return detect_reads.detection_buckets(
            self.client, tenant, lower, upper, seconds, per_user=per_user
        )

    def detection_first_seen(self, tenant: str) -> dict[str, float]:
        return detect_reads.detection_first_seen(self.client, tenant)

    def detection_first_search(self, tenant: str) -> datetime | None:
        return detect_reads.detection_first_search(self.client, tenant)
