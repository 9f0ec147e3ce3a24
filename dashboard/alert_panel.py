"""The Alerts page's detail panel (`/alerts?alert=<id>`): one alert's rule in plain words,
its full explanation, its figures as a table and the exact searches that fired it.

Everything here comes from search data (summaries, search text, addresses): it is shown in
tables or escaped, never as Markdown or HTML.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd
import streamlit as st

from dashboard import clickhouse_gaps, routes, widgets
from dashboard.context import Context
from dashboard.filters import P_EMAIL
from dashboard.formatting import (
    TABLE_TIME,
    escape_markdown,
    literal,
    with_targets,
)
from db.alert_detail import AlertDetail, alert_detail
from db.alert_evidence import evidence_searches
from db.rule_text import rule_description, rule_name
from db.timezones import as_local

MAX_SHOWN = 500
"""Searches listed in the panel at most (newest first): a panel, not an export."""
FIRST_FIGURES = ("observed", "baseline", "threshold", "surprise")
"""Every rule's common figures, shown first and in this order (contract of issue 17)."""
LABELS = {
    "observed": "Observed",
    "baseline": "Baseline (usual)",
    "threshold": "Threshold",
    "surprise": "Surprise",
}


def parse_alert_id(raw: str) -> int | None:
    """`alert=<id>` from a link: a positive integer, else None."""
    text = raw.strip()
    return int(text) if text.isdigit() and 0 < int(text) < 2**63 else None


def figure_value(value: Any) -> str:
    """One figure as plain text: `64`, `3.25`, `a@x, b@x`, `2026-11-24 (2.5), …`."""
    if isinstance(value, bool) or value is None:
        return str(value).lower() if value is not None else "—"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.2f}".rstrip("0").rstrip(".") if value == value else "—"
    if isinstance(value, Mapping):
        if set(value) == {"day", "points"}:
            return f"{value['day']} ({figure_value(value['points'])})"
        return ", ".join(f"{key}: {figure_value(item)}" for key, item in value.items())
    if isinstance(value, list | tuple):
        return ", ".join(figure_value(item) for item in value) or "none"
    return str(value)


def figures_table(figures: Mapping[str, Any]) -> pd.DataFrame:
    """The figures as rows (figure, value): the common four first, then the rule's own."""
    keys = [key for key in FIRST_FIGURES if key in figures]
    keys += sorted(key for key in figures if key not in FIRST_FIGURES)
    return pd.DataFrame(
        {
            "figure": [LABELS.get(key, key.replace("_", " ").capitalize()) for key in keys],
            "value": [figure_value(figures[key]) for key in keys],
        }
    )


def show_panel(ctx: Context, alert_id: int) -> AlertDetail | None:
    """Draw alert `alert_id`'s panel; None (and a one-line warning) if it is not in scope."""
    detail = alert_detail(ctx.engine, ctx.scope, alert_id)
    if detail is None:
        st.warning(f"There is no alert #{alert_id} to show here.", icon=":material/link_off:")
        return None
    row = detail.row
    with st.container(border=True, key="alert_panel"):
        st.markdown(
            f"**Alert #{row['id']} · {escape_markdown(rule_name(row['rule']))}** "
            f"(`{row['rule']}`) · {row['severity']} · {row['status']} · {row['day']}"
        )
        st.caption(escape_markdown(rule_description(row["rule"])))
        email = str(row["email"])
        left, right = st.columns([3, 2])
        left.markdown("User " + (literal(email) if email else "(empty address)"))
        with right:
            routes.page_link(
                routes.USER, ctx.query(**{P_EMAIL: email}), "User history (your filters)"
            )
        st.markdown("**Why** · " + escape_markdown(str(row["summary"])))
        if row.get("note"):
            by = str(row["triaged_by"] or "")
            st.markdown(
                f"**Note** ({literal(by) if by else 'no one'}) · "
                + escape_markdown(str(row["note"]))
            )
        figures = figures_table(detail.figures)
        st.dataframe(
            figures,
            hide_index=True,
            key="alert_figures",
            # Every figure at once: the default height showed about ten of an alert's up to
            # fifteen, and the threshold or the baseline could be below the fold.
            height=widgets.table_height(len(figures)),
            column_config={
                "figure": st.column_config.TextColumn("Figure", width="medium"),
                "value": st.column_config.TextColumn("Value", width="large"),
            },
        )
        _show_evidence(ctx, alert_id)
    return detail


def _show_evidence(ctx: Context, alert_id: int) -> None:
    if clickhouse_gaps.on_clickhouse(ctx):  # the evidence query reads the SQL searches
        st.info(clickhouse_gaps.EVIDENCE, icon=":material/database:")
        return
    searches = evidence_searches(ctx.engine, ctx.scope, alert_id)
    shown = "" if len(searches) <= MAX_SHOWN else f" (the newest {MAX_SHOWN:,} shown)"
    st.markdown(f"**The searches that fired it** · {len(searches):,}{shown}")
    searches = searches.head(MAX_SHOWN)
    if searches.empty:
        st.caption("No stored search matches this alert's window any more.")
        return
    st.dataframe(
        with_targets(
            searches.assign(time=as_local(searches["time"], ctx.tz)).drop(columns=["email"])
        ),
        hide_index=True,
        width="stretch",
        key="alert_evidence",
        column_config={
            **widgets.search_columns(TABLE_TIME),
            "search_text": st.column_config.TextColumn("Search text", width="medium"),
        },
    )
