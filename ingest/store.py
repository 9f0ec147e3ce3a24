"""The ingest's view of the database: its runs, its cursor (kept by `db.state`), and its
pages (written by `ingest.page_writer.PageWriter`)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import Connection, Engine, func, select, update

from db.locks import write_gate
from db.models import IngestRun, SearchLog, utc_now
from db.scope import TenantScope
from db.state import (
    dialect_insert,
    forget_cursor,
    read_backfill_done,
    read_cursor,
    read_totals,
    write_cursor,
)
from ingest.page_writer import PageBatch, PageCounts, PageWriter
from ingest.records import storable_text

__all__ = ["IngestPageWriter", "IngestStore", "PageBatch", "PageCounts", "PageWriter", "Store"]


class Store:
    """The ingest's view of the database, for one tenant: every row it writes and every
    run, cursor and total it reads is that tenant's."""

    def __init__(self, engine: Engine, tenant: str) -> None:
        self.engine = engine
        self.tenant = tenant

    @contextmanager
    def _writing(self) -> Iterator[Connection]:
        """A write transaction, in turn with the other tenants' (`db.locks.write_gate`)."""
        with write_gate(self.engine), self.engine.begin() as conn:
            yield conn

    # --- cursor (kept by db.state) ----------------------------------------------------
    def cursor(self) -> datetime | None:
        return read_cursor(self.engine, self.tenant)

    def backfill_done(self) -> bool:
        return read_backfill_done(self.engine, self.tenant)

    def advance_cursor(self, end: datetime, *, backfill_done: bool | None = None) -> None:
        """Record that every row up to `end` is committed (call only after it is)."""
        with self._writing() as conn:
            write_cursor(conn, self.tenant, end, backfill_done)

    def reset_cursor(self) -> None:
        """Forget the cursor without the cycle lock (the caller holds it or the writer lock);
        elsewhere use `db.state.reset_cursor`, which takes it."""
        with self._writing() as conn:
            forget_cursor(conn, self.tenant)

    # --- runs --------------------------------------------------------------------------
    def start_run(self, kind: str, window_start: datetime, window_end: datetime) -> int:
        with self._writing() as conn:
            result = conn.execute(
                dialect_insert(conn, IngestRun.__table__)
                .values(
                    tenant=self.tenant,
                    kind=kind,
                    status="running",
                    started_at=utc_now(),
                    window_start=window_start,
                    window_end=window_end,
                    pages=0,
                    fetched=0,
                    inserted=0,
                    duplicates=0,
                    out_of_window=0,
                    rejected=0,
                    api_requests=0,
                )
                .returning(IngestRun.__table__.c.id)
            )
            return int(result.scalar_one())

    def finish_run(
        self,
        run_id: int,
        status: str,
        counts: PageCounts,
        api_requests: int,
        error: str | None = None,
        *,
        notes: str | None = None,
    ) -> None:
        with self._writing() as conn:
            conn.execute(
                update(IngestRun)
                .where(IngestRun.id == run_id)
                .values(
                    status=status,
                    finished_at=utc_now(),
                    api_requests=api_requests,
                    error=None if error is None else storable_text(error),
                    notes=None if notes is None else storable_text(notes),
                    **{name: getattr(counts, name) for name in PageCounts.__dataclass_fields__},
                )
            )

    def last_run_time(self, kind: str) -> datetime | None:
        """When the last successful run of `kind` (`RECONCILE`, `BACKFILL`, …) started."""
        with self.engine.connect() as conn:
            return conn.execute(
                select(func.max(IngestRun.started_at)).where(
                    IngestRun.tenant == self.tenant,
                    IngestRun.kind == kind,
                    IngestRun.status == "ok",
                )
            ).scalar()

    def close_abandoned_runs(self) -> int:
        """Mark the tenant's runs left 'running' by a killed process as failed (we hold the
        lock)."""
        with self._writing() as conn:
            result = conn.execute(
                update(IngestRun)
                .where(IngestRun.tenant == self.tenant, IngestRun.status == "running")
                .values(
                    status="failed",
                    finished_at=utc_now(),
                    error="the ingest process ended without finishing this run",
                )
            )
            return result.rowcount or 0

    # --- pages -------------------------------------------------------------------------
    def page_writer(self, run_id: int) -> PageWriter:
        """A transaction for pages of `run_id`; `commit` or `rollback` it."""
        return PageWriter(self.engine, self.tenant, run_id)

    def write_page(
        self,
        batch: PageBatch,
        run_id: int,
        window: tuple[datetime, datetime],
    ) -> PageCounts:
        """Store one page in one transaction; return what was new and what was known."""
        writer = self.page_writer(run_id)
        try:
            counts = writer.write_page(batch, window)
        except BaseException:
            writer.rollback()
            raise
        writer.commit()
        return counts

    # --- totals ------------------------------------------------------------------------
    def newest_before(self, moment: datetime) -> str:
        """The createTime (ISO) of the newest stored search before `moment`, or "" if none:
        the anchor of rejected records that end a window (see `sort_page`)."""
        with self.engine.connect() as conn:
            newest = conn.execute(
                select(func.max(SearchLog.create_time)).where(
                    SearchLog.tenant == self.tenant, SearchLog.create_time < moment
                )
            ).scalar()
        return newest.isoformat() if newest is not None else ""

    def totals(self) -> dict[str, Any]:
        """`db.state.read_totals` as a dict: search_logs, first_event, last_event,
        rejected_records."""
        return asdict(read_totals(self.engine, TenantScope.one(self.tenant)))


class IngestPageWriter(Protocol):
    """What the poller asks of a page writer (`PageWriter`; on ClickHouse
    `ingest.clickhouse_store.ClickHousePageWriter`)."""

    counts: PageCounts

    def write_page(self, batch: PageBatch, window: tuple[datetime, datetime]) -> PageCounts: ...

    def advance_cursor(self, end: datetime, *, backfill_done: bool | None = None) -> None: ...

    def commit(self) -> PageCounts: ...

    def rollback(self) -> None: ...


class IngestStore(Protocol):
    """What the poller asks of its store: `Store` on SQL, `ClickHouseIngestStore` on
    ClickHouse. `engine` is the SQL database where the cycle locks are taken."""

    engine: Engine
    tenant: str

    def cursor(self) -> datetime | None: ...

    def backfill_done(self) -> bool: ...

    def advance_cursor(self, end: datetime, *, backfill_done: bool | None = None) -> None: ...

    def start_run(self, kind: str, window_start: datetime, window_end: datetime) -> int: ...

    def finish_run(
        self,
        run_id: int,
        status: str,
        counts: PageCounts,
        api_requests: int,
        error: str | None = None,
        *,
        notes: str | None = None,
    ) -> None: ...

    def last_run_time(self, kind: str) -> datetime | None: ...

    def close_abandoned_runs(self) -> int: ...

    def page_writer(self, run_id: int) -> IngestPageWriter: ...

    def newest_before(self, moment: datetime) -> str: ...

    def totals(self) -> dict[str, Any]: ...
