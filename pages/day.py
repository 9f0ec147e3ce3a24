"""`/day?date=YYYY-MM-DD` — one day's searches, grouped by user."""

from __future__ import annotations

from datetime import timedelta

import streamlit as st

from dashboard import alerts_view, cached, context, export, routes, widgets
from dashboard.filters import P_ALERT, P_DATE, P_EMAIL, parse_day
from dashboard.formatting import TABLE_TIME, literal, plural, with_targets

# Users shown with their searches; on a busy day the rest are listed with counts. (A
# comment, not a string under the constant: Streamlit's magic would show a bare string on
# the page, above its title.)
MAX_EXPANDERS = 40
PER_USER = 200

ctx = context.page_context()
day = context.page_param(P_DATE, parse_day, f"expected YYYY-MM-DD such as {ctx.today}.")
if day is None:
    day = ctx.today
    st.query_params[P_DATE] = day.isoformat()


def _go(new_day: str) -> None:
    st.query_params[P_DATE] = new_day


st.subheader(f"{day:%A} {day.isoformat()}")
nav = st.columns([1, 1, 4])
before, after = day - timedelta(days=1), day + timedelta(days=1)
nav[0].button(f"← {before:%a %d %b}", on_click=_go, args=(before.isoformat(),))
# Never past today: there is nothing to show there, and a link there would lead nowhere.
nav[1].button(
    f"{after:%a %d %b} →", on_click=_go, args=(after.isoformat(),), disabled=after > ctx.today
)

filters = ctx.filters.for_days(day, day)
widgets.record_view(ctx, target=day.isoformat(), filters=filters)
counts = cached.user_counts(ctx.db_url, ctx.version, filters, ctx.tz)
total = int(counts["searches"].sum())
hours = cached.hour_weekday_counts(ctx.db_url, ctx.version, filters, ctx.tz)
by_hour = hours.groupby("hour")["searches"].sum()
cols = st.columns(3)
cols[0].metric("Searches", f"{total:,}")
cols[1].metric("Users", f"{len(counts):,}")
if total:
    hour = int(by_hour.index[int(by_hour.argmax())])
    cols[2].metric(
        "Busiest hour",
        f"{hour:02d}:00–{hour:02d}:59",
        plural(int(by_hour.max()), "search"),
        delta_color="off",
        delta_arrow="off",
    )
else:
    cols[2].metric("Busiest hour", "—")
alerts_view.show_day_alerts(
    ctx.engine, filters, lambda alert_id: ctx.link(routes.ALERTS, **{P_ALERT: str(alert_id)})
)
if not total:
    st.info("No searches on this day with the current filters.")
    st.stop()

rows = cached.searches_by_user(ctx.db_url, ctx.version, filters, ctx.tz, PER_USER)
columns = widgets.search_columns(TABLE_TIME)
shown_users = counts.head(MAX_EXPANDERS)
for email, searches in zip(shown_users["email"], shown_users["searches"], strict=True):
    label = f"{literal(str(email))} — {plural(int(searches), 'search')}"
    with st.expander(label):
        mine = with_targets(rows[rows["email"] == email].drop(columns=["email"]))
        st.dataframe(
            mine,
            hide_index=True,
            width="stretch",
            height=widgets.search_table_height(len(mine)),
            row_height=widgets.SEARCH_ROW,
            column_config=columns,
        )
        if searches > len(mine):
            st.caption(f"The newest {len(mine):,} of {int(searches):,} are shown here.")
        routes.page_link(
            routes.USER, ctx.query(**{P_EMAIL: str(email)}), "All of this user's searches"
        )


if len(counts) > MAX_EXPANDERS:
    rest = counts.iloc[MAX_EXPANDERS:]
    st.caption(
        f"…and {plural(len(rest), 'more user')} with fewer searches "
        f"({plural(int(rest['searches'].sum()), 'search')}): open one from this list, "
        "narrow the filters, or download the whole day below."
    )
    st.dataframe(
        rest.assign(history=[ctx.link(routes.USER, **{P_EMAIL: str(e)}) for e in rest["email"]]),
        hide_index=True,
        width="stretch",
        column_config={
            "email": st.column_config.TextColumn("User"),
            "searches": st.column_config.NumberColumn("Searches"),
            "history": st.column_config.LinkColumn("History", display_text="open ↗"),
        },
    )


widgets.download_searches(
    ctx,
    filters,
    f"Download all {plural(total, 'search')} of {day} (CSV)",
    export.file_name("searches", day),
    target=day.isoformat(),
)
