"""Alerts in the database: what `python -m ingest detect` stores, and what the dashboard
reads and triages (list with filters, open alerts per user, acknowledge or dismiss).

The dashboard must not import the ingest, so everything it needs about alerts lives here:
the statuses, the evidence link and the queries. Triage changes only the status, the note,
who and when; an alert's figures are never edited.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlencode

from sqlalchemy import Connection, Engine, Select, bindparam, case, func, select, update

from db import audit
from db.models import Alert, text_key, utc_now
from db.scope import TenantScope
from db.state.upsert import dialect_insert

if TYPE_CHECKING:  # pandas is imported where a frame is built: `detect` needs none
    import pandas as pd

RULES = (
    "volume_spike",
    "peer_outlier",
    "unusual_time",
    "dormant_searcher",
    "breadth",
    "sensitive_terms",
    "missing_reason",
    "system_volume",
    "accumulated_risk",
)
"""Every rule that can raise an alert, in the order the rules file documents them."""
SEVERITIES = ("high", "medium", "low")
STATUSES = ("new", "acknowledged", "dismissed", "withdrawn")
"""withdrawn: a re-score (late data) no longer fires it; it comes back as new if it fires again."""
OPEN_STATUSES = ("new", "acknowledged")
"""An alert is open until someone dismisses it."""
TRIAGE_STATUSES = ("acknowledged", "dismissed")

ALERT_COLUMNS = (
    "id",
    "day",
    "rule",
    "severity",
    "email",
    "summary",
    "status",
    "window_start",
    "window_end",
    "evidence_url",
    "note",
    "triaged_by",
    "triaged_at",
    "created_at",
    "tenant",
)
"""The columns of a list of alerts, in the order the page and its CSV show them."""


def evidence_url(email: str, first: date, last: date) -> str:
    """The dashboard's user history filtered to the alert's days (relative, like its links)."""
    query = {"email": email, "from": first.isoformat(), "to": last.isoformat()}
    return f"/user?{urlencode(query, quote_via=quote)}"


@dataclass(frozen=True)
class NewAlert:
    """An alert as the detector writes it, in `tenant`; status starts as new."""

    tenant: str
    rule: str
    email_addr: str
    day: date
    window_start: datetime
    window_end: datetime
    severity: str
    summary: str
    figures: str  # JSON
    evidence_url: str
    evidence: str = "{}"  # JSON: hours, terms, targets, days that narrow the window


_ONE_PER_DAY = [Alert.tenant, text_key(Alert.email_addr), Alert.rule, Alert.day]
"""The one-alert-per-day key as ON CONFLICT names it: on PostgreSQL the unique index over
`text_key(email_addr)` (an address of any length), on SQLite the plain columns."""


def insert_alerts(conn: Connection, alerts: Sequence[NewAlert]) -> int:
    """Store alerts not stored yet (one per tenant, user, rule and day); returns how many
    were new. Safe to repeat: a second run inserts nothing."""
    if not alerts:
        return 0
    now = utc_now()
    rows = [
        {**alert.__dict__, "status": "new", "created_at": now}
        for alert in alerts  # frozen dataclass: its fields are its __dict__
    ]
    statement = (
        dialect_insert(conn, Alert)
        .values(rows)
        .on_conflict_do_nothing(index_elements=_ONE_PER_DAY)
        .returning(Alert.id)  # counts exactly on both databases (a batched rowcount may not)
    )
    return len(conn.execute(statement).all())


@dataclass(frozen=True)
class AlertFilters:
    """What an analyst asked to see inside `scope` (required); empty tuples mean everything.
    Days are local days."""

    scope: TenantScope
    start: date | None = None
    end: date | None = None
    rules: tuple[str, ...] = ()
    severities: tuple[str, ...] = ()
    statuses: tuple[str, ...] = ()
    users: tuple[str, ...] = ()


def _where(statement: Select[*tuple[Any, ...]], filters: AlertFilters) -> Select[*tuple[Any, ...]]:
    statement = statement.where(filters.scope.where(Alert.tenant))
    if filters.start is not None:
        statement = statement.where(Alert.day >= filters.start)
    if filters.end is not None:
        statement = statement.where(Alert.day <= filters.end)
    for column, values in (
        (Alert.rule, filters.rules),
        (Alert.severity, filters.severities),
        (Alert.status, filters.statuses),
        (Alert.email_addr, filters.users),
    ):
        if values:
            statement = statement.where(column.in_(values))
    return statement


_LISTED = (
    Alert.id,
    Alert.day,
    Alert.rule,
    Alert.severity,
    Alert.email_addr,
    Alert.summary,
    Alert.status,
    Alert.window_start,
    Alert.window_end,
    Alert.evidence_url,
    Alert.note,
    Alert.triaged_by,
    Alert.triaged_at,
    Alert.created_at,
    Alert.tenant,
)
"""The columns of ALERT_COLUMNS, as selected."""


def _frame(rows: Sequence[Any]) -> pd.DataFrame:
    import pandas as pd

    return pd.DataFrame([tuple(row) for row in rows], columns=list(ALERT_COLUMNS))


def list_alerts(engine: Engine, filters: AlertFilters, limit: int | None = None) -> pd.DataFrame:
    """Alerts matching `filters`, newest day first, then high severity first: ALERT_COLUMNS."""
    severity_rank = {name: rank for rank, name in enumerate(SEVERITIES)}
    statement = _where(select(*_LISTED), filters).order_by(Alert.day.desc(), Alert.id)
    if limit is not None:
        statement = statement.limit(limit)
    with engine.connect() as conn:
        rows = conn.execute(statement).all()
    frame = _frame(rows)
    if len(frame):
        frame["_rank"] = frame["severity"].map(severity_rank)
        frame = frame.sort_values(["day", "_rank", "id"], ascending=[False, True, True])
        frame = frame.drop(columns="_rank").reset_index(drop=True)
    return frame


@dataclass(frozen=True)
class AlertKeyset:
    """Where a page of alerts starts: after the alert (`day`, `rank`, `row_id`) in
    `list_alerts`' order, among the alerts that existed when the first page was read."""

    snapshot_id: int
    day: date | None = None
    rank: int | None = None
    row_id: int | None = None


