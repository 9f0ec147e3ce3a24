"""The dashboard's main frames from ClickHouse's hourly rollup: searches per bucket, per
(user, search type) and active days per user, reshaped by the very functions the SQL path
uses (`db.aggregates`), so both backends give the same frames for the same rows.

Every count merges `uniqExact` states of the content key, so a row the table holds twice
(before a merge) counts once: as exact as a `FINAL` read of the raw rows.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from db.aggregates import _summary, hour_weekday_from_buckets, per_day_from_buckets
from db.filters import SearchFilters
from db.rollup_reads import BY_DESCRIPTION_COLUMNS, source
from db.rollups import SYSTEM_SENDER

HOUR = 3600


class NotOnClickHouse(Exception):
    """A read the ClickHouse store does not answer yet; the message says which."""


def _where(filters: SearchFilters, tz: str) -> tuple[str, dict[str, Any]]:
    """The rollup's WHERE clause for `filters` (every value a bound parameter)."""
    read = source(filters, tz)
    if not read.rollups:
        what = "a search-text filter" if filters.text else f"the time zone {tz} (not whole hours)"
        raise NotOnClickHouse(f"the ClickHouse store does not answer {what} yet")
    where = ["bucket >= {first:Int64}", "bucket < {end:Int64}"]
    params: dict[str, Any] = {
        "first": int(read.lower.timestamp()) // HOUR,
        "end": int(read.upper.timestamp()) // HOUR,
    }
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
    return " AND ".join(where), params


def _frame(client: Any, sql: str, params: dict[str, Any], columns: list[str]) -> pd.DataFrame:
    rows = client.query(sql, parameters=params).result_rows
    return pd.DataFrame(rows, columns=columns) if rows else pd.DataFrame(columns=columns)


def bucket_counts(client: Any, filters: SearchFilters, tz: str) -> pd.DataFrame:
    """Searches per UTC hour: columns bucket, searches (`db.rollup_reads.bucket_counts`)."""
    where, params = _where(filters, tz)
    frame = _frame(
        client,
        f"SELECT bucket, uniqExactMerge(searches) FROM rollup_user_hour WHERE {where}"
        " GROUP BY bucket ORDER BY bucket",
        params,
        ["bucket", "searches"],
    )
    return frame.astype({"bucket": "int64", "searches": "int64"})


def by_description(client: Any, filters: SearchFilters, tz: str) -> pd.DataFrame:
    """Per (user, search type): searches, first, last, with a reason (times aware UTC)."""
    where, params = _where(filters, tz)
    frame = _frame(
        client,
        "SELECT email_addr, description, uniqExactMerge(searches), minMerge(first_time),"
        f" maxMerge(last_time), uniqExactIfMerge(with_reason) FROM rollup_user_hour"
        f" WHERE {where} GROUP BY email_addr, description",
        params,
        list(BY_DESCRIPTION_COLUMNS),
    )
    for column in ("first_search", "last_search"):  # chDB returns naive UTC times
        frame[column] = pd.to_datetime(frame[column]).dt.tz_localize("UTC")
    return frame


def active_days(client: Any, filters: SearchFilters, tz: str) -> pd.Series:
    """Local days with a search, per user: the distinct days of the hours they searched."""
    where, params = _where(filters, tz)
    frame = _frame(
        client,
        "SELECT email_addr, uniqExact(toDate(toDateTime(bucket * 3600, 'UTC'), {tz:String}))"
        f" FROM rollup_user_hour WHERE {where} GROUP BY email_addr",
        {**params, "tz": tz},
        ["email", "active_days"],
    )
    return frame.set_index("email")["active_days"].astype("int64")


def summary_by_user(client: Any, filters: SearchFilters, tz: str) -> pd.DataFrame:
    """`db.aggregates.summary_by_user` on ClickHouse."""
    return _summary(by_description(client, filters, tz), active_days(client, filters, tz), tz)


def searches_per_day(client: Any, filters: SearchFilters, tz: str) -> pd.DataFrame:
    """`db.aggregates.searches_per_day` on ClickHouse (a user's calendar with `for_user`)."""
    buckets = bucket_counts(client, filters, tz)
    return per_day_from_buckets(buckets, HOUR, tz, filters.start, filters.end)


def hour_weekday_counts(client: Any, filters: SearchFilters, tz: str) -> pd.DataFrame:
    """`db.aggregates.hour_weekday_counts` on ClickHouse: the 7 x 24 grid in local time."""
    return hour_weekday_from_buckets(bucket_counts(client, filters, tz), HOUR, tz)
