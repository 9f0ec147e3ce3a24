"""What the pages read besides the frames, on ClickHouse: the sidebar's values
(`db.filters.filter_options`) and the data version that keys every cached answer
(`db.state.data_version`).

Both come from the tables the ingest already writes: the values from the hourly rollup (a
row per tenant, hour, user, source and search type: far fewer than the searches), the
version from the searches and rejects themselves, until the ingest keeps them in tables of
their own (docs/clickhouse.md).
"""

from __future__ import annotations

from typing import Any

from db.filters import FilterOptions
from db.scope import TenantScope

_KINDS = (("user", "email_addr"), ("source", "source"), ("description", "description"))


def filter_options(client: Any, scope: TenantScope) -> FilterOptions:
    """Distinct users, sources and search types of `scope`, sorted as bytes (SQLite's
    order); values the ingest stored NULL are not offered."""
    where, params = ("1", {})
    if scope.name is not None:
        where, params = ("tenant = {tenant:String}", {"tenant": scope.name})
    selects = " UNION ALL ".join(
        f"SELECT DISTINCT '{kind}' AS kind, assumeNotNull({column}) AS value"
        f" FROM rollup_user_hour WHERE {where} AND {column} IS NOT NULL"
        for kind, column in _KINDS
    )
    rows = client.query(
        f"SELECT kind, value FROM ({selects}) ORDER BY kind, value", parameters=params
    )
    by_kind: dict[str, list[str]] = {kind: [] for kind, _ in _KINDS}
    for kind, value in rows.result_rows:
        by_kind[kind].append(value)
    return FilterOptions(
        users=tuple(by_kind["user"]),
        sources=tuple(by_kind["source"]),
        descriptions=tuple(by_kind["description"]),
    )


def data_version(client: Any) -> str:
    """Changes when the ingest stores rows, and only then: a write stores only keys it did
    not hold (`db.clickhouse.writer`), so the row counts and the newest write time move
    together with the data. (A merge that drops a racing writer's duplicate moves it too:
    a cache emptied once, never a stale answer.)"""
    rows = client.query(
        "SELECT (SELECT count() FROM search_logs), (SELECT max(ingested_at) FROM search_logs),"
        " (SELECT count() FROM rejected_records), (SELECT max(rejected_at) FROM rejected_records)"
    ).result_rows
    return "|".join(str(value) for value in rows[0])
