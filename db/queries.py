"""Every question the dashboard asks the database, answered as a small DataFrame.

Aggregation happens in SQL (`select()`, bound parameters, GROUP BY); only grouped results
reach pandas, and lists of searches are paged or streamed in chunks. SQLite has no time
zones, so searches are counted per UTC bucket — an hour, or 15 minutes where DISPLAY_TZ
has a non-whole-hour offset — and those buckets are turned into local days and hours here
with zoneinfo, which stays right across DST changes. Pages call only what this module
exports, so a later change can answer the same questions from rollup tables.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd
from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Engine,
    Select,
    and_,
    case,
    desc,
    distinct,
    func,
    literal_column,
    select,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from db import rollups
from db.models import (
    ROLLUP_DAY,
    ROLLUP_HOUR,
    ROLLUP_USER_DAY,
    ROLLUP_USER_DAY_TOTAL,
    ROLLUP_USER_HOUR,
    ROLLUP_USER_HOUR_TOTAL,
    FilterValue,
    IngestRun,
    KeyValue,
    SearchLog,
    text_in,
)
from db.rollups import SYSTEM_SENDER, Dimensions

WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")

SEARCH_COLUMNS = ("time", "email", "source", "search_text", "search_reason", "description")
"""The columns of a list of searches, in the order pages and CSV exports show them."""


@dataclass(frozen=True)
class SearchFilters:
    """What the analyst asked to see: whole days `start`..`end` in the display time zone."""

    start: date
    end: date
    users: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    descriptions: tuple[str, ...] = ()
    text: str = ""
    include_system: bool = True

    def for_days(self, start: date, end: date) -> SearchFilters:
        return replace(self, start=start, end=end)

    def for_user(self, email: str) -> SearchFilters:
        return replace(self, users=(email,))


@dataclass(frozen=True)
class FilterOptions:
    """The values the sidebar offers, as stored."""

    users: tuple[str, ...]
    sources: tuple[str, ...]
    descriptions: tuple[str, ...]


@dataclass(frozen=True)
class IngestHealth:
    """Enough to warn about missing or stale data on every page."""

    has_searches: bool
    last_ok_finished: datetime | None
    last_run_status: str | None
    last_run_finished: datetime | None
    last_run_error: str | None


# --- time -----------------------------------------------------------------------------


def utc_bounds(start: date, end: date, tz: str) -> tuple[datetime, datetime]:
    """[start 00:00, (end + 1) 00:00) in `tz`, as UTC instants: the WHERE clause's range."""
    zone = ZoneInfo(tz)
    lower = datetime.combine(start, time(), zone).astimezone(UTC)
    upper = datetime.combine(end + timedelta(days=1), time(), zone).astimezone(UTC)
    return lower, upper


def bucket_seconds(tz: str, lower: datetime, upper: datetime) -> int:
    """3600 if `tz` is a whole number of hours from UTC throughout [lower, upper], else 900.

    Offsets change only at DST and law changes, never twice a day, so one look a day
    (plus the end) finds any half- or quarter-hour offset (India, Nepal, Lord Howe).
    """
    zone = ZoneInfo(tz)
    moment = lower
    while True:
        offset = moment.astimezone(zone).utcoffset()
        if offset is not None and offset.total_seconds() % 3600:
            return 900
        if moment >= upper:
            return 3600
        moment = min(moment + timedelta(hours=12), upper)


class epoch_bucket(FunctionElement[int]):
    """floor((unix seconds of a UTC timestamp + shift) / N), for GROUP BY on SQLite and
    PostgreSQL; the optional shift (seconds) moves UTC to a local clock.

    N is rendered as a literal so the same expression text appears in SELECT and GROUP BY.
    """

    type = BigInteger()
    inherit_cache = True
    name = "epoch_bucket"


def _epoch_bucket_sql(element: epoch_bucket, compiler: SQLCompiler, epoch: str, **kw: Any) -> str:
    column, seconds, *shift = (compiler.process(clause, **kw) for clause in element.clauses)
    shifted = "".join(f" + {value}" for value in shift)
    return f"(({epoch.format(column)}{shifted}) / {seconds})"


