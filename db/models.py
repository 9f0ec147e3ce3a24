"""The schema: one source of truth, mirrored by the Alembic migrations in `db/migrations`.

Times are stored in UTC. SQLite has no time-zone type, so `UtcDateTime` stores naive UTC
there and hands back aware UTC datetimes everywhere, which keeps comparisons exact.

Free text (addresses, sources, search types) has no length limit, but a PostgreSQL btree
entry must fit in about 2.7 kB. So on PostgreSQL every index over free text indexes
`text_key(column)`, the value itself up to TEXT_KEY_CHARS characters and a bounded form of
longer ones; the primary keys of tables keyed by free text become unique indexes over
those keys. SQLite has no such limit and keeps its plain keys.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    ColumnElement,
    Date,
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
    and_,
    literal,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.types import TypeDecorator

TEXT_KEY_CHARS = 100
"""Free text up to this many characters is its own index key on PostgreSQL."""


def text_key_sql(operand: str, dialect: str) -> str:
    """The SQL of `text_key(operand)`. On PostgreSQL: the value if it has at most
    TEXT_KEY_CHARS characters, else its first TEXT_KEY_CHARS characters and its md5 (longer
    than any short value, so never equal to one); elsewhere the value itself."""
    if dialect != "postgresql":
        return operand
    return (
        f"(CASE WHEN length({operand}) <= {TEXT_KEY_CHARS} THEN {operand} "
        f"ELSE left({operand}, {TEXT_KEY_CHARS}) || md5({operand}) END)"
    )


class text_key(FunctionElement[str]):
    """The bounded index key of a free-text value (`text_key_sql`)."""

    type = Text()
    name = "text_key"
    inherit_cache = True


@compiles(text_key)
def _compile_text_key(element: text_key, compiler: SQLCompiler, **kw: Any) -> str:
    (operand,) = element.clauses
    return text_key_sql(compiler.process(operand, **kw), compiler.dialect.name)


class text_in(FunctionElement[bool]):
    """`column IN (values)`, written on PostgreSQL so that an index over `text_key(column)`
    serves it: `text_key(column) IN (text_key(value), …) AND column IN (values)`."""

    type = Boolean()
    name = "text_in"
    inherit_cache = True

    def __init__(self, column: ColumnElement[str], values: tuple[str, ...] | list[str]) -> None:
        super().__init__(column, *(literal(value, Text()) for value in values))


@compiles(text_in)
def _compile_text_in(element: text_in, compiler: SQLCompiler, **kw: Any) -> str:
    column, *values = element.clauses
    exact = column.in_(values)
    if compiler.dialect.name != "postgresql":
        return compiler.process(exact, **kw)
    keyed = text_key(column).in_([text_key(value) for value in values])
    return compiler.process(and_(keyed, exact), **kw)


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
        Index("ix_search_logs_email_addr_create_time", text_key(email_addr), "create_time"),
    )


class KeyValue(Base):
    """Ingest state: the cursor and the backfill flag (keys in `db.state.cursor`)."""

    __tablename__ = "kv"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class IngestRun(Base):
    """One poll cycle, with what it fetched, stored, skipped and rejected."""

    __tablename__ = "ingest_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
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

    __table_args__ = (
        PrimaryKeyConstraint("kind", "value").ddl_if(dialect="sqlite"),
        Index("ux_filter_values_key", "kind", text_key(value), unique=True).ddl_if(
            dialect="postgresql"
        ),
    )


FILTER_VALUE_COLUMNS = {"user": "email_addr", "source": "source", "description": "description"}
"""Which `search_logs` column each kind of filter value comes from."""


# --- rollups: counts kept by the ingest in the same transaction as the rows (db/rollups.py)


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
        email = dimensions[0]
        extras.append(Index(f"ix_{name}_email_addr_bucket", text_key(email), keys[0]))
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


def _user_totals(name: str) -> Table:
    email = Column("email_addr", Text, nullable=False)
    bucket = Column("bucket", BigInteger, nullable=False)
    return Table(
        name,
        Base.metadata,
        email,
        bucket,
        Column("searches", BigInteger, nullable=False),
        *_free_text_key(name, [email, bucket]),
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


# --- forwarding (issue 12): each destination's cursor and the messages it parked


class ForwardCursor(Base):
    """How far one forwarding destination has got through its source (searches, later
    alerts): `position` is the last `search_logs.id` the receiver acknowledged. Keyed by the
    destination's name, so any number of destinations (and tenants) keep their own."""

    __tablename__ = "forward_cursors"

    destination: Mapped[str] = mapped_column(String(100), primary_key=True)
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

    Written by `python -m ingest detect`, read and triaged through `db.alerts`. `account`
    names the Mimecast account the searches came from ("" while the deployment has one), so
    the unique key stays one alert per account, user, rule and day.
    """

    __tablename__ = "alerts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    account: Mapped[str] = mapped_column(String(128), default="", server_default="")
    rule: Mapped[str] = mapped_column(String(32))
    email_addr: Mapped[str] = mapped_column(String(320))  # as stored in search_logs
    day: Mapped[date] = mapped_column(Date)  # the local day scored, in DISPLAY_TZ
    window_start: Mapped[datetime] = mapped_column(UtcDateTime)
    window_end: Mapped[datetime] = mapped_column(UtcDateTime)
    severity: Mapped[str] = mapped_column(String(8))  # low | medium | high
    summary: Mapped[str] = mapped_column(Text)
    figures: Mapped[str] = mapped_column(Text)  # JSON object: the numbers behind the summary
    evidence_url: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="new")  # new|acknowledged|dismissed
    note: Mapped[str | None] = mapped_column(Text)
    triaged_by: Mapped[str | None] = mapped_column(String(320))
    triaged_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)

    __table_args__ = (
        UniqueConstraint("account", "email_addr", "rule", "day", name="uq_alerts_one_per_day"),
        Index("ix_alerts_day", "day"),
        Index("ix_alerts_status_day", "status", "day"),
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
