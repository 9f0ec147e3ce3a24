"""Rollups: search counts kept per user and UTC hour, day and month (and over all time), in
the same transaction that stores the rows, so the dashboard never aggregates raw rows for a
count.

The ingest calls `add_rows_after(conn, last_id)` before committing its pages: every row with an
id above `last_id` (the single writer's new rows) is counted into every rollup by one
set-based INSERT … SELECT … ON CONFLICT DO UPDATE per table. `rebuild` recounts everything
from `search_logs` (the migration that adds the rollups, and bulk loads, call it).

Reading: `segments` splits a UTC range into whole months, days and hours so a range reads
the coarsest rows that fit it exactly; `user_rows` is the union of those rows, with the
dashboard's filters applied to the rollups' dimensions.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import (
    ColumnElement,
    Connection,
    Subquery,
    Table,
    and_,
    case,
    func,
    null,
    select,
    text,
    union_all,
)

from db.models import (
    ROLLUP_DAY,
    ROLLUP_HOUR,
    ROLLUP_USER_ALL,
    ROLLUP_USER_DAY,
    ROLLUP_USER_DAY_HOURS,
    ROLLUP_USER_DAY_TOTAL,
    ROLLUP_USER_HOUR,
    ROLLUP_USER_HOUR_TOTAL,
    ROLLUP_USER_MONTH,
    text_in,
    text_key_sql,
)
from db.scope import TenantScope
from db.sql import epoch_sql

SYSTEM_SENDER = "<>"
"""The address Mimecast reports for searches made by the system itself."""

ROLLUP_TABLES: tuple[Table, ...] = (
    ROLLUP_USER_HOUR,
    ROLLUP_USER_DAY,
    ROLLUP_USER_MONTH,
    ROLLUP_USER_ALL,
    ROLLUP_HOUR,
    ROLLUP_DAY,
    ROLLUP_USER_HOUR_TOTAL,
    ROLLUP_USER_DAY_TOTAL,
    ROLLUP_USER_DAY_HOURS,
)

# --- maintenance ----------------------------------------------------------------------

_MONTH = {
    "sqlite": (
        "(CAST(substr(create_time, 1, 4) AS INTEGER) * 12"
        " + CAST(substr(create_time, 6, 2) AS INTEGER) - 1)"
    ),
    "postgresql": (
        "CAST(EXTRACT(YEAR FROM create_time AT TIME ZONE 'UTC') * 12"
        " + EXTRACT(MONTH FROM create_time AT TIME ZONE 'UTC') - 1 AS BIGINT)"
    ),
}
_LEAST = {"sqlite": "min", "postgresql": "LEAST"}
_GREATEST = {"sqlite": "max", "postgresql": "GREATEST"}
# The page's new rows, by id. SQLite would otherwise answer a query that needs only
# email_addr and create_time by scanning the whole covering (email_addr, create_time) index:
# a full scan per page, quadratic over a backfill. NOT INDEXED still allows the rowid range.
_NEW_ROWS = {"sqlite": "search_logs NOT INDEXED", "postgresql": "search_logs"}

_NULLS = (
    "(CASE WHEN source IS NULL THEN 1 ELSE 0 END + CASE WHEN description IS NULL THEN 2 ELSE 0 END)"
)
_WITH_REASON = "CASE WHEN search_reason IS NOT NULL AND trim(search_reason) != '' THEN 1 ELSE 0 END"
_DIMENSIONS = f"coalesce(source, ''), coalesce(description, ''), {_NULLS}"


def _bucket_sql(table: Table, dialect: str) -> str | None:
    epoch = epoch_sql("create_time", dialect)
    return {
        "rollup_user_hour": f"{epoch} / 3600",
        "rollup_user_day": f"{epoch} / 86400",
        "rollup_user_month": _MONTH[dialect],
        "rollup_hour": f"{epoch} / 3600",
        "rollup_day": f"{epoch} / 86400",
        "rollup_user_hour_total": f"{epoch} / 3600",
        "rollup_user_day_total": f"{epoch} / 86400",
        "rollup_user_day_hours": f"{epoch} / 86400",
    }.get(table.name)


def _day_hours_sql(name: str, dialect: str, text_keys: bool) -> str:
    """The new rows' UTC hours per user and day into `hours` of their day and `hours_before`
    of the next, OR-ed into what is stored (an hour already marked stays marked). The mask
    is a sum of distinct powers of two (SQLite has no bit_or aggregate); each key gets at
    most one mask per column from the two halves, so their sums are those masks."""
    epoch = epoch_sql("create_time", dialect)
    days = (
        f"SELECT tenant, {epoch} / 86400 AS day, email_addr, "
        f"sum(DISTINCT 1 << CAST(({epoch} / 3600) % 24 AS INTEGER)) AS mask "
        f"FROM {_NEW_ROWS[dialect]} WHERE id > :after GROUP BY 1, 2, 3"
    )
    target = _conflict_target(["tenant", "bucket", "email_addr"], dialect, text_keys)
    return (
        f"WITH days AS ({days}) "
        f"INSERT INTO {name} (tenant, bucket, email_addr, hours, hours_before) "
        "SELECT tenant, bucket, email_addr, sum(hours), sum(hours_before) FROM ("
        "SELECT tenant, day AS bucket, email_addr, mask AS hours, 0 AS hours_before FROM days "
        "UNION ALL "
        "SELECT tenant, day + 1, email_addr, 0, mask FROM days"
        ") AS halves WHERE true GROUP BY 1, 2, 3 "
        f"ON CONFLICT ({target}) DO UPDATE SET hours = {name}.hours | excluded.hours, "
        f"hours_before = {name}.hours_before | excluded.hours_before"
    )


def _conflict_target(columns: list[str], dialect: str, text_keys: bool) -> str:
    """The rollup's key as ON CONFLICT names it: free text as `text_key` (see db.models)."""
    free_text = ("email_addr", "source", "description") if text_keys else ()
    return ", ".join(
        text_key_sql(column, dialect) if column in free_text else column for column in columns
    )


