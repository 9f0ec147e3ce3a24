"""Idempotent writes of one or more pages in one transaction.

Pages are written with `INSERT … ON CONFLICT DO NOTHING`, the drivers counting the rows
actually inserted, so what was new and what was a duplicate is counted exactly. A
`PageWriter` holds one transaction for one or more pages and, at a window's end, the
cursor: rows and cursor commit together or not at all.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from functools import cache
from typing import Any

from sqlalchemy import Connection, Engine, delete, func, literal, select, union
from sqlalchemy.engine import Dialect

from db import rollups
from db.locks import write_gate
from db.models import (
    EVENT_COLUMNS,
    FILTER_VALUE_COLUMNS,
    REJECT_COLUMNS,
    FilterValue,
    SearchLog,
    text_key,
    utc_now,
)
from db.state import dialect_insert, write_cursor
from db.target_rows import insert_targets, target_rows
from ingest.records import Rejection, SearchEvent, storable_text


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
    pages: int = 1  # 0 for the rejected records held back to a window's end


# The ingest's own SQLite connection (the dashboard's keep SQLite's defaults). Every new row
# lands on a random page of the event_key index: a page cache that holds most of it saves a
# read per row, and checkpointing the WAL every ~100 MB instead of every 4 MB copies a page
# the rows touch again and again to the database file once, not once per commit. The WAL
# file is reused, not shrunk, after a checkpoint; the CLI empties it after each cycle
# (`db.engine.truncate_wal`, it was seen at 105 MB beside a 10 MB database), and
# `journal_size_limit` cuts it back to 128 MiB whenever it restarts after growing past that
# (a reader holding a snapshot can hold checkpoints back). The limit is above the ~98 MiB
# the autocheckpoint lets it reach: a lower one (16 MiB) cost 20 % more CPU per write, the
# file being cut and grown again after every checkpoint.
SQLITE_WRITER_PRAGMAS = (
    "PRAGMA cache_size = -65536",
    "PRAGMA wal_autocheckpoint = 25000",
    "PRAGMA journal_size_limit = 134217728",
)


@cache
def _insert_sql(paramstyle: str, table: str, columns: tuple) -> str:
    """`INSERT … VALUES (…) ON CONFLICT (tenant, key) DO NOTHING` in the driver's own
    parameter style, written once: no SQL compilation per page. The key is the first two
    columns: the tenant and the record's key, so two tenants' identical records never
    collapse."""
    mark = "?" if paramstyle == "qmark" else "%s"
    return (
        f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join([mark] * len(columns))}) "
        f"ON CONFLICT ({columns[0]}, {columns[1]}) DO NOTHING"
    )


def _insert_new(conn: Connection, table: str, columns: tuple, rows: Sequence[tuple]) -> int:
    """Insert rows (tuples in `columns` order, already bound) whose key (the first two
    columns) is new; returns how many were. One driver executemany per page: sqlite3 steps one
    prepared statement, psycopg pipelines it (2.4x the rows/s of a 100-row VALUES list on
    PostgreSQL). Both drivers sum the rows each execution inserted, and a row skipped by
    ON CONFLICT counts 0, so the count is exact."""
    if not rows:
        return 0
    sql = _insert_sql(conn.dialect.paramstyle, table, columns)
    return conn.exec_driver_sql(sql, list(rows)).rowcount


@dataclass(frozen=True)
class _Binders:
    """The columns' own bind conversions for one database (UtcDateTime, Boolean), applied
    by hand because the statement goes straight to the driver."""

    time: Callable[[Any], Any]
    boolean: Callable[[Any], Any]


@cache
def _binders(dialect: Dialect) -> _Binders:
    columns = SearchLog.__table__.c

    def binder(column: Any) -> Callable[[Any], Any]:
        # dialect_impl: SQLite's own DATETIME text form, which every query compares against
        return column.type.dialect_impl(dialect).bind_processor(dialect) or _unchanged

    time = binder(columns.create_time)
    if all(_sqlite_text(moment) == time(moment) for moment in _TIME_SAMPLES):
        time = _sqlite_text  # the very text SQLAlchemy binds on SQLite, at half the cost
    return _Binders(time=time, boolean=binder(columns.is_admin))


def _unchanged(value: Any) -> Any:
    return value


def _sqlite_text(moment: datetime) -> str:
    """An aware datetime as SQLite's DATETIME text in UTC, `2026-11-12 16:22:16.000000`."""
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")


_TIME_SAMPLES = (
    datetime(2026, 11, 12, 16, 22, 16, tzinfo=UTC),
    datetime(1, 1, 1, 0, 0, 0, 1, tzinfo=UTC),
    datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
    datetime(2026, 3, 29, 1, 30, tzinfo=timezone(timedelta(hours=2))),
)


def _event_rows(
    conn: Connection,
    tenant: str,
    events: list[tuple[str, SearchEvent]],
    run_id: int,
    now: datetime,
) -> list[tuple]:
    bind = _binders(conn.dialect)
    time, boolean, ingested_at = bind.time, bind.boolean, bind.time(now)
    return [
        (
            tenant,
            key,
            time(event.create_time),
            event.email_addr,
            event.source,
            event.search_text,
            event.search_reason,
            event.description,
            event.search_path,
            event.muse_query,
            boolean(event.is_admin),
            event.raw_json,
            run_id,
            ingested_at,
        )
        for key, event in events
    ]


