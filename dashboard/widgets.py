"""What pages draw with the same rules: search tables, audited downloads, recorded views.

Every download goes through `audited_download`, which writes its audit event as the file
is made; every page records its view through `record_view`, under its route's action.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

import streamlit as st

from dashboard import audit, cached, export
from dashboard.auth import current_visitor
from dashboard.context import Context
from db import manifests, queries
from db.audit import AuditAction, AuditEntry
from db.models import utc_now
from db.queries import SearchFilters


def record_view(
    ctx: Context,
    *,
    target: str | None = None,
    filters: SearchFilters | None = None,
) -> None:
    """Record that this session's visitor sees this page, under its route's audit action
    (once per distinct view, not on every rerun)."""
    who = current_visitor(ctx.settings)
    audit.record_view(ctx.db_url, who, ctx.route.action, target=target, filters=filters)


TIME_WIDTH = 140
"""Pixels for a `YYYY-MM-DD HH:mm:ss` cell and its header, whole."""
LINK_WIDTH = 120
"""Pixels for an "open ↗" link column and a header such as "Who searched it"."""
SEARCH_ROW = 68
"""Row height (px) of search tables: above 4 rem Streamlit's grid wraps a cell's text onto
a second line (a long search type or reason) instead of cutting it off."""


TABLE_HEADER = 38
"""Pixels of a Streamlit table's header row and border."""
DEFAULT_ROW = 35
"""Pixels of a row of Streamlit's table at its default row height."""


def table_height(rows: int, row_height: int = DEFAULT_ROW, most: int | None = None) -> int:
    """Pixels for a table that draws `rows` rows (at least one, at most `most`) without
    scrolling: Streamlit's default height draws about ten default rows, whatever the data."""
    shown = rows if most is None else min(rows, most)
    return TABLE_HEADER + row_height * max(1, shown)


def search_table_height(rows: int, most: int = 8) -> int:
    """Pixels for a search table that draws `rows` rows, `most` at a time: Streamlit's
    default height is made for 35-pixel rows, and showed five or six of these."""
    return table_height(rows, SEARCH_ROW, most)


def search_columns(time_format: str) -> dict[str, Any]:
    """How a list of searches is shown (the text stays plain: tables never render markup).

    Widths in pixels add up to the main column at 1,400 px (940), so no column is pushed
    off-screen or left a few characters wide; long text wraps (`SEARCH_ROW`)."""
    return {
        "time": st.column_config.DatetimeColumn("Time", format=time_format, width=TIME_WIDTH),
        "source": st.column_config.TextColumn("Source", width=70),
        "search_text": st.column_config.TextColumn("Search text", width=250),
        "target": st.column_config.TextColumn("Target mailbox", width=170),
        "search_reason": st.column_config.TextColumn("Reason", width=150),
        "description": st.column_config.TextColumn("Search type", width=160),
    }


def audited_download(
    ctx: Context,
    label: str,
    produce: Callable[[], tuple[bytes, int]],
    *,
    action: AuditAction,
    target: str | None,
    filters: SearchFilters | Mapping[str, Any] | None,
    file_name: str,
    mime: str,
    where: Any = None,
    disabled: bool = False,
) -> None:
    """A download button whose file is made only when it is asked for, and recorded in
    the audit trail as it is made, with the rows it holds.

    Why not `on_click`: Streamlit serves a file from its media endpoint whether or not the
    click reaches the app, so a client could take the data and leave no entry. Here the
    data is a deferred callable (Streamlit 1.67 runs it when the browser asks for the file,
    on a thread of its own: `MediaFileManager.execute_deferred`), which writes the entry
    before it hands over the bytes; if the entry cannot be written, no file is served. The
    visitor is read now, while the page runs: the callable has no session to read it from.
    """
    who = current_visitor(ctx.settings)
    engine = ctx.engine
    key_file = ctx.settings.signing_key_file if mime == "text/csv" else ""
    problem = export.key_problem(key_file)
    if problem:  # fail closed: a CSV is not served without the manifest it must carry
        (where or st).error(problem, icon=":material/key_off:")

    def made() -> tuple[bytes, bytes]:
        key = export.signing_key(key_file)  # read again: it may have changed since drawn
        content, rows = produce()
        item = audit.entry(who, action, target=target, filters=filters, rows=rows, detail=file_name)
        at = utc_now()
        audit_id = audit.record_download(engine, item, at)
        if key is None:
            return content, b""
        return content, manifests.build(key, manifest_export(item, content, rows, audit_id, at))

    pair = export.ExportPair(made)
    (where or st).download_button(
        label,
        data=pair.csv,
        file_name=file_name,
        mime=mime,
        on_click="ignore",
        icon=":material/download:",
        disabled=disabled or problem is not None,
    )
    if key_file and problem is None:
        (where or st).download_button(
            "Its manifest (signed)",
            data=pair.manifest,
            file_name=export.manifest_name(file_name),
            mime="application/json",
            on_click="ignore",
            icon=":material/verified:",
            disabled=disabled,
            help="The CSV's SHA-256, rows, filters, who exported it and when, and its audit "
            "row, signed with the installation's key: `python -m ingest verify-export` "
            "checks it offline.",
        )


def manifest_export(
    item: AuditEntry, content: bytes, rows: int, audit_id: int, at: datetime
) -> manifests.Export:
    """What an export's manifest states, from its audit entry."""
    return manifests.Export(
        content=content,
        rows=rows,
        file_name=item.detail or "",
        action=str(item.action),
        filters=item.filters,
        target=item.target,
        actor=item.actor,
        role=item.role,
        tenant=item.tenant,
        audit_id=audit_id,
        exported_at=at,
    )


def download_searches(
    ctx: Context,
    filters: SearchFilters,
    label: str,
    file_name: str,
    *,
    target: str | None = None,
) -> None:
    """A CSV of every search matching `filters`, streamed from SQL when it is requested
    (`target`: the user or day exported, for the audit trail)."""

    def csv_bytes() -> tuple[bytes, int]:
        return export.csv_with_rows(
            cached.store(ctx.db_url).iter_searches(filters, ctx.tz), queries.SEARCH_COLUMNS
        )

    audited_download(
        ctx,
        label,
        csv_bytes,
        action=AuditAction.EXPORT_CSV,
        target=target,
        filters=filters,
        file_name=file_name,
        mime="text/csv",
    )
