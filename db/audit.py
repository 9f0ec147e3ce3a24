"""The dashboard's audit trail in the database: append an event, read events back.

There is deliberately no update and no delete here: the trail is only ever appended to.
Filters are stored as a JSON object (the page's query string), so an entry says exactly
what was looked at. Nothing secret is ever handed to `write` or `record`.

An action that changes something (a cursor reset, a token, a triage) writes its event
with `write` on the connection that makes the change, so both commit or neither does: if
the event cannot be written, nothing changed. `record` is for what changes nothing (views,
reads, refusals): it opens a transaction of its own.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, Select, desc, func, insert, select
from sqlalchemy.exc import SQLAlchemyError

from db.models import AuditEvent, utc_now
from db.scope import TenantScope

if TYPE_CHECKING:  # pandas is imported where a frame is built: `detect` needs none
    import pandas as pd


class AuditAction(StrEnum):
    """Every action the dashboard and the machine API record, in the order the audit page
    offers them. The API's reads are `api_*`; its cursor reset is `reset_cursor` and its
    refusals `denied`, like the page's. docs/sign-in.md's audit table lists them (tested)."""

    VIEW_SUMMARY = "view_summary"
    VIEW_USER = "view_user"
    VIEW_CALENDAR = "view_calendar"
    VIEW_DAY = "view_day"
    VIEW_STATUS = "view_status"
    VIEW_AUDIT = "view_audit"
    VIEW_ALERTS = "view_alerts"
    VIEW_TOKENS = "view_tokens"
    VIEW_MAILBOXES = "view_mailboxes"
    LOOKUP_MAILBOX = "lookup_mailbox"
    PRIVACY_REPORT = "privacy_report"
    EXPORT_CSV = "export_csv"
    EXPORT_JSON = "export_json"
    RESET_CURSOR = "reset_cursor"
    TRIAGE_ALERT = "triage_alert"
    TOKEN_CREATE = "token_create"
    TOKEN_REVOKE = "token_revoke"
    DENIED = "denied"
    API_SEARCHES_PER_DAY = "api_searches_per_day"
    API_USERS = "api_users"
    API_USER_SEARCHES = "api_user_searches"
    API_DAY_SEARCHES = "api_day_searches"
    API_ALERTS = "api_alerts"
    API_MAILBOXES = "api_mailboxes"
    API_MAILBOX_SEARCHES = "api_mailbox_searches"
    API_OPENAPI = "api_openapi"
    API_BAD_REQUEST = "api_bad_request"
    API_RATE_LIMITED = "api_rate_limited"


ACTIONS: tuple[AuditAction, ...] = tuple(AuditAction)
"""The actions as a sequence, for the audit page's filter."""

TRAIL_COLUMNS = ("at", "actor", "role", "action", "target", "filters", "rows", "detail", "count")
TENANT_TRAIL_COLUMNS = ("tenant", *TRAIL_COLUMNS)
"""The every-tenant trail as the dashboard shows it: which tenant each event concerns."""


@dataclass(frozen=True)
class AuditEntry:
    """One event as the dashboard reports it; `at` is set when it is written. `tenant` is
    required (by keyword): the tenant the event concerns, or None for an event of the
    installation as a whole (a sign-in refusal, a platform token, an all-tenants view)."""

    actor: str
    role: str | None
    action: AuditAction | str
    target: str | None = None
    filters: Mapping[str, Any] | None = None
    rows: int | None = None
    detail: str | None = None
    count: int = 1
    """How many identical calls the row stands for (API refusals are collapsed)."""
    tenant: str | None = field(kw_only=True)


@dataclass(frozen=True)
class TrailFilter:
    """Which events to read: by actor, by action, and `start <= at < end` (UTC)."""

    actors: tuple[str, ...] = ()
    actions: tuple[str, ...] = ()
    start: datetime | None = None
    end: datetime | None = None


