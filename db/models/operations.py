"""What the dashboard, the API and the forwarder keep: the audit trail, forwarding cursors
and parked messages, alerts, API tokens."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Date,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from db.models.core import Base
from db.models.types import UtcDateTime, text_key


class AuditEvent(Base):
    """One thing a dashboard user did: viewed a user or a day, exported, reset the cursor,
    or was refused. Written by `dashboard.audit`, never edited or deleted from the UI."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    # the tenant the event concerns; NULL for events of the installation as a whole
    # (sign-in refusals, platform tokens, a platform administrator's all-tenants view)
    tenant: Mapped[str | None] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UtcDateTime)
    actor: Mapped[str] = mapped_column(String(320))  # email, or the anonymous marker
    role: Mapped[str | None] = mapped_column(String(16))  # admin | viewer | None
    action: Mapped[str] = mapped_column(String(32))  # view_user | export_csv | denied | ...
    target: Mapped[str | None] = mapped_column(Text)  # a user's address, a day, a page
    filters: Mapped[str | None] = mapped_column(Text)  # JSON object
    rows: Mapped[int | None] = mapped_column(Integer)  # rows exported
    detail: Mapped[str | None] = mapped_column(Text)
    # calls this row stands for: >1 for identical API refusals collapsed (migration 0010)
    count: Mapped[int] = mapped_column(Integer, default=1, server_default=text("1"))

    __table_args__ = (
        Index("ix_audit_events_at", "at"),
        Index("ix_audit_events_actor_at", "actor", "at"),
        Index("ix_audit_events_action_at", "action", "at"),
        Index("ix_audit_events_tenant_at", "tenant", "at"),
    )


# --- forwarding (issue 12): each destination's cursor and the messages it parked


class ForwardCursor(Base):
    """How far one forwarding destination has got through its source (searches, later
    alerts) for one tenant: `position` is the last `search_logs.id` (or `alerts.id`) of that
    tenant the receiver acknowledged. Keyed by destination and tenant, so each tenant's
    stream to each destination moves on its own."""

    __tablename__ = "forward_cursors"

    destination: Mapped[str] = mapped_column(String(100), primary_key=True)
    tenant: Mapped[str] = mapped_column(String(64), primary_key=True)
    source: Mapped[str] = mapped_column(String(16))  # searches | alerts
    position: Mapped[int] = mapped_column(BigInteger, default=0)
    since: Mapped[datetime | None] = mapped_column(UtcDateTime)  # skip messages older than this
    delivered: Mapped[int] = mapped_column(BigInteger, default=0)
    last_delivery_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    last_error_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class ForwardDeadLetter(Base):
    """A message a receiver rejected as malformed (a 4xx other than 429), parked with the
    receiver's reason so the destination moves on and someone can look at it."""

    __tablename__ = "forward_dead_letters"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    destination: Mapped[str] = mapped_column(String(100))
    tenant: Mapped[str] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(String(16))
    position: Mapped[int] = mapped_column(BigInteger)
    message_id: Mapped[str] = mapped_column(String(100))
    parked_at: Mapped[datetime] = mapped_column(UtcDateTime)
    reason: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)

    __table_args__ = (Index("ix_forward_dead_letters_destination_id", "destination", "id"),)


class Alert(Base):
    """One detection of abnormal archive searching: a rule that fired for one searcher on one
    local day (in DISPLAY_TZ), with the figures that explain it and its triage.

    Written by `python -m ingest detect`, read and triaged through `db.alerts`. `tenant`
    names the Mimecast account the searches came from, so the unique key is one alert per
    tenant, user, rule and day.
    """

    __tablename__ = "alerts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    tenant: Mapped[str] = mapped_column(String(64))
    rule: Mapped[str] = mapped_column(String(32))
    email_addr: Mapped[str] = mapped_column(Text)  # as stored in search_logs: any length
    day: Mapped[date] = mapped_column(Date)  # the local day scored, in DISPLAY_TZ
    window_start: Mapped[datetime] = mapped_column(UtcDateTime)
    window_end: Mapped[datetime] = mapped_column(UtcDateTime)
    severity: Mapped[str] = mapped_column(String(8))  # low | medium | high
    summary: Mapped[str] = mapped_column(Text)
    figures: Mapped[str] = mapped_column(Text)  # JSON object: the numbers behind the summary
    evidence_url: Mapped[str] = mapped_column(Text)
    # new | acknowledged | dismissed | withdrawn (a re-score no longer fires it: migration 0012)
    status: Mapped[str] = mapped_column(String(16), default="new")
    note: Mapped[str | None] = mapped_column(Text)
    triaged_by: Mapped[str | None] = mapped_column(String(320))
    triaged_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    # JSON object: what narrows the window to the searches that fired it (Finding.evidence)
    evidence: Mapped[str] = mapped_column(Text, default="{}", server_default=text("'{}'"))
    # a dismissal as expected: the same tenant, person and rule stay quiet through this day
    suppressed_until: Mapped[date | None] = mapped_column(Date)
    updated_at: Mapped[datetime | None] = mapped_column(UtcDateTime)  # last re-score change

    __table_args__ = (
        # one alert per tenant, user, rule and day; on PostgreSQL keyed by text_key, as an
        # address of any length must fit in a btree entry (see db.models.types)
        UniqueConstraint(
            "tenant", "email_addr", "rule", "day", name="uq_alerts_one_per_day"
        ).ddl_if(dialect="sqlite"),
        Index(
            "ux_alerts_one_per_day",
            "tenant",
            text_key(email_addr),
            "rule",
            "day",
            unique=True,
        ).ddl_if(dialect="postgresql"),
        Index("ix_alerts_tenant_day", "tenant", "day"),
        Index("ix_alerts_tenant_status_day", "tenant", "status", "day"),
    )


class ScoredDay(Base):
    """A local day the detector has scored, with the version of its data it scored: the
    searches stored for that day in the tenant's zone, from the rollups. A late search
    changes the count, and the next `detect` scores the day again (migration 0012)."""

    __tablename__ = "scored_days"

    tenant: Mapped[str] = mapped_column(String(64), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)  # in DISPLAY_TZ
    searches: Mapped[int] = mapped_column(BigInteger)
    scored_at: Mapped[datetime] = mapped_column(UtcDateTime)


class ApiToken(Base):
    """A bearer token of the machine API. Only the SHA-256 of the token is stored: the
    token itself is printed once when it is created and cannot be shown again."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(64))  # the actor in the audit trail
    # the one tenant the token reads; NULL for a platform token (admin only), which names
    # the tenant with ?tenant= where more than one exists
    tenant: Mapped[str | None] = mapped_column(String(64))
    token_hash: Mapped[str] = mapped_column(String(64))  # hex SHA-256 of the token
    role: Mapped[str] = mapped_column(String(16))  # viewer | admin
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime)

    __table_args__ = (
        UniqueConstraint("name", name="uq_api_tokens_name"),
        UniqueConstraint("token_hash", name="uq_api_tokens_token_hash"),
    )
