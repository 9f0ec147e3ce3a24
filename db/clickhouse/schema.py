"""The ClickHouse tables and views, as DDL (docs/clickhouse.md says why each is shaped so).

ClickHouse has no transactions and no unique keys, so exactness comes from the shapes:
- `search_logs` and `rejected_records` are ReplacingMergeTree tables ordered by the tenant,
  the day and the record's content key: a row stored twice is one row to a `FINAL` read, and
  the ingest (`db.clickhouse.writer`) inserts only keys it does not hold yet;
- the rollup is fed by a materialized view into an AggregatingMergeTree whose counts are
  `uniqExact` states of the key, so a duplicate insert cannot inflate them (a
  SummingMergeTree would count it twice);
- `non_replicated_deduplication_window` makes a retried insert with the same
  `insert_deduplication_token` a no-op (a Replicated table has this window by default).
"""

from __future__ import annotations

from typing import Any

DEDUP_WINDOW = 10_000
"""How many recent insert tokens a table remembers (ClickHouse's replicated default is 1000
blocks; the ingest writes a block per page, and a retry follows within seconds)."""

_TIME = "DateTime64(6, 'UTC')"
HAS_REASON = "toUInt8(notEmpty(trimBoth(ifNull(search_reason, ''))))"
"""A reason that is not NULL and not blank: `db.filters.has_reason` in ClickHouse SQL."""

SEARCH_TABLES = (
    f"""CREATE TABLE IF NOT EXISTS search_logs (
        tenant LowCardinality(String),
        event_key String,
        create_time {_TIME},
        email_addr String,
        source Nullable(String),
        search_text Nullable(String),
        search_reason Nullable(String),
        description Nullable(String),
        search_path Nullable(String),
        muse_query Nullable(String),
        is_admin Nullable(Bool),
        raw_json String,
        run_id Int64,
        ingested_at {_TIME}
    ) ENGINE = ReplacingMergeTree
    PARTITION BY toYYYYMM(create_time)
    ORDER BY (tenant, toDate(create_time), event_key)
    SETTINGS non_replicated_deduplication_window = {DEDUP_WINDOW}""",
    f"""CREATE TABLE IF NOT EXISTS rejected_records (
        tenant LowCardinality(String),
        reject_key String,
        run_id Int64,
        rejected_at {_TIME},
        window_start {_TIME},
        window_end {_TIME},
        reason String,
        raw_json String
    ) ENGINE = ReplacingMergeTree
    ORDER BY (tenant, reject_key)
    SETTINGS non_replicated_deduplication_window = {DEDUP_WINDOW}""",
    # state as text per key, the newest write winning (read with FINAL): `db.state.kv`
    f"""CREATE TABLE IF NOT EXISTS kv (
        tenant LowCardinality(String),
        key String,
        value String,
        updated_at {_TIME}
    ) ENGINE = ReplacingMergeTree(updated_at)
    ORDER BY (tenant, key)""",
    # a row per (tenant, UTC hour, user, source, search type): the dashboard's frames
    f"""CREATE TABLE IF NOT EXISTS rollup_user_hour (
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
    PARTITION BY intDiv(bucket, 24 * 31)
    ORDER BY (tenant, bucket, email_addr, source, description)
    SETTINGS allow_nullable_key = 1, non_replicated_deduplication_window = {DEDUP_WINDOW}""",
    f"""CREATE MATERIALIZED VIEW IF NOT EXISTS rollup_user_hour_mv TO rollup_user_hour AS
    SELECT
        tenant,
        intDiv(toUnixTimestamp(create_time), 3600) AS bucket,
        email_addr,
        source,
        description,
        uniqExactState(event_key) AS searches,
        uniqExactIfState(event_key, {HAS_REASON}) AS with_reason,
        minState(create_time) AS first_time,
        maxState(create_time) AS last_time
    FROM search_logs
    GROUP BY tenant, bucket, email_addr, source, description""",
)
"""Revision ch0001 (`db/clickhouse/migrations`): the searches, rejects, state and rollup."""

INGEST_TABLES = (
    # the ingest's run log: a run's start row (revision 0) and its end row (revision 1)
    # collapse to the end row; read with FINAL (`db.clickhouse.runs`)
    f"""CREATE TABLE IF NOT EXISTS ingest_runs (
        tenant LowCardinality(String),
        id Int64,
        revision UInt8,
        kind LowCardinality(String),
        status LowCardinality(String),
        started_at {_TIME},
        finished_at Nullable({_TIME}),
        window_start Nullable({_TIME}),
        window_end Nullable({_TIME}),
        pages Int64,
        fetched Int64,
        inserted Int64,
        duplicates Int64,
        out_of_window Int64,
        rejected Int64,
        api_requests Int64,
        error Nullable(String),
        notes Nullable(String)
    ) ENGINE = ReplacingMergeTree(revision)
    ORDER BY (tenant, id)""",
    # the dashboard's filter lists: a value stored twice is one row to FINAL or DISTINCT
    """CREATE TABLE IF NOT EXISTS filter_values (
        tenant LowCardinality(String),
        kind LowCardinality(String),
        value String
    ) ENGINE = ReplacingMergeTree
    ORDER BY (tenant, kind, value)""",
)
"""Revision ch0002: the ingest's run log and the filter values."""

TABLES = SEARCH_TABLES + INGEST_TABLES
"""Every table and view, newest revision. A released tuple is frozen: a change to the
schema is a new revision in db/clickhouse/migrations, not an edit here."""


def drops(statements: tuple[str, ...]) -> list[str]:
    """`DROP … IF EXISTS` for each `CREATE … IF NOT EXISTS` of `statements`, newest first
    (a view before the table it writes to)."""
    dropped = []
    for statement in reversed(statements):
        words = statement.split("IF NOT EXISTS", 1)[1].split()
        kind = "VIEW" if "MATERIALIZED VIEW" in statement.split("IF NOT EXISTS")[0] else "TABLE"
        dropped.append(f"DROP {kind} IF EXISTS {words[0]}")
    return dropped


INSERT_SETTINGS: dict[str, Any] = {
    # a retried block with the same token is dropped, and so are the blocks it made in the
    # rollup's view (they would be harmless anyway: uniqExact states)
    "deduplicate_blocks_in_dependent_materialized_views": 1,
    # the block is visible to the next read when the insert returns (no async insert buffer)
    "async_insert": 0,
}