def filters_json(filters: Mapping[str, Any] | None) -> str | None:
    """A stable JSON form: the same view always gives the same text."""
    if filters is None:
        return None
    return json.dumps(filters, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def write(conn: Connection, entry: AuditEntry, at: datetime | None = None) -> int:
    """Append `entry` in `conn`'s transaction: the action on `conn` and its event commit
    together, or (if this insert fails) roll back together. Its row id (an export's
    manifest names it)."""
    if entry.action not in ACTIONS:
        raise ValueError(f"unknown audit action {entry.action!r}")
    action = AuditAction(entry.action).value  # the plain string, whatever the caller passed
    result = conn.execute(
        insert(AuditEvent).values(
            at=at or utc_now(),
            tenant=entry.tenant,
            actor=entry.actor,
            role=entry.role,
            action=action,
            target=entry.target,
            filters=filters_json(entry.filters),
            rows=entry.rows,
            detail=entry.detail,
            count=entry.count,
        )
    )
    key = result.inserted_primary_key
    assert key is not None  # an INSERT of one row always has one
    return int(key[0])


def record(engine: Engine, entry: AuditEntry, at: datetime | None = None) -> int:
    """Append `entry` in its own transaction: for views, reads and refusals, which change
    nothing else (an action that changes something uses `write` on its own connection)."""
    with engine.begin() as conn:
        return write(conn, entry, at)


def failure_reason(exc: BaseException) -> str:
    """Why an action rolled back, in one line for the log: the driver's message, never the
    statement's parameters (a new token's hash is among them)."""
    if isinstance(exc, SQLAlchemyError):
        reason = getattr(exc, "orig", None)
        text = f"{type(exc).__name__}: {reason}" if reason is not None else type(exc).__name__
    else:
        text = f"{type(exc).__name__}: {exc}"
    return text.splitlines()[0] if text else type(exc).__name__


def _where(
    statement: Select[*tuple[Any, ...]], scope: TenantScope, wanted: TrailFilter
) -> Select[*tuple[Any, ...]]:
    # one tenant's scope never sees the installation's own (NULL-tenant) events
    statement = statement.where(scope.where(AuditEvent.tenant))
    if wanted.actors:
        statement = statement.where(AuditEvent.actor.in_(wanted.actors))
    if wanted.actions:
        statement = statement.where(AuditEvent.action.in_(wanted.actions))
    if wanted.start is not None:
        statement = statement.where(AuditEvent.at >= wanted.start)
    if wanted.end is not None:
        statement = statement.where(AuditEvent.at < wanted.end)
    return statement


def _trail_select(
    scope: TenantScope, wanted: TrailFilter, names: tuple[str, ...] = TRAIL_COLUMNS
) -> Select[*tuple[Any, ...]]:
    columns = [getattr(AuditEvent, name) for name in names]
    return _where(select(*columns), scope, wanted).order_by(
        desc(AuditEvent.at), desc(AuditEvent.id)
    )


def count_trail(engine: Engine, scope: TenantScope, wanted: TrailFilter) -> int:
    statement = _where(select(func.count(AuditEvent.id)), scope, wanted)
    with engine.connect() as conn:
        return int(conn.execute(statement).scalar_one())


def read_trail(
    engine: Engine,
    scope: TenantScope,
    wanted: TrailFilter,
    *,
    limit: int,
    offset: int = 0,
    names: tuple[str, ...] = TRAIL_COLUMNS,
) -> pd.DataFrame:
    """Events of `scope` newest first, `at` as aware UTC times (`names`: the columns)."""
    statement = _trail_select(scope, wanted, names).limit(limit).offset(offset)
    with engine.connect() as conn:
        rows = conn.execute(statement).all()
    return _frame(rows, names)


def iter_trail(
    engine: Engine,
    scope: TenantScope,
    wanted: TrailFilter,
    *,
    chunk: int = 5000,
    names: tuple[str, ...] = TRAIL_COLUMNS,
) -> Iterator[pd.DataFrame]:
    """Every matching event of `scope`, newest first, a frame of at most `chunk` rows."""
    statement = _trail_select(scope, wanted, names)
    with engine.connect() as conn:
        result = conn.execution_options(stream_results=True).execute(statement)
        while rows := result.fetchmany(chunk):
            yield _frame(rows, names)


def trail_actors(engine: Engine, scope: TenantScope) -> tuple[str, ...]:
    """Everyone the trail of `scope` names, for the audit page's actor filter."""
    statement = (
        select(AuditEvent.actor)
        .where(scope.where(AuditEvent.tenant))
        .distinct()
        .order_by(AuditEvent.actor)
    )
    with engine.connect() as conn:
        return tuple(conn.execute(statement).scalars())


def _frame(rows: Any, names: tuple[str, ...] = TRAIL_COLUMNS) -> pd.DataFrame:
    import pandas as pd

    frame = pd.DataFrame([tuple(row) for row in rows], columns=list(names))
    frame["at"] = pd.to_datetime(frame["at"], utc=True)
    frame["rows"] = frame["rows"].astype("Int64")
    frame["count"] = frame["count"].astype("Int64")
    return frame
