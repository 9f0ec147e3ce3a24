"""Recognising a ClickHouse DATABASE_URL: `chdb:///path` (the engine in-process, one process
only) or `clickhousedb://user:password@host:8443/db` (a server, through clickhouse-connect)."""

from __future__ import annotations

CLICKHOUSE_SCHEMES = ("chdb", "clickhousedb", "clickhouse")

NOT_YET = (
    "DATABASE_URL names a ClickHouse store, on which only `python -m ingest run`, `run "
    "--once`, `status`, `detect`, `forward`, the dashboard and the API run yet: the other "
    "commands need "
    "sqlite:/// or postgresql+psycopg:// (see docs/clickhouse.md for what runs)"
)
"""The one-line refusal `db.engine.make_engine` gives for a ClickHouse URL: the ingest opens
one through `db.stores.open_stores` instead."""


def is_clickhouse_url(url: str) -> bool:
    scheme = url.split(":", 1)[0].split("+", 1)[0].strip().lower()
    return scheme in CLICKHOUSE_SCHEMES
