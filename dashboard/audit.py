"""What the dashboard records about its own use: views, exports, cursor resets, refusals.

A view is recorded once per distinct view (page, target and filters), not on every rerun:
the last one recorded is remembered in the session. A download is recorded when its file
is made, whatever asked for it (`record_download`), and admin actions check the role again
when they run, not only when their button was drawn. Writing a view's entry never breaks a
page: a failed write is logged and shown as a one-line warning; a download whose entry
cannot be written is not served; an admin action whose entry cannot be written does not
happen (`all_or_nothing`: the entry is written in the action's transaction).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd
import streamlit as st
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from dashboard import auth, cached, export
from dashboard.auth import Visitor
from dashboard.filters import filters_to_query
from db import audit as trail
from db.audit import AuditAction
from db.engine import DatabaseSetupError
from db.queries import SearchFilters
from db.scope import TenantScope

log = logging.getLogger("dashboard.audit")

LAST_VIEW_KEY = "_audit_last_view"
NOT_RECORDED = (
    "This was not recorded in the audit trail: the database refused the write "
    "(the dashboard's log says why)."
)
NOTHING_CHANGED = (
    "Nothing was changed: the database refused the change or its audit-trail entry "
    "(the dashboard's log says why)."
)


def entry(
    visitor: Visitor,
    action: str,
    *,
    target: str | None = None,
    filters: SearchFilters | Mapping[str, Any] | None = None,
    rows: int | None = None,
    detail: str | None = None,
) -> trail.AuditEntry:
    """The audit entry for `visitor` doing `action` in their session's tenant (None: the
    all-tenants view, or no tenant chosen); search filters as their query string."""
    if isinstance(filters, SearchFilters):
        filters = filters_to_query(filters)
    return trail.AuditEntry(
        tenant=visitor.tenant,
        actor=visitor.actor,
        role=visitor.role,
        action=action,
        target=target,
        filters=filters,
        rows=rows,
        detail=detail,
    )


def view_key(item: trail.AuditEntry) -> str:
    """What makes two views the same view: who, which page, which target, which filters."""
    return json.dumps(
        [item.actor, item.action, item.target, trail.filters_json(item.filters)],
        ensure_ascii=False,
    )


def write(url: str, item: trail.AuditEntry) -> bool:
    """Append `item`; on failure log it, warn in one line, and let the page go on."""
    try:
        trail.record(cached.engine(url), item)
    except (SQLAlchemyError, DatabaseSetupError):
        log.warning("could not write the audit event %s", item.action, exc_info=True)
        st.warning(NOT_RECORDED, icon=":material/warning:")
        return False
    return True


def record_view(
    url: str,
    visitor: Visitor,
    action: str,
    *,
    target: str | None = None,
    filters: SearchFilters | None = None,
) -> None:
    """Record a view unless it is the one this session recorded last (a rerun)."""
    item = entry(visitor, action, target=target, filters=filters)
    key = view_key(item)
    if st.session_state.get(LAST_VIEW_KEY) == key:
        return
    if write(url, item):
        st.session_state[LAST_VIEW_KEY] = key


class DownloadNotRecorded(Exception):
    """The audit entry of a download could not be written, so its file is not served."""


def record_download(engine: Engine, item: trail.AuditEntry, at: datetime | None = None) -> int:
    """Write a download's entry as its file is made (see `widgets.audited_download`).

    Runs on Streamlit's download thread, with no page to warn on: a failed write is
    logged and raised, and Streamlit then serves no file (fail closed: no download
    leaves the trail without an entry). The entry's row id, for the file's manifest."""
    try:
        return trail.record(engine, item, at)
    except SQLAlchemyError as exc:
        log.error("download refused: could not write its audit event (%s)", type(exc).__name__)
        raise DownloadNotRecorded("the audit trail refused the download's entry") from None


def record_action(url: str, visitor: Visitor, action: str, detail: str) -> None:
    """An admin action that was refused (nothing changed), with why; an action that
    changes something writes its entry in its own transaction instead (`all_or_nothing`)."""
    write(url, entry(visitor, action, detail=detail))


class NothingChanged(Exception):
    """An admin action rolled back: it or its audit entry could not be written."""


@contextmanager
def all_or_nothing(action: str, error: type[Exception] = NothingChanged) -> Iterator[None]:
    """Around an admin action that writes its entry in its own transaction: a database
    failure rolled both back, so it is logged and raised as `error(NOTHING_CHANGED)`,
    the one line the page shows."""
    try:
        yield
    except SQLAlchemyError as exc:
        log.warning("%s not done, nothing changed: %s", action, trail.failure_reason(exc))
        raise error(NOTHING_CHANGED) from None


def require_admin(url: str, action: str, *, target: str | None = None) -> Visitor | None:
    """The visitor if they administer the session's tenant right now; else record a
    refusal, None.

    Called when an admin action runs (a button's callback), so a viewer cannot reach it by
    replaying a widget or opening a URL: the role is read from the session's identity,
    tenant scope and the current settings at that moment.
    """
    visitor = auth.current_visitor()
    if visitor.is_admin:
        return visitor
    write(
        url,
        entry(visitor, AuditAction.DENIED, target=target, detail=f"{action} needs the admin role"),
    )
    return None


def trail_filter(
    actors: Sequence[str], actions: Sequence[str], start: date, end: date, tz: str
) -> trail.TrailFilter:
    """The audit page's choices as a query: whole days `start`..`end` in `tz`."""
    zone = ZoneInfo(tz)
    return trail.TrailFilter(
        actors=tuple(actors),
        actions=tuple(str(action) for action in actions),
        start=datetime.combine(start, time(), zone).astimezone(UTC),
        end=datetime.combine(end + timedelta(days=1), time(), zone).astimezone(UTC),
    )


def readable_filters(stored: object) -> str:
    """A stored filters object for reading: `from="2026-03-01" · user=["a@x.com","b@x.com"]`
    (a missing value, None or NaN from pandas, reads as nothing).

    Every value is written as JSON, quotes and backslashes escaped, so a crafted search
    text such as `x · user=boss@x.com` stays visibly inside its own quotes and cannot pass
    for another filter."""
    if not isinstance(stored, str) or not stored:
        return ""
    try:
        values = json.loads(stored)
    except ValueError:
        return json.dumps(stored, ensure_ascii=False)
    if not isinstance(values, dict):
        return json.dumps(values, ensure_ascii=False)
    return " · ".join(
        f"{key}={json.dumps(value, ensure_ascii=False, separators=(',', ':'))}"
        for key, value in sorted(values.items())
    )


def for_display(events: pd.DataFrame, tz: str) -> pd.DataFrame:
    """The trail as the audit page shows it: local times, blanks for what does not apply."""
    if "tenant" in events:
        # NULL: an event of the installation as a whole (a sign-in refusal, this view)
        events = events.assign(tenant=events["tenant"].fillna("(installation)"))
    return events.assign(
        at=events["at"].dt.tz_convert(tz),
        role=events["role"].fillna("no access"),
        target=events["target"].fillna(""),
        filters=[readable_filters(value) for value in events["filters"]],
        rows=[("" if pd.isna(n) else f"{int(n):,}") for n in events["rows"]],
        detail=events["detail"].fillna(""),
        count=[f"{int(n):,}" for n in events["count"]],
    )


def trail_columns(scope: TenantScope) -> tuple[str, ...]:
    """The trail's columns in `scope`: the every-tenant trail names each event's tenant."""
    return trail.TENANT_TRAIL_COLUMNS if scope.is_every_tenant else trail.TRAIL_COLUMNS


def trail_csv(
    engine: Engine, scope: TenantScope, wanted: trail.TrailFilter, tz: str
) -> tuple[bytes, int]:
    """The matching trail of `scope` as a CSV file (times in `tz`) and its number of rows,
    streamed (with a tenant column in the every-tenant scope)."""
    names = trail_columns(scope)
    chunks = (
        chunk.assign(at=chunk["at"].dt.tz_convert(tz))
        for chunk in trail.iter_trail(engine, scope, wanted, names=names)
    )
    return export.csv_with_rows(chunks, names)
