"""The dashboard's main frames on ClickHouse: searches per bucket, per (user, search type)
and active days per user, reshaped by the very functions the SQL path uses
(`db.aggregates`), so both backends give the same frames for the same rows.

`db.rollup_reads.source` makes the same choice as on SQL: the hourly rollup, or raw rows
for a search-text filter or a zone with a non-whole-hour offset. Both are exact with
duplicates not merged yet: the rollup merges `uniqExact` states of the content key, and
raw rows are read with `FINAL`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from db.aggregates import (
    Activity,
    _summary,
    hour_weekday_from_buckets,
    per_day_from_buckets,
)
from db.clickhouse import day_rollup
from db.clickhouse.schema import HAS_REASON
from db.filters import SearchFilters
from db.rollup_reads import BY_DESCRIPTION_COLUMNS, source
from db.rollups import SYSTEM_SENDER
from db.timezones import local_times, utc_bounds, utc_throughout

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


def dimension_where(filters: SearchFilters) -> tuple[list[str], dict[str, Any]]:
    """The conditions the rollup and the raw rows share (tenant, users, sources, search
    types, the system sender), every value a bound parameter."""
    params: dict[str, Any] = {}
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
    return where, params


def raw_where(filters: SearchFilters, tz: str) -> tuple[str, dict[str, Any]]:
    """`db.filters.conditions` for `search_logs`: the WHERE clause and its parameters."""
    lower, upper = utc_bounds(filters.start, filters.end, tz)
    where, params = dimension_where(filters)
    where += [f"create_time >= {{lower:{_TIME}}}", f"create_time < {{upper:{_TIME}}}"]
    params |= {"lower": lower, "upper": upper}
    if filters.text:  # `db.filters.conditions`: a case-insensitive substring
        where.append("positionCaseInsensitiveUTF8(search_text, {text:String}) > 0")
        params["text"] = filters.text
    return " AND ".join(where), params


def _plan(filters: SearchFilters, tz: str, *, days: bool = False) -> _Plan:
    """The rollup or raw rows for `filters`, with every value a bound parameter; the
    per-day rollup when `days` needs no hours and `tz` is UTC throughout the range (the
    SQL path's choice, `db.rollup_reads`)."""
    read = source(filters, tz)
    if read.rollups and days and utc_throughout(tz, read.lower, read.upper):
        where, params = dimension_where(filters)
        where += ["bucket >= {first:Int64}", "bucket < {end:Int64}"]
        params |= {"tz": tz, "first": int(read.lower.timestamp()) // 86400}
        params |= {"end": int(read.upper.timestamp()) // 86400}
        return _Plan(
            day_rollup.TABLE,
            " AND ".join(where),
            params,
            86400,
            bucket="bucket",
            searches="uniqExactMerge(searches)",
            first="minMerge(first_time)",
            last="maxMerge(last_time)",
            with_reason="uniqExactIfMerge(with_reason)",
            day="bucket",
        )
    if read.rollups:
        where, params = dimension_where(filters)
        where += ["bucket >= {first:Int64}", "bucket < {end:Int64}"]
        params |= {"tz": tz, "first": int(read.lower.timestamp()) // 3600}
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
    where_text, params = raw_where(filters, tz)
    return _Plan(
        "search_logs FINAL",
        where_text,
        params | {"tz": tz},
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


def _per_tenant(
    plan: _Plan, keys: Sequence[str], figures: Sequence[tuple[str, str]], tail: str = ""
) -> str:
    """SQL for `figures` (an expression and how tenants' values combine: sum, min, max)
    per `keys`, merged per tenant first: the content key is unique within a tenant only,
    so the same search stored by two tenants is two searches (one merged state would
    count it once)."""
    inner_keys = [f"{key} AS k{n}" for n, key in enumerate(keys)]
    inner_figures = [f"{expression} AS f{n}" for n, (expression, _) in enumerate(figures)]
    group = ", ".join(["tenant", *(f"k{n}" for n in range(len(keys)))])
    outer = [f"k{n}" for n in range(len(keys))]
    outer += [f"{combine}(f{n})" for n, (_, combine) in enumerate(figures)]
    inner = (
        f"SELECT {', '.join([*inner_keys, *inner_figures])} FROM {plan.table}"
        f" WHERE {plan.where} GROUP BY {group}"
    )
    by = f" GROUP BY {', '.join(f'k{n}' for n in range(len(keys)))}" if keys else ""
    return f"SELECT {', '.join(outer)} FROM ({inner}){by}{tail}"


def bucket_counts(
    client: Any, filters: SearchFilters, tz: str, *, days_only: bool = False
) -> tuple[pd.DataFrame, int]:
    """Searches per UTC bucket: columns bucket, searches, and the bucket length in seconds
    (`db.rollup_reads.bucket_counts`): whole days where `days_only` asks for no more and
    `tz` is UTC throughout."""
    plan = _plan(filters, tz, days=days_only)
    sql = _per_tenant(plan, [plan.bucket], [(plan.searches, "sum")], " ORDER BY k0")
    frame = _frame(client, sql, plan.params, ["bucket", "searches"])
    return frame.astype({"bucket": "int64", "searches": "int64"}), plan.seconds


def by_description(client: Any, filters: SearchFilters, tz: str) -> pd.DataFrame:
    """Per (user, search type): searches, first, last, with a reason (times aware UTC)."""
    plan = _plan(filters, tz, days=True)
    figures = [
        (plan.searches, "sum"),
        (plan.first, "min"),
        (plan.last, "max"),
        (plan.with_reason, "sum"),
    ]
    sql = _per_tenant(plan, ["email_addr", "description"], figures)
    frame = _frame(client, sql, plan.params, list(BY_DESCRIPTION_COLUMNS))
    for column in ("first_search", "last_search"):  # chDB returns naive UTC times
        frame[column] = pd.to_datetime(frame[column]).dt.tz_localize("UTC")
    return frame


def active_days(client: Any, filters: SearchFilters, tz: str) -> pd.Series:
    """Local days with a search, per user (from the rollup: the days of their hours)."""
    plan = _plan(filters, tz, days=True)
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
    buckets, seconds = bucket_counts(client, filters, tz, days_only=True)
    return per_day_from_buckets(buckets, seconds, tz, filters.start, filters.end)


def hour_weekday_counts(client: Any, filters: SearchFilters, tz: str) -> pd.DataFrame:
    """`db.aggregates.hour_weekday_counts` on ClickHouse: the 7 x 24 grid in local time."""
    buckets, seconds = bucket_counts(client, filters, tz)
    return hour_weekday_from_buckets(buckets, seconds, tz)


def user_counts(client: Any, filters: SearchFilters, tz: str) -> pd.DataFrame:
    """`db.rollup_reads.user_counts` on ClickHouse: searches per user, most first (ties by
    address, compared as bytes like SQLite)."""
    plan = _plan(filters, tz, days=True)
    sql = _per_tenant(plan, ["email_addr"], [(plan.searches, "sum")], " ORDER BY sum(f0) DESC, k0")
    frame = _frame(client, sql, plan.params, ["email", "searches"])
    return frame.astype({"searches": "int64"})


def count_searches(client: Any, filters: SearchFilters, tz: str) -> int:
    """`db.rollup_reads.count_searches` on ClickHouse."""
    plan = _plan(filters, tz, days=True)
    rows = client.query(
        _per_tenant(plan, [], [(plan.searches, "sum")]), parameters=plan.params
    ).result_rows
    return int(rows[0][0]) if rows else 0


def activity(client: Any, filters: SearchFilters, tz: str, *, hours: bool = True) -> Activity:
    """`db.aggregates.activity` on ClickHouse: the same frames from hourly (or raw) buckets,
    per (user, search type) and active days; a single user's days from their buckets."""
    buckets, seconds = bucket_counts(client, filters, tz, days_only=not hours)
    per_description = by_description(client, filters, tz)
    if len(filters.users) == 1:
        days = local_times(buckets["bucket"], seconds, tz).dt.date.nunique()
        user_days = pd.Series(days, index=per_description["email"].unique(), dtype="int64")
    else:
        user_days = active_days(client, filters, tz)
    return Activity(
        summary=_summary(per_description, user_days, tz),
        per_day=per_day_from_buckets(buckets, seconds, tz, filters.start, filters.end),
        hour_weekday=hour_weekday_from_buckets(buckets, seconds, tz) if hours else None,
        searches=int(buckets["searches"].sum()),
    )
