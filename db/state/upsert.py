"""The one upsert: INSERT … ON CONFLICT DO UPDATE on SQLite and PostgreSQL, in the caller's
transaction. Every state write goes through it, so a tenant (issue 16) joins the key in one
place."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, Table
from sqlalchemy.dialects import postgresql, sqlite


def dialect_insert(conn: Connection, table: Any) -> Any:
    """An INSERT that knows ON CONFLICT, for the database `conn` talks to."""
    if conn.dialect.name == "postgresql":
        return postgresql.insert(table)
    if conn.dialect.name == "sqlite":
        return sqlite.insert(table)
    raise RuntimeError(f"unsupported database {conn.dialect.name}: use SQLite or PostgreSQL")


def upsert(conn: Connection, table: Table, values: Mapping[str, Any], key: Sequence[str]) -> None:
    """Write one row keyed by the `key` columns: inserted the first time, its other columns
    replaced after. Runs in `conn`'s transaction: rolled back with it."""
    statement = dialect_insert(conn, table).values(dict(values))
    changed = {name: statement.excluded[name] for name in values if name not in key}
    conn.execute(statement.on_conflict_do_update(index_elements=list(key), set_=changed))
