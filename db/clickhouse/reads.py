"""The dashboard's main frames on ClickHouse: searches per bucket, per (user, search type)
and active days per user, reshaped by the very functions the SQL path uses
(`db.aggregates`), so both backends give the same frames for the same rows.

`db.rollup_reads.source` makes the same choice as on SQL: the hourly rollup, or raw rows
for a search-text filter or a zone with a non-whole-hour offset. Both are exact with
duplicates not merged yet: the rollup merges `uniqExact` states of the content key, and
raw rows are read with `FINAL`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from db.aggregates import _summary, hour_weekday_from_buckets, per_day_from_buckets
from db.clickhouse.schema import HAS_REASON
from db.filters import SearchFilters
from db.rollup_reads import BY_DESCRIPTION_COLUMNS, source
from db.rollups import SYSTEM_SENDER

_TIME = "DateTime64(6, 'UTC')"


@dataclass(frozen=True)
class _Plan:
    """Where a read comes from and how each figure is spelled there."""

    table: str
    where: str
    params: dict[str, Any]
    seconds: int
    bucket: str
    searches: str
    first: str
    last: str
    with_reason: str
    day: str


def _plan(filters: SearchFilters, tz: str) -> _Plan:
    """The rollup or raw rows for `filters`, with every value a bound parameter."""
    read = source(filters, tz)
    params: dict[str, Any] = {"tz": tz}
    where = []
    if filters.scope.name is not None:
        where.append("tenant = {tenant:String}")
        params["tenant"] = filters.scope.name
    for column, values in (
        ("email_addr", filters.users),
        ("source", filters.sources),
        ("description", filters.descriptions),
    ):
        if values:
            where.append(f"{column} IN {{{column}:Array(String)}}")
            params[column] = list(values)
    if not filters.include_system:
        where.append("email_addr != {system:String}")
        params["system"] = SYSTEM_SENDER
    if read.rollups:
        where += ["bucket >= {first:Int64}", "bucket < {end:Int64}"]
        params |= {"first": int(read.lower.timestamp()) // 3600}
        params |= {"end": int(read.upper.timestamp()) // 3600}
        return _Plan(
            "rollup_user_hour",
            " AND ".join(where),
            params,
            3600,
            bucket="bucket",
            searches="uniqExactMerge(searches)",
            first="minMerge(first_time)",
            last="maxMerge(last_time)",
            with_reason="uniqExactIfMerge(with_reason)",
            day="toDate(toDateTime(bucket * 3600, 'UTC'), {tz:String})",
        )
    where += [f"create_time >= {{lower:{_TIME}}}", f"create_time < {{upper:{_TIME}}}"]
    params |= {"lower": read.lower, "upper": read.upper}
    if filters.text:  # `db.filters.conditions`: a case-insensitive substring
        where.append("positionCaseInsensitiveUTF8(search_text, {text:String}) > 0")
        params["text"] = filters.text
    return _Plan(
        "search_logs FINAL",
        " AND ".join(where),
        params,
        read.seconds,
        bucket=f"intDiv(toUnixTimestamp(create_time), {read.seconds})",
        searches="count()",
        first="min(create_time)",
        last="max(create_time)",
        with_reason=f"countIf({HAS_REASON})",
        day="toDate(create_time, {tz:String})",
    )


def _frame(client: Any, sql: str, params: dict[str, Any], columns: list[str]) -> pd.DataFrame:
    rows = client.query(sql, parameters=params).result_rows
    return pd.DataFrame(rows, columns=columns) if rows else pd.DataFrame(columns=columns)


def bucket_counts(client: Any, filters: SearchFilters, tz: str) -> tuple[pd.DataFrame, int]:
    """Searches per UTC bucket: columns bucket, searches, and the bucket length in seconds
    (`db.rollup_reads.bucket_counts`)."""
    plan = _plan(filters, tz)
    frame = _frame(
        client,
        f"SELECT {plan.bucket} AS b, {plan.searches} FROM {plan.table} WHERE {plan.where}"
        " GROUP BY b ORDER BY b",
        plan.params,
        ["bucket", "searches"],
    )
    return frame.astype({"bucket": "int64", "searches": "int64"}), plan.seconds


def by_description(client: Any, filters: SearchFilters, tz: str) -> pd.DataFrame:
    """Per (user, search type): searches, first, last, with a reason (times aware UTC)."""
    plan = _plan(filters, tz)
    frame = _frame(
        client,
        f"SELECT email_addr, description, {plan.searches}, {plan.first}, {plan.last},"
        f" {plan.with_reason} FROM {plan.table} WHERE {plan.where}"
        " GROUP BY email_addr, description",
        plan.params,
        list(BY_DESCRIPTION_COLUMNS),
    )
    for column in ("first_search", "last_search"):  # chDB returns naive UTC times
        frame[column] = pd.to_datetime(frame[column]).dt.tz_localize("UTC")
    return frame


def active_days(client: Any, filters: SearchFilters, tz: str) -> pd.Series:
    """Local days with a search, per user (from the rollup: the days of their hours)."""
    plan = _plan(filters, tz)
    frame = _frame(
        client,
        f"SELECT email_addr, uniqExact({plan.day}) FROM {plan.table} WHERE {plan.where}"
        " GROUP BY email_addr",
        plan.params,
        ["email", "active_days"],
    )
    return frame.set_index("email")["active_days"].astype("int64")


def summary_by_user(client: Any, filters: SearchFilters, tz: str) -> pd.DataFrame:
    """`db.aggregates.summary_by_user` on ClickHouse."""
    return _summary(by_description(client, filters, tz), active_days(client, filters, tz), tz)


def searches_per_day(client: Any, filters: SearchFilters, tz: str) -> pd.DataFrame:
    """`db.aggregates.searches_per_day` on ClickHouse (a user's calendar with `for_user`)."""
    buckets, seconds = bucket_counts(client, filters, tz)
    return per_day_from_buckets(buckets, seconds, tz, filters.start, filters.end)


def hour_weekday_counts(client: Any, filters: SearchFilters, tz: str) -> pd.DataFrame:
    """`db.aggregates.hour_weekday_counts` on ClickHouse: the 7 x 24 grid in local time."""
    buckets, seconds = bucket_counts(client, filters, tz)
    return hour_weekday_from_buckets(buckets, seconds, tz)
