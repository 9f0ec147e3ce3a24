"""The detector's progress: the last local day scored, per tenant (a `kv` key each). It is
written in the same transaction as the alerts of the days it covers, so a failed chunk is
scored again and never skipped."""

from __future__ import annotations

from datetime import date

from sqlalchemy import Connection

from db.state.kv import forget_values, read_value, write_value

SCORED_KEY = "detect_scored_through"
"""The `kv` key of the detector's progress (one per tenant: the kv key holds the tenant)."""


def scored_through(conn: Connection, tenant: str) -> date | None:
    """The last local day the detector has scored for `tenant`, or None before its first run."""
    text = read_value(conn, tenant, SCORED_KEY)
    return date.fromisoformat(text) if text else None


def set_scored_through(conn: Connection, tenant: str, day: date) -> None:
    """Mark `day` scored in `conn`'s transaction (the one that stores its alerts)."""
    write_value(conn, tenant, SCORED_KEY, day.isoformat())


def forget_scored_days(conn: Connection, tenant: str) -> None:
    """Make the next detect run start again from the warm-up (stored alerts are kept)."""
    forget_values(conn, tenant, [SCORED_KEY])
