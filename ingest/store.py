"""Idempotent writes of search logs, rejects, run records and the cursor.

Each page is written in one transaction with `INSERT … ON CONFLICT DO NOTHING RETURNING`,
so what was new and what was a duplicate is counted exactly. The cursor is written in a
transaction of its own, only after every page of its window has been committed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, delete, func, literal, select, union, update
from sqlalchemy.dialects import postgresql, sqlite

from db import rollups
from db.models import (
    FILTER_VALUE_COLUMNS,
    ROLLUP_USER_ALL,
    FilterValue,
    IngestRun,
    KeyValue,
    RejectedRecord,
    SearchLog,
    utc_now,
)
from ingest.records import Rejection, SearchEvent

CURSOR_KEY = "last_polled_end_utc"
BOOTSTRAP_KEY = "bootstrap_done"


@dataclass
class PageCounts:
    """What one page (or a whole run) fetched and did with it."""

    pages: int = 0
    fetched: int = 0
    inserted: int = 0
    duplicates: int = 0
    out_of_window: int = 0
    rejected: int = 0

    def add(self, other: PageCounts) -> None:
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(self, name) + getattr(other, name))


@dataclass
class PageBatch:
    """One page's records, sorted into what to store and what to reject."""

    events: list[tuple[str, SearchEvent]] = field(default_factory=list)
    rejections: list[tuple[str, Rejection]] = field(default_factory=list)
    fetched: int = 0
    out_of_window: int = 0


def _insert(conn: Connection, table: Any) -> Any:
    if conn.dialect.name == "postgresql":
        return postgresql.insert(table)
    if conn.dialect.name == "sqlite":
        return sqlite.insert(table)
    raise RuntimeError(f"unsupported database {conn.dialect.name}: use SQLite or PostgreSQL")


def _event_row(key: str, event: SearchEvent, run_id: int, now: datetime) -> dict[str, Any]:
    return {
        "event_key": key,
        "create_time": event.create_time,
        "email_addr": event.email_addr,
        "source": event.source,
        "search_text": event.search_text,
        "search_reason": event.search_reason,
        "description": event.description,
        "search_path": event.search_path,
        "muse_query": event.muse_query,
        "is_admin": event.is_admin,
        "raw_json": event.raw_json,
        "run_id": run_id,
        "ingested_at": now,
    }


def _insert_new(conn: Connection, table: Any, key_column: str, rows: Sequence[dict]) -> int:
    if not rows:
        return 0
    # executemany with RETURNING: one cached statement, batched by SQLAlchemy's
    # "insertmanyvalues", instead of compiling a new multi-VALUES statement per page.
    statement = (
        _insert(conn, table)
        .on_conflict_do_nothing(index_elements=[key_column])
        .returning(table.c[key_column])
    )
    return len(conn.execute(statement, list(rows)).all())


def _remember_filter_values(conn: Connection, events: list[tuple[str, SearchEvent]]) -> None:
    """Add this page's users, sources and search types to `filter_values` (same transaction)."""
    values = {("user", event.email_addr) for _key, event in events}
    values |= {("source", event.source) for _key, event in events if event.source is not None}
    values |= {
        ("description", event.description)
        for _key, event in events
        if event.description is not None
    }
    if values:
        statement = _insert(conn, FilterValue.__table__).on_conflict_do_nothing(
            index_elements=["kind", "value"]
        )
        conn.execute(statement, [{"kind": kind, "value": value} for kind, value in sorted(values)])


def rebuild_filter_values(engine: Engine) -> None:
    """Recompute `filter_values` from every stored search (for rows written around the
    ingest, such as the benchmark's generator)."""
    table = FilterValue.__table__
    with engine.begin() as conn:
        conn.execute(delete(FilterValue))
        selects = [
            select(literal(kind).label("kind"), SearchLog.__table__.c[column].label("value"))
            .where(SearchLog.__table__.c[column].is_not(None))
            .distinct()
            for kind, column in FILTER_VALUE_COLUMNS.items()
        ]
        conn.execute(table.insert().from_select(["kind", "value"], union(*selects)))


