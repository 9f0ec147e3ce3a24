"""The Mailboxes page's parts: the most-searched mailboxes, one mailbox's searches with a
timeline, its privacy report, and the user page's "mailboxes searched" table.

Looking up who searched a mailbox is itself recorded (`lookup_mailbox`, `privacy_report`)
before anything is shown, and fails closed: if the entry cannot be written, nothing about
the mailbox is shown. Every text from the archive (addresses, reasons, search types) is
shown through tables or `literal`, never as HTML.
"""

from __future__ import annotations

import json
import logging

import pandas as pd
import plotly.graph_objects as go
import streamlit as st
from sqlalchemy.exc import SQLAlchemyError

from dashboard import audit, export, routes, widgets
from dashboard.auth import current_visitor
from dashboard.context import Context
from dashboard.filters import P_ADDR, P_EMAIL, P_VIEW
from dashboard.formatting import PAGE_TIME, TABLE_TIME, literal, plural
from db import audit as trail
from db import targets
from db.audit import AuditAction
from db.engine import DatabaseSetupError
from db.filters import SearchFilters

log = logging.getLogger("dashboard.mailboxes")

SHOWN_ROWS = 1_000
"""Searches of one mailbox shown on the page (the CSV holds every one)."""
NO_REASON = "no reason on record"
DAY_MS = 86_400_000
SHORT_RANGE_DAYS = 14
REPORT_HEADINGS = {
    "time": "Time",
    "searcher": "Searcher",
    "reason": "Reason",
    "search_type": "Search type",
}
LOOKUP_KEY = "_mailbox_last_lookup"
NOT_SHOWN = (
    "Not shown: looking up who searched a mailbox is recorded in the audit trail, and the "
    "database refused the entry (the dashboard's log says why)."
)
# Printing the report: no sidebar, header or buttons on paper (static CSS, no data in it).
PRINT_CSS = (
    "<style>@media print {"
    '[data-testid="stSidebar"], header, [data-testid="stToolbar"], '
    '[data-testid="stDownloadButton"], [data-testid="stPageLink"] {display: none !important;}'
    "}</style>"
)


def record_lookup(ctx: Context, action: AuditAction, mailbox: str, filters: SearchFilters) -> bool:
    """Write the entry of looking up `mailbox` (once per distinct lookup in a session);
    False, with a one-line error, if it cannot be written: then nothing may be shown."""
    item = audit.entry(current_visitor(ctx.settings), action, target=mailbox, filters=filters)
    key = json.dumps(
        [item.actor, item.action, item.target, trail.filters_json(item.filters)],
        ensure_ascii=False,
    )
    if st.session_state.get(LOOKUP_KEY) == key:
        return True
    try:
        trail.record(ctx.engine, item)
    except (SQLAlchemyError, DatabaseSetupError):
        log.warning("mailbox lookup not shown: its audit entry was refused", exc_info=True)
        st.error(NOT_SHOWN, icon=":material/error:")
        return False
    st.session_state[LOOKUP_KEY] = key
    return True


def timeline(searches: pd.DataFrame) -> go.Figure:
    """Searches per day of one mailbox; days with a search without a reason carry an ✕
    marker and say so in their hover text (not colour alone)."""
    days = searches.assign(
        day=searches["time"].dt.date, missing=searches["reason_on_record"] == "no"
    )
    per_day = days.groupby("day").agg(searches=("time", "size"), missing=("missing", "sum"))
    figure = go.Figure(
        go.Bar(
            x=list(per_day.index),
            y=per_day["searches"],
            name="searches",
            marker_color="#2171b5",
            hovertemplate="%{x}: %{y} searches<extra></extra>",
        )
    )
    flagged = per_day[per_day["missing"] > 0]
    figure.add_trace(
        go.Scatter(
            x=list(flagged.index),
            y=flagged["searches"],
            mode="markers",
            name=f"a search with {NO_REASON[:-10]}",
            marker={"symbol": "x", "size": 12, "color": "#b2182b"},
            customdata=flagged["missing"],
            hovertemplate="%{x}: %{customdata} without a reason<extra></extra>",
        )
    )
    figure.update_layout(
        height=260,
        margin={"l": 10, "r": 10, "t": 10, "b": 10},
        legend={"orientation": "h"},
        xaxis={"type": "date", "tickformat": "%d %b %Y", **_day_ticks(list(per_day.index))},
        yaxis={"title": "searches", "rangemode": "tozero"},
    )
    return figure


