"""What is forwarded: typed values read from the database, and the sources that read them.

A source hands out one tenant's messages in the order of a position that only grows (the
table's integer id), from after the cursor of that tenant's stream to a destination up to a
horizon below which every position that will ever exist has been committed. Two sources:
the stored searches and the alerts of the detections (issue 9), each with the same three
methods.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import Connection, Table, func, select, text
from sqlalchemy.exc import OperationalError

from db.models import Alert as AlertRow
from db.models import SearchLog
from db.scope import DEFAULT_TENANT, TenantScope
from db.state.forwarding import pending_messages


@dataclass(frozen=True, slots=True)
class Search:
    """One stored archive search, as forwarded. `key` is its stable id (`forward_id`)."""

    key: str
    create_time: datetime
    email_addr: str
    source: str | None
    search_text: str | None
    search_reason: str | None
    description: str | None
    search_path: str | None
    tenant: str  # the tenant's name (the stored `tenant` column): ECS organization.id, …
    tenant_display: str  # its display name, shown to people (its name when it has none)


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
    evidence_url: str  # absolute with DASHBOARD_URL, else the dashboard-relative path
    created_at: datetime
    tenant: str  # the tenant's name (the stored `tenant` column)
    tenant_display: str  # its display name (its name when it has none)


@dataclass(frozen=True, slots=True)
class Message:
    """A search or an alert at its position in its source; `id` is what receivers dedupe on."""

    position: int
    id: str
    item: Search | Alert


class Source(Protocol):
    """Where a destination's messages come from: `searches` or `alerts`."""

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


def forward_id(tenant: str, event_key: str) -> str:
    """A search's stable id for receivers: its `event_key`, which is unique only within its
    tenant (two accounts' identical searches share it), so outside the `default` tenant it
    is prefixed `<tenant>:`; the `default` tenant keeps the bare key it was forwarded with
    before tenants, so a receiver's deduplication carries on across the upgrade."""
    return event_key if tenant == DEFAULT_TENANT else f"{tenant}:{event_key}"


def display_name(display_names: Mapping[str, str], tenant: str) -> str:
    """What people call `tenant`: its display name from the tenants file, else its name."""
    return display_names.get(tenant) or tenant


class HorizonBusy(Exception):
    """A write transaction is in flight on PostgreSQL, so the horizon is not known yet."""


def committed_max_id(conn: Connection, table: Table) -> int | None:
    """The highest id of `table` below which every id that will ever exist is committed.

    Ids are assigned at insert. On SQLite there is one writer at a time, so ids become
    visible in order and `max(id)` is safe. On PostgreSQL two transactions can commit ids
    out of order (7 visible while 6 is still in flight), so `max(id)` is read under
    `LOCK TABLE … IN SHARE MODE NOWAIT`: granted only when no transaction holds an
    uncommitted insert, so every id at or below it is committed; it never makes a writer
    wait (NOWAIT fails at once instead: HorizonBusy, the caller tries again shortly)."""
    if conn.dialect.name == "postgresql":
        try:
            with conn.begin():
                conn.execute(text(f"LOCK TABLE {table.name} IN SHARE MODE NOWAIT"))
                return conn.execute(select(func.max(table.c.id))).scalar()
        except OperationalError as exc:
            if getattr(getattr(exc, "orig", None), "sqlstate", None) == "55P03":
                raise HorizonBusy(f"a writer holds {table.name}") from None
            raise
    with conn.begin():
        return conn.execute(select(func.max(table.c.id))).scalar()


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
    SearchLog.tenant,
)


class SearchSource:
    """`tenant`'s stored searches in `search_logs.id` order, up to `committed_max_id`, each
    with the tenant's display name from `display_names` (name -> display name). Positions
    are the table's ids, shared by every tenant: a tenant's stream skips the others' ids."""

    name = "searches"

    def __init__(self, tenant: str, display_names: Mapping[str, str] | None = None) -> None:
        self.tenant = tenant
        self.display_names: Mapping[str, str] = display_names or {}

    def horizon(self, conn: Connection) -> int | None:
        return committed_max_id(conn, SearchLog.__table__)

    def read(
        self, conn: Connection, after: int, upto: int, since: datetime | None, limit: int
    ) -> list[Message]:
        query = (
            select(*_SEARCH_COLUMNS)
            .where(
                TenantScope.one(self.tenant).where(SearchLog.tenant),
                SearchLog.id > after,
                SearchLog.id <= upto,
            )
            .order_by(SearchLog.id)
            .limit(limit)
        )
        if since is not None:
            query = query.where(SearchLog.create_time >= since)
        return [self._message(row) for row in conn.execute(query).all()]

    def _message(self, row: Any) -> Message:
        stable = forward_id(row.tenant, row.event_key)
        item = Search(
            stable,
            row.create_time,
            row.email_addr,
            row.source,
            row.search_text,
            row.search_reason,
            row.description,
            row.search_path,
            tenant=row.tenant,
            tenant_display=display_name(self.display_names, row.tenant),
        )
        return Message(row.id, stable, item)

    def pending(
        self, conn: Connection, after: int, since: datetime | None
    ) -> tuple[int, datetime | None]:
        return pending_messages(conn, self.tenant, self.name, after, since)


