"""`/user?email=<address>` — one user's searches: figures, when they search, and the list."""

from __future__ import annotations

import hashlib
import math

import streamlit as st

from dashboard import (
    alerts_view,
    cached,
    context,
    export,
    figures,
    mailboxes_view,
    narrowed,
    widgets,
)
from dashboard.filters import NO_SUCH_USER, P_EMAIL, parse_email
from dashboard.formatting import TABLE_TIME, format_time, literal, plural, with_targets

PAGE_ROWS = 100

ctx = context.page_context()
users = cached.filter_options(ctx.db_url, ctx.version, ctx.scope).users
known = frozenset(users)
email = context.page_param(P_EMAIL, lambda raw: parse_email(raw, known), f"{NO_SUCH_USER}.")

if email is None:
    if not users:
        st.info("No users to show yet.")
        st.stop()
    picked = st.selectbox("Choose a user", users, index=None, placeholder="e-mail address")
    if picked is None:
        st.stop()
    st.query_params[P_EMAIL] = picked
    st.rerun()

assert email is not None
filters = ctx.filters.for_user(email)
widgets.record_view(ctx, target=email, filters=filters)
st.subheader(literal(email) if email else "(an empty address, as the archive stored it)")
narrowed.show_marker(ctx)
if ctx.filters.users and email not in ctx.filters.users:
    st.caption("The sidebar's user filter does not apply on this page.")
activity = cached.activity(ctx.db_url, ctx.version, filters, ctx.tz)
assert activity.hour_weekday is not None  # asked for (hours=True, the default)
summary = activity.summary
if summary.empty:
    st.info(
        f"No searches by this user from {ctx.filters.start} to {ctx.filters.end} with the "
        "current filters. Widen the dates or clear filters in the sidebar."
    )
    st.stop()

row = summary.iloc[0]
cols = st.columns(4)
cols[0].metric("Searches", f"{int(row['searches']):,}")
cols[1].metric("Active days", f"{int(row['active_days']):,}")
cols[2].metric(
    "Searches per active day", f"{row['searches'] / max(int(row['active_days']), 1):,.1f}"
)
cols[3].metric("With a reason", f"{row['reason_share']:.0%}")
top = row["top_description"]
st.markdown(
    f"First search **{format_time(row['first_search'], ctx.tz)}** · "
    f"last search **{format_time(row['last_search'], ctx.tz)}** · "
    "most common search type " + (literal(top) if isinstance(top, str) and top else "—")
)

alerts_view.show_user_alerts(
    ctx.engine, ctx.scope, email, ctx.filters.start, ctx.filters.end, ctx.query(user=email)
)
left, right = st.columns(2)
with left:
    st.markdown("**Searches per day**")
    st.plotly_chart(
        figures.per_day_bars(activity.per_day, activity.hour_weekday),
        config={"displayModeBar": False},
    )
with right:
    st.markdown("**By hour and weekday** (office hours Mon–Fri 08–18 outlined)")
    st.plotly_chart(
        figures.hour_weekday_heatmap(activity.hour_weekday), config={"displayModeBar": False}
    )

mailboxes_view.show_searched_by(ctx, filters, email)

total = activity.searches
pages = max(1, math.ceil(total / PAGE_ROWS))
st.markdown(f"**Searches** · {plural(total, 'search')}, newest first")
# A new key per filter set sends the list back to its first page when filters change.
list_key = hashlib.sha256(repr(filters).encode()).hexdigest()[:12]
page_number = st.pagination(pages, key=f"user_list_{list_key}") if pages > 1 else 1
offset = (page_number - 1) * PAGE_ROWS
rows = cached.search_page(ctx.db_url, ctx.version, filters, ctx.tz, PAGE_ROWS, offset, total)
st.caption(
    f"Rows {offset + 1:,}–{offset + len(rows):,} of {total:,} · to search the whole list, "
    "use “Search text contains” in the sidebar (the table's own search sees this page only)."
)
st.dataframe(
    with_targets(rows.drop(columns=["email"])),
    hide_index=True,
    height=560,
    width="stretch",
    row_height=widgets.SEARCH_ROW,
    column_config=widgets.search_columns(TABLE_TIME),
)


widgets.download_searches(
    ctx,
    filters,
    f"Download all {plural(total, 'search')} (CSV)",
    export.file_name("searches", email, ctx.filters.start, ctx.filters.end),
    target=email,
)