def _day_ticks(days: list) -> dict[str, int]:
    """One tick per day over a short range: Plotly's automatic ticks fall every few hours
    there, and a date format repeats each day under them ("01 Nov, 01 Nov, 02 Nov")."""
    if days and (max(days) - min(days)).days <= SHORT_RANGE_DAYS:
        return {"dtick": DAY_MS}
    return {}


MISSING_MARK = "✕"
"""Marks a search without a reason in the table, as the timeline's ✕ marks its day: the
row stands out by a sign and words, not by colour alone (which a theme may not show)."""


def shown_rows(searches: pd.DataFrame) -> pd.DataFrame:
    """The page's table: a reason missing is written out and marked, not left empty."""
    shown = searches.copy()
    blank = shown["reason_on_record"] == "no"
    shown["reason"] = shown["reason"].where(~blank, f"{MISSING_MARK} {NO_REASON}")
    shown["reason_on_record"] = shown["reason_on_record"].where(~blank, f"{MISSING_MARK} no")
    return shown


def show_top(ctx: Context, filters: SearchFilters) -> None:
    """The most-searched mailboxes of the period, with a link to each."""
    by = st.radio("Rank by", ("searches", "searchers"), horizontal=True, key="mailboxes_by")
    top = targets.top_mailboxes(ctx.engine, filters, ctx.tz, by=by)
    if top.empty:
        st.info("No search in this period named a mailbox (`[User : …]`) with these filters.")
        return
    top = top.assign(open=[ctx.link(routes.MAILBOXES, **{P_ADDR: m}) for m in top["mailbox"]])
    if not ctx.scope.is_every_tenant:
        top = top.drop(columns=["tenant"])
    st.dataframe(
        top,
        hide_index=True,
        width="stretch",
        column_config={
            "tenant": st.column_config.TextColumn("Tenant"),
            "mailbox": st.column_config.TextColumn("Mailbox", width=340),  # 940 px in all
            "searches": st.column_config.NumberColumn("Searches", width=80),
            "searchers": st.column_config.NumberColumn("Distinct searchers", width=130),
            "without_reason": st.column_config.NumberColumn("Without a reason", width=130),
            "last_search": st.column_config.DatetimeColumn(
                "Last search", format=TABLE_TIME, width=widgets.TIME_WIDTH
            ),
            "open": st.column_config.LinkColumn(
                "Who searched it", display_text="open ↗", width=widgets.LINK_WIDTH
            ),
        },
    )


def _csv(ctx: Context, filters: SearchFilters, mailbox: str, label: str, stem: str) -> None:
    def produce() -> tuple[bytes, int]:
        chunks = targets.iter_mailbox_searches(ctx.engine, filters, ctx.tz, mailbox)
        return export.csv_with_rows(chunks, targets.MAILBOX_SEARCH_COLUMNS)

    widgets.audited_download(
        ctx,
        label,
        produce,
        action=AuditAction.EXPORT_CSV,
        target=mailbox,
        filters=filters,
        file_name=export.file_name(stem, mailbox, filters.start, filters.end),
        mime="text/csv",
    )