def _reject_rows(
    conn: Connection,
    tenant: str,
    rejections: list[tuple[str, Rejection]],
    run_id: int,
    now: datetime,
    window: tuple[datetime, datetime],
) -> list[tuple]:
    time = _binders(conn.dialect).time
    rejected_at, start, end = time(now), time(window[0]), time(window[1])
    return [
        (
            tenant,
            key,
            run_id,
            rejected_at,
            start,
            end,
            storable_text(rejection.reason),
            rejection.raw_json,
        )
        for key, rejection in rejections
    ]


def _filter_values(events: list[tuple[str, SearchEvent]]) -> set[tuple[str, str]]:
    """A page's users, sources and search types, as `filter_values` rows."""
    values = {("user", event.email_addr) for _key, event in events}
    values |= {("source", event.source) for _key, event in events if event.source is not None}
    values |= {
        ("description", event.description)
        for _key, event in events
        if event.description is not None
    }
    return values


def _remember_filter_values(conn: Connection, tenant: str, values: set[tuple[str, str]]) -> None:
    """Add `tenant`'s users, sources and search types to `filter_values` (in the rows'
    transaction)."""
    if values:
        table = FilterValue.__table__
        statement = dialect_insert(conn, table).on_conflict_do_nothing(
            index_elements=[table.c.tenant, table.c.kind, text_key(table.c.value)]
        )
        conn.execute(
            statement,
            [{"tenant": tenant, "kind": kind, "value": value} for kind, value in sorted(values)],
        )


class PageWriter:
    """Pages written in one transaction, and the cursor of a window they complete.

    Why: on SQLite a commit costs more than a page's rows (every index page the rows touched
    is written to the WAL, then checkpointed with an fsync), and pages sharing a commit share
    those writes. Counts are the caller's only once `commit` returns; a failure or a kill
    rolls back every page and the cursor together, so the cursor is never ahead of its rows.
    What is kept per transaction (rollups, filter values) is added once, just before commit.
    """

    def __init__(self, engine: Engine, tenant: str, run_id: int) -> None:
        self.tenant = tenant
        self.run_id = run_id
        self.counts = PageCounts()
        # Held from begin to commit or rollback: the tenants polled at once write in turn
        # (see `db.locks.write_gate`; the rollups count the rows above `_before`).
        self._gate = write_gate(engine)
        self._gate.acquire()
        try:
            self._conn = engine.connect()
            self._transaction = self._conn.begin()
            if self._conn.dialect.name == "sqlite":
                for pragma in SQLITE_WRITER_PRAGMAS:
                    self._conn.exec_driver_sql(pragma)
        except BaseException:
            self._gate.release()
            raise
        self._before: int | None = None  # the largest search_logs id before this transaction
        self._values: set[tuple[str, str]] = set()
        self._closed = False

    def write_page(self, batch: PageBatch, window: tuple[datetime, datetime]) -> PageCounts:
        """Insert one page's new rows and rejects; what was new and what was known."""
        conn, now = self._conn, utc_now()
        if self._before is None:
            self._before = conn.execute(select(func.max(SearchLog.id))).scalar() or 0
        event_rows = _event_rows(conn, self.tenant, batch.events, self.run_id, now)
        inserted = _insert_new(conn, "search_logs", EVENT_COLUMNS, event_rows)
        if inserted:  # what each search targeted, with it (a page read again adds nothing)
            insert_targets(
                conn,
                target_rows(
                    self.tenant, ((key, e.create_time, e.search_text) for key, e in batch.events)
                ),
            )
        reject_rows = _reject_rows(conn, self.tenant, batch.rejections, self.run_id, now, window)
        _insert_new(conn, "rejected_records", REJECT_COLUMNS, reject_rows)
        self._values |= _filter_values(batch.events)
        counts = PageCounts(
            pages=batch.pages,
            fetched=batch.fetched,
            inserted=inserted,
            duplicates=len(event_rows) - inserted,
            out_of_window=batch.out_of_window,
            rejected=len(reject_rows),
        )
        self.counts.add(counts)
        return counts

    def advance_cursor(self, end: datetime, *, backfill_done: bool | None = None) -> None:
        """Move the cursor to `end` in this transaction: it commits with the window's rows."""
        write_cursor(self._conn, self.tenant, end, backfill_done)

    def commit(self) -> PageCounts:
        """Count the new rows into the rollups, remember filter values, commit."""
        try:
            if self.counts.inserted and self._before is not None:
                rollups.add_rows_after(self._conn, self._before)
            _remember_filter_values(self._conn, self.tenant, self._values)
            self._transaction.commit()
        finally:
            self._close()
        return self.counts

    def rollback(self) -> None:
        """Forget every page of this transaction (the connection rolls back on close)."""
        self._close()

    def _close(self) -> None:
        """Once only: a commit that failed (a full disk) has closed already when the
        caller rolls back, and the gate must not be released twice."""
        if self._closed:
            return
        self._closed = True
        try:
            self._conn.close()
        finally:
            self._gate.release()


def rebuild_filter_values(engine: Engine) -> None:
    """Recompute `filter_values` from every stored search, each tenant's apart (for rows
    written around the ingest, such as the benchmark's generator)."""
    table = FilterValue.__table__
    searches = SearchLog.__table__.c
    with engine.begin() as conn:
        conn.execute(delete(FilterValue))
        selects = [
            select(
                searches.tenant,
                literal(kind).label("kind"),
                searches[column].label("value"),
            )
            .where(searches[column].is_not(None))
            .distinct()
            for kind, column in FILTER_VALUE_COLUMNS.items()
        ]
        conn.execute(table.insert().from_select(["tenant", "kind", "value"], union(*selects)))
