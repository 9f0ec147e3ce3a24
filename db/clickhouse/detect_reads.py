"""`db.detect_reads` on ClickHouse: a tenant's searches in a time range, oldest first, one
row per search. Read with `LIMIT 1 BY tenant, event_key`, not `FINAL`, as the keyset
listing does (`listing_reads`): a racing writer's copy of a row, unmerged, is the same
search and must be read once; the copies are alike, so either one will do."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

from db.detect_reads import DetectionRow, aware

_TIME = "DateTime64(6, 'UTC')"


def detection_searches(
    client: Any,
    tenant: str,
    lower: datetime,
    upper: datetime,
    *,
    users: Sequence[str] | None = None,
    blank_text: bool = True,
    chunk_rows: int = 50_000,
) -> Iterator[list[DetectionRow]]:
    """`db.detect_reads.detection_searches` on ClickHouse (ties of time ordered by key)."""
    if users is not None and not users:
        return
    where = [
        "tenant = {tenant:String}",
        f"create_time >= {{lower:{_TIME}}}",
        f"create_time < {{upper:{_TIME}}}",
    ]
    params: dict[str, Any] = {"tenant": tenant, "lower": lower, "upper": upper}
    if not blank_text:  # SQL's `search_text != ''`: a missing text is left out too
        where.append("search_text != ''")
    if users is not None:
        where.append("email_addr IN {users:Array(String)}")
        params["users"] = sorted(users)
    sql = (
        "SELECT create_time, email_addr, search_text, search_reason FROM search_logs"
        f" WHERE {' AND '.join(where)}"
        " ORDER BY create_time, event_key LIMIT 1 BY tenant, event_key"
    )
    pending: list[DetectionRow] = []
    with client.query_row_block_stream(sql, parameters=params) as blocks:
        for block in blocks:
            pending.extend((aware(row[0]), row[1], row[2], row[3]) for row in block)
            while len(pending) >= chunk_rows:
                yield pending[:chunk_rows]
                del pending[:chunk_rows]
    if pending:
        yield pending


def detection_buckets(
    client: Any, tenant: str, lower: datetime, upper: datetime, seconds: int, *, per_user: bool
) -> list[tuple[Any, ...]]:
    """`SqlSearches.detection_buckets`, each key counted once (a copy before a merge is the
    same search), per bucket of `seconds` since the epoch: hours from the hourly rollup's
    `uniqExact` states (a key is in one user's hour, so merging them stays exact), other
    buckets from the raw rows."""
    if seconds == 3600:
        return _hours(client, tenant, lower, upper, per_user)
    bucket = "intDiv(toUnixTimestamp(create_time), {seconds:UInt32})"
    keys = f"email_addr, {bucket} AS b" if per_user else f"{bucket} AS b"
    rows = client.query(
        f"SELECT {keys}, uniqExact(event_key) FROM search_logs"
        f" WHERE tenant = {{tenant:String}} AND create_time >= {{lower:{_TIME}}}"
        f" AND create_time < {{upper:{_TIME}}} GROUP BY {'email_addr, b' if per_user else 'b'}",
        parameters={"tenant": tenant, "lower": lower, "upper": upper, "seconds": seconds},
    ).result_rows
    return [tuple(row) for row in rows]


def _hours(
    client: Any, tenant: str, lower: datetime, upper: datetime, per_user: bool
) -> list[tuple[Any, ...]]:
    keys = "email_addr, bucket" if per_user else "bucket"
    rows = client.query(
        f"SELECT {keys}, uniqExactMerge(searches) FROM rollup_user_hour"
        " WHERE tenant = {tenant:String} AND bucket >= {first:Int64} AND bucket < {end:Int64}"
        f" GROUP BY {keys}",
        parameters={
            "tenant": tenant,
            "first": int(lower.timestamp()) // 3600,
            "end": int(upper.timestamp()) // 3600,
        },
    ).result_rows
    return [tuple(row) for row in rows]


def detection_first_seen(client: Any, tenant: str) -> dict[str, float]:
    """Epoch seconds of each user's first search stored (a copy changes no minimum), from
    the hourly rollup: a row per user and hour, not per search."""
    rows = client.query(
        "SELECT email_addr, minMerge(first_time) FROM rollup_user_hour"
        " WHERE tenant = {tenant:String} GROUP BY email_addr",
        parameters={"tenant": tenant},
    ).result_rows
    return {email: aware(first).timestamp() for email, first in rows}


def detection_first_search(client: Any, tenant: str) -> datetime | None:
    """The tenant's first search stored, None for none (`min` of no rows is not NULL)."""
    rows = client.query(
        "SELECT count(), min(create_time) FROM search_logs WHERE tenant = {tenant:String}",
        parameters={"tenant": tenant},
    ).result_rows
    count, first = rows[0]
    return aware(first) if count else None
