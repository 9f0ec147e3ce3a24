"""The detector's progress: the last local day scored, per tenant (a `kv` key each), and the
version of every scored day's data (`scored_days`: the searches stored for that local day
when it was scored). Both are written in the same transaction as the alerts of the days
they cover, so a failed chunk is scored again and never skipped; a day whose count has
changed since (late searches stored by a reconciliation sweep) is scored again."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

from sqlalchemy import Connection, delete, select

from db.models import ScoredDay, utc_now
from db.state.kv import forget_values, read_value, write_value
from db.state.upsert import dialect_insert

SCORED_KEY = "detect_scored_through"
"""The `kv` key of the detector's progress (one per tenant: the kv key holds the tenant)."""


def scored_through(conn: Connection, tenant: str) -> date | None:
    """The last local day the detector has scored for `tenant`, or None before its first run."""
    text = read_value(conn, tenant, SCORED_KEY)
    return date.fromisoformat(text) if text else None


def set_scored_through(conn: Connection, tenant: str, day: date) -> None:
    """Mark `day` scored in `conn`'s transaction (the one that stores its alerts)."""
    write_value(conn, tenant, SCORED_KEY, day.isoformat())


def scored_versions(conn: Connection, tenant: str, first: date, last: date) -> dict[date, int]:
    """The searches each local day of `first`..`last` held when `tenant`'s detector scored it
    (days scored before versions were kept are missing)."""
    rows = conn.execute(
        select(ScoredDay.day, ScoredDay.searches).where(
            ScoredDay.tenant == tenant, ScoredDay.day >= first, ScoredDay.day <= last
        )
    )
    return {day: int(searches) for day, searches in rows}


def set_scored_versions(conn: Connection, tenant: str, versions: Mapping[date, int]) -> None:
    """Record the versions of the days just scored, in the transaction of their alerts."""
    if not versions:
        return
    now = utc_now()
    rows = [
        {"tenant": tenant, "day": day, "searches": searches, "scored_at": now}
        for day, searches in sorted(versions.items())
    ]
    statement = dialect_insert(conn, ScoredDay).values(rows)
    conn.execute(
        statement.on_conflict_do_update(
            index_elements=["tenant", "day"],
            set_={
                "searches": statement.excluded.searches,
                "scored_at": statement.excluded.scored_at,
            },
        )
    )


def forget_scored_days(conn: Connection, tenant: str) -> None:
    """Make the next detect run start again from the warm-up (stored alerts are kept)."""
    forget_values(conn, tenant, [SCORED_KEY])
    conn.execute(delete(ScoredDay).where(ScoredDay.tenant == tenant))