@compiles(epoch_bucket, "sqlite")
def _epoch_bucket_sqlite(element: epoch_bucket, compiler: SQLCompiler, **kw: Any) -> str:
    # SQLite stores 'YYYY-MM-DD HH:MM:SS.ffffff' and rounds a fraction to milliseconds, so
    # 59.9996 s would land in the next second (and bucket); the first 19 characters floor it.
    return _epoch_bucket_sql(element, compiler, "unixepoch(substr({}, 1, 19))", **kw)


@compiles(epoch_bucket, "postgresql")
def _epoch_bucket_postgresql(element: epoch_bucket, compiler: SQLCompiler, **kw: Any) -> str:
    # An integer epoch: EXTRACT returns numeric since PostgreSQL 14.
    return _epoch_bucket_sql(
        element, compiler, "CAST(floor(EXTRACT(EPOCH FROM {})) AS BIGINT)", **kw
    )


def _bucket(seconds: int) -> epoch_bucket:
    return epoch_bucket(SearchLog.create_time, literal_column(str(int(seconds))))


def offset_changes(tz: str, lower: datetime, upper: datetime) -> list[tuple[datetime, int]]:
    """(from this UTC instant, seconds east of UTC) for every offset `tz` has in [lower, upper].

    Found like `bucket_seconds` (offsets never change twice in 12 hours), then to the second.
    """
    zone = ZoneInfo(tz)

    def offset(epoch: int) -> int:
        delta = datetime.fromtimestamp(epoch, UTC).astimezone(zone).utcoffset()
        return int(delta.total_seconds()) if delta is not None else 0

    first, last = int(lower.timestamp()), int(upper.timestamp())
    changes = [(first, offset(first))]
    moment = first
    while moment < last:
        following = min(moment + 12 * 3600, last)
        if offset(following) != changes[-1][1]:
            low, high = moment, following
            while high - low > 1:
                middle = (low + high) // 2
                low, high = (middle, high) if offset(middle) == changes[-1][1] else (low, middle)
            changes.append((high, offset(high)))
        moment = following
    return [(datetime.fromtimestamp(epoch, UTC), seconds) for epoch, seconds in changes]


def _local_day(tz: str, lower: datetime, upper: datetime) -> epoch_bucket:
    """The local date of each search in `tz`, as days since 1970-01-01, computed in SQL."""
    (_, offset), *changes = offset_changes(tz, lower, upper)
    shift: ColumnElement[Any] = literal_column(str(offset))
    if changes:
        whens = []
        for start, following in changes:
            whens.append((SearchLog.create_time < start, literal_column(str(offset))))
            offset = following
        shift = case(*whens, else_=literal_column(str(offset)))
    return epoch_bucket(SearchLog.create_time, literal_column("86400"), shift)


def _local_times(buckets: pd.Series, seconds: int, tz: str) -> pd.Series:
    """Bucket numbers as the local start time of each bucket."""
    utc = pd.to_datetime(buckets.astype("int64") * seconds, unit="s", utc=True)
    return utc.dt.tz_convert(tz)


def _as_local(values: pd.Series, tz: str) -> pd.Series:
    """Aware datetimes (or an empty column) as datetime64 in `tz`."""
    return pd.to_datetime(values, utc=True).dt.tz_convert(tz)


# --- filters --------------------------------------------------------------------------


def has_reason() -> ColumnElement[bool]:
    """A search with a reason: not NULL and not blank (the API sends "" when none)."""
    return and_(SearchLog.search_reason.is_not(None), func.trim(SearchLog.search_reason) != "")