class Store:
    """The ingest's view of the database."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    # --- state -------------------------------------------------------------------------
    def _get(self, conn: Connection, key: str) -> str | None:
        return conn.execute(select(KeyValue.value).where(KeyValue.key == key)).scalar()

    def _set(self, conn: Connection, key: str, value: str) -> None:
        statement = _insert(conn, KeyValue.__table__).values(
            key=key, value=value, updated_at=utc_now()
        )
        conn.execute(
            statement.on_conflict_do_update(
                index_elements=["key"],
                set_={
                    "value": statement.excluded.value,
                    "updated_at": statement.excluded.updated_at,
                },
            )
        )

    def cursor(self) -> datetime | None:
        with self.engine.connect() as conn:
            value = self._get(conn, CURSOR_KEY)
        return datetime.fromisoformat(value) if value else None

    def bootstrap_done(self) -> bool:
        with self.engine.connect() as conn:
            return self._get(conn, BOOTSTRAP_KEY) == "1"

    def advance_cursor(self, end: datetime, *, bootstrap_done: bool | None = None) -> None:
        """Record that every row up to `end` is committed (call only after it is)."""
        with self.engine.begin() as conn:
            self._set(conn, CURSOR_KEY, end.isoformat())
            if bootstrap_done is not None:
                self._set(conn, BOOTSTRAP_KEY, "1" if bootstrap_done else "0")

    def reset_cursor(self) -> None:
        """Forget the cursor: the next run backfills again (rows are kept, never doubled)."""
        with self.engine.begin() as conn:
            conn.execute(delete(KeyValue).where(KeyValue.key.in_([CURSOR_KEY, BOOTSTRAP_KEY])))

    # --- runs --------------------------------------------------------------------------
    def start_run(self, kind: str, window_start: datetime, window_end: datetime) -> int:
        with self.engine.begin() as conn:
            result = conn.execute(
                _insert(conn, IngestRun.__table__)
                .values(
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
    ) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                update(IngestRun)
                .where(IngestRun.id == run_id)
                .values(
                    status=status,
                    finished_at=utc_now(),
                    api_requests=api_requests,
                    error=error,
                    **{name: getattr(counts, name) for name in PageCounts.__dataclass_fields__},
                )
            )

    def close_abandoned_runs(self) -> int:
        """Mark runs left 'running' by a killed process as failed (we hold the lock)."""
        with self.engine.begin() as conn:
            result = conn.execute(
                update(IngestRun)
                .where(IngestRun.status == "running")
                .values(
                    status="failed",
                    finished_at=utc_now(),
                    error="the ingest process ended without finishing this run",
                )
            )
            return result.rowcount or 0

    # --- pages -------------------------------------------------------------------------
    def write_page(
        self,
        batch: PageBatch,
        run_id: int,
        window: tuple[datetime, datetime],
    ) -> PageCounts:
        """Store one page in one transaction; return what was new and what was known."""
        now = utc_now()
        event_rows = [_event_row(key, event, run_id, now) for key, event in batch.events]
        reject_rows = [
            {
                "reject_key": key,
                "run_id": run_id,
                "rejected_at": now,
                "window_start": window[0],
                "window_end": window[1],
                "reason": rejection.reason,
                "raw_json": rejection.raw_json,
            }
            for key, rejection in batch.rejections
        ]
        with self.engine.begin() as conn:
            last_id = conn.execute(select(func.max(SearchLog.id))).scalar() or 0
            inserted = _insert_new(conn, SearchLog.__table__, "event_key", event_rows)
            if inserted:
                rollups.add_rows_after(conn, last_id)
            _insert_new(conn, RejectedRecord.__table__, "reject_key", reject_rows)
            _remember_filter_values(conn, batch.events)
        return PageCounts(
            pages=1,
            fetched=batch.fetched,
            inserted=inserted,
            duplicates=len(event_rows) - inserted,
            out_of_window=batch.out_of_window,
            rejected=len(reject_rows),
        )

    # --- totals ------------------------------------------------------------------------
    def totals(self) -> dict[str, Any]:
        """Searches stored, first and last: from the all-time rollup (kept in the same
        transactions as the rows), not a count of every row (1 s at 5M rows)."""
        everything = ROLLUP_USER_ALL
        with self.engine.connect() as conn:
            rows, first, last = conn.execute(
                select(
                    func.coalesce(func.sum(everything.c.searches), 0),
                    func.min(everything.c.first_time),
                    func.max(everything.c.last_time),
                )
            ).one()
            rejected = conn.execute(select(func.count()).select_from(RejectedRecord)).scalar()
        return {
            "search_logs": int(rows),
            "first_event": first,
            "last_event": last,
            "rejected_records": rejected,
        }
