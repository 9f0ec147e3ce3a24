"""What state the ingest is in: shared by `python -m ingest status` and the status page."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, desc, select, text

from db.engine import redact_url, sqlite_path
from db.models import IngestRun, RejectedRecord
from ingest.forward.status import forwarding_status
from ingest.store import Store

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


def _iso(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def _notes(raw: str | None) -> dict[str, Any] | None:
    """A run's notes (JSON written by `ingest.poller.RunNotes`), or None."""
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
    bounded after each checkpoint (`ingest.store.SQLITE_WRITER_PRAGMAS`), so a large one
    is not data that the database keeps."""
    path = sqlite_path(engine.url.render_as_string(hide_password=False))
    if path is None:
        return None
    return _file_bytes(path.with_name(path.name + "-wal"))


def collect_status(engine: Engine, *, runs: int = 10, rejects: int = 10) -> dict[str, Any]:
    """Cursor, bootstrap state, totals, recent runs, last ok/failed run, the last
    reconciliation sweep, recent rejects. Each run carries its `notes` (what it found
    beyond its counts) and `notes_text`, the same in one line."""
    store = Store(engine)
    with engine.connect() as conn:
        recent = (
            conn.execute(select(IngestRun).order_by(desc(IngestRun.id)).limit(runs))
            .mappings()
            .all()
        )
        last_ok = (
            conn.execute(
                select(IngestRun)
                .where(IngestRun.status == "ok")
                .order_by(desc(IngestRun.id))
                .limit(1)
            )
            .mappings()
            .first()
        )
        last_failed = (
            conn.execute(
                select(IngestRun)
                .where(IngestRun.status == "failed")
                .order_by(desc(IngestRun.id))
                .limit(1)
            )
            .mappings()
            .first()
        )
        last_reconcile = (
            conn.execute(
                select(IngestRun)
                .where(IngestRun.kind == "reconcile", IngestRun.status != "running")
                .order_by(desc(IngestRun.id))
                .limit(1)
            )
            .mappings()
            .first()
        )
        rejected = (
            conn.execute(
                select(
                    RejectedRecord.id,
                    RejectedRecord.rejected_at,
                    RejectedRecord.reason,
                    RejectedRecord.raw_json,
                )
                .order_by(desc(RejectedRecord.id))
                .limit(rejects)
            )
            .mappings()
            .all()
        )

    def run_dict(row: Any) -> dict[str, Any] | None:
        if row is None:
            return None
        run = {name: _iso(row[name]) for name in RUN_FIELDS}
        run["notes"] = _notes(row["notes"])
        run["notes_text"] = describe_notes(run["notes"])
        return run

    cursor = store.cursor()
    totals = {k: _iso(v) for k, v in store.totals().items()}
    return {
        "cursor": _iso(cursor),
        "bootstrap_done": store.bootstrap_done(),
        "totals": totals,
        "database": redact_url(engine.url),
        "database_bytes": database_size_bytes(engine),
        "wal_bytes": wal_size_bytes(engine),
        "last_ok_run": run_dict(last_ok),
        "last_failed_run": run_dict(last_failed),
        "last_reconcile": run_dict(last_reconcile),
        "recent_runs": [run_dict(row) for row in recent],
        "recent_rejects": [{k: _iso(v) for k, v in dict(row).items()} for row in rejected],
        "forwarding": forwarding_status(engine),
    }