def _severity_rank() -> Any:
    """The severity's place in SEVERITIES (an unknown one last), as `list_alerts` sorts it."""
    return case(
        *((Alert.severity == name, rank) for rank, name in enumerate(SEVERITIES)),
        else_=len(SEVERITIES),
    )


def newest_alert_id(engine: Engine, scope: TenantScope) -> int:
    """The highest alert id of `scope` now: a listing fixed to it ignores alerts stored later."""
    statement = select(func.coalesce(func.max(Alert.id), 0)).where(scope.where(Alert.tenant))
    with engine.connect() as conn:
        return int(conn.execute(statement).scalar_one())


def alert_keyset_page(
    engine: Engine, filters: AlertFilters, keyset: AlertKeyset, *, limit: int
) -> tuple[pd.DataFrame, AlertKeyset | None]:
    """Up to `limit` alerts in `list_alerts`' order (newest day, high severity, id) after
    `keyset`, and the keyset of the next page (None after the last). Bounded by the
    snapshot id, so alerts the detector stores meanwhile neither shift nor join a listing."""
    rank = _severity_rank()
    statement = _where(select(*_LISTED, rank), filters).where(Alert.id <= keyset.snapshot_id)
    if keyset.day is not None and keyset.rank is not None and keyset.row_id is not None:
        statement = statement.where(
            (Alert.day < keyset.day)
            | ((Alert.day == keyset.day) & (rank > keyset.rank))
            | ((Alert.day == keyset.day) & (rank == keyset.rank) & (Alert.id > keyset.row_id))
        )
    statement = statement.order_by(Alert.day.desc(), rank, Alert.id).limit(limit + 1)
    with engine.connect() as conn:
        rows = conn.execute(statement).all()
    following = None
    if len(rows) > limit:
        rows = rows[:limit]
        last = rows[-1]
        following = AlertKeyset(keyset.snapshot_id, last.day, int(last[-1]), last.id)
    return _frame([tuple(row)[:-1] for row in rows]), following


def alert_figures(engine: Engine, scope: TenantScope, alert_id: int) -> str | None:
    """The JSON figures behind one alert of `scope` (None for another tenant's)."""
    statement = select(Alert.figures).where(scope.where(Alert.tenant), Alert.id == alert_id)
    with engine.connect() as conn:
        return conn.execute(statement).scalar()


