"""A row per (tenant, UTC day, user, source, search type) on ClickHouse, for ranges of years:
the hourly rollup holds about a row per search when users search a few times a day, this
one a row per user and active day.

Like the hourly one (`db.clickhouse.schema`), it is fed by a materialized view into an
AggregatingMergeTree of `uniqExact` states of the content key, so a duplicate insert adds
nothing. That also makes it safe to fill from the searches already stored, after the
view exists: a row both the view and the fill count is one key in one state.

The reads (`db.clickhouse.reads`) use it where the SQL path uses its per-day rollups: a
zone that is UTC throughout the range, for figures that need no hours.
"""

from __future__ import annotations

from typing import Any

from db.clickhouse.schema import DEDUP_WINDOW, HAS_REASON

TABLE = "rollup_user_day"
_TIME = "DateTime64(6, 'UTC')"

_STATES = f"""
        uniqExactState(event_key) AS searches,
        uniqExactIfState(event_key, {HAS_REASON}) AS with_reason,
        minState(create_time) AS first_time,
        maxState(create_time) AS last_time"""
_GROUPS = f"""
        tenant,
        intDiv(toUnixTimestamp(create_time), 86400) AS bucket,
        email_addr,
        source,
        description,{_STATES}
    FROM search_logs"""

DDL = (
    f"""CREATE TABLE IF NOT EXISTS {TABLE} (
        tenant LowCardinality(String),
        bucket Int64,
        email_addr String,
        source Nullable(String),
        description Nullable(String),
        searches AggregateFunction(uniqExact, String),
        with_reason AggregateFunction(uniqExactIf, String, UInt8),
        first_time AggregateFunction(min, {_TIME}),
        last_time AggregateFunction(max, {_TIME})
    ) ENGINE = AggregatingMergeTree
    PARTITION BY intDiv(bucket, 366)
    ORDER BY (tenant, bucket, email_addr, source, description)
    SETTINGS allow_nullable_key = 1, non_replicated_deduplication_window = {DEDUP_WINDOW}""",
    f"""CREATE MATERIALIZED VIEW IF NOT EXISTS {TABLE}_mv TO {TABLE} AS
    SELECT{_GROUPS}
    GROUP BY tenant, bucket, email_addr, source, description""",
)


def create_day_rollup(client: Any) -> None:
    """Create the table and its view if missing; a table made here for a store that holds
    searches already is filled from them (idempotent: run on each open)."""
    existed = bool(client.query(f"EXISTS TABLE {TABLE}").result_rows[0][0])
    for statement in DDL:
        client.command(statement)
    if not existed:
        fill_day_rollup(client)


def fill_day_rollup(client: Any) -> None:
    """Add every stored search's states (the view adds new ones): exact however often it
    runs, and whatever the view added meanwhile."""
    client.command(
        f"INSERT INTO {TABLE} SELECT{_GROUPS} GROUP BY tenant, bucket, email_addr, source,"
        " description"
    )
