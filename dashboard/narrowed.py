"""A visible "filtered to 26 Nov · reset" marker when a page's dates are not the default.

A link from elsewhere (an alert's stored evidence link, a SIEM, a colleague) may carry
`from`/`to` that narrow the sidebar's global dates for every page after it; the marker
says so where the analyst looks, and "reset" puts the default days back.
"""

from __future__ import annotations

from datetime import date

import streamlit as st

from dashboard.context import Context
from dashboard.filters import P_FROM, P_TO, default_filters


def span_label(start: date, end: date) -> str:
    """`26 Nov 2026`, `24–26 Nov 2026`, `28 Oct – 26 Nov 2026`, `2025-12-30 – 2026-01-02`."""
    if start == end:
        return f"{start.day} {start:%b %Y}"
    if start.year != end.year:
        return f"{start.isoformat()} – {end.isoformat()}"
    if start.month == end.month:
        return f"{start.day}–{end.day} {end:%b %Y}"
    return f"{start.day} {start:%b} – {end.day} {end:%b %Y}"


def _reset(start: date, end: date) -> None:
    st.query_params[P_FROM] = start.isoformat()
    st.query_params[P_TO] = end.isoformat()


def show_marker(ctx: Context) -> bool:
    """Draw the marker if the dates differ from the default; whether it was drawn."""
    default = default_filters(ctx.scope, ctx.today)
    if (ctx.filters.start, ctx.filters.end) == (default.start, default.end):
        return False
    left, right = st.columns([5, 1])
    span = span_label(ctx.filters.start, ctx.filters.end)
    left.caption(
        f":material/filter_alt: Dates filtered to **{span}** "
        "(for every page, from the sidebar or a link)"
    )
    right.button(
        "reset dates",
        key="reset_dates",
        on_click=_reset,
        args=(default.start, default.end),
        help=f"Back to the last {(default.end - default.start).days + 1} days.",
    )
    return True
