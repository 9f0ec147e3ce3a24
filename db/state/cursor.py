"""The ingest's cursor and backfill flag (the `kv` table), the stored names of run kinds,
and the cursor reset the CLI, the status page and the API share (with its audit event in
the same transaction)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, Engine

from db import audit
from db.locks import cycle_lock
from db.state.kv import forget_values, read_value, write_value

CURSOR_KEY = "last_polled_end_utc"
BACKFILL_DONE_KEY = "bootstrap_done"
"""The `kv` key of the backfill flag. The stored name predates the word "backfill"; it is
kept so existing databases need no migration (nobody sees it)."""

BACKFILL = "bootstrap"
"""`ingest_runs.kind` of a backfill run: the stored value predates the word "backfill" and
is kept (existing rows, scripts that query it); users see `RUN_KIND_NAMES[BACKFILL]`."""
DELTA = "delta"
RECONCILE = "reconcile"
RUN_KIND_NAMES = {BACKFILL: "backfill", DELTA: "delta", RECONCILE: "reconcile"}
"""The name users see for each stored run kind."""
POLL_KINDS = (BACKFILL, DELTA)
"""Runs that count as polls (a reconciliation sweep does not move the cursor)."""


def run_kind_name(kind: str) -> str:
    return RUN_KIND_NAMES.get(kind, kind)


def read_cursor(engine: Engine, tenant: str) -> datetime | None:
    """Everything of `tenant` up to this instant is stored; None before its first window
    commits."""
    with engine.connect() as conn:
        value = read_value(conn, tenant, CURSOR_KEY)
    return datetime.fromisoformat(value) if value else None


def read_backfill_done(engine: Engine, tenant: str) -> bool:
    with engine.connect() as conn:
        return read_value(conn, tenant, BACKFILL_DONE_KEY) == "1"


def write_cursor(
    conn: Connection, tenant: str, end: datetime, backfill_done: bool | None = None
) -> None:
    """Move `tenant`'s cursor to `end` in `conn`'s transaction (the one that stores its rows)."""
    write_value(conn, tenant, CURSOR_KEY, end.isoformat())
    if backfill_done is not None:
        write_value(conn, tenant, BACKFILL_DONE_KEY, "1" if backfill_done else "0")


def forget_cursor(conn: Connection, tenant: str) -> None:
    """Delete `tenant`'s cursor and backfill flag (the caller holds the cycle lock)."""
    forget_values(conn, tenant, [CURSOR_KEY, BACKFILL_DONE_KEY])


def reset_cursor(engine: Engine, tenant: str, *, audited: audit.AuditEntry | None = None) -> None:
    """Forget the cursor: the next run backfills again (rows are kept, never doubled).

    Takes the tenant's cycle lock, so a reset never lands inside its poll that would
    overwrite it; raises `db.locks.AlreadyRunning` while that poll writes. `audited`, the
    event of whoever asked for it, is written in the same transaction: if it cannot be
    written (a SQLAlchemyError), the cursor is kept.
    """
    with cycle_lock(engine, tenant), engine.begin() as conn:
        forget_cursor(conn, tenant)
        if audited is not None:
            audit.write(conn, audited)