def _upsert_sql(table: Table, dialect: str, text_keys: bool = True) -> str:
    """INSERT … SELECT … GROUP BY … ON CONFLICT DO UPDATE for one rollup, rows with id > :after."""
    name = table.name
    bucket = _bucket_sql(table, dialect)
    tenant = ["tenant"]  # every rollup counts each tenant's searches apart
    if "nulls" not in table.c:  # per user and bucket, every source and type together
        if "hours" in table.c:
            return _day_hours_sql(name, dialect, text_keys)
        target = _conflict_target([*tenant, "email_addr", "bucket"], dialect, text_keys)
        columns = ", ".join([*tenant, "email_addr", "bucket", "searches"])
        selected = ", ".join([*tenant, "email_addr", str(bucket), "count(*)"])
        groups = ", ".join(str(position) for position in range(1, len(tenant) + 3))
        return (
            f"INSERT INTO {name} ({columns}) "
            f"SELECT {selected} FROM {_NEW_ROWS[dialect]} WHERE id > :after "
            f"GROUP BY {groups} ON CONFLICT ({target}) "
            f"DO UPDATE SET searches = {name}.searches + excluded.searches"
        )
    per_user = "email_addr" in table.c
    who = (
        "email_addr" if per_user else f"CASE WHEN email_addr = '{SYSTEM_SENDER}' THEN 1 ELSE 0 END"
    )
    who_column = "email_addr" if per_user else "is_system"
    keys = tenant + ([bucket] if bucket else []) + [who, _DIMENSIONS]
    key_columns = tenant + (["bucket"] if bucket else [])
    key_columns += [who_column, "source", "description", "nulls"]
    measures = ["count(*)"]
    measure_columns = ["searches"]
    updates = [f"searches = {name}.searches + excluded.searches"]
    if per_user:
        measures += [f"sum({_WITH_REASON})", "min(create_time)", "max(create_time)"]
        measure_columns += ["with_reason", "first_time", "last_time"]
        updates += [
            f"with_reason = {name}.with_reason + excluded.with_reason",
            f"first_time = {_LEAST[dialect]}({name}.first_time, excluded.first_time)",
            f"last_time = {_GREATEST[dialect]}({name}.last_time, excluded.last_time)",
        ]
    groups = ", ".join(str(position) for position in range(1, len(key_columns) + 1))
    return (
        f"INSERT INTO {name} ({', '.join(key_columns + measure_columns)}) "
        f"SELECT {', '.join(keys + measures)} FROM {_NEW_ROWS[dialect]} WHERE id > :after "
        f"GROUP BY {groups} "
        f"ON CONFLICT ({_conflict_target(key_columns, dialect, text_keys)}) "
        f"DO UPDATE SET {', '.join(updates)}"
    )


def add_rows_after(conn: Connection, after_id: int, *, text_keys: bool = True) -> None:
    """Count every `search_logs` row with id > `after_id` into every rollup.

    Call it in the transaction that inserted those rows, with the largest id that existed
    before them: the single-writer lock means nothing else inserted in between. Each row
    counts under its own tenant. (`text_keys=False` names the keys as plain columns.)
    """
    dialect = conn.dialect.name
    for table in ROLLUP_TABLES:
        conn.execute(text(_upsert_sql(table, dialect, text_keys)), {"after": after_id})


def rebuild(conn: Connection) -> None:
    """Recount every rollup from `search_logs` (after a bulk load, or to repair)."""
    for table in ROLLUP_TABLES:
        conn.execute(table.delete())
    add_rows_after(conn, 0)


