"""What `python -m ingest status` and `/status` show: cursor, backfill flag, totals, sizes,
recent runs with their findings, the last sweep, recent rejects, as typed values."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, desc, func, select, text

from db.engine import redact_url, sqlite_path
from db.models import ROLLUP_USER_ALL, IngestRun, RejectedRecord
from db.scope import TenantScope
from db.state.cursor import RECONCILE, read_backfill_done, read_cursor

RUN_FIELDS = (
    "id",
    "kind",
    "status",
    "started_at",
    "finished_at",
    "window_start",
    "window_end",
    "pages",
    "fetched",
    "inserted",
    "duplicates",
    "out_of_window",
    "rejected",
    "api_requests",
    "error",
)


@dataclass(frozen=True)
class Run:
    """One ingest run (`RUN_FIELDS`), what it found beyond its counts (`notes`, JSON written
    by `ingest.poller.RunNotes`) and the same in one line (`notes_text`)."""

    id: int
    kind: str
    status: str
    started_at: datetime | None
    finished_at: datetime | None
    window_start: datetime | None
    window_end: datetime | None
    pages: int
    fetched: int
    inserted: int
    duplicates: int
    out_of_window: int
    rejected: int
    api_requests: int
    error: str | None
    notes: dict[str, Any] | None
    notes_text: str


@dataclass(frozen=True)
class Rejected:
    """A record the ingest could not store, exactly as received."""

    id: int
    rejected_at: datetime
    reason: str
    raw_json: str


@dataclass(frozen=True)
class Totals:
    """Searches stored (`search_logs`), the first and last of them, records rejected."""

    search_logs: int
    first_event: datetime | None
    last_event: datetime | None
    rejected_records: int


@dataclass(frozen=True)
class IngestStatus:
    """Cursor, backfill flag, totals, sizes, recent runs, the last ok and failed run, the
    last reconciliation sweep, recent rejects."""

    cursor: datetime | None
    backfill_done: bool
    totals: Totals
    database: str
    database_bytes: int | None
    wal_bytes: int | None
    last_ok_run: Run | None
    last_failed_run: Run | None
    last_reconcile: Run | None
    recent_runs: list[Run]
    recent_rejects: list[Rejected]


def parse_notes(raw: str | None) -> dict[str, Any] | None:
    if not raw:
        return None
    try:
        notes = json.loads(raw)
    except ValueError:
        return {"remark": raw}
    return notes if isinstance(notes, dict) else {"remark": raw}


def _count(number: int, noun: str, nouns: str | None = None) -> str:
    return f"{number:,} {noun if number == 1 else (nouns or noun + 's')}"


def describe_notes(notes: dict[str, Any] | None) -> str:
    """One line for what a run found beyond its counts ("" when nothing)."""
    if not notes:
        return ""
    parts = []
    late = notes.get("late") or []
    if late:
        found = sum(int(item.get("new", 0)) for item in late)
        parts.append(
            f"{_count(found, 'search', 'searches')} found late (reached the API later than "
            f"LOOKBACK_SECONDS) in {_count(len(late), 'window')}"
        )
    mismatches = notes.get("count_mismatches") or []
    if mismatches:
        first = mismatches[0]
        parts.append(
            f"served count and totalCount disagreed in {_count(len(mismatches), 'window')} "
            f"(first {first.get('start')} → {first.get('end')}: served {first.get('served')}, "
            f"totalCount {first.get('total_count')})"
        )
    rereads = notes.get("rereads") or []
    if rereads:
        parts.append(
            f"{_count(len(rereads), 'window')} read again because its pages shifted while read"
        )
    if notes.get("remark"):
        parts.append(str(notes["remark"]))
    return "; ".join(parts)


def _run(row: Any) -> Run | None:
    if row is None:
        return None
    notes = parse_notes(row["notes"])
    fields = {name: row[name] for name in RUN_FIELDS}
    return Run(**fields, notes=notes, notes_text=describe_notes(notes))


def read_totals(engine: Engine, scope: TenantScope) -> Totals:
    """Searches of `scope` stored, first and last: from the all-time rollup (kept in the
    same transactions as the rows), not a count of every row (1 s at 5M rows)."""
    everything = ROLLUP_USER_ALL
    with engine.connect() as conn:
        rows, first, last = conn.execute(
            select(
                func.coalesce(func.sum(everything.c.searches), 0),
                func.min(everything.c.first_time),
                func.max(everything.c.last_time),
            ).where(scope.where(everything.c.tenant))
        ).one()
        rejected = conn.execute(
            select(func.count())
            .select_from(RejectedRecord)
            .where(scope.where(RejectedRecord.tenant))
        ).scalar()
    return Totals(int(rows), first, last, int(rejected or 0))


def _file_bytes(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def database_size_bytes(engine: Engine) -> int | None:
    """Bytes on disk of the database itself: the SQLite file (its WAL apart, see
    `wal_size_bytes`), PostgreSQL's own figure otherwise."""
    path = sqlite_path(engine.url.render_as_string(hide_password=False))
    if path is not None:
        return _file_bytes(path)
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            return conn.execute(text("SELECT pg_database_size(current_database())")).scalar()
    return None


def wal_size_bytes(engine: Engine) -> int | None:
    """Bytes of a SQLite database's write-ahead log (`…-wal`), None for other databases.

    Shown apart from the database: the WAL holds pages not yet copied back and is
    bounded after each checkpoint (`ingest.page_writer.SQLITE_WRITER_PRAGMAS`), so a large
    one is not data that the database keeps."""
    path = sqlite_path(engine.url.render_as_string(hide_password=False))
    if path is None:
        return None
    return _file_bytes(path.with_name(path.name + "-wal"))


def read_status(
    engine: Engine, scope: TenantScope, *, runs: int = 10, rejects: int = 10
) -> IngestStatus:
    """The ingest's state for `python -m ingest status` and `/status`, inside `scope` (the
    cursor and backfill flag are one tenant's: unset in the every-tenant scope)."""
    mine = scope.where(IngestRun.tenant)
    with engine.connect() as conn:

        def newest(*where: Any) -> Any:
            statement = select(IngestRun).where(mine, *where).order_by(desc(IngestRun.id)).limit(1)
            return conn.execute(statement).mappings().first()

        recent = (
            conn.execute(select(IngestRun).where(mine).order_by(desc(IngestRun.id)).limit(runs))
            .mappings()
            .all()
        )
        last_ok = newest(IngestRun.status == "ok")
        last_failed = newest(IngestRun.status == "failed")
        last_reconcile = newest(IngestRun.kind == RECONCILE, IngestRun.status != "running")
        rejected = conn.execute(
            select(
                RejectedRecord.id,
                RejectedRecord.rejected_at,
                RejectedRecord.reason,
                RejectedRecord.raw_json,
            )
            .where(scope.where(RejectedRecord.tenant))
            .order_by(desc(RejectedRecord.id))
            .limit(rejects)
        ).all()
    return IngestStatus(
        cursor=None if scope.name is None else read_cursor(engine, scope.name),
        backfill_done=scope.name is not None and read_backfill_done(engine, scope.name),
        totals=read_totals(engine, scope),
        database=redact_url(engine.url),
        database_bytes=database_size_bytes(engine),
        wal_bytes=wal_size_bytes(engine),
        last_ok_run=_run(last_ok),
        last_failed_run=_run(last_failed),
        last_reconcile=_run(last_reconcile),
        recent_runs=[run for run in map(_run, recent) if run is not None],
        recent_rejects=[Rejected(*row) for row in rejected],
    )
