"""Idempotent page writes without a transaction: the keys already held are looked up, only
new ones are inserted, and each insert carries a token made from its rows, so the same
page written again (a replay, an overlapping window, a retried request) stores nothing.

The caller moves the cursor only after these inserts have returned (`ClickHouseStore`):
an insert that returned is durable, so the cursor is never ahead of its rows; rows written
before a failed cursor write are found again, as known keys, on the next poll.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from db.clickhouse.schema import INSERT_SETTINGS
from db.models import EVENT_COLUMNS, REJECT_COLUMNS
from db.storable import storable_text

if TYPE_CHECKING:  # the records the ingest parses (`ingest.records`); db needs no ingest
    from ingest.records import Rejection, SearchEvent


def dedup_token(tenant: str, table: str, keys: Sequence[str]) -> str:
    """The same rows give the same token: a retried insert of a batch is dropped whole."""
    return hashlib.sha256("\x00".join((tenant, table, *keys)).encode()).hexdigest()


def insert_rows(client: Any, table: str, columns: Sequence[str], rows: list[list[Any]]) -> None:
    """One insert (one block) with its dedup token; rows' keys are the first two columns."""
    if not rows:
        return
    token = dedup_token(rows[0][0], table, [row[1] for row in rows])
    settings = {**INSERT_SETTINGS, "insert_deduplication_token": token}
    client.insert(table, rows, column_names=list(columns), settings=settings)


def known_event_keys(
    client: Any, tenant: str, keys: list[str], days: tuple[date, date]
) -> set[str]:
    """Which of `keys` `tenant` holds already (the day range lets ClickHouse skip parts)."""
    if not keys:
        return set()
    result = client.query(
        "SELECT DISTINCT event_key FROM search_logs WHERE tenant = {tenant:String}"
        " AND toDate(create_time) BETWEEN {first:Date} AND {last:Date}"
        " AND event_key IN {keys:Array(String)}",
        parameters={"tenant": tenant, "first": days[0], "last": days[1], "keys": keys},
    )
    return {row[0] for row in result.result_rows}


def known_reject_keys(client: Any, tenant: str, keys: list[str]) -> set[str]:
    if not keys:
        return set()
    result = client.query(
        "SELECT DISTINCT reject_key FROM rejected_records WHERE tenant = {tenant:String}"
        " AND reject_key IN {keys:Array(String)}",
        parameters={"tenant": tenant, "keys": keys},
    )
    return {row[0] for row in result.result_rows}


def event_rows(
    tenant: str, events: Sequence[tuple[str, SearchEvent]], run_id: int, now: datetime
) -> list[list[Any]]:
    """`search_logs` rows in EVENT_COLUMNS order."""
    return [
        [
            tenant,
            key,
            event.create_time,
            event.email_addr,
            event.source,
            event.search_text,
            event.search_reason,
            event.description,
            event.search_path,
            event.muse_query,
            event.is_admin,
            event.raw_json,
            run_id,
            now,
        ]
        for key, event in events
    ]


def write_events(
    client: Any, tenant: str, events: Sequence[tuple[str, SearchEvent]], run_id: int, now: datetime
) -> int:
    """Insert the events whose key `tenant` does not hold; return how many were new."""
    unique = dict(events)  # a key the page repeats is one search (the SQL path's ON CONFLICT)
    if not unique:
        return 0
    days = [event.create_time.date() for event in unique.values()]
    known = known_event_keys(client, tenant, list(unique), (min(days), max(days)))
    rows = event_rows(tenant, [(k, e) for k, e in unique.items() if k not in known], run_id, now)
    insert_rows(client, "search_logs", EVENT_COLUMNS, rows)
    return len(rows)


def write_rejections(
    client: Any,
    tenant: str,
    rejections: Sequence[tuple[str, Rejection]],
    run_id: int,
    now: datetime,
    window: tuple[datetime, datetime],
) -> int:
    """Insert the rejected records whose key is new; return how many were."""
    unique = dict(rejections)
    known = known_reject_keys(client, tenant, list(unique))
    rows = [
        [tenant, key, run_id, now, *window, storable_text(rejection.reason), rejection.raw_json]
        for key, rejection in unique.items()
        if key not in known
    ]
    insert_rows(client, "rejected_records", REJECT_COLUMNS, rows)
    return len(rows)
