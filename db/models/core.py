"""The searches and the ingest's own tables: runs, rejected records, state, filter values."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from sqlalchemy import (
    Boolean,
    ForeignKey,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from db.models.types import UtcDateTime, text_key


class Base(DeclarativeBase):
    # Every model here is mapped to a Table (none to a join or a select), which is what
    # insert() and the upserts need: narrowed from DeclarativeBase's FromClause.
    __table__: ClassVar[Table]


class SearchLog(Base):
    """One archive search, exactly once. `event_key` makes re-reads idempotent."""

    __tablename__ = "search_logs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    tenant: Mapped[str] = mapped_column(String(64))
    event_key: Mapped[str] = mapped_column(String(64))
    create_time: Mapped[datetime] = mapped_column(UtcDateTime)
    email_addr: Mapped[str] = mapped_column(Text)
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

    __table_args__ = (
        # the stored key includes the tenant: two accounts' identical searches never collapse
        UniqueConstraint("tenant", "event_key", name="uq_search_logs_tenant_event_key"),
        Index("ix_search_logs_tenant_create_time", "tenant", "create_time"),
        Index(
            "ix_search_logs_tenant_email_addr_create_time",
            "tenant",
            text_key(email_addr),
            "create_time",
        ),
    )


class KeyValue(Base):
    """State as text per key: the ingest's cursor and backfill flag (`db.state.cursor`), the
    detector's progress (`db.state.detection`); read and written through `db.state.kv`."""

    __tablename__ = "kv"

    tenant: Mapped[str] = mapped_column(String(64), primary_key=True)
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class IngestRun(Base):
    """One poll cycle, with what it fetched, stored, skipped and rejected."""

    __tablename__ = "ingest_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    tenant: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))  # db.state: BACKFILL | DELTA | RECONCILE
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

    __table_args__ = (Index("ix_ingest_runs_tenant_started_at", "tenant", "started_at"),)


class RejectedRecord(Base):
    """A record that could not be stored, with why and exactly what was received."""

    __tablename__ = "rejected_records"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    tenant: Mapped[str] = mapped_column(String(64))
    reject_key: Mapped[str] = mapped_column(String(64))
    run_id: Mapped[int | None] = mapped_column(ForeignKey("ingest_runs.id"))
    rejected_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    window_start: Mapped[datetime | None] = mapped_column(UtcDateTime)
    window_end: Mapped[datetime | None] = mapped_column(UtcDateTime)
    reason: Mapped[str] = mapped_column(Text)
    raw_json: Mapped[str] = mapped_column(Text)

    __table_args__ = (
        UniqueConstraint("tenant", "reject_key", name="uq_rejected_records_tenant_reject_key"),
    )


class FilterValue(Base):
    """Every distinct user, source and search type stored, kept by the ingest as it writes,
    so the dashboard's filter lists never scan `search_logs` (7.6 s at 5M rows)."""

    __tablename__ = "filter_values"

    tenant: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)  # user | source | description
    value: Mapped[str] = mapped_column(Text, primary_key=True)

    __table_args__ = (
        PrimaryKeyConstraint("tenant", "kind", "value").ddl_if(dialect="sqlite"),
        Index("ux_filter_values_key", "tenant", "kind", text_key(value), unique=True).ddl_if(
            dialect="postgresql"
        ),
    )


FILTER_VALUE_COLUMNS = {"user": "email_addr", "source": "source", "description": "description"}
"""Which `search_logs` column each kind of filter value comes from."""

EVENT_COLUMNS = (
    "tenant",
    "event_key",
    "create_time",
    "email_addr",
    "source",
    "search_text",
    "search_reason",
    "description",
    "search_path",
    "muse_query",
    "is_admin",
    "raw_json",
    "run_id",
    "ingested_at",
)
"""The `search_logs` columns the ingest writes, in the order of its rows (SQL and ClickHouse
stores alike)."""
REJECT_COLUMNS = (
    "tenant",
    "reject_key",
    "run_id",
    "rejected_at",
    "window_start",
    "window_end",
    "reason",
    "raw_json",
)
"""The `rejected_records` columns the ingest writes, in the order of its rows."""
