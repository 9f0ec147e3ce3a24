"""Where each forwarding destination stands: for `python -m ingest status` and `/status`."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, desc, func, select

from db.models import ForwardCursor, ForwardDeadLetter
from ingest.forward.messages import SOURCES


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def forwarding_status(engine: Engine, now: datetime | None = None) -> list[dict[str, Any]]:
    """Per destination: last delivery, lag (messages waiting, and how long the oldest of them
    has waited since it was stored), last error, parked count. Never a URL or a token."""
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
            source = SOURCES.get(cursor.source)
            waiting, oldest = (
                source.pending(conn, cursor.position, cursor.since) if source else (0, None)
            )
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
    """The newest parked messages with the receiver's reason, for the status page."""
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
