"""The figures the summary, day and user pages draw, reshaped with pandas from the grouped
rows that `db.rollup_reads` returns (never from every search): per day, per weekday and
hour, per user, and all of them at once (`activity`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pandas as pd
from sqlalchemy import Engine

from db.filters import SearchFilters
from db.rollup_reads import active_days, bucket_counts, by_description
from db.timezones import as_local, local_times

WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")

SUMMARY_COLUMNS = (
    "email",
    "searches",
    "active_days",
    "first_search",
    "last_search",
    "top_description",
    "reason_share",
)


def searches_per_day(
    engine: Engine, filters: SearchFilters, tz: str, *, raw: bool = False
) -> pd.DataFrame:
    """Every day of the range (zeros included): columns date (datetime.date), searches."""
    buckets, seconds = bucket_counts(engine, filters, tz, days_only=True, raw=raw)
    return per_day_from_buckets(buckets, seconds, tz, filters.start, filters.end)


def per_day_from_buckets(
    buckets: pd.DataFrame, seconds: int, tz: str, start: date, end: date
) -> pd.DataFrame:
    local = local_times(buckets["bucket"], seconds, tz)
    counts = buckets["searches"].groupby(local.dt.tz_localize(None).dt.normalize()).sum()
    days = pd.date_range(start, end, freq="D")
    searches = counts.reindex(days, fill_value=0).astype("int64").to_numpy()
    return pd.DataFrame({"date": [day.date() for day in days], "searches": searches})


def hour_weekday_counts(
    engine: Engine, filters: SearchFilters, tz: str, *, raw: bool = False
) -> pd.DataFrame:
    """A full 7 × 24 grid: columns weekday (0 = Monday), hour (local), searches."""
    buckets, seconds = bucket_counts(engine, filters, tz, raw=raw)
    return hour_weekday_from_buckets(buckets, seconds, tz)


def hour_weekday_from_buckets(buckets: pd.DataFrame, seconds: int, tz: str) -> pd.DataFrame:
    local = local_times(buckets["bucket"], seconds, tz)
    counts = buckets.groupby([local.dt.day_of_week, local.dt.hour])["searches"].sum()
    grid = pd.MultiIndex.from_product([range(7), range(24)], names=["weekday", "hour"])
    counts.index.names = ["weekday", "hour"]
    result = counts.reindex(grid, fill_value=0).reset_index()
    result["searches"] = result["searches"].astype("int64")
    return result


def summary_by_user(
    engine: Engine, filters: SearchFilters, tz: str, *, raw: bool = False
) -> pd.DataFrame:
    """One row per user, most searches first.

    Columns: SUMMARY_COLUMNS — email, searches, active_days, first_search, last_search (local
    time), top_description (most common; ties go to the alphabetically first), reason_share
    (0–1).
    """
    return _summary(
        by_description(engine, filters, tz, raw=raw),
        active_days(engine, filters, tz, raw=raw),
        tz,
    )


def _summary(per_description: pd.DataFrame, days: pd.Series, tz: str) -> pd.DataFrame:
    """`summary_by_user` from `by_description` and the active days per user."""
    if per_description.empty:
        return pd.DataFrame({column: [] for column in SUMMARY_COLUMNS})
    rows = per_description.assign(
        searches=per_description["searches"].astype("int64"),
        with_reason=per_description["with_reason"].astype("int64"),
        first_search=as_local(per_description["first_search"], tz),
        last_search=as_local(per_description["last_search"], tz),
    )
    totals = rows.groupby("email", as_index=False).agg(
        searches=("searches", "sum"),
        first_search=("first_search", "min"),
        last_search=("last_search", "max"),
        with_reason=("with_reason", "sum"),
    )
    typed = rows[rows["description"].notna()]
    top = (
        typed.sort_values(["email", "searches", "description"], ascending=[True, False, True])
        .drop_duplicates("email")
        .set_index("email")["description"]
    )
    result = totals.assign(
        active_days=totals["email"].map(days).fillna(0).astype("int64"),
        top_description=totals["email"].map(top),
        reason_share=totals["with_reason"].astype("float64") / totals["searches"],
    )
    result = result[list(SUMMARY_COLUMNS)]
    return result.sort_values(["searches", "email"], ascending=[False, True]).reset_index(drop=True)


@dataclass(frozen=True)
class Activity:
    """Every figure of the summary and user pages, from few passes over the searches."""

    summary: pd.DataFrame
    """`summary_by_user`."""
    per_day: pd.DataFrame
    """`searches_per_day`."""
    hour_weekday: pd.DataFrame | None
    """`hour_weekday_counts`; None when not asked for (`hours=False`)."""
    searches: int
    """`count_searches`."""


def activity(
    engine: Engine, filters: SearchFilters, tz: str, *, hours: bool = True, raw: bool = False
) -> Activity:
    """The per-user summary, days, hours and total from three passes over the searches (or
    their rollups: per bucket, per user and search type, per user for active days) instead
    of one per figure; two for a single user, whose active days are in their buckets.
    Without `hours`, buckets may be whole days, which is cheaper over years."""
    buckets, seconds = bucket_counts(engine, filters, tz, days_only=not hours, raw=raw)
    per_description = by_description(engine, filters, tz, raw=raw)
    if len(filters.users) == 1:
        days = local_times(buckets["bucket"], seconds, tz).dt.date.nunique()
        user_days = pd.Series(days, index=per_description["email"].unique(), dtype="int64")
    else:
        user_days = active_days(engine, filters, tz, raw=raw)
    return Activity(
        summary=_summary(per_description, user_days, tz),
        per_day=per_day_from_buckets(buckets, seconds, tz, filters.start, filters.end),
        hour_weekday=hour_weekday_from_buckets(buckets, seconds, tz) if hours else None,
        searches=int(buckets["searches"].sum()),
    )
