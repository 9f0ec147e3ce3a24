"""Lists of matching searches on ClickHouse (`db.raw_reads` there): a page by offset, the
newest per user, a stream of chunks for downloads, and keyset pages for the machine API.

Every list reads `search_logs FINAL` (keyset pages: one row per key, `LIMIT 1 BY`), so a
row stored twice (before a merge) is listed once. ClickHouse has no row id: a list is
ordered by (time, tenant, content key), newest first, a total order (a tenant holds a key
once); SQLite breaks a tie of times by row id instead, so rows with one timestamp may come
in another order, never other rows. A keyset listing is fixed to the rows stored when it
began by `ingested_at`, the time of the page write that stored a row (the SQL path uses
the highest row id).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pandas as pd

from db.clickhouse.reads import raw_where
from db.filters import SearchFilters
from db.raw_reads import SEARCH_COLUMNS
from db.scope import TenantScope
from db.sql import rows_frame
from db.timezones import as_local

_TIME = "DateTime64(6, 'UTC')"
_COLUMNS = "create_time, email_addr, source, search_text, search_reason, description"
_NEWEST_FIRST = "create_time DESC, tenant DESC, event_key DESC"


@dataclass(frozen=True)
class ClickHouseKeyset:
    """Where a keyset page starts on ClickHouse: after the search (`time`, `tenant`, `key`),
    among the rows stored by `snapshot` (`ingested_at <= snapshot`)."""

    snapshot: datetime
    time: datetime | None = None
    tenant: str | None = None
    key: str | None = None


def _utc(value: datetime) -> datetime:
    """chDB returns naive UTC times; the SQL path's are aware."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _listed(row: Sequence[Any]) -> tuple[Any, ...]:
    """A row as `db.raw_reads` lists it: SEARCH_COLUMNS, the time aware UTC."""
    return (_utc(row[0]), *row[1:6])


def _search_frame(rows: Sequence[tuple[Any, ...]], tz: str) -> pd.DataFrame:
    frame = rows_frame(rows, SEARCH_COLUMNS)
    frame["time"] = as_local(frame["time"], tz)
    return frame


def search_page(
    client: Any, filters: SearchFilters, tz: str, *, limit: int, offset: int = 0
) -> pd.DataFrame:
    """`db.raw_reads.search_page`: one page of matching searches, newest first. (The SQL
    path's read from the older end for a deep offset is a SQLite remedy: not needed here.)"""
    where, params = raw_where(filters, tz)
    rows = client.query(
        f"SELECT {_COLUMNS} FROM search_logs FINAL WHERE {where} ORDER BY {_NEWEST_FIRST}"
        " LIMIT {limit:UInt64} OFFSET {offset:UInt64}",
        parameters=params | {"limit": limit, "offset": offset},
    ).result_rows
    return _search_frame([_listed(row) for row in rows], tz)


def searches_by_user(
    client: Any, filters: SearchFilters, tz: str, *, per_user: int = 200
) -> pd.DataFrame:
    """`db.raw_reads.searches_by_user`: the newest `per_user` of each user (`LIMIT … BY`),
    ordered by user then newest first."""
    where, params = raw_where(filters, tz)
    rows = client.query(
        f"SELECT {_COLUMNS} FROM search_logs FINAL WHERE {where}"
        f" ORDER BY email_addr, {_NEWEST_FIRST} LIMIT {{per_user:UInt64}} BY email_addr",
        parameters=params | {"per_user": per_user},
    ).result_rows
    return _search_frame([_listed(row) for row in rows], tz)


def iter_searches(
    client: Any, filters: SearchFilters, tz: str, *, chunk_rows: int = 5_000
) -> Iterator[pd.DataFrame]:
    """`db.raw_reads.iter_searches`: every matching search, newest first, in chunks of
    `chunk_rows` streamed from one query (the CSV downloads)."""
    where, params = raw_where(filters, tz)
    pending: list[tuple[Any, ...]] = []
    sql = f"SELECT {_COLUMNS} FROM search_logs FINAL WHERE {where} ORDER BY {_NEWEST_FIRST}"
    with client.query_row_block_stream(sql, parameters=params) as blocks:
        for block in blocks:
            pending.extend(_listed(row) for row in block)
            while len(pending) >= chunk_rows:
                yield _search_frame(pending[:chunk_rows], tz)
                del pending[:chunk_rows]
    if pending:
        yield _search_frame(pending, tz)


def known_user(client: Any, scope: TenantScope, email: str) -> bool:
    """`db.raw_reads.known_user`: any search by `email` stored in `scope`, at any time."""
    where = ["email_addr = {email:String}"]
    params: dict[str, Any] = {"email": email}
    if scope.name is not None:
        where.append("tenant = {tenant:String}")
        params["tenant"] = scope.name
    rows = client.query(
        f"SELECT 1 FROM search_logs WHERE {' AND '.join(where)} LIMIT 1", parameters=params
    ).result_rows
    return bool(rows)


def newest_keyset(client: Any, scope: TenantScope) -> ClickHouseKeyset:
    """The first page's keyset: the newest write of `scope` now (its rows only, as the SQL
    path's `newest_search_id`: a cursor tells a tenant nothing of the others)."""
    where, params = ("tenant = {tenant:String}", {"tenant": scope.name})
    if scope.name is None:
        where, params = ("1", {})
    rows = client.query(
        f"SELECT max(ingested_at) FROM search_logs WHERE {where}", parameters=params
    ).result_rows
    return ClickHouseKeyset(_utc(rows[0][0]))


def search_keyset_rows(
    client: Any, filters: SearchFilters, tz: str, keyset: ClickHouseKeyset, *, limit: int
) -> tuple[list[tuple[Any, ...]], ClickHouseKeyset | None]:
    """`db.raw_reads.search_keyset_rows`: up to `limit` matching searches newest first after
    `keyset`, as tuples of SEARCH_COLUMNS (times aware UTC), and the next page's keyset
    (None after the last). Rows stored after the first page are not part of the listing."""
    where, params = raw_where(filters, tz)
    where += f" AND ingested_at <= {{snapshot:{_TIME}}}"
    params |= {"snapshot": keyset.snapshot, "limit": limit + 1}
    if keyset.time is not None:
        where += (
            f" AND (create_time, tenant, event_key)"
            f" < ({{after:{_TIME}}}, {{after_tenant:String}}, {{after_key:String}})"
        )
        params |= {"after": keyset.time, "after_tenant": keyset.tenant, "after_key": keyset.key}
    # Not FINAL: it keeps a key's newest copy and filters after, so a racing writer's
    # duplicate stored after the snapshot would hide a row the listing holds. The copies
    # of a key are alike but for the write, and sort together: one of each is kept.
    rows = client.query(
        f"SELECT {_COLUMNS}, tenant, event_key FROM search_logs WHERE {where}"
        f" ORDER BY {_NEWEST_FIRST} LIMIT 1 BY tenant, event_key LIMIT {{limit:UInt64}}",
        parameters=params,
    ).result_rows
    following = None
    if len(rows) > limit:
        rows = rows[:limit]
        last = rows[-1]
        following = ClickHouseKeyset(keyset.snapshot, _utc(last[0]), last[6], last[7])
    return [_listed(row) for row in rows], following
