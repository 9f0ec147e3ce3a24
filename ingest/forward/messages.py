"""What is forwarded: typed values read from the database, and the sources that read them.

A source hands out messages in the order of a position that only grows (the table's
integer id), from after a destination's cursor up to a horizon below which every position
that will ever exist has been committed. Searches are the first source; alerts (issue 9)
plug in as a second one with the same three methods.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from sqlalchemy import Connection, func, select, text
from sqlalchemy.exc import OperationalError

from db.models import SearchLog


@dataclass(frozen=True, slots=True)
class Search:
    """One stored archive search, as forwarded. `key` is its stable id (`event_key`)."""

    key: str
    create_time: datetime
    email_addr: str
    source: str | None
    search_text: str | None
    search_reason: str | None
    description: str | None
    search_path: str | None


@dataclass(frozen=True, slots=True)
class Alert:
    """One alert from the detections (issue 9): who, which rule, over which window, how bad,
    the one-line explanation and where the evidence is."""

    id: str
    rule: str
    email_addr: str
    window_start: datetime
    window_end: datetime
    severity: str  # low | medium | high | critical
    summary: str
    evidence_url: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Message:
    """A search or an alert at its position in its source; `id` is what receivers dedupe on."""

    position: int
    id: str
    item: Search | Alert


class Source(Protocol):
    """Where a destination's messages come from (`searches` now, `alerts` with issue 9)."""

    name: str

    def horizon(self, conn: Connection) -> int | None:
        """The highest position safe to forward now, or None if that cannot be known yet."""
        ...

    def read(
        self, conn: Connection, after: int, upto: int, since: datetime | None, limit: int
    ) -> list[Message]:
        """Up to `limit` messages with `after < position <= upto`, in position order."""
        ...

    def pending(
        self, conn: Connection, after: int, since: datetime | None
    ) -> tuple[int, datetime | None]:
        """How many messages wait after `after`, and when the oldest of them was stored."""
        ...


class HorizonBusy(Exception):
    """A write transaction is in flight on PostgreSQL, so the horizon is not known yet."""


_SEARCH_COLUMNS = (
    SearchLog.id,
    SearchLog.event_key,
    SearchLog.create_time,
    SearchLog.email_addr,
    SearchLog.source,
    SearchLog.search_text,
    SearchLog.search_reason,
    SearchLog.description,
    SearchLog.search_path,
)


class SearchSource:
    """Stored searches in `search_logs.id` order.

    The id is assigned at insert. On SQLite there is one writer at a time, so ids become
    visible in order and `max(id)` is a safe horizon. On PostgreSQL two transactions can
    commit ids out of order (7 visible while 6 is still in flight), so the horizon is read
    under `LOCK TABLE … IN SHARE MODE NOWAIT`: it is granted only when no transaction holds
    an uncommitted insert, so every id at or below that `max(id)` is committed, and it never
    makes the ingest wait (NOWAIT fails at once instead; the caller tries again shortly)."""

    name = "searches"

    def horizon(self, conn: Connection) -> int | None:
        if conn.dialect.name == "postgresql":
            try:
                with conn.begin():
                    conn.execute(text("LOCK TABLE search_logs IN SHARE MODE NOWAIT"))
                    return conn.execute(select(func.max(SearchLog.id))).scalar()
            except OperationalError as exc:
                if getattr(getattr(exc, "orig", None), "sqlstate", None) == "55P03":
                    raise HorizonBusy("the ingest is writing") from None
                raise
        with conn.begin():
            return conn.execute(select(func.max(SearchLog.id))).scalar()

    def read(
        self, conn: Connection, after: int, upto: int, since: datetime | None, limit: int
    ) -> list[Message]:
        query = (
            select(*_SEARCH_COLUMNS)
            .where(SearchLog.id > after, SearchLog.id <= upto)
            .order_by(SearchLog.id)
            .limit(limit)
        )
        if since is not None:
            query = query.where(SearchLog.create_time >= since)
        return [Message(row[0], row[1], Search(*row[1:])) for row in conn.execute(query).all()]

    def pending(
        self, conn: Connection, after: int, since: datetime | None
    ) -> tuple[int, datetime | None]:
        query = select(func.count(), func.min(SearchLog.ingested_at)).where(SearchLog.id > after)
        if since is not None:
            query = query.where(SearchLog.create_time >= since)
        count, oldest = conn.execute(query).one()
        return int(count), oldest


SOURCES: dict[str, Source] = {"searches": SearchSource()}
"""Every source a destination may name; `alerts` joins when the alerts table lands."""
