"""`/calendar?month=YYYY-MM` or `?year=YYYY` — searches per day; click a day to open it."""

from __future__ import annotations

from datetime import date

import streamlit as st

from dashboard import alerts_view, cached, context, export, figures, routes, widgets
from dashboard.filters import (
    P_DATE,
    P_MONTH,
    P_YEAR,
    calendar_period,
    month_of,
    parse_month,
    parse_year,
    shift_month,
    shown,
)
from dashboard.formatting import plural
from db.audit import AuditAction

ctx = context.page_context()

LAST_VIEW = "_last_calendar_view"


def _from_url() -> tuple[str, str] | None:
    """("year", "2026") or ("month", "2026-03") from the URL; bad values are reported."""
    for key, parse, expected in (
        (P_YEAR, parse_year, "expected a year such as 2026."),
        (P_MONTH, parse_month, f"expected YYYY-MM such as {ctx.today:%Y-%m}."),
    ):
        raw = st.query_params.get(key)
        if raw is None:
            continue
        if parse(raw) is not None:
            return key, raw
        context.page_problem(f"Ignored {key}={shown(raw)}: {expected}")
        del st.query_params[key]
    return None


# Without a period in the URL, show the one this session last looked at, else the month
# of the sidebar range's end; either way the URL then names what is shown.
kind, raw = (
    _from_url()
    or st.session_state.get(LAST_VIEW)
    or (
        P_MONTH,
        f"{month_of(ctx.filters.end):%Y-%m}",
    )
)
st.session_state[LAST_VIEW] = (kind, raw)
st.query_params[kind] = raw
other = P_MONTH if kind == P_YEAR else P_YEAR
if other in st.query_params:
    del st.query_params[other]

period = calendar_period(kind, raw)
view, first, last, label = period.view, period.first, period.last, period.label


def _go(**params: str) -> None:
    """Show another period: same filters, new `month` or `year` (a new history entry)."""
    for key in (P_MONTH, P_YEAR):
        if key in st.query_params:
            del st.query_params[key]
    st.query_params.update(params)


nav = st.columns([1, 1, 1, 3])
if view == "month":
    before, after = shift_month(first, -1), shift_month(first, 1)
    nav[0].button(
        f"← {before:%b %Y}",
        on_click=_go,
        kwargs={P_MONTH: f"{before:%Y-%m}"},
    )
    nav[1].button(
        f"{after:%b %Y} →",
        on_click=_go,
        kwargs={P_MONTH: f"{after:%Y-%m}"},
    )
    nav[2].button(f"Whole {first.year}", on_click=_go, kwargs={P_YEAR: str(first.year)})
else:
    year = first.year
    nav[0].button(f"← {year - 1}", on_click=_go, kwargs={P_YEAR: str(year - 1)})
    nav[1].button(f"{year + 1} →", on_click=_go, kwargs={P_YEAR: str(year + 1)})
    this_month = month_of(ctx.today) if ctx.today.year == year else date(year, 1, 1)
    nav[2].button("Month view", on_click=_go, kwargs={P_MONTH: f"{this_month:%Y-%m}"})

st.subheader(label)
filters = ctx.filters.for_days(first, last)
widgets.record_view(ctx, target=raw, filters=filters)
per_day = cached.searches_per_day(ctx.db_url, ctx.version, filters, ctx.tz)
total = int(per_day["searches"].sum())
cols = st.columns(3)
cols[0].metric(f"Searches in {label}", f"{total:,}")
cols[1].metric("Days with searches", f"{int((per_day['searches'] > 0).sum()):,}")
if total:
    busiest = per_day.iloc[per_day["searches"].argmax()]
    cols[2].metric(
        "Busiest day",
        busiest["date"].isoformat(),
        help=f"{plural(int(busiest['searches']), 'search')}",
    )
else:
    cols[2].metric("Busiest day", "—")

figure = figures.calendar_figure(per_day, view=view, today=ctx.today)
marks = alerts_view.open_days(ctx.engine, ctx.scope, first, last, ctx.filters.users)
alerts_view.mark_calendar(figure, per_day, marks)
event = st.plotly_chart(
    figure,
    on_select="rerun",
    selection_mode="points",
    key=f"calendar_{view}_{first}",
    width="content",
    config={"displayModeBar": False},
)
clicked = figures.selected_day(event, per_day)
if clicked is not None:
    ctx.switch_to(routes.DAY, **{P_DATE: clicked.isoformat()})
if marks:
    st.caption(f"Red triangles mark days with open alerts ({sum(marks.values()):,}): see Alerts.")
st.caption("Click a day to see its searches, grouped by user, or pick a date:")

pick, go, _ = st.columns([2, 1, 3], vertical_alignment="bottom")
chosen = pick.date_input(
    "Open a day", value=min(max(ctx.today, first), last), format="YYYY-MM-DD", key="open_day"
)
if go.button("Open day", icon=":material/today:") and chosen:
    ctx.switch_to(routes.DAY, **{P_DATE: chosen.isoformat()})

down = st.columns([1, 1, 4])
csv_name = export.file_name("searches-per-day", first, last)
json_name = export.file_name("searches-per-day", first, last, suffix="json")
widgets.audited_download(
    ctx,
    "Per day (CSV)",
    lambda: (export.per_day_csv(per_day).encode("utf-8"), len(per_day)),
    action=AuditAction.EXPORT_CSV,
    target=raw,
    filters=filters,
    file_name=csv_name,
    mime="text/csv",
    where=down[0],
)
widgets.audited_download(
    ctx,
    "Per day (JSON)",
    lambda: (export.per_day_json(per_day).encode("utf-8"), len(per_day)),
    action=AuditAction.EXPORT_JSON,
    target=raw,
    filters=filters,
    file_name=json_name,
    mime="application/json",
    where=down[1],
)