def show_mailbox(ctx: Context, filters: SearchFilters, mailbox: str) -> None:
    """Who searched `mailbox`, when, why and how, on a timeline; recorded first."""
    if not record_lookup(ctx, AuditAction.LOOKUP_MAILBOX, mailbox, filters):
        st.stop()
    st.subheader(literal(mailbox))
    total = targets.count_mailbox_searches(ctx.engine, filters, ctx.tz, mailbox)
    searches = targets.mailbox_searches(ctx.engine, filters, ctx.tz, mailbox, limit=SHOWN_ROWS)
    if searches.empty:
        st.info(f"No search targeted this mailbox from {filters.start} to {filters.end}.")
        return
    missing = int((searches["reason_on_record"] == "no").sum())
    cols = st.columns(3)
    cols[0].metric("Searches", f"{total:,}")
    cols[1].metric("Distinct searchers", f"{searches['searcher'].nunique():,}")
    cols[2].metric("Without a reason", f"{missing:,}")
    st.plotly_chart(timeline(searches), config={"displayModeBar": False})
    links = [ctx.link(routes.USER, **{P_EMAIL: s}) for s in searches["searcher"]]
    table = shown_rows(searches).assign(history=links)
    order = ["time", "searcher", "reason", "reason_on_record", "search_type", "source"]
    table = table[(["tenant"] if ctx.scope.is_every_tenant else []) + order + ["history"]]
    st.markdown(f"**Searches** · {plural(total, 'search')}, newest first")
    if total > len(searches):
        st.caption(f"The newest {len(searches):,} are shown; the CSV holds all {total:,}.")
    st.dataframe(
        table,
        hide_index=True,
        width="stretch",
        height=widgets.search_table_height(len(table)),
        row_height=widgets.SEARCH_ROW,
        column_config={  # pixels: 940 at 1,400 px without the tenant column
            "tenant": st.column_config.TextColumn("Tenant", width=90),
            "time": st.column_config.DatetimeColumn(
                "Time", format=TABLE_TIME, width=widgets.TIME_WIDTH
            ),
            "searcher": st.column_config.TextColumn("Searcher", width=150),
            "reason": st.column_config.TextColumn("Reason", width=190),
            "reason_on_record": st.column_config.TextColumn("Reason on record", width=120),
            "search_type": st.column_config.TextColumn("Search type", width=150),
            "source": st.column_config.TextColumn("Source", width=70),
            "history": st.column_config.LinkColumn(
                "Searcher's history", display_text="open ↗", width=widgets.LINK_WIDTH
            ),
        },
    )
    _csv(ctx, filters, mailbox, f"Download all {plural(total, 'search')} (CSV)", "mailbox")
    routes.page_link(
        routes.MAILBOXES, ctx.query(**{P_ADDR: mailbox, P_VIEW: "report"}), "Privacy report"
    )


def show_report(ctx: Context, filters: SearchFilters, mailbox: str) -> None:
    """The privacy report: every search that targeted `mailbox` in the period, plain and
    printable (the browser's Print), with its CSV; recorded first."""
    if not record_lookup(ctx, AuditAction.PRIVACY_REPORT, mailbox, filters):
        st.stop()
    st.html(PRINT_CSS)
    who = current_visitor(ctx.settings).actor
    total = targets.count_mailbox_searches(ctx.engine, filters, ctx.tz, mailbox)
    searches = targets.mailbox_searches(ctx.engine, filters, ctx.tz, mailbox, limit=SHOWN_ROWS)
    st.markdown(f"### Privacy report: searches of the mailbox {literal(mailbox)}")
    st.markdown(
        f"Period {filters.start} to {filters.end} ({literal(ctx.tz)}) · tenant "
        f"{literal(ctx.scope.label())} · prepared for {literal(who)} · "
        f"{plural(total, 'search')} targeted this mailbox · "
        f"{int((searches['reason_on_record'] == 'no').sum())} without a reason on record"
    )
    if not searches.empty:
        table = shown_rows(searches)[["time", "searcher", "reason", "search_type"]]
        table["time"] = table["time"].dt.strftime(PAGE_TIME)
        # st.table renders its cells as Markdown and links bare URLs even when escaped:
        # data goes in code spans, shown exactly (`literal`)
        for name in ("searcher", "reason", "search_type"):
            table[name] = table[name].fillna("").astype(str).map(literal)
        st.table(table.rename(columns=REPORT_HEADINGS).set_index("Time"))
    if total > len(searches):
        st.caption(f"The newest {len(searches):,} are listed; the CSV holds all {total:,}.")
    _csv(ctx, filters, mailbox, "Download the report (CSV)", "privacy_report")
    routes.page_link(routes.MAILBOXES, ctx.query(**{P_ADDR: mailbox}), "Back to the mailbox")


def show_searched_by(ctx: Context, filters: SearchFilters, email: str) -> None:
    """The user page's table: the mailboxes `email` searched, each linked to its page."""
    searched = targets.mailboxes_searched_by(ctx.engine, filters, ctx.tz, email)
    if searched.empty:
        return
    st.markdown(f"**Mailboxes searched** · {plural(len(searched), 'mailbox')}")
    links = [ctx.link(routes.MAILBOXES, **{P_ADDR: m}) for m in searched["mailbox"]]
    st.dataframe(
        searched.assign(open=links),
        hide_index=True,
        width="stretch",
        column_config={
            "mailbox": st.column_config.TextColumn("Mailbox", width=600),  # 940 px in all
            "searches": st.column_config.NumberColumn("Searches", width=80),
            "last_search": st.column_config.DatetimeColumn(
                "Last search", format=TABLE_TIME, width=widgets.TIME_WIDTH
            ),
            "open": st.column_config.LinkColumn(
                "Who searched it", display_text="open ↗", width=widgets.LINK_WIDTH
            ),
        },
    )
