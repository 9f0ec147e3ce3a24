"""The schema: one source of truth, mirrored by the Alembic migrations in `db/migrations`.

Times are stored in UTC. SQLite has no time-zone type, so `UtcDateTime` stores naive UTC
there and hands back aware UTC datetimes everywhere, which keeps comparisons exact.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    PrimaryKeyConstraint,
    SmallInteger,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator


class UtcDateTime(TypeDecorator[datetime]):
    """An aware UTC datetime in Python; naive UTC in SQLite, timestamptz in PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("UtcDateTime needs an aware datetime")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    pass


class SearchLog(Base):
    """One archive search, exactly once. `event_key` makes re-reads idempotent."""

    __tablename__ = "search_logs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    event_key: Mapped[str] = mapped_column(String(64), unique=True)
    create_time: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    email_addr: Mapped[str] = mapped_column(String(320))
    source: Mapped[str | None] = mapped_column(Text)
    search_text: Mapped[str | None] = mapped_column(Text)
    search_reason: Mapped[str | None] = mapped_column(Text)
    description: Mapped[str | None] = mapped_column(Text)
    search_path: Mapped[str | None] = mapped_column(Text)
    muse_query: Mapped[str | None] = mapped_column(Text)
    is_admin: Mapped[bool | None] = mapped_column(Boolean)
    raw_json: Mapped[str] = mapped_column(Text)
    run_id: Mapped[int | None] = mapped_column(ForeignKey("ingest_runs.id"))
    ingested_at: Mapped[datetime] = mapped_column(UtcDateTime)

    __table_args__ = (Index("ix_search_logs_email_addr_create_time", "email_addr", "create_time"),)


class KeyValue(Base):
    """Ingest state: `last_polled_end_utc` (the cursor) and `bootstrap_done`."""

    __tablename__ = "kv"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class IngestRun(Base):
    """One poll cycle, with what it fetched, stored, skipped and rejected."""

    __tablename__ = "ingest_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(16))  # bootstrap | delta | reconcile
    status: Mapped[str] = mapped_column(String(16), index=True)  # running | ok | failed
    started_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    window_start: Mapped[datetime | None] = mapped_column(UtcDateTime)
    window_end: Mapped[datetime | None] = mapped_column(UtcDateTime)
    pages: Mapped[int] = mapped_column(Integer, default=0)
    fetched: Mapped[int] = mapped_column(Integer, default=0)
    inserted: Mapped[int] = mapped_column(Integer, default=0)
    duplicates: Mapped[int] = mapped_column(Integer, default=0)
    out_of_window: Mapped[int] = mapped_column(Integer, default=0)
    rejected: Mapped[int] = mapped_column(Integer, default=0)
    api_requests: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)
    # JSON: windows whose served count disagreed with totalCount, windows read again because
    # their pages shifted, searches a reconciliation sweep found late (ingest.poller.RunNotes)
    notes: Mapped[str | None] = mapped_column(Text)


class RejectedRecord(Base):
    """A record that could not be stored, with why and exactly what was received."""

    __tablename__ = "rejected_records"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    reject_key: Mapped[str] = mapped_column(String(64), unique=True)
    run_id: Mapped[int | None] = mapped_column(ForeignKey("ingest_runs.id"))
    rejected_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    window_start: Mapped[datetime | None] = mapped_column(UtcDateTime)
    window_end: Mapped[datetime | None] = mapped_column(UtcDateTime)
    reason: Mapped[str] = mapped_column(Text)
    raw_json: Mapped[str] = mapped_column(Text)


class FilterValue(Base):
    """Every distinct user, source and search type stored, kept by the ingest as it writes,
    so the dashboard's filter lists never scan `search_logs` (7.6 s at 5M rows)."""

    __tablename__ = "filter_values"

    kind: Mapped[str] = mapped_column(String(16), primary_key=True)  # user | source | description
    value: Mapped[str] = mapped_column(Text, primary_key=True)


FILTER_VALUE_COLUMNS = {"user": "email_addr", "source": "source", "description": "description"}
"""Which `search_logs` column each kind of filter value comes from."""


# --- rollups: counts kept by the ingest in the same transaction as the rows (db/rollups.py)


def _dimensions(*, per_user: bool) -> list[Column[Any]]:
    """Who (or whether it was the system), source and search type. NULL is kept apart from
    "" by the `nulls` bits (1: source is NULL, 2: description is NULL), so a primary key can
    hold it on SQLite and PostgreSQL alike."""
    who = (
        Column("email_addr", String(320), nullable=False)
        if per_user
        else Column("is_system", SmallInteger, nullable=False)
    )
    return [
        who,
        Column("source", Text, nullable=False),
        Column("description", Text, nullable=False),
        Column("nulls", SmallInteger, nullable=False),
    ]


def _rollup(name: str, *, bucket: bool, per_user: bool) -> Table:
    keys = [Column("bucket", BigInteger, nullable=False)] if bucket else []
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
        extras.append(Index(f"ix_{name}_email_addr_bucket", "email_addr", "bucket"))
    primary = [column.name for column in keys + dimensions]
    if not bucket:
        primary = ["email_addr", "source", "description", "nulls"]
    return Table(
        name,
        Base.metadata,
        *keys,
        *dimensions,
        *measures,
        PrimaryKeyConstraint(*primary),
        *extras,
        sqlite_with_rowid=False,  # stored in key order, not once as rows and again as a key
    )


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


def _user_totals(name: str) -> Table:
    return Table(
        name,
        Base.metadata,
        Column("email_addr", String(320), nullable=False),
        Column("bucket", BigInteger, nullable=False),
        Column("searches", BigInteger, nullable=False),
        PrimaryKeyConstraint("email_addr", "bucket"),
        sqlite_with_rowid=False,
    )


ROLLUP_USER_HOUR_TOTAL = _user_totals("rollup_user_hour_total")
"""Per user and UTC hour, all sources and types: one user's hours read in key order."""
ROLLUP_USER_DAY_TOTAL = _user_totals("rollup_user_day_total")
"""Per user and UTC day: one user's days, and active days without scanning rows."""


def utc_now() -> datetime:
    return datetime.now(UTC)


class AuditEvent(Base):
    """One thing a dashboard user did: viewed a user or a day, exported, reset the cursor,
    or was refused. Written by `dashboard.audit`, never edited or deleted from the UI."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime)
    actor: Mapped[str] = mapped_column(String(320))  # email, or the anonymous marker
    role: Mapped[str | None] = mapped_column(String(16))  # admin | viewer | None
    action: Mapped[str] = mapped_column(String(32))  # view_user | export_csv | denied | ...
    target: Mapped[str | None] = mapped_column(Text)  # a user's address, a day, a page
    filters: Mapped[str | None] = mapped_column(Text)  # JSON object
    rows: Mapped[int | None] = mapped_column(Integer)  # rows exported
    detail: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        Index("ix_audit_events_at", "at"),
        Index("ix_audit_events_actor_at", "actor", "at"),
        Index("ix_audit_events_action_at", "action", "at"),
    )


class ApiToken(Base):
    """A bearer token of the machine API. Only the SHA-256 of the token is stored: the
    token itself is printed once when it is created and cannot be shown again."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(64))  # the actor in the audit trail
    token_hash: Mapped[str] = mapped_column(String(64))  # hex SHA-256 of the token
    role: Mapped[str] = mapped_column(String(16))  # viewer | admin
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime)

    __table_args__ = (
        UniqueConstraint("name", name="uq_api_tokens_name"),
        UniqueConstraint("token_hash", name="uq_api_tokens_token_hash"),
    )
