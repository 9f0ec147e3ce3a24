"""`search_targets` rows: written with each page of searches (in the page's transaction),
and for searches stored before targets existed (migration 0013, `ingest targets
--backfill`)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, select

from db.models import SearchLog, SearchTarget
from db.scope import TenantScope
from db.state import dialect_insert
from ingest.records import SearchEvent
from ingest.targets import parse_targets

BACKFILL_CHUNK = 5_000
"""Searches read per statement by `backfill` (their text, not a whole table, in memory)."""


def target_rows(
    tenant: str, searches: Iterable[tuple[str, datetime, str | None]]
) -> list[dict[str, Any]]:
    """The rows of `searches`, each `(event_key, create_time, search_text)`."""
    return [
        {
            "tenant": tenant,
            "event_key": key,
            "kind": target.kind,
            "field": target.field,
            "value": target.value,
            "create_time": create_time,
        }
        for key, create_time, text in searches
        for target in parse_targets(text)
    ]


def event_target_rows(tenant: str, events: list[tuple[str, SearchEvent]]) -> list[dict[str, Any]]:
    """The rows of one page's searches (as the page writer holds them)."""
    return target_rows(tenant, ((key, e.create_time, e.search_text) for key, e in events))


def insert_targets(conn: Connection, rows: list[dict[str, Any]]) -> int:
    """Insert rows not stored yet (a page read again adds nothing), in `conn`'s
    transaction: a search and its targets commit together or not at all."""
    if not rows:
        return 0
    statement = dialect_insert(conn, SearchTarget.__table__).on_conflict_do_nothing()
    return conn.execute(statement, rows).rowcount or 0


def backfill(conn: Connection, scope: TenantScope) -> int:
    """Parse the targets of every stored search of `scope` again, replacing what is stored
    (after the parser learns a form); returns the rows written. One transaction: `conn`'s."""
    conn.execute(delete(SearchTarget).where(scope.where(SearchTarget.tenant)))
    written, after = 0, 0
    columns = (SearchLog.id, SearchLog.tenant, SearchLog.event_key, SearchLog.create_time)
    while True:
        chunk = conn.execute(
            select(*columns, SearchLog.search_text)
            .where(scope.where(SearchLog.tenant), SearchLog.id > after)
            .order_by(SearchLog.id)
            .limit(BACKFILL_CHUNK)
        ).all()
        if not chunk:
            return written
        after = chunk[-1].id
        by_tenant: dict[str, list[tuple[str, datetime, str | None]]] = {}
        for row in chunk:
            if row.search_text:
                by_tenant.setdefault(row.tenant, []).append(
                    (row.event_key, row.create_time, row.search_text)
                )
        for tenant, searches in by_tenant.items():
            written += insert_targets(conn, target_rows(tenant, searches))
