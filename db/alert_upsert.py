"""The detector's writes to the alerts of the days it scores: one upsert per chunk of days.

A day can be scored again (late searches, `detect --rescore`), so storing is a comparison
with what is stored, not a blind insert: an alert still `new` takes the fresh figures,
summary, severity and evidence; a `new` one that no longer fires is `withdrawn` (and is
`new` again if it fires later); an acknowledged or dismissed alert keeps its status, note,
triager and figures. Nothing that did not change is written, so a second run with the same
data changes no row, not even `updated_at`. Inserts and updates go in batches.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import Connection, bindparam, select, update

from db.alerts import NewAlert, insert_alerts
from db.models import Alert, utc_now

REFRESHED = ("severity", "summary", "figures", "evidence", "window_start", "window_end")
"""What a re-score refreshes on an alert still `new` (evidence_url follows the days)."""
BATCH = 500
"""Rows per statement: under SQLite's bound-variable limit at 13 columns a row."""

Key = tuple[str, str, date]  # email, rule, day


@dataclass
class AlertChanges:
    """What one upsert did: inserted, refreshed (figures changed, or withdrawn and back),
    withdrawn."""

    new: int = 0
    refreshed: int = 0
    withdrawn: int = 0

    def add(self, other: AlertChanges) -> None:
        self.new += other.new
        self.refreshed += other.refreshed
        self.withdrawn += other.withdrawn


def _key(alert: NewAlert) -> Key:
    return (alert.email_addr, alert.rule, alert.day)


def upsert_alerts(
    conn: Connection, tenant: str, first: date, last: date, alerts: Sequence[NewAlert]
) -> AlertChanges:
    """Make `tenant`'s alerts of the local days `first`..`last` what a fresh scoring of those
    days found (`alerts`, all in that range), in `conn`'s transaction."""
    stored = conn.execute(
        select(Alert.id, Alert.email_addr, Alert.rule, Alert.day, Alert.status, *_columns()).where(
            Alert.tenant == tenant, Alert.day >= first, Alert.day <= last
        )
    ).all()
    found = {_key(alert): alert for alert in alerts}
    changes = AlertChanges()
    fresh: list[NewAlert] = []
    refresh: list[dict[str, Any]] = []
    withdraw: list[dict[str, Any]] = []
    now = utc_now()
    known: set[Key] = set()
    for row in stored:
        key = (row.email_addr, row.rule, row.day)
        known.add(key)
        alert = found.get(key)
        if row.status == "new" and alert is None:
            withdraw.append({"_id": row.id, "status": "withdrawn", "updated_at": now})
        elif alert is not None and row.status in ("new", "withdrawn"):
            values = {name: getattr(alert, name) for name in (*REFRESHED, "evidence_url")}
            if row.status == "withdrawn" or any(
                getattr(row, name) != values[name] for name in REFRESHED
            ):
                refresh.append({"_id": row.id, **values, "status": "new", "updated_at": now})
    fresh = [alert for key, alert in found.items() if key not in known]
    for part in _batches(fresh):
        changes.new += insert_alerts(conn, part)
    for rows, names in ((refresh, (*REFRESHED, "evidence_url")), (withdraw, ())):
        if rows:
            statement = (
                update(Alert)
                .where(Alert.id == bindparam("_id"))
                .values({name: bindparam(name) for name in (*names, "status", "updated_at")})
            )
            for part in _batches(rows):
                conn.execute(statement, part)
    changes.refreshed, changes.withdrawn = len(refresh), len(withdraw)
    return changes


def _columns() -> tuple[Any, ...]:
    return tuple(getattr(Alert, name) for name in REFRESHED)


def _batches(rows: Sequence[Any]) -> Iterable[Sequence[Any]]:
    for start in range(0, len(rows), BATCH):
        yield rows[start : start + BATCH]


@dataclass(frozen=True)
class Suppression:
    """A dismissal as expected: `email` and `rule` stay quiet after `after`, through `until`."""

    email: str
    rule: str
    after: date
    until: date

    def covers(self, email: str, rule: str, day: date) -> bool:
        return self.email == email and self.rule == rule and self.after < day <= self.until


def suppressions(
    conn: Connection, tenant: str, first: date, max_days: int | None = None
) -> list[Suppression]:
    """The dismissals of `tenant` that quiet some day from `first` on; each lasts at most
    `max_days` after its alert's day (the rules file's `[feedback] max_suppress_days`)."""
    rows = conn.execute(
        select(Alert.email_addr, Alert.rule, Alert.day, Alert.suppressed_until).where(
            Alert.tenant == tenant,
            Alert.status == "dismissed",
            Alert.suppressed_until >= first,
        )
    ).all()
    found = []
    for email, rule, day, until in rows:
        if until is None:  # the query asks for a date; a NULL never compares
            continue
        if max_days is not None:
            until = min(until, day + timedelta(days=max_days))
        if until >= first:
            found.append(Suppression(email, rule, day, until))
    return found
