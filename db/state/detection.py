"""The detector's progress: the last local day scored, per account (a `kv` key each). It is
written in the same transaction as the alerts of the days it covers, so a failed chunk is
scored again and never skipped."""

from __future__ import annotations

from datetime import date

from sqlalchemy import Connection

from db.state.kv import forget_values, read_value, write_value

SCORED_KEY = "detect_scored_through"
"""The `kv` key of the default account; another account's key is `SCORED_KEY:<account>`."""


def _scored_key(account: str) -> str:
    return SCORED_KEY if not account else f"{SCORED_KEY}:{account}"


def scored_through(conn: Connection, account: str = "") -> date | None:
    """The last local day the detector has scored for `account`, or None before its first run."""
    text = read_value(conn, _scored_key(account))
    return date.fromisoformat(text) if text else None


def set_scored_through(conn: Connection, day: date, account: str = "") -> None:
    """Mark `day` scored in `conn`'s transaction (the one that stores its alerts)."""
    write_value(conn, _scored_key(account), day.isoformat())


def forget_scored_days(conn: Connection, account: str = "") -> None:
    """Make the next detect run start again from the warm-up (stored alerts are kept)."""
    forget_values(conn, [_scored_key(account)])