# --- ranges ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Segment:
    """Buckets [first, end) of one rollup table."""

    table: Table
    first: int
    end: int


def _epoch(moment: datetime) -> int:
    return int(moment.timestamp())


def _month_index(moment: datetime) -> int:
    return moment.year * 12 + moment.month - 1


def _month_start(index: int) -> datetime:
    return datetime(index // 12, index % 12 + 1, 1, tzinfo=UTC)


def hour_aligned(moment: datetime) -> bool:
    return _epoch(moment) % 3600 == 0 and moment.microsecond == 0


def segments(lower: datetime, upper: datetime) -> list[Segment]:
    """Whole UTC months, days and hours that exactly tile [lower, upper); both must be on
    the hour. Hours at the ends, then days, then months in the middle."""
    if not (hour_aligned(lower) and hour_aligned(upper)):
        raise ValueError("rollup ranges start and end on a whole UTC hour")
    if upper <= lower:
        return []
    low, high = _epoch(lower), _epoch(upper)
    day_low, day_high = -(-low // 86400), high // 86400
    if day_low >= day_high:
        return [Segment(ROLLUP_USER_HOUR, low // 3600, high // 3600)]
    parts = [
        Segment(ROLLUP_USER_HOUR, low // 3600, day_low * 24),
        Segment(ROLLUP_USER_HOUR, day_high * 24, high // 3600),
    ]
    first_day = datetime.fromtimestamp(day_low * 86400, UTC)
    last_day = datetime.fromtimestamp(day_high * 86400, UTC)
    month_low = _month_index(first_day) + (0 if first_day.day == 1 else 1)
    month_high = _month_index(last_day)
    if month_low < month_high:
        parts += [
            Segment(ROLLUP_USER_DAY, day_low, _epoch(_month_start(month_low)) // 86400),
            Segment(ROLLUP_USER_MONTH, month_low, month_high),
            Segment(ROLLUP_USER_DAY, _epoch(_month_start(month_high)) // 86400, day_high),
        ]
    else:
        parts.append(Segment(ROLLUP_USER_DAY, day_low, day_high))
    return [part for part in parts if part.first < part.end]


@dataclass(frozen=True)
class Dimensions:
    """The dashboard's filters that rollups can answer: everything but the search text,
    inside `scope` (required, as in `db.filters.SearchFilters`)."""

    scope: TenantScope
    users: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    descriptions: tuple[str, ...] = ()
    include_system: bool = True


def dimension_conditions(table: Table, dims: Dimensions) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = [dims.scope.where(table.c.tenant)]
    per_user = "email_addr" in table.c
    if dims.users:
        where.append(text_in(table.c.email_addr, dims.users))
    if dims.sources:
        where += [table.c.source.in_(dims.sources), table.c.nulls.op("&")(1) == 0]
    if dims.descriptions:
        where += [table.c.description.in_(dims.descriptions), table.c.nulls.op("&")(2) == 0]
    if not dims.include_system:
        where.append(table.c.email_addr != SYSTEM_SENDER if per_user else table.c.is_system == 0)
    return where


def data_span(conn: Connection, scope: TenantScope) -> tuple[datetime | None, datetime | None]:
    """The first and last search stored in `scope` (from the small all-time rollup)."""
    everything = ROLLUP_USER_ALL
    first, last = conn.execute(
        select(func.min(everything.c.first_time), func.max(everything.c.last_time)).where(
            scope.where(everything.c.tenant)
        )
    ).one()
    return first, last


def user_rows(conn: Connection, lower: datetime, upper: datetime, dims: Dimensions) -> Subquery:
    """Per-user rollup rows covering exactly [lower, upper): email_addr, source, description
    (NULL restored), searches, with_reason, first_time, last_time — to aggregate further.

    When every stored search lies inside the range, the all-time rollup answers alone.
    """
    first, last = data_span(conn, dims.scope)
    if first is not None and last is not None and lower <= first and last < upper:
        parts: Sequence[tuple[Table, ColumnElement[bool] | None]] = [(ROLLUP_USER_ALL, None)]
    else:
        parts = [
            (part.table, and_(part.table.c.bucket >= part.first, part.table.c.bucket < part.end))
            for part in segments(lower, upper)
        ]
    selects = []
    for table, in_range in parts:
        where = dimension_conditions(table, dims)
        if in_range is not None:
            where.insert(0, in_range)
        selects.append(
            select(
                table.c.email_addr,
                case((table.c.nulls.op("&")(1) != 0, null()), else_=table.c.source).label("source"),
                case((table.c.nulls.op("&")(2) != 0, null()), else_=table.c.description).label(
                    "description"
                ),
                table.c.searches,
                table.c.with_reason,
                table.c.first_time,
                table.c.last_time,
            ).where(*where)
        )
    return (union_all(*selects) if len(selects) > 1 else selects[0]).subquery("rolled")