def alert_id(row_id: int) -> str:
    """An alert's stable id: its row is written once (one per tenant, user, rule and day;
    re-detection meets the unique key and inserts nothing), so its row id never changes."""
    return f"alert-{row_id}"


def absolute_link(dashboard_url: str, path: str) -> str:
    """The stored dashboard-relative evidence path (`/user?…`) under DASHBOARD_URL, for
    chat buttons and SIEM links; without DASHBOARD_URL the path itself."""
    if not dashboard_url or not path.startswith("/"):
        return path
    return dashboard_url.rstrip("/") + path


_ALERT_COLUMNS = (
    AlertRow.id,
    AlertRow.rule,
    AlertRow.email_addr,
    AlertRow.window_start,
    AlertRow.window_end,
    AlertRow.severity,
    AlertRow.summary,
    AlertRow.evidence_url,
    AlertRow.created_at,
    AlertRow.tenant,
)


class AlertSource:
    """`tenant`'s alerts in `alerts.id` order, up to `committed_max_id` (the detector inserts
    them in one transaction per chunk of days; re-detection inserts nothing, so an alert is
    sent once). `since` skips alerts whose evidence ended before it. Severities are the
    detector's own (low, medium, high), which every format maps."""

    name = "alerts"

    def __init__(
        self,
        tenant: str,
        dashboard_url: str = "",
        display_names: Mapping[str, str] | None = None,
    ) -> None:
        self.tenant = tenant
        self.dashboard_url = dashboard_url
        self.display_names: Mapping[str, str] = display_names or {}

    def horizon(self, conn: Connection) -> int | None:
        return committed_max_id(conn, AlertRow.__table__)

    def read(
        self, conn: Connection, after: int, upto: int, since: datetime | None, limit: int
    ) -> list[Message]:
        query = (
            select(*_ALERT_COLUMNS)
            .where(
                TenantScope.one(self.tenant).where(AlertRow.tenant),
                AlertRow.id > after,
                AlertRow.id <= upto,
            )
            .order_by(AlertRow.id)
            .limit(limit)
        )
        if since is not None:
            query = query.where(AlertRow.window_end >= since)
        return [self._message(row) for row in conn.execute(query).all()]

    def _message(self, row: Any) -> Message:
        stable = alert_id(row.id)
        item = Alert(
            id=stable,
            rule=row.rule,
            email_addr=row.email_addr,
            window_start=row.window_start,
            window_end=row.window_end,
            severity=row.severity,
            summary=row.summary,
            evidence_url=absolute_link(self.dashboard_url, row.evidence_url),
            created_at=row.created_at,
            tenant=row.tenant,
            tenant_display=display_name(self.display_names, row.tenant),
        )
        return Message(row.id, stable, item)

    def pending(
        self, conn: Connection, after: int, since: datetime | None
    ) -> tuple[int, datetime | None]:
        return pending_messages(conn, self.tenant, self.name, after, since)


SOURCES: dict[str, type[SearchSource] | type[AlertSource]] = {
    "searches": SearchSource,
    "alerts": AlertSource,
}
"""Every source a destination may name; `source_for` builds the one a tenant's stream reads."""


def source_for(
    name: str,
    tenant: str,
    dashboard_url: str = "",
    display_names: Mapping[str, str] | None = None,
) -> Source:
    """What `tenant`'s stream to a destination reads: only that tenant's messages, each
    naming the tenant as `display_names` (name -> display name) has it; alerts carry links
    under `dashboard_url`."""
    if name == "alerts":
        return AlertSource(tenant, dashboard_url, display_names)
    return SearchSource(tenant, display_names)