def open_alert_counts(engine: Engine, filters: AlertFilters) -> pd.DataFrame:
    """Open (new or acknowledged) alerts per user, most first: columns email, open_alerts."""
    statement = _where(
        select(Alert.email_addr, func.count().label("n")).where(Alert.status.in_(OPEN_STATUSES)),
        filters,
    ).group_by(Alert.email_addr)
    with engine.connect() as conn:
        rows = conn.execute(statement).all()
    import pandas as pd

    frame = pd.DataFrame([tuple(row) for row in rows], columns=["email", "open_alerts"])
    return frame.sort_values(["open_alerts", "email"], ascending=[False, True]).reset_index(
        drop=True
    )


def open_alert_days(engine: Engine, filters: AlertFilters) -> dict[date, int]:
    """Open alerts per local day (for marks on a calendar or a user's history)."""
    statement = _where(
        select(Alert.day, func.count()).where(Alert.status.in_(OPEN_STATUSES)),
        filters,
    ).group_by(Alert.day)
    with engine.connect() as conn:
        return {day: int(count) for day, count in conn.execute(statement).all()}


class TriageError(ValueError):
    """A triage that cannot be applied; the message says why, in one line."""


MAX_SUPPRESS_DAYS = 365
"""The longest suppression a dismissal can ask for (the rules file may allow fewer)."""


def triage(
    engine: Engine,
    scope: TenantScope,
    alert_ids: Iterable[int],
    status: str,
    actor: str,
    note: str = "",
    *,
    audited: audit.AuditEntry | None = None,
    suppress_days: int = 0,
) -> int:
    """Acknowledge or dismiss alerts of `scope` with a note (another tenant's ids change
    nothing); returns how many changed. A dismissal with `suppress_days` > 0 also quiets
    the same tenant, person and rule for that many local days after each alert's day (the
    detector honours it); an acknowledgement never suppresses. The caller checks the actor
    is an administrator; `audited` (its `rows` set to how many changed, its detail saying
    what is suppressed) is written in the same transaction: if it cannot be written, no
    alert changes."""
    if status not in TRIAGE_STATUSES:
        raise TriageError(f"an alert can be {' or '.join(TRIAGE_STATUSES)}, not {status!r}")
    if not actor:
        raise TriageError("a triage needs the address of who made it")
    if not 0 <= suppress_days <= MAX_SUPPRESS_DAYS:
        raise TriageError(f"suppress for 0 to {MAX_SUPPRESS_DAYS} days, not {suppress_days}")
    if suppress_days and status != "dismissed":
        raise TriageError("only a dismissal as expected can suppress an alert's rule")
    ids = sorted(set(alert_ids))
    if not ids:
        return 0
    values = {"status": status, "note": note.strip() or None, "triaged_by": actor}
    with engine.begin() as conn:
        found = conn.execute(
            select(Alert.id, Alert.day).where(scope.where(Alert.tenant), Alert.id.in_(ids))
        ).all()
        rows = [
            {
                "_id": row.id,
                "suppressed_until": row.day + timedelta(days=suppress_days)
                if suppress_days
                else None,
            }
            for row in found
        ]
        if rows:  # one statement for every alert (each its own end of suppression)
            statement = (
                update(Alert)
                .where(Alert.id == bindparam("_id"))
                .values(
                    **values, triaged_at=utc_now(), suppressed_until=bindparam("suppressed_until")
                )
            )
            conn.execute(statement, rows)
        changed = len(rows)
        if audited is not None:
            audit.write(
                conn, replace(audited, rows=changed, detail=_detail(audited, suppress_days))
            )
    return changed


def _detail(audited: audit.AuditEntry, suppress_days: int) -> str | None:
    if not suppress_days:
        return audited.detail
    said = f"suppresses the same person and rule for {suppress_days} days after each alert's day"
    return f"{audited.detail}; {said}" if audited.detail else said


def count_alerts(engine: Engine, filters: AlertFilters) -> int:
    statement = _where(select(func.count()).select_from(Alert), filters)
    with engine.connect() as conn:
        return int(conn.execute(statement).scalar() or 0)
