"""`/alerts?rule=…&severity=…&status=…&alert=<id>` — abnormal archive searching the
detections found, each explained in one line; `alert=<id>` (or selecting a row) opens that
alert's detail panel; administrators triage them.

Dates and users come from the sidebar (`from`, `to`, `user`); rule, severity, status and
the open alert are this page's own parameters, so a copied link reproduces the view. The
evidence link keeps the analyst's filters: it never narrows the sidebar's dates.
"""

from __future__ import annotations

import hashlib
import math

import streamlit as st

from dashboard import alert_panel, alerts_view, context, export, narrowed, routes, widgets
from dashboard.alerts_view import CHOICES, P_RULE, P_SEVERITY, P_STATUS, TRIAGE_VERBS
from dashboard.auth import current_visitor
from dashboard.filters import P_ALERT
from dashboard.formatting import escape_markdown, plural
from db import alerts as store
from db.alerts import TriageError
from db.audit import AuditAction

PAGE_ROWS = 200
WIDGETS = {P_RULE: "alerts_rules", P_SEVERITY: "alerts_severities", P_STATUS: "alerts_statuses"}
LABELS = {P_RULE: "Rule", P_SEVERITY: "Severity", P_STATUS: "Status"}

ctx = context.page_context()
choice, problems = alerts_view.parse_choice({key: st.query_params.get_all(key) for key in WIDGETS})
for problem in problems:
    context.page_problem(problem)
for key in WIDGETS:  # the URL is the truth: drop what was ignored, fill the pickers
    values = list(choice.as_query().get(key, []))
    if st.query_params.get_all(key) != values:
        if values:
            st.query_params[key] = values
        elif key in st.query_params:
            del st.query_params[key]
    st.session_state[WIDGETS[key]] = values


def _to_url(key: str) -> None:
    values = st.session_state[WIDGETS[key]]
    if values:
        st.query_params[key] = values
    elif key in st.query_params:
        del st.query_params[key]


def _open(alert_id: int | None) -> None:
    if alert_id is None:
        st.query_params.pop(P_ALERT, None)
    else:
        st.query_params[P_ALERT] = str(alert_id)


narrowed.show_marker(ctx)
raw_alert = st.query_params.get(P_ALERT)
opened = alert_panel.parse_alert_id(raw_alert) if raw_alert is not None else None
if raw_alert is not None and opened is None:
    context.page_problem(f"Ignored alert={raw_alert[:40]!r}: expected an alert number.")
    del st.query_params[P_ALERT]
if opened is not None and alert_panel.show_panel(ctx, opened) is not None:
    st.button("Close this alert", key="close_alert", on_click=_open, args=(None,))

pick = st.columns(3)
for column, key in zip(pick, WIDGETS, strict=True):
    column.multiselect(
        LABELS[key],
        CHOICES[key],
        key=WIDGETS[key],
        on_change=_to_url,
        args=(key,),
        placeholder=f"Every {LABELS[key].lower()}",
    )

wanted = alerts_view.alert_filters(ctx.filters, choice)
shown_filters = alerts_view.audit_filters(ctx.filters, choice)
widgets.record_view(ctx, filters=ctx.filters)
alerts = store.list_alerts(ctx.engine, wanted)
counts = alerts_view.status_counts(alerts)
cols = st.columns(4)
cols[0].metric("Alerts", f"{len(alerts):,}")
cols[1].metric("New", f"{counts['new']:,}")
cols[2].metric("Acknowledged", f"{counts['acknowledged']:,}")
cols[3].metric("Dismissed", f"{counts['dismissed']:,}")
st.caption(
    f"Days {ctx.filters.start} to {ctx.filters.end} (the sidebar's dates and users) · "
    "each line says why the alert fired; select a row (or its “details” link) for the "
    "figures and the exact searches that fired it."
)

if alerts.empty:
    st.info(
        "No alert matches these filters. Alerts come from `python -m ingest detect`, which "
        "the scheduled ingest runs after each cycle; widen the dates or clear the filters."
    )
