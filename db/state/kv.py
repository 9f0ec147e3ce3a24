"""The `kv` table: the ingest's cursor and backfill flag and the detector's progress, one
text value per tenant and key. Only `db.state` reads and writes it; callers get typed values."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Connection, delete, select

from db.models import KeyValue, utc_now
from db.state.upsert import upsert


def read_value(conn: Connection, tenant: str, key: str) -> str | None:
    return conn.execute(
        select(KeyValue.value).where(KeyValue.tenant == tenant, KeyValue.key == key)
    ).scalar()


def write_value(conn: Connection, tenant: str, key: str, value: str) -> None:
    """Set `tenant`'s `key` in `conn`'s transaction (the one that stores what it covers)."""
    row = {"tenant": tenant, "key": key, "value": value, "updated_at": utc_now()}
    upsert(conn, KeyValue.__table__, row, ["tenant", "key"])


def forget_values(conn: Connection, tenant: str, keys: Iterable[str]) -> None:
    conn.execute(delete(KeyValue).where(KeyValue.tenant == tenant, KeyValue.key.in_(list(keys))))