def conditions(filters: SearchFilters, tz: str) -> list[ColumnElement[bool]]:
    """The WHERE clause for `filters`: every value is a bound parameter."""
    lower, upper = utc_bounds(filters.start, filters.end, tz)
    where = [SearchLog.create_time >= lower, SearchLog.create_time < upper]
    if filters.users:
        where.append(text_in(SearchLog.email_addr, filters.users))
    if filters.sources:
        where.append(SearchLog.source.in_(filters.sources))
    if filters.descriptions:
        where.append(SearchLog.description.in_(filters.descriptions))
    if filters.text:
        where.append(SearchLog.search_text.icontains(filters.text, autoescape=True))
    if not filters.include_system:
        where.append(SearchLog.email_addr != SYSTEM_SENDER)
    return where


def _frame(engine: Engine, statement: Select[Any], columns: Sequence[str]) -> pd.DataFrame:
    with engine.connect() as conn:
        rows = conn.execute(statement).all()
    return pd.DataFrame([tuple(row) for row in rows], columns=list(columns))


# --- state ----------------------------------------------------------------------------


def data_version(engine: Engine) -> str:
    """Changes whenever the ingest stores rows, finishes a run or moves the cursor.

    Cheap (primary-key maxima), so it is read on every rerun and keys every cache.
    """
    statement = select(
        select(func.max(SearchLog.id)).scalar_subquery(),
        select(func.max(IngestRun.id)).scalar_subquery(),
        select(func.max(IngestRun.finished_at)).scalar_subquery(),
        select(func.count()).select_from(KeyValue).scalar_subquery(),
        select(func.max(KeyValue.updated_at)).scalar_subquery(),
    )
    with engine.connect() as conn:
        values = conn.execute(statement).one()
    return "|".join("" if value is None else str(value) for value in values)


def ingest_health(engine: Engine) -> IngestHealth:
    with engine.connect() as conn:
        has_searches = conn.execute(select(SearchLog.id).limit(1)).first() is not None
        last_ok = conn.execute(
            select(func.max(IngestRun.finished_at)).where(IngestRun.status == "ok")
        ).scalar()
        last = conn.execute(
            select(IngestRun.status, IngestRun.finished_at, IngestRun.error)
            .where(IngestRun.status != "running")
            .order_by(desc(IngestRun.id))
            .limit(1)
        ).first()
    return IngestHealth(
        has_searches=has_searches,
        last_ok_finished=last_ok,
        last_run_status=last.status if last else None,
        last_run_finished=last.finished_at if last else None,
        last_run_error=last.error if last else None,
    )