else:
    pages = max(1, math.ceil(len(alerts) / PAGE_ROWS))
    list_key = hashlib.sha256(repr(wanted).encode()).hexdigest()[:12]
    page_number = st.pagination(pages, key=f"alerts_list_{list_key}") if pages > 1 else 1
    offset = (page_number - 1) * PAGE_ROWS
    shown = alerts.iloc[offset : offset + PAGE_ROWS]
    rows = alerts_view.for_display(
        shown, lambda alert_id: ctx.link(routes.ALERTS, **{P_ALERT: str(alert_id)})
    )
    if pages > 1:
        st.caption(f"Alerts {offset + 1:,}–{offset + len(rows):,} of {len(alerts):,}.")
    table_key = f"alerts_table_{list_key}"

    def _picked() -> None:
        chosen = st.session_state[table_key].selection.rows
        _open(int(rows.iloc[chosen[0]]["id"]) if chosen else None)

    st.dataframe(
        rows,
        hide_index=True,
        width="stretch",
        height=min(38 + alerts_view.WRAPPED_ROW * len(rows), 720),
        row_height=alerts_view.WRAPPED_ROW,
        key=table_key,
        on_select=_picked,
        selection_mode="single-row",
        column_order=(
            "id",
            "day",
            "severity",
            "rule_name",
            "email",
            "evidence_url",
            "summary",
            "status",
        ),
        # widths that add up to the main column at 1,400 px, so the Why (wrapped, its
        # full text in the panel) is never pushed off to the right
        column_config={
            "id": st.column_config.NumberColumn("Alert", format="%d", width=45),
            "day": st.column_config.DateColumn("Day", format="YYYY-MM-DD", width=88),
            "severity": st.column_config.TextColumn("Severity", width=70),
            "rule_name": st.column_config.TextColumn(
                "Rule", width=130, help="Select a row for details"
            ),
            "email": st.column_config.TextColumn("User", width=170),
            "evidence_url": st.column_config.LinkColumn(
                "Evidence", display_text="details ↗", width=66
            ),
            "summary": st.column_config.TextColumn("Why", width=227),
            "status": st.column_config.TextColumn("Status", width=105),
        },
    )

widgets.audited_download(
    ctx,
    f"Download {plural(len(alerts), 'alert')} (CSV)",
    lambda: alerts_view.alerts_csv(ctx.engine, wanted),
    action=AuditAction.EXPORT_CSV,
    target="alerts",
    filters=shown_filters,
    file_name=export.file_name("alerts", ctx.filters.start, ctx.filters.end),
    mime="text/csv",
    disabled=alerts.empty,
)

if not current_visitor(ctx.settings).is_admin:
    st.caption("Only administrators can acknowledge or dismiss alerts.")
    st.stop()

st.subheader("Triage")
labels = alerts_view.option_label(alerts)
picked = st.multiselect(
    "Alerts",
    list(labels),
    format_func=lambda alert_id: labels.get(alert_id, f"#{alert_id}"),
    key="triage_ids",
    placeholder="Pick the alerts to acknowledge or dismiss",
)
note = st.text_input(
    "Note",
    key="triage_note",
    max_chars=alerts_view.MAX_NOTE,
    help="Why: kept with the alert and in the audit trail.",
)
pause = st.number_input(
    "Expected: don't alert on this person for this rule for N days (with Dismiss)",
    min_value=0,
    max_value=store.MAX_SUPPRESS_DAYS,
    step=1,
    key="triage_suppress_days",
    help="0: dismiss only. More: the same person and rule raise no alert for that many "
    "days; the note says why, and the audit trail keeps it.",
)


def _triage(status: str, ids: tuple[int, ...]) -> None:
    days = int(st.session_state.get("triage_suppress_days") or 0) if status == "dismissed" else 0
    try:
        message = alerts_view.triage_alerts(
            ctx.db_url,
            ctx.engine,
            ctx.scope,
            ids,
            status,
            st.session_state.get("triage_note", ""),
            suppress_days=days,
        )
    except PermissionError as exc:
        st.session_state["triage_result"] = ("error", str(exc))
        return
    except TriageError as exc:
        st.session_state["triage_result"] = ("error", str(exc))
        return
    st.session_state["triage_result"] = ("ok", message)
    st.session_state["triage_ids"] = []
    st.session_state["triage_note"] = ""
    st.session_state["triage_suppress_days"] = 0


buttons = st.columns([1, 1, 4])
for column, (status, verb) in zip(buttons, TRIAGE_VERBS.items(), strict=False):
    column.button(
        verb,
        key=f"triage_{status}",
        on_click=_triage,
        args=(status, tuple(picked)),
        disabled=not picked,
        type="primary" if status == "acknowledged" else "secondary",
    )
result = st.session_state.pop("triage_result", None)
if result:
    kind, message = result
    (st.success if kind == "ok" else st.error)(escape_markdown(message))
