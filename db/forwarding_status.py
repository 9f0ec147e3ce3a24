"""Where each forwarding destination stands, read for the dashboard's `/status` page.

One definition for `python -m ingest status`, `/status`, `/metrics` and the forwarder's
own sources (`pending_messages`), kept in `db/` so that the pages never import the ingest.
Per destination: last delivery, lag (messages waiting, and how long the
oldest of them has waited since it was stored), last error, parked count. Never a URL, a
token or a message body.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, desc, func, select

from db.models import Alert, ForwardCursor, ForwardDeadLetter, SearchLog


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def pending_messages(
    conn: Connection, source: str, after: int, since: datetime | None
) -> tuple[int, datetime | None]:
    """How many messages of `source` wait after position `after`, and the oldest's time
    stored; (0, None) for a source this module does not know."""
    if source == "searches":
        query = select(func.count(), func.min(SearchLog.ingested_at)).where(SearchLog.id > after)
        if since is not None:
            query = query.where(SearchLog.create_time >= since)
    elif source == "alerts":
        query = select(func.count(), func.min(Alert.created_at)).where(Alert.id > after)
        if since is not None:
            query = query.where(Alert.window_end >= since)  # as the alerts source reads
    else:
        return 0, None
    count, oldest = conn.execute(query).one()
    return int(count), oldest


def forwarding_status(engine: Engine, now: datetime | None = None) -> list[dict[str, Any]]:
    """One row per destination, by name (see the module's docstring for the fields)."""
    now = now or datetime.now(UTC)
    with engine.connect() as conn:
        cursors = conn.execute(select(ForwardCursor).order_by(ForwardCursor.destination)).all()
        parked = dict(
            conn.execute(
                select(ForwardDeadLetter.destination, func.count()).group_by(
                    ForwardDeadLetter.destination
                )
            ).all()
        )
        rows = []
        for cursor in cursors:
            waiting, oldest = pending_messages(conn, cursor.source, cursor.position, cursor.since)
            rows.append(
                {
                    "destination": cursor.destination,
                    "source": cursor.source,
                    "position": cursor.position,
                    "since": _iso(cursor.since),
                    "delivered": cursor.delivered,
                    "last_delivery_at": _iso(cursor.last_delivery_at),
                    "lag_messages": waiting,
                    "lag_seconds": round((now - oldest).total_seconds()) if oldest else 0,
                    "last_error": cursor.last_error,
                    "last_error_at": _iso(cursor.last_error_at),
                    "parked": int(parked.get(cursor.destination, 0)),
                }
            )
    return rows


def recent_dead_letters(
    engine: Engine, destination: str | None = None, limit: int = 20
) -> list[dict[str, Any]]:
    """The newest parked messages with the receiver's reason (never their bodies)."""
    query = select(
        ForwardDeadLetter.id,
        ForwardDeadLetter.destination,
        ForwardDeadLetter.message_id,
        ForwardDeadLetter.parked_at,
        ForwardDeadLetter.reason,
    ).order_by(desc(ForwardDeadLetter.id))
    if destination is not None:
        query = query.where(ForwardDeadLetter.destination == destination)
    with engine.connect() as conn:
        return [
            {**row._asdict(), "parked_at": _iso(row.parked_at)}
            for row in conn.execute(query.limit(limit))
        ]
