"""What the detections read from the searches themselves (the rest comes from the rollups
and their own tables): a tenant's searches in a time range, oldest first, as plain tuples
streamed in chunks. One function per backend behind `SearchStore.detection_searches`, so
the detector reads ClickHouse and SQL alike (`db.clickhouse.detect_reads` is the twin)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import Any, Optional, Protocol

from sqlalchemy import Engine, func, literal_column, select

from db.models import ROLLUP_HOUR, ROLLUP_USER_ALL, ROLLUP_USER_HOUR, SearchLog
from db.rollups import data_span
from db.scope import TenantScope
from db.sql import epoch_bucket
from db.state.cursor import read_cursor

DetectionRow = tuple[datetime, str, Optional[str], Optional[str]]  # noqa: UP045 (an alias)
"""(time aware UTC, user, search text, search reason) of one search."""


def aware(value: datetime) -> datetime:
    """A stored time as aware UTC (SQLite and chDB give naive UTC times)."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def detection_searches(
    engine: Engine,
    tenant: str,
    lower: datetime,
    upper: datetime,
    *,
    users: Sequence[str] | None = None,
    blank_text: bool = True,
    chunk_rows: int = 50_000,
) -> Iterator[list[DetectionRow]]:
    """`tenant`'s searches in [lower, upper), oldest first, in chunks of up to `chunk_rows`:
    only `users`' when given, and without those of an empty text unless `blank_text`."""
    if users is not None and not users:
        return
    statement = select(
        SearchLog.create_time, SearchLog.email_addr, SearchLog.search_text, SearchLog.search_reason
    ).where(
        TenantScope.one(tenant).where(SearchLog.tenant),
        SearchLog.create_time >= lower,
        SearchLog.create_time < upper,
    )
    if not blank_text:
        statement = statement.where(SearchLog.search_text != "")
    if users is not None:
        statement = statement.where(SearchLog.email_addr.in_(sorted(users)))
    with engine.connect() as conn:
        result = conn.execution_options(stream_results=True, yield_per=chunk_rows).execute(
            statement.order_by(SearchLog.create_time)
        )
        for chunk in result.partitions():
            yield [(aware(row[0]), row[1], row[2], row[3]) for row in chunk]


class DetectionSearches(Protocol):
    """What the detector reads of a search store (`SearchStore` has it; so has
    `SqlSearches`, which spares the detector the pandas that `db.store` loads)."""

    def detection_searches(
        self,
        tenant: str,
        lower: datetime,
        upper: datetime,
        *,
        users: Sequence[str] | None = None,
        blank_text: bool = True,
        chunk_rows: int = 50_000,
    ) -> Iterator[list[DetectionRow]]: ...

    def detection_buckets(
        self, tenant: str, lower: datetime, upper: datetime, seconds: int, *, per_user: bool
    ) -> list[tuple[Any, ...]]: ...

    def detection_first_seen(self, tenant: str) -> dict[str, float]: ...

    def detection_first_search(self, tenant: str) -> datetime | None: ...

    def read_cursor(self, tenant: str) -> datetime | None: ...


class SqlSearches:
    """The detector's reads on one SQL engine (`SqlStore`'s, without its imports): the
    rollups where they answer, the raw rows for texts and zones not whole hours from UTC."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def detection_searches(
        self,
        tenant: str,
        lower: datetime,
        upper: datetime,
        *,
        users: Sequence[str] | None = None,
        blank_text: bool = True,
        chunk_rows: int = 50_000,
    ) -> Iterator[list[DetectionRow]]:
        return detection_searches(
            self.engine,
            tenant,
            lower,
            upper,
            users=users,
            blank_text=blank_text,
            chunk_rows=chunk_rows,
        )

    def detection_buckets(
        self, tenant: str, lower: datetime, upper: datetime, seconds: int, *, per_user: bool
    ) -> list[tuple[Any, ...]]:
        """Searches of `tenant` in [lower, upper) per bucket of `seconds` (bucket numbers
        since the epoch): (user, bucket, searches) if `per_user`, else (bucket, searches)."""
        if seconds == 3600:
            return _hour_rollup(self.engine, tenant, lower, upper, per_user)
        bucket = epoch_bucket(SearchLog.create_time, literal_column(str(seconds)))
        keys: list[Any] = [SearchLog.email_addr, bucket] if per_user else [bucket]
        statement = (
            select(*keys, func.count())
            .where(
                TenantScope.one(tenant).where(SearchLog.tenant),
                SearchLog.create_time >= lower,
                SearchLog.create_time < upper,
            )
            .group_by(*keys)
        )
        with self.engine.connect() as conn:
            return [tuple(row) for row in conn.execute(statement)]

    def detection_first_seen(self, tenant: str) -> dict[str, float]:
        """Epoch seconds of each user's first search ever stored."""
        everything = ROLLUP_USER_ALL
        statement = select(everything.c.email_addr, func.min(everything.c.first_time)).where(
            TenantScope.one(tenant).where(everything.c.tenant)
        )
        with self.engine.connect() as conn:
            rows = conn.execute(statement.group_by(everything.c.email_addr)).all()
        return {email: first.timestamp() for email, first in rows}

    def detection_first_search(self, tenant: str) -> datetime | None:
        with self.engine.connect() as conn:
            return data_span(conn, TenantScope.one(tenant))[0]

    def read_cursor(self, tenant: str) -> datetime | None:
        return read_cursor(self.engine, tenant)


def _hour_rollup(
    engine: Engine, tenant: str, lower: datetime, upper: datetime, per_user: bool
) -> list[tuple[Any, ...]]:
    """The hourly rollups' rows: its key starts with the hour, a range read."""
    span = (tenant, int(lower.timestamp()) // 3600, int(upper.timestamp()) // 3600)
    if not per_user:
        hour = ROLLUP_HOUR.c
        statement = (
            select(hour.bucket, func.sum(hour.searches))
            .where(hour.tenant == span[0], hour.bucket >= span[1], hour.bucket < span[2])
            .group_by(hour.bucket)
        )
        with engine.connect() as conn:
            return [tuple(row) for row in conn.execute(statement)]
    # Straight to the driver: a new day reads ~30 days of every user's hours, and row
    # objects cost more than SQL.
    with engine.connect() as conn:
        mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
        dbapi = conn.connection.dbapi_connection
        assert dbapi is not None, "an open connection has its driver's connection"
        cursor = dbapi.cursor()  # plain tuples, no Row objects
        try:
            cursor.execute(
                f"SELECT email_addr, bucket, sum(searches) FROM {ROLLUP_USER_HOUR.name} "
                f"WHERE tenant = {mark} AND bucket >= {mark} AND bucket < {mark} "
                "GROUP BY email_addr, bucket",
                span,
            )
            return list(cursor.fetchall())
        finally:
            cursor.close()
