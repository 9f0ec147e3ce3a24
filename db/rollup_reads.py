"""Every aggregate read, answered from the rollups when they can and from raw rows when
they cannot: `source` makes that choice, once, for every read below.

Rollups hold whole UTC hours and no search text, so a search-text filter, a zone with a
non-whole-hour offset, or `raw=True` (the tests' and benchmarks' reference) reads raw rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pandas as pd
from sqlalchemy import (
    ColumnElement,
    Engine,
    Select,
    case,
    desc,
    distinct,
    func,
    literal_column,
    select,
)

from db import rollups
from db.active_days import active_days_statement
from db.filters import SearchFilters, conditions, dimensions, has_reason
from db.models import (
    ROLLUP_DAY,
    ROLLUP_HOUR,
    ROLLUP_USER_DAY,
    ROLLUP_USER_DAY_TOTAL,
    ROLLUP_USER_HOUR,
    ROLLUP_USER_HOUR_TOTAL,
    SearchLog,
)
from db.sql import epoch_bucket, offset_shift, read_frame, rows_frame
from db.timezones import bucket_seconds, day_range, utc_bounds, utc_throughout


@dataclass(frozen=True)
class Source:
    """Where a read over `filters` comes from: the UTC range, the bucket length that keeps
    local hours exact, and whether the rollups answer it."""

    lower: datetime
    upper: datetime
    seconds: int
    rollups: bool


def source(filters: SearchFilters, tz: str, raw: bool = False) -> Source:
    """The one choice between rollups and raw rows."""
    lower, upper = utc_bounds(filters.start, filters.end, tz)
    seconds = bucket_seconds(tz, lower, upper)
    return Source(lower, upper, seconds, not raw and not filters.text and seconds == 3600)


def bucket_counts(
    engine: Engine, filters: SearchFilters, tz: str, *, days_only: bool = False, raw: bool = False
) -> tuple[pd.DataFrame, int]:
    """Searches per UTC bucket: columns bucket, searches. Returns the frame and the bucket
    length in seconds: an hour (15 minutes for a non-whole-hour zone, or a day where
    `days_only` asks for no more and `tz` is UTC throughout).

    From the rollups unless the filters need raw rows (search text) or `raw` is set.
    """
    read = source(filters, tz, raw)
    if read.rollups:
        seconds = read.seconds
        if days_only and utc_throughout(tz, read.lower, read.upper):
            seconds = 86400
        return _rollup_buckets(engine, filters, read.lower, read.upper, seconds), seconds
    bucket = epoch_bucket(SearchLog.create_time, literal_column(str(read.seconds))).label("bucket")
    statement = (
        select(bucket, func.count().label("searches"))
        .where(*conditions(filters, tz))
        .group_by(bucket)
        .order_by(bucket)  # in bucket order on any database, whatever the rows' storage order
    )
    return read_frame(engine, statement, ["bucket", "searches"]), read.seconds


def _rollup_buckets(
    engine: Engine, filters: SearchFilters, lower: datetime, upper: datetime, seconds: int
) -> pd.DataFrame:
    hourly = seconds == 3600
    if filters.users and (filters.sources or filters.descriptions):
        table = ROLLUP_USER_HOUR if hourly else ROLLUP_USER_DAY
    elif filters.users:  # a user's buckets in key order, a row per hour or day
        table = ROLLUP_USER_HOUR_TOTAL if hourly else ROLLUP_USER_DAY_TOTAL
    else:
        table = ROLLUP_HOUR if seconds == 3600 else ROLLUP_DAY
    first, end = int(lower.timestamp()) // seconds, int(upper.timestamp()) // seconds
    statement = (
        select(table.c.bucket, func.sum(table.c.searches))
        .where(
            table.c.bucket >= first,
            table.c.bucket < end,
            *rollups.dimension_conditions(table, dimensions(filters)),
        )
        .group_by(table.c.bucket)
        .order_by(table.c.bucket)  # PostgreSQL's hash aggregate follows storage order
    )
    frame = read_frame(engine, statement, ["bucket", "searches"])
    frame["searches"] = frame["searches"].astype("int64")
    return frame


def active_days(engine: Engine, filters: SearchFilters, tz: str, *, raw: bool = False) -> pd.Series:
    """Local days with a search, per user, counted in SQL: a row per user, not per hour."""
    read = source(filters, tz, raw)
    lower, upper = read.lower, read.upper
    if read.rollups:
        statement = _active_days_from_rollups(filters, tz, lower, upper)
    else:
        shift = offset_shift(SearchLog.create_time, tz, lower, upper)
        day = epoch_bucket(SearchLog.create_time, literal_column("86400"), shift)
        statement = (
            select(SearchLog.email_addr, func.count(distinct(day)))
            .where(*conditions(filters, tz))
            .group_by(SearchLog.email_addr)
        )
    frame = read_frame(engine, statement, ["email", "active_days"])
    return frame.set_index("email")["active_days"].astype("int64")


def _active_days_from_rollups(
    filters: SearchFilters, tz: str, lower: datetime, upper: datetime
) -> Select[*tuple[Any, ...]]:
    """UTC days from the (user, day) rollups when `tz` is UTC; else the local days of the
    hours a user searched: from the users' hour masks per UTC day (`db.active_days`) for one
    tenant's users, or from the hourly rollup shifted by the zone's offset at each hour."""
    utc = utc_throughout(tz, lower, upper)
    typed = filters.sources or filters.descriptions
    if not utc:
        from_masks = active_days_statement(filters, tz, lower, upper)
        if from_masks is not None:
            return from_masks
    if utc:
        table = ROLLUP_USER_DAY if typed else ROLLUP_USER_DAY_TOTAL
        first, end = day_range(lower, upper)
        day: ColumnElement[Any] = table.c.bucket
    else:
        table = ROLLUP_USER_HOUR
        first, end = int(lower.timestamp()) // 3600, int(upper.timestamp()) // 3600
        shift = offset_shift(
            table.c.bucket,
            tz,
            lower,
            upper,
            boundary=lambda moment: int(moment.timestamp()) // 3600,
            unit=3600,
        )
        day = (table.c.bucket + shift) // literal_column("24")
    where = [table.c.bucket >= first, table.c.bucket < end]
    where += rollups.dimension_conditions(table, dimensions(filters))
    # One tenant's (user, day) totals hold a row per user and day: counting rows needs no
    # DISTINCT (which PostgreSQL sorts, on disk over a year of everyone's days).
    single = table is ROLLUP_USER_DAY_TOTAL and not filters.scope.is_every_tenant
    days = func.count() if single else func.count(distinct(day))
    return select(table.c.email_addr, days).where(*where).group_by(table.c.email_addr)


BY_DESCRIPTION_COLUMNS = (
    "email",
    "description",
    "searches",
    "first_search",
    "last_search",
    "with_reason",
)


def by_description(
    engine: Engine, filters: SearchFilters, tz: str, *, raw: bool = False
) -> pd.DataFrame:
    """Per (user, search type, NULL included): searches, first, last and with a reason.

    One pass over the rows (or their rollups) answers every per-user figure but active days.
    """
    read = source(filters, tz, raw)
    if not read.rollups:
        return read_frame(
            engine,
            select(
                SearchLog.email_addr,
                SearchLog.description,
                func.count(),
                func.min(SearchLog.create_time),
                func.max(SearchLog.create_time),
                func.sum(case((has_reason(), 1), else_=0)),
            )
            .where(*conditions(filters, tz))
            .group_by(SearchLog.email_addr, SearchLog.description),
            BY_DESCRIPTION_COLUMNS,
        )
    with engine.connect() as conn:
        rows = rollups.user_rows(conn, read.lower, read.upper, dimensions(filters))
        statement = select(
            rows.c.email_addr,
            rows.c.description,
            func.sum(rows.c.searches),
            func.min(rows.c.first_time),
            func.max(rows.c.last_time),
            func.sum(rows.c.with_reason),
        ).group_by(rows.c.email_addr, rows.c.description)
        result = conn.execute(statement).all()
    frame = rows_frame(result, BY_DESCRIPTION_COLUMNS)
    return _utc_times(frame, ["first_search", "last_search"])


def _utc_times(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """Timestamps read through a UNION lose their column type on SQLite (strings come back):
    parse them as UTC."""
    for column in columns:
        if len(frame) and isinstance(frame[column].iloc[0], str):
            frame[column] = pd.to_datetime(frame[column], utc=True)
    return frame


def user_counts(
    engine: Engine, filters: SearchFilters, tz: str, *, raw: bool = False
) -> pd.DataFrame:
    """Searches per user, most first: columns email, searches."""
    read = source(filters, tz, raw)
    if not read.rollups:
        searches = func.count().label("searches")
        frame = read_frame(
            engine,
            select(SearchLog.email_addr, searches)
            .where(*conditions(filters, tz))
            .group_by(SearchLog.email_addr)
            .order_by(desc(searches), SearchLog.email_addr),
            ["email", "searches"],
        )
    else:
        with engine.connect() as conn:
            rows = rollups.user_rows(conn, read.lower, read.upper, dimensions(filters))
            searches = func.sum(rows.c.searches).label("searches")
            result = conn.execute(
                select(rows.c.email_addr, searches)
                .group_by(rows.c.email_addr)
                .order_by(desc(searches), rows.c.email_addr)
            ).all()
        frame = rows_frame(result, ["email", "searches"])
    frame["searches"] = frame["searches"].astype("int64")
    return frame


def count_searches(engine: Engine, filters: SearchFilters, tz: str, *, raw: bool = False) -> int:
    """How many searches match `filters`."""
    read = source(filters, tz, raw)
    with engine.connect() as conn:
        if not read.rollups:
            statement = select(func.count()).select_from(SearchLog).where(*conditions(filters, tz))
        else:
            rows = rollups.user_rows(conn, read.lower, read.upper, dimensions(filters))
            statement = select(func.coalesce(func.sum(rows.c.searches), 0))
        return int(conn.execute(statement).scalar_one())
