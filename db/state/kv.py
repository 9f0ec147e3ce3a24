"""The `kv` table: the ingest's cursor and backfill flag and the detector's progress, one
text value per key. Only `db.state` reads and writes it; callers get typed values."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Connection, delete, select

from db.models import KeyValue, utc_now
from db.state.upsert import upsert


def read_value(conn: Connection, key: str) -> str | None:
    return conn.execute(select(KeyValue.value).where(KeyValue.key == key)).scalar()


def write_value(conn: Connection, key: str, value: str) -> None:
    """Set `key` in `conn`'s transaction (the one that stores what the value covers)."""
    upsert(conn, KeyValue.__table__, {"key": key, "value": value, "updated_at": utc_now()}, ["key"])


def forget_values(conn: Connection, keys: Iterable[str]) -> None:
    conn.execute(delete(KeyValue).where(KeyValue.key.in_(list(keys))))
