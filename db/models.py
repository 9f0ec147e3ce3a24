"""The schema: one source of truth, mirrored by the Alembic migrations in `db/migrations`.

Times are stored in UTC. SQLite has no time-zone type, so `UtcDateTime` stores naive UTC
there and hands back aware UTC datetimes everywhere, which keeps comparisons exact.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
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
    kind: Mapped[str] = mapped_column(String(16))  # bootstrap | delta
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
