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