def filter_options(engine: Engine) -> FilterOptions:
    """Distinct users, sources and search types, sorted; from the small `filter_values`
    table the ingest keeps, never from a scan of every search."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(FilterValue.kind, FilterValue.value).order_by(
                FilterValue.kind, FilterValue.value
            )
        ).all()
    by_kind: dict[str, list[str]] = {"user": [], "source": [], "description": []}
    for kind, value in rows:
        by_kind.setdefault(kind, []).append(value)
    return FilterOptions(
        users=tuple(by_kind["user"]),
        sources=tuple(by_kind["source"]),
        descriptions=tuple(by_kind["description"]),
    )


# --- aggregates -----------------------------------------------------------------------


def bucket_counts(
    engine: Engine, filters: SearchFilters, tz: str, *, days_only: bool = False, raw: bool = False
) -> tuple[pd.DataFrame, int]:
    """Searches per UTC bucket: columns bucket, searches. Returns the frame and the bucket
    length in seconds: an hour (15 minutes for a non-whole-hour zone, or a day where
    `days_only` asks for no more and `tz` is UTC throughout).

    From the rollups unless the filters need raw rows (search text) or `raw` is set.
    """
    lower, upper = utc_bounds(filters.start, filters.end, tz)
    seconds = bucket_seconds(tz, lower, upper)
    if not raw and _rollups_answer(filters, seconds):
        if days_only and _utc_throughout(tz, lower, upper):
            seconds = 86400
        return _rollup_buckets(engine, filters, lower, upper, seconds), seconds
    bucket = _bucket(seconds).label("bucket")
    statement = (
        select(bucket, func.count().label("searches"))
        .where(*conditions(filters, tz))
        .group_by(bucket)
    )
    return _frame(engine, statement, ["bucket", "searches"]), seconds


def _rollups_answer(filters: SearchFilters, seconds: int) -> bool:
    """Rollups hold whole UTC hours and no search text."""
    return not filters.text and seconds == 3600


def _utc_throughout(tz: str, lower: datetime, upper: datetime) -> bool:
    return offset_changes(tz, lower, upper) == [(lower, 0)]


def _dimensions(filters: SearchFilters) -> Dimensions:
    return Dimensions(
        users=filters.users,
        sources=filters.sources,
        descriptions=filters.descriptions,
        include_system=filters.include_system,
    )


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
            *rollups.dimension_conditions(table, _dimensions(filters)),
        )
        .group_by(table.c.bucket)
    )
    frame = _frame(engine, statement, ["bucket", "searches"])
    frame["searches"] = frame["searches"].astype("int64")
    return frame


def _days(start: date, end: date) -> pd.DatetimeIndex:
    return pd.date_range(start, end, freq="D")


def searches_per_day(
    engine: Engine, filters: SearchFilters, tz: str, *, raw: bool = False
) -> pd.DataFrame:
    """Every day of the range (zeros included): columns date (datetime.date), searches."""
    buckets, seconds = bucket_counts(engine, filters, tz, days_only=True, raw=raw)
    return per_day_from_buckets(buckets, seconds, tz, filters.start, filters.end)


def per_day_from_buckets(
    buckets: pd.DataFrame, seconds: int, tz: str, start: date, end: date
) -> pd.DataFrame:
    local = _local_times(buckets["bucket"], seconds, tz)
    counts = buckets["searches"].groupby(local.dt.tz_localize(None).dt.normalize()).sum()
    days = _days(start, end)
    searches = counts.reindex(days, fill_value=0).astype("int64").to_numpy()
    return pd.DataFrame({"date": [day.date() for day in days], "searches": searches})


def hour_weekday_counts(
    engine: Engine, filters: SearchFilters, tz: str, *, raw: bool = False
) -> pd.DataFrame:
    """A full 7 × 24 grid: columns weekday (0 = Monday), hour (local), searches."""
    buckets, seconds = bucket_counts(engine, filters, tz, raw=raw)
    return hour_weekday_from_buckets(buckets, seconds, tz)


def hour_weekday_from_buckets(buckets: pd.DataFrame, seconds: int, tz: str) -> pd.DataFrame:
    local = _local_times(buckets["bucket"], seconds, tz)
    counts = buckets.groupby([local.dt.day_of_week, local.dt.hour])["searches"].sum()
    grid = pd.MultiIndex.from_product([range(7), range(24)], names=["weekday", "hour"])
    counts.index.names = ["weekday", "hour"]
    result = counts.reindex(grid, fill_value=0).reset_index()
    result["searches"] = result["searches"].astype("int64")
    return result


SUMMARY_COLUMNS = (
    "email",
    "searches",
    "active_days",
    "first_search",
    "last_search",
    "top_description",
    "reason_share",
)


def summary_by_user(
    engine: Engine, filters: SearchFilters, tz: str, *, raw: bool = False
) -> pd.DataFrame:
    """One row per user, most searches first.

    Columns: SUMMARY_COLUMNS — email, searches, active_days, first_search, last_search (local
    time), top_description (most common; ties go to the alphabetically first), reason_share
    (0–1).
    """
    return _summary(
        _by_description(engine, filters, tz, raw=raw),
        _active_days(engine, filters, tz, raw=raw),
        tz,
    )


def _rollup_range(filters: SearchFilters, tz: str, raw: bool) -> tuple[datetime, datetime] | None:
    """The UTC range when rollups can answer `filters` (and `raw` does not forbid them)."""
    lower, upper = utc_bounds(filters.start, filters.end, tz)
    if raw or not _rollups_answer(filters, bucket_seconds(tz, lower, upper)):
        return None
    return lower, upper


def _active_days(
    engine: Engine, filters: SearchFilters, tz: str, *, raw: bool = False
) -> pd.Series:
    """Local days with a search, per user, counted in SQL: a row per user, not per hour."""
    lower, upper = utc_bounds(filters.start, filters.end, tz)
    if _rollup_range(filters, tz, raw) is not None:
        statement = _active_days_from_rollups(filters, tz, lower, upper)
    else:
        statement = (
            select(SearchLog.email_addr, func.count(distinct(_local_day(tz, lower, upper))))
            .where(*conditions(filters, tz))
            .group_by(SearchLog.email_addr)
        )
    frame = _frame(engine, statement, ["email", "active_days"])
    return frame.set_index("email")["active_days"].astype("int64")


def _active_days_from_rollups(
    filters: SearchFilters, tz: str, lower: datetime, upper: datetime
) -> Select[Any]:
    """UTC days from the (user, day) rollups when `tz` is UTC; else the local days of the
    hours a user searched (the hourly rollup, shifted by the zone's offset at each hour)."""
    if _utc_throughout(tz, lower, upper):
        typed = filters.sources or filters.descriptions
        table = ROLLUP_USER_DAY if typed else ROLLUP_USER_DAY_TOTAL
        first, end = rollups.day_range(lower, upper)
        day: ColumnElement[Any] = table.c.bucket
    else:
        table = ROLLUP_USER_HOUR
        first, end = int(lower.timestamp()) // 3600, int(upper.timestamp()) // 3600
        (_, offset), *changes = offset_changes(tz, lower, upper)
        shift: ColumnElement[Any] = literal_column(str(offset // 3600))
        if changes:
            whens = []
            for start, following in changes:
                hour = int(start.timestamp()) // 3600
                whens.append((table.c.bucket < hour, literal_column(str(offset // 3600))))
                offset = following
            shift = case(*whens, else_=literal_column(str(offset // 3600)))
        day = (table.c.bucket + shift) // literal_column("24")
    where = [table.c.bucket >= first, table.c.bucket < end]
    where += rollups.dimension_conditions(table, _dimensions(filters))
    return (
        select(table.c.email_addr, func.count(distinct(day)))
        .where(*where)
        .group_by(table.c.email_addr)
    )


def _by_description(
    engine: Engine, filters: SearchFilters, tz: str, *, raw: bool = False
) -> pd.DataFrame:
    """Per (user, search type, NULL included): searches, first, last and with a reason.

    One pass over the rows (or their rollups) answers every per-user figure but active days.
    """
    columns = ["email", "description", "searches", "first_search", "last_search", "with_reason"]
    bounds = _rollup_range(filters, tz, raw)
    if bounds is None:
        return _frame(
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
            columns,
        )
    with engine.connect() as conn:
        rows = rollups.user_rows(conn, *bounds, _dimensions(filters))
        statement = select(
            rows.c.email_addr,
            rows.c.description,
            func.sum(rows.c.searches),
            func.min(rows.c.first_time),
            func.max(rows.c.last_time),
            func.sum(rows.c.with_reason),
        ).group_by(rows.c.email_addr, rows.c.description)
        result = conn.execute(statement).all()
    frame = pd.DataFrame([tuple(row) for row in result], columns=columns)
    return _utc_times(frame, ["first_search", "last_search"])


def _utc_times(frame: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
    """Timestamps read through a UNION lose their column type on SQLite (strings come back):
    parse them as UTC."""
    for column in columns:
        if len(frame) and isinstance(frame[column].iloc[0], str):
            frame[column] = pd.to_datetime(frame[column], utc=True)
    return frame


def _summary(by_description: pd.DataFrame, active_days: pd.Series, tz: str) -> pd.DataFrame:
    """`summary_by_user` from `_by_description` and the active days per user."""
    if by_description.empty:
        return pd.DataFrame({column: [] for column in SUMMARY_COLUMNS})
    rows = by_description.assign(
        searches=by_description["searches"].astype("int64"),
        with_reason=by_description["with_reason"].astype("int64"),
        first_search=_as_local(by_description["first_search"], tz),
        last_search=_as_local(by_description["last_search"], tz),
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
        active_days=totals["email"].map(active_days).fillna(0).astype("int64"),
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
    by_description = _by_description(engine, filters, tz, raw=raw)
    if len(filters.users) == 1:
        days = _local_times(buckets["bucket"], seconds, tz).dt.date.nunique()
        active_days = pd.Series(days, index=by_description["email"].unique(), dtype="int64")
    else:
        active_days = _active_days(engine, filters, tz, raw=raw)
    return Activity(
        summary=_summary(by_description, active_days, tz),
        per_day=per_day_from_buckets(buckets, seconds, tz, filters.start, filters.end),
        hour_weekday=hour_weekday_from_buckets(buckets, seconds, tz) if hours else None,
        searches=int(buckets["searches"].sum()),
    )


def user_counts(
    engine: Engine, filters: SearchFilters, tz: str, *, raw: bool = False
) -> pd.DataFrame:
    """Searches per user, most first: columns email, searches."""
    bounds = _rollup_range(filters, tz, raw)
    if bounds is None:
        searches = func.count().label("searches")
        frame = _frame(
            engine,
            select(SearchLog.email_addr, searches)
            .where(*conditions(filters, tz))
            .group_by(SearchLog.email_addr)
            .order_by(desc(searches), SearchLog.email_addr),
            ["email", "searches"],
        )
    else:
        with engine.connect() as conn:
            rows = rollups.user_rows(conn, *bounds, _dimensions(filters))
            searches = func.sum(rows.c.searches).label("searches")
            result = conn.execute(
                select(rows.c.email_addr, searches)
                .group_by(rows.c.email_addr)
                .order_by(desc(searches), rows.c.email_addr)
            ).all()
        frame = pd.DataFrame([tuple(row) for row in result], columns=["email", "searches"])
    frame["searches"] = frame["searches"].astype("int64")
    return frame


def count_searches(engine: Engine, filters: SearchFilters, tz: str, *, raw: bool = False) -> int:
    bounds = _rollup_range(filters, tz, raw)
    with engine.connect() as conn:
        if bounds is None:
            statement = select(func.count()).select_from(SearchLog).where(*conditions(filters, tz))
        else:
            rows = rollups.user_rows(conn, *bounds, _dimensions(filters))
            statement = select(func.coalesce(func.sum(rows.c.searches), 0))
        return int(conn.execute(statement).scalar_one())


# --- lists of searches ------------------------------------------------------------------

_LIST_COLUMNS = (
    SearchLog.create_time,
    SearchLog.email_addr,
    SearchLog.source,
    SearchLog.search_text,
    SearchLog.search_reason,
    SearchLog.description,
)


def _newest_first(filters: SearchFilters, tz: str) -> Select[Any]:
    return (
        select(*_LIST_COLUMNS)
        .where(*conditions(filters, tz))
        .order_by(desc(SearchLog.create_time), desc(SearchLog.id))
    )


def _search_frame(rows: Sequence[Any], tz: str) -> pd.DataFrame:
    frame = pd.DataFrame([tuple(row) for row in rows], columns=list(SEARCH_COLUMNS))
    frame["time"] = _as_local(frame["time"], tz)
    return frame


def search_page(
    engine: Engine,
    filters: SearchFilters,
    tz: str,
    *,
    limit: int,
    offset: int = 0,
    total: int | None = None,
) -> pd.DataFrame:
    """One page of matching searches, newest first (LIMIT/OFFSET in SQL).

    Given the `total` that match, a page in the older half is read from the oldest end and
    turned round, so the last of 2.7M rows costs what the first does, not a 2.7M-row skip.
    """
    if total is not None and offset > total // 2 and offset < total:
        count = min(limit, total - offset)
        oldest_first = (
            select(*_LIST_COLUMNS)
            .where(*conditions(filters, tz))
            .order_by(SearchLog.create_time, SearchLog.id)
            .limit(count)
            .offset(total - offset - count)
        )
        with engine.connect() as conn:
            rows = conn.execute(oldest_first).all()
        return _search_frame(rows[::-1], tz)
    with engine.connect() as conn:
        rows = conn.execute(_newest_first(filters, tz).limit(limit).offset(offset)).all()
    return _search_frame(rows, tz)


def iter_searches(
    engine: Engine, filters: SearchFilters, tz: str, *, chunk_rows: int = 5_000
) -> Iterator[pd.DataFrame]:
    """Every matching search, newest first, in chunks streamed from the database."""
    with engine.connect() as conn:
        result = conn.execution_options(stream_results=True, yield_per=chunk_rows).execute(
            _newest_first(filters, tz)
        )
        for rows in result.partitions(chunk_rows):
            yield _search_frame(rows, tz)


def searches_by_user(
    engine: Engine, filters: SearchFilters, tz: str, *, per_user: int = 200
) -> pd.DataFrame:
    """The newest `per_user` searches of each user (a window function, not every row).

    Columns: SEARCH_COLUMNS, ordered by user then newest first.
    """
    rank = (
        func.row_number()
        .over(
            partition_by=SearchLog.email_addr,
            order_by=(desc(SearchLog.create_time), desc(SearchLog.id)),
        )
        .label("rank")
    )
    ranked = (
        select(*_LIST_COLUMNS, SearchLog.id.label("row_id"), rank)
        .where(*conditions(filters, tz))
        .subquery()
    )
    statement = (
        select(*(ranked.c[column.key] for column in _LIST_COLUMNS))
        .where(ranked.c.rank <= per_user)
        .order_by(ranked.c.email_addr, desc(ranked.c.create_time), desc(ranked.c.row_id))
    )
    with engine.connect() as conn:
        rows = conn.execute(statement).all()
    return _search_frame(rows, tz)


# --- keyset pages (the machine API) ---------------------------------------------------


@dataclass(frozen=True)
class Keyset:
    """Where a keyset page starts: after the search (`time`, `row_id`), among the rows that
    existed when the first page was read (`id <= snapshot_id`)."""

    snapshot_id: int
    time: datetime | None = None
    row_id: int | None = None


def newest_search_id(engine: Engine) -> int:
    """The highest row id now: a listing fixed to it ignores rows stored later."""
    with engine.connect() as conn:
        return int(conn.execute(select(func.coalesce(func.max(SearchLog.id), 0))).scalar_one())


def search_keyset_page(
    engine: Engine, filters: SearchFilters, tz: str, keyset: Keyset, *, limit: int
) -> tuple[pd.DataFrame, Keyset | None]:
    """Up to `limit` matching searches newest first, after `keyset`, and the keyset of the
    next page (None after the last).

    Ordered by (time, id) and bounded by the snapshot id, so a page never repeats or skips
    a row while the ingest writes: rows stored after the first page, even with an older
    time (a late search), are not part of the listing.
    """
    where = [*conditions(filters, tz), SearchLog.id <= keyset.snapshot_id]
    if keyset.time is not None and keyset.row_id is not None:
        where.append(
            (SearchLog.create_time < keyset.time)
            | ((SearchLog.create_time == keyset.time) & (SearchLog.id < keyset.row_id))
        )
    statement = (
        select(*_LIST_COLUMNS, SearchLog.id)
        .where(*where)
        .order_by(desc(SearchLog.create_time), desc(SearchLog.id))
        .limit(limit + 1)
    )
    with engine.connect() as conn:
        rows = conn.execute(statement).all()
    following = None
    if len(rows) > limit:
        rows = rows[:limit]
        last = rows[-1]
        following = Keyset(keyset.snapshot_id, last.create_time, last.id)
    return _search_frame([tuple(row)[:-1] for row in rows], tz), following
