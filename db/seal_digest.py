"""The digest of one link of a seal chain: the canonical serialisation docs/evidence.md
defines, so an auditor can recompute it from the database with nothing but this text.

A link covers one UTC day: a tenant's searches of that day with `first < id <= last`
(in id order) and, for a day's seal, the audit trail's rows of that day (of that tenant,
or of no tenant for the installation chain). Each value is written as JSON, one row a
line, after a header that names the link and the digest of the link before it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Connection, Select, select

from db.models import INSTALLATION_CHAIN, AuditEvent, SearchLog

FORMAT = "mimecast-searchlogs seal v1"
GENESIS = "0" * 64
"""The `previous` of a chain's first link."""

SEARCH_COLUMNS = (
    "id",
    "tenant",
    "event_key",
    "create_time",
    "email_addr",
    "source",
    "search_text",
    "search_reason",
    "description",
    "search_path",
    "muse_query",
    "is_admin",
    "raw_json",
    "run_id",
    "ingested_at",
)
"""Every stored column of `search_logs`, in this order (v1: a column added later is not
covered until a v2 format says so)."""

AUDIT_COLUMNS = (
    "id",
    "tenant",
    "at",
    "actor",
    "role",
    "action",
    "target",
    "filters",
    "rows",
    "detail",
    "count",
)
"""Every stored column of `audit_events`, in this order."""

SEAL, AMENDMENT = "seal", "amendment"


@dataclass(frozen=True)
class Link:
    """A link's stored fields, all but its digest (which covers them)."""

    chain: str
    position: int
    day: date
    kind: str
    first_search_id: int
    last_search_id: int
    last_run_id: int
    searches: int
    audit_rows: int
    previous: str
    sealed_at: datetime

    def header(self) -> list[Any]:
        return [
            "link",
            self.chain,
            self.position,
            self.day.isoformat(),
            self.kind,
            self.first_search_id,
            self.last_search_id,
            self.last_run_id,
            self.searches,
            self.audit_rows,
            self.previous,
            canonical(self.sealed_at),
        ]


def canonical(value: Any) -> Any:
    """A stored value as JSON: times as UTC ISO 8601 with microseconds and `Z`."""
    if value is None or isinstance(value, str | int):  # most values: no work (bool is int)
        return value
    if isinstance(value, datetime):
        utc = value.astimezone(UTC).replace(tzinfo=None)
        return utc.isoformat(timespec="microseconds") + "Z"
    if isinstance(value, date):
        return value.isoformat()
    return value


def line(values: Iterable[Any]) -> bytes:
    """One line of the serialisation: a compact JSON array, UTF-8, `\\n`-terminated."""
    text = json.dumps([canonical(v) for v in values], ensure_ascii=False, separators=(",", ":"))
    return (text + "\n").encode("utf-8", "surrogatepass")


def day_bounds(day: date) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time(), UTC)
    return start, start + timedelta(days=1)


def search_select(chain: str, day: date, first: int, last: int) -> Select[Any]:
    """The searches a link covers, in id order."""
    start, end = day_bounds(day)
    columns = [getattr(SearchLog, name) for name in SEARCH_COLUMNS]
    return (
        select(*columns)
        .where(SearchLog.tenant == chain)
        .where(SearchLog.create_time >= start, SearchLog.create_time < end)
        .where(SearchLog.id > first, SearchLog.id <= last)
        .order_by(SearchLog.id)
    )


def audit_select(chain: str, day: date) -> Select[Any]:
    """The audit trail's rows of the day a seal covers (NULL tenant: the installation's)."""
    start, end = day_bounds(day)
    columns = [getattr(AuditEvent, name) for name in AUDIT_COLUMNS]
    tenant = AuditEvent.tenant.is_(None) if chain == INSTALLATION_CHAIN else None
    return (
        select(*columns)
        .where(tenant if tenant is not None else AuditEvent.tenant == chain)
        .where(AuditEvent.at >= start, AuditEvent.at < end)
        .order_by(AuditEvent.id)
    )


def _rows(conn: Connection, statement: Select[Any]) -> Iterator[Sequence[Any]]:
    # per statement: Connection.execution_options would change the connection itself
    yield from conn.execute(statement, execution_options={"yield_per": 2000})


@dataclass(frozen=True)
class Content:
    """What a link covers as it is stored now: its rows' digest input and their counts."""

    searches: int
    audit_rows: int
    rows_digest: bytes
    """SHA-256 of the rows' lines, in order (32 bytes)."""

    def digest(self, link: Link) -> str:
        """SHA-256 of the format line, the header line, then the rows' digest."""
        return link_digest(link, self.rows_digest)


def link_digest(link: Link, rows_digest: bytes) -> str:
    outer = hashlib.sha256(line([FORMAT]))
    outer.update(line(link.header()))
    outer.update(rows_digest)
    return outer.hexdigest()


def read_content(
    conn: Connection, chain: str, day: date, kind: str, first: int, last: int
) -> Content:
    """Hash the rows a link covers as they are stored now (searches, then a seal's audit
    rows), one line each: `["search", …]` and `["audit", …]`."""
    body = hashlib.sha256()
    searches = audit_rows = 0
    if chain != INSTALLATION_CHAIN:
        for row in _rows(conn, search_select(chain, day, first, last)):
            body.update(line(["search", *row]))
            searches += 1
    if kind == SEAL:
        for row in _rows(conn, audit_select(chain, day)):
            body.update(line(["audit", *row]))
            audit_rows += 1
    return Content(searches, audit_rows, body.digest())
