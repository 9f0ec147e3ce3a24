"""`/` — who searched the archive, how much, and when: one row per user."""

from __future__ import annotations

from datetime import UTC, datetime

import streamlit as st

from dashboard import alerts_view, cached, context, export, routes, widgets
from dashboard.filters import P_EMAIL
from dashboard.formatting import TABLE_TIME, plural, time_metric
from db.audit import AuditAction

ctx = context.page_context()
widgets.record_view(ctx, filters=ctx.filters)
activity = cached.activity(ctx.db_url, ctx.version, ctx.filters, ctx.tz, hours=False)
summary, per_day = activity.summary, activity.per_day
open_alerts = alerts_view.open_counts(ctx.engine, ctx.filters)

total = int(summary["searches"].sum())
busiest = per_day.iloc[per_day["searches"].argmax()] if total else None
cols = st.columns(5)
cols[0].metric(
    "Searches",
    f"{total:,}",
    chart_data=list(per_day["searches"]),
    chart_type="bar",
    help="The bars show searches per day.",
)
cols[1].metric("Active users", f"{len(summary):,}")
if busiest is not None:
    cols[2].metric(
        "Busiest day",
        busiest["date"].isoformat(),
        f"{busiest['date']:%a} · {plural(int(busiest['searches']), 'search')}",
        delta_color="off",
        delta_arrow="off",
    )
else:
    cols[2].metric("Busiest day", "—")
cols[4].metric(
    "Open alerts",
    f"{int(open_alerts['open_alerts'].sum()):,}",
    help="Alerts not dismissed, on these days, for every user: see Alerts.",
)
ingest_time, ingest_day = time_metric(ctx.health.last_ok_finished, ctx.tz, datetime.now(UTC))
cols[3].metric(
    "Last successful ingest", ingest_time, ingest_day, delta_color="off", delta_arrow="off"
)
st.caption(
    f"{ctx.filters.start} to {ctx.filters.end} · select a row to open "
    "that user's history, or use the link in the last column to open it in a new tab."
)

table = alerts_view.with_open_alerts(summary, open_alerts).assign(
    reason_share=summary["reason_share"] * 100,
    history=[ctx.link(routes.USER, **{P_EMAIL: email}) for email in summary["email"]],
)
event = st.dataframe(
    table,
    hide_index=True,
    width="stretch",
    on_select="rerun",
    selection_mode="single-row",
    key="summary_table",
    height=min(38 + 35 * len(table), 720),
    # widths that add up to the main column at 1,400 px: the last column stays on screen
    column_config={
        "email": st.column_config.TextColumn("User", width=160),
        "searches": st.column_config.NumberColumn("Searches", format="%d", width=66),
        "active_days": st.column_config.NumberColumn("Active days", format="%d", width=78),
        "first_search": st.column_config.DatetimeColumn(
            "First search", format=TABLE_TIME, width=138
        ),
        "last_search": st.column_config.DatetimeColumn("Last search", format=TABLE_TIME, width=138),
        "top_description": st.column_config.TextColumn("Most common search type", width=160),
        "reason_share": st.column_config.NumberColumn(
            "Reason %",
            format="%.0f%%",
            width=64,
            help="Share of searches with a search reason",
        ),
        "open_alerts": st.column_config.NumberColumn(
            "Alerts", format="%d", width=50, help="Open alerts (not dismissed) on these days"
        ),
        "history": st.column_config.LinkColumn("History", display_text="open ↗", width=58),
    },
)
if event.selection.rows:
    chosen = summary.iloc[event.selection.rows[0]]["email"]
    ctx.switch_to(routes.USER, **{P_EMAIL: str(chosen)})

download_name = export.file_name("searches-by-user", ctx.filters.start, ctx.filters.end)
widgets.audited_download(
    ctx,
    "Download this table (CSV)",
    lambda: (export.summary_csv(summary).encode("utf-8"), len(summary)),
    action=AuditAction.EXPORT_CSV,
    target="summary by user",
    filters=ctx.filters,
    file_name=download_name,
    mime="text/csv",
)
