"""Rollup tables: counts kept by the ingest in the same transaction as the rows (`db.rollups`)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Index,
    PrimaryKeyConstraint,
    SmallInteger,
    String,
    Table,
    Text,
)

from db.models.core import Base
from db.models.types import UtcDateTime, text_key


def _dimensions(*, per_user: bool) -> list[Column[Any]]:
    """Who (or whether it was the system), source and search type. NULL is kept apart from
    "" by the `nulls` bits (1: source is NULL, 2: description is NULL), so a primary key can
    hold it on SQLite and PostgreSQL alike."""
    who = (
        Column("email_addr", Text, nullable=False)
        if per_user
        else Column("is_system", SmallInteger, nullable=False)
    )
    return [
        who,
        Column("source", Text, nullable=False),
        Column("description", Text, nullable=False),
        Column("nulls", SmallInteger, nullable=False),
    ]


def _tenant() -> Column[Any]:
    """The first key column of every rollup: one tenant's counts never mix with another's."""
    return Column("tenant", String(64), nullable=False)


def _rollup(name: str, *, bucket: bool, per_user: bool) -> Table:
    keys = [_tenant()] + ([Column("bucket", BigInteger, nullable=False)] if bucket else [])
    dimensions = _dimensions(per_user=per_user)
    measures: list[Column[Any]] = [Column("searches", BigInteger, nullable=False)]
    if per_user:
        measures += [
            Column("with_reason", BigInteger, nullable=False),
            Column("first_time", UtcDateTime, nullable=False),
            Column("last_time", UtcDateTime, nullable=False),
        ]
    extras: list[Any] = []
    if bucket and per_user and name != "rollup_user_month":
        email = dimensions[0]
        extras.append(Index(f"ix_{name}_email_addr_bucket", keys[0], text_key(email), keys[1]))
    return Table(
        name,
        Base.metadata,
        *keys,
        *dimensions,
        *measures,
        *_free_text_key(name, keys + dimensions),
        *extras,
        sqlite_with_rowid=False,  # stored in key order, not once as rows and again as a key
    )


def _free_text_key(name: str, columns: list[Column[Any]]) -> list[Any]:
    """The primary key over `columns` on SQLite; on PostgreSQL a unique index over the same
    columns with free text as `text_key` (a primary key cannot hold an expression)."""
    keyed = [text_key(column) if isinstance(column.type, Text) else column for column in columns]
    return [
        PrimaryKeyConstraint(*(column.name for column in columns)).ddl_if(dialect="sqlite"),
        Index(f"ux_{name}_key", *keyed, unique=True).ddl_if(dialect="postgresql"),
    ]


ROLLUP_USER_HOUR = _rollup("rollup_user_hour", bucket=True, per_user=True)
"""Per user, UTC hour (epoch seconds // 3600), source and search type."""
ROLLUP_USER_DAY = _rollup("rollup_user_day", bucket=True, per_user=True)
"""Per user, UTC day (epoch seconds // 86400), source and search type."""
ROLLUP_USER_MONTH = _rollup("rollup_user_month", bucket=True, per_user=True)
"""Per user, UTC month (year * 12 + month - 1), source and search type."""
ROLLUP_USER_ALL = _rollup("rollup_user_all", bucket=False, per_user=True)
"""Per user, source and search type, over all time."""
ROLLUP_HOUR = _rollup("rollup_hour", bucket=True, per_user=False)
"""Everyone's searches per UTC hour, source and search type (system sender apart)."""
ROLLUP_DAY = _rollup("rollup_day", bucket=True, per_user=False)
"""Everyone's searches per UTC day, source and search type (system sender apart)."""


def _user_totals(
    name: str, measures: tuple[str, ...] = ("searches",), *, bucket_first: bool = False
) -> Table:
    tenant = _tenant()
    email = Column("email_addr", Text, nullable=False)
    bucket = Column("bucket", BigInteger, nullable=False)
    return Table(
        name,
        Base.metadata,
        tenant,
        email,
        bucket,
        *(Column(measure, BigInteger, nullable=False) for measure in measures),
        *_free_text_key(name, [tenant, bucket, email] if bucket_first else [tenant, email, bucket]),
        sqlite_with_rowid=False,
    )


ROLLUP_USER_HOUR_TOTAL = _user_totals("rollup_user_hour_total")
"""Per user and UTC hour, all sources and types: one user's hours read in key order."""
ROLLUP_USER_DAY_TOTAL = _user_totals("rollup_user_day_total")
"""Per user and UTC day: one user's days, and active days without scanning rows."""


ROLLUP_USER_DAY_HOURS = _user_totals(
    "rollup_user_day_hours", ("hours", "hours_before"), bucket_first=True
)
"""Per user and UTC day: which of the day's 24 UTC hours had a search (`hours`, bit h for hour
h), and which of the previous UTC day's (`hours_before`; a row exists for the day after each
day with a search). A local day of a whole-hour zone is made of the late hours of one UTC
day and the early hours of the next, so one row says whether the user searched on it: a
year's active days are a count of rows, per user and day, not a DISTINCT over their hours.
Keyed day first: a range of days is read for every user at once (`db.active_days`)."""
