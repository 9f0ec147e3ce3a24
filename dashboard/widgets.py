"""What pages draw with the same rules: search tables, audited downloads, recorded views.

Every download goes through `audited_download`, which writes its audit event as the file
is made; every page records its view through `record_view`, under its route's action.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import streamlit as st

from dashboard import audit, export
from dashboard.auth import current_visitor
from dashboard.context import Context
from db import queries
from db.audit import AuditAction
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


def search_columns(time_format: str) -> dict[str, Any]:
    """How a list of searches is shown (the text stays plain: tables never render markup)."""
    return {
        "time": st.column_config.DatetimeColumn("Time", format=time_format),
        "source": st.column_config.TextColumn("Source"),
        "search_text": st.column_config.TextColumn("Search text", width="large"),
        "target": st.column_config.TextColumn("Target mailbox"),
        "search_reason": st.column_config.TextColumn("Reason", width="medium"),
        "description": st.column_config.TextColumn("Search type", width="medium"),
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

    def data() -> bytes:
        content, rows = produce()
        item = audit.entry(who, action, target=target, filters=filters, rows=rows, detail=file_name)
        audit.record_download(engine, item)
        return content

    (where or st).download_button(
        label,
        data=data,
        file_name=file_name,
        mime=mime,
        on_click="ignore",
        icon=":material/download:",
        disabled=disabled,
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
            queries.iter_searches(ctx.engine, filters, ctx.tz), queries.SEARCH_COLUMNS
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
