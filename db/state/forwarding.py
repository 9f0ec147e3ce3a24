"""Each forwarding destination's state: its cursor (`forward_cursors`), the messages its
receiver refused (`forward_dead_letters`), and where it stands for `python -m ingest
status`, `/status` and `/metrics` (lag, last delivery, last error, parked count; never a
URL, a token or a message body).

The writes take the forwarder's connection: a batch's dead letters and the cursor past them
commit together, and only after the receiver acknowledged the batch (`commit_batch`).
`pending_messages` also serves the forwarder's own sources, kept in `db/` so that the pages
never import the ingest.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, desc, func, insert, select, update

from db.models import Alert, ForwardCursor, ForwardDeadLetter, SearchLog, utc_now
from db.scope import TenantScope

REASON_CHARS = 2000
"""A parked message's reason is kept to this many characters."""


@dataclass(frozen=True)
class ForwardPosition:
    """Where a destination resumes: after `position`, skipping messages older than `since`."""

    position: int
    since: datetime | None


@dataclass(frozen=True)
class DeadLetter:
    """A message the receiver refused as malformed (or that could not be encoded)."""

    position: int
    message_id: str
    reason: str
    body: str


def _this(tenant: str, destination: str) -> Any:
    return (ForwardCursor.destination == destination, ForwardCursor.tenant == tenant)


def _position(tenant: str, destination: str) -> Any:
    return select(ForwardCursor.position, ForwardCursor.since).where(*_this(tenant, destination))


def read_position(conn: Connection, tenant: str, destination: str) -> ForwardPosition | None:
    """The cursor of `tenant`'s stream to the destination, None before its first pass."""
    row = conn.execute(_position(tenant, destination)).first()
    return None if row is None else ForwardPosition(int(row.position), row.since)


def create_position(
    conn: Connection, tenant: str, destination: str, source: str, since: datetime | None
) -> ForwardPosition:
    """The first cursor of `tenant`'s stream to the destination: position 0 (the oldest
    stored message), `since`."""
    conn.execute(
        insert(ForwardCursor).values(
            destination=destination,
            tenant=tenant,
            source=source,
            position=0,
            since=since,
            delivered=0,
            created_at=utc_now(),
        )
    )
    row = conn.execute(_position(tenant, destination)).one()  # as stored (the database's datetime)
    return ForwardPosition(int(row.position), row.since)


def record_error(conn: Connection, tenant: str, destination: str, error: str | None) -> None:
    """The last error of `tenant`'s stream to the destination (None clears it); the cursor
    stays where it is."""
    conn.execute(
        update(ForwardCursor)
        .where(*_this(tenant, destination))
        .values(last_error=error, last_error_at=utc_now() if error else None)
    )


def commit_batch(
    conn: Connection,
    tenant: str,
    destination: str,
    source: str,
    last_position: int,
    delivered: int,
    parked: Sequence[DeadLetter],
) -> None:
    """An acknowledged batch: its dead letters and the cursor moved past it, in `conn`'s
    transaction (both or neither)."""
    now = utc_now()
    if parked:
        conn.execute(
            insert(ForwardDeadLetter),
            [
                {
                    "destination": destination,
                    "tenant": tenant,
                    "source": source,
                    "position": letter.position,
                    "message_id": letter.message_id,
                    "parked_at": now,
                    "reason": letter.reason[:REASON_CHARS],
                    "body": letter.body,
                }
                for letter in parked
            ],
        )
    conn.execute(
        update(ForwardCursor)
        .where(*_this(tenant, destination))
        .values(
            position=last_position,
            delivered=ForwardCursor.delivered + delivered,
            last_delivery_at=now if delivered else ForwardCursor.last_delivery_at,
            last_error=None,
            last_error_at=None,
        )
    )


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def pending_messages(
    conn: Connection, tenant: str, source: str, after: int, since: datetime | None
) -> tuple[int, datetime | None]:
    """How many messages of `tenant`'s `source` wait after position `after`, and the
    oldest's time stored; (0, None) for a source this module does not know."""
    if source == "searches":
        query = select(func.count(), func.min(SearchLog.ingested_at)).where(
            SearchLog.tenant == tenant, SearchLog.id > after
        )
        if since is not None:
            query = query.where(SearchLog.create_time >= since)
    elif source == "alerts":
        query = select(func.count(), func.min(Alert.created_at)).where(
            Alert.tenant == tenant, Alert.id > after
        )
        if since is not None:
            query = query.where(Alert.window_end >= since)  # as the alerts source reads
    else:
        return 0, None
    count, oldest = conn.execute(query).one()
    return int(count), oldest


def forwarding_status(
    engine: Engine, scope: TenantScope, now: datetime | None = None
) -> list[dict[str, Any]]:
    """One row per destination and tenant of `scope`, by name (see the module's docstring
    for the fields)."""
    now = now or datetime.now(UTC)
    with engine.connect() as conn:
        cursors = conn.execute(
            select(ForwardCursor)
            .where(scope.where(ForwardCursor.tenant))
            .order_by(ForwardCursor.destination, ForwardCursor.tenant)
        ).all()
        parked = {
            (destination, tenant): count
            for destination, tenant, count in conn.execute(
                select(ForwardDeadLetter.destination, ForwardDeadLetter.tenant, func.count())
                .where(scope.where(ForwardDeadLetter.tenant))
                .group_by(ForwardDeadLetter.destination, ForwardDeadLetter.tenant)
            )
        }
        rows = []
        for cursor in cursors:
            waiting, oldest = pending_messages(
                conn, cursor.tenant, cursor.source, cursor.position, cursor.since
            )
            rows.append(
                {
                    "destination": cursor.destination,
                    "tenant": cursor.tenant,
                    "source": cursor.source,
                    "position": cursor.position,
                    "since": _iso(cursor.since),
                    "delivered": cursor.delivered,
                    "last_delivery_at": _iso(cursor.last_delivery_at),
                    "lag_messages": waiting,
                    "lag_seconds": round((now - oldest).total_seconds()) if oldest else 0,
                    "last_error": cursor.last_error,
                    "last_error_at": _iso(cursor.last_error_at),
                    "parked": int(parked.get((cursor.destination, cursor.tenant), 0)),
                }
            )
    return rows


def recent_dead_letters(
    engine: Engine, scope: TenantScope, destination: str | None = None, limit: int = 20
) -> list[dict[str, Any]]:
    """The newest parked messages of `scope` with the receiver's reason (never their bodies)."""
    query = (
        select(
            ForwardDeadLetter.id,
            ForwardDeadLetter.destination,
            ForwardDeadLetter.message_id,
            ForwardDeadLetter.parked_at,
            ForwardDeadLetter.reason,
        )
        .where(scope.where(ForwardDeadLetter.tenant))
        .order_by(desc(ForwardDeadLetter.id))
    )
    if destination is not None:
        query = query.where(ForwardDeadLetter.destination == destination)
    with engine.connect() as conn:
        return [
            {**row._asdict(), "parked_at": _iso(row.parked_at)}
            for row in conn.execute(query.limit(limit))
        ]
