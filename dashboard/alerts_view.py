"""The Alerts page's logic: its filters in the URL, the list as shown and exported, triage
with the role checked when it runs, and the alert marks other pages draw.

Alert summaries and notes come from search data and from people: they are only ever shown
in tables or as plain text, never as Markdown.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import pandas as pd
import plotly.graph_objects as go
import streamlit as st
from sqlalchemy import Engine

from dashboard import audit, colours, export
from dashboard.filters import P_RULE, P_SEVERITY, P_STATUS, filters_to_query, ignored
from db import alerts as store
from db.alerts import AlertFilters, TriageError
from db.audit import AuditAction
from db.queries import SearchFilters
from db.rule_text import rule_name
from db.scope import TenantScope

ALERT_PARAMS = (P_RULE, P_SEVERITY, P_STATUS)
"""The Alerts page's own query parameters; dates and users are the sidebar's."""
CHOICES: dict[str, tuple[str, ...]] = {
    P_RULE: store.RULES,
    P_SEVERITY: store.SEVERITIES,
    P_STATUS: store.STATUSES,
}
MAX_NOTE = 500
WRAPPED_ROW = 84
"""Row height (px) of alert tables: above 4 rem, Streamlit's grid wraps long text (the
Why) instead of cutting it off."""
TRIAGE_VERBS = {"acknowledged": "Acknowledge", "dismissed": "Dismiss"}


@dataclass(frozen=True)
class AlertChoice:
    """The page's own filters: empty tuples mean every rule, severity or status."""

    rules: tuple[str, ...] = ()
    severities: tuple[str, ...] = ()
    statuses: tuple[str, ...] = ()

    def as_query(self) -> dict[str, list[str]]:
        pairs = ((P_RULE, self.rules), (P_SEVERITY, self.severities), (P_STATUS, self.statuses))
        return {key: list(values) for key, values in pairs if values}


def parse_choice(params: Mapping[str, str | list[str]]) -> tuple[AlertChoice, list[str]]:
    """`rule`, `severity`, `status` from a link; unknown values are dropped with one
    plain-text message per parameter."""
    problems: list[str] = []
    picked: dict[str, tuple[str, ...]] = {}
    for key, allowed in CHOICES.items():
        raw = params.get(key) or []
        values = [raw] if isinstance(raw, str) else list(raw)
        bad = [value for value in values if value not in allowed]
        if bad:
            problems.append(ignored(key, bad, f"expected one of {', '.join(allowed)}"))
        picked[key] = tuple(value for value in allowed if value in values)
    return AlertChoice(picked[P_RULE], picked[P_SEVERITY], picked[P_STATUS]), problems


def alert_filters(filters: SearchFilters, choice: AlertChoice) -> AlertFilters:
    """The sidebar's days and users with the page's rule, severity and status."""
    return AlertFilters(
        scope=filters.scope,
        start=filters.start,
        end=filters.end,
        rules=choice.rules,
        severities=choice.severities,
        statuses=choice.statuses,
        users=filters.users,
    )


def audit_filters(filters: SearchFilters, choice: AlertChoice) -> dict[str, Any]:
    """What the audit trail records of a view or export of alerts: the link's query."""
    query: dict[str, Any] = {
        key: value
        for key, value in filters_to_query(filters).items()
        if key in ("from", "to", "user")
    }
    return {**query, **choice.as_query()}


def for_display(
    alerts: pd.DataFrame, panel_link: Callable[[int], str] | None = None
) -> pd.DataFrame:
    """The list as the page shows it: blanks for what does not apply, each rule's plain
    name, and (given `panel_link`) the evidence link to the alert's detail panel, which
    keeps the analyst's filters instead of the stored link's narrowed days."""
    shown = alerts.assign(
        rule_name=[rule_name(rule) for rule in alerts["rule"]],
        note=alerts["note"].fillna(""),
        triaged_by=alerts["triaged_by"].fillna(""),
    )
    if panel_link is not None:
        shown["evidence_url"] = [panel_link(int(alert_id)) for alert_id in alerts["id"]]
    return shown


def status_counts(alerts: pd.DataFrame) -> dict[str, int]:
    counts = alerts["status"].value_counts() if len(alerts) else pd.Series(dtype=int)
    return {status: int(counts.get(status, 0)) for status in store.STATUSES}


def alerts_csv(engine: Engine, filters: AlertFilters) -> tuple[bytes, int]:
    """Every alert matching `filters` as CSV (formula cells neutralised) and its rows."""
    frame = store.list_alerts(engine, filters)
    return export.csv_with_rows([frame], store.ALERT_COLUMNS)


def option_label(alerts: pd.DataFrame) -> dict[int, str]:
    """How each alert is named in the triage picker (plain text, never Markdown)."""
    rows: Iterable[Any] = alerts.itertuples()  # named tuples of the frame's columns
    return {
        int(row.id): f"#{row.id} · {row.day} · {row.rule} · {row.email or '(empty address)'}"
        for row in rows
    }


def triage_alerts(
    url: str,
    engine: Engine,
    scope: TenantScope,
    ids: Sequence[int],
    status: str,
    note: str,
    suppress_days: int = 0,
) -> str:
    """Acknowledge or dismiss `ids` as the current visitor, if they are an administrator
    now (read when this runs, not when the button was drawn), with the audit entry in the
    same transaction; a dismissal with `suppress_days` also quiets the same person and rule
    for that many days (`db.alerts.triage`). Returns what to tell the visitor; raises
    TriageError for a triage that cannot be made or whose change or entry cannot be written
    (then nothing changed)."""
    target = ", ".join(f"#{alert_id}" for alert_id in sorted(set(ids))) or None
    admin = audit.require_admin(url, AuditAction.TRIAGE_ALERT, target=target)
    if admin is None:
        raise PermissionError("Only administrators can triage alerts.")
    if not ids:
        raise TriageError("Pick at least one alert first.")
    note = note.strip()[:MAX_NOTE]
    detail = f"{status}: {note}" if note else status
    entry = audit.entry(admin, AuditAction.TRIAGE_ALERT, target=target, detail=detail)
    with audit.all_or_nothing(AuditAction.TRIAGE_ALERT, TriageError):
        changed = store.triage(
            engine,
            scope,
            ids,
            status,
            admin.actor,
            note,
            audited=entry,
            suppress_days=suppress_days,
        )
    noun = "alert" if changed == 1 else "alerts"
    return f"{changed} {noun} {status}."


# --- marks on other pages ---------------------------------------------------------------


def open_counts(engine: Engine, filters: SearchFilters) -> pd.DataFrame:
    """Open alerts per user over the sidebar's days (and users): columns email, open_alerts."""
    wanted = AlertFilters(
        scope=filters.scope, start=filters.start, end=filters.end, users=filters.users
    )
    return store.open_alert_counts(engine, wanted)


def with_open_alerts(summary: pd.DataFrame, counts: pd.DataFrame) -> pd.DataFrame:
    """The summary table with each user's open alerts (0 for none)."""
    by_user = dict(zip(counts["email"], counts["open_alerts"], strict=True))
    return summary.assign(open_alerts=[int(by_user.get(email, 0)) for email in summary["email"]])


def user_alerts(
    engine: Engine, scope: TenantScope, email: str, start: date, end: date
) -> pd.DataFrame:
    """One user's alerts over the days shown, newest first."""
    wanted = AlertFilters(scope=scope, start=start, end=end, users=(email,))
    return store.list_alerts(engine, wanted)


def show_user_alerts(
    engine: Engine,
    scope: TenantScope,
    email: str,
    start: date,
    end: date,
    query: Mapping[str, Any],
) -> None:
    """The user history's alert marks: this user's alerts on the days shown, with their
    day and one-line reason (in a table: the text stays plain), and a link to triage."""
    alerts = user_alerts(engine, scope, email, start, end)
    if alerts.empty:
        return
    open_ = int(alerts["status"].isin(store.OPEN_STATUSES).sum())
    st.markdown(
        f"**:material/notifications: Alerts on these days** · {len(alerts):,} ({open_:,} open)"
    )
    st.dataframe(
        for_display(alerts),
        hide_index=True,
        width="stretch",
        key="user_alerts",
        row_height=WRAPPED_ROW,
        column_order=("day", "severity", "rule_name", "summary", "status", "note"),
        column_config={  # widths that fit the main column at 1,400 px
            "day": st.column_config.DateColumn("Day", format="YYYY-MM-DD", width=88),
            "severity": st.column_config.TextColumn("Severity", width=70),
            "rule_name": st.column_config.TextColumn("Rule", width=140),
            "summary": st.column_config.TextColumn("Why", width=387),
            "status": st.column_config.TextColumn("Status", width=105),
            "note": st.column_config.TextColumn("Note", width=130),
        },
    )
    st.page_link(
        "pages/alerts.py",
        label="This user's alerts, to triage or export",
        icon=":material/notifications:",
        query_params=dict(query),
    )


def show_day_alerts(
    engine: Engine, filters: SearchFilters, panel_link: Callable[[int], str]
) -> int:
    """The Day page's alerts: every alert of the day shown (and the sidebar's users), each
    with its plain rule, one-line reason and a link to its detail panel; how many."""
    wanted = AlertFilters(
        scope=filters.scope, start=filters.start, end=filters.end, users=filters.users
    )
    alerts = store.list_alerts(engine, wanted)
    if alerts.empty:
        st.caption("No alerts on this day.")
        return 0
    open_ = int(alerts["status"].isin(store.OPEN_STATUSES).sum())
    st.markdown(
        f"**:material/notifications: Alerts on this day** · {len(alerts):,} ({open_:,} open)"
    )
    st.dataframe(
        for_display(alerts, panel_link),
        hide_index=True,
        width="stretch",
        key="day_alerts",
        row_height=WRAPPED_ROW,
        column_order=("severity", "rule_name", "email", "evidence_url", "summary", "status"),
        column_config={  # widths that fit the main column at 1,400 px
            "severity": st.column_config.TextColumn("Severity", width=70),
            "rule_name": st.column_config.TextColumn("Rule", width=140),
            "email": st.column_config.TextColumn("User", width=190),
            "evidence_url": st.column_config.LinkColumn(
                "Details", display_text="details ↗", width=66
            ),
            "summary": st.column_config.TextColumn("Why", width=347),
            "status": st.column_config.TextColumn("Status", width=105),
        },
    )
    return len(alerts)


def open_days(
    engine: Engine, scope: TenantScope, start: date, end: date, users: tuple[str, ...] = ()
) -> dict:
    """Open alerts of `scope` per day over `start`..`end` (of `users`, when given)."""
    wanted = AlertFilters(scope=scope, start=start, end=end, users=users)
    return store.open_alert_days(engine, wanted)


def mark_calendar(
    figure: go.Figure,
    per_day: pd.DataFrame,
    marks: Mapping[date, int],
    theme: str | None = None,
) -> None:
    """A triangle in the top-right corner of each calendar day with open alerts: a shape,
    so a marked day is not told apart by colour alone, coloured for the viewer's theme
    (`dashboard.colours`: its fill or outline stands out from every shade).

    Drawn as a second trace over the day's square; it carries the same date in
    customdata[0], so a click on the mark opens the day like a click on the square."""
    palette = colours.palette(theme)
    base = figure.data[0]
    days = list(per_day["date"])
    hit = [i for i, day in enumerate(days) if marks.get(day)]
    if not hit:
        return
    size = int(base.marker.size or 10)
    offset = 0.3  # of a cell: the grid's axes count cells
    figure.add_trace(
        go.Scatter(
            x=[base.x[i] + offset for i in hit],
            y=[base.y[i] - offset for i in hit],
            mode="markers",
            marker={
                "symbol": colours.MARK_SYMBOL,
                "size": max(8, size // 4),
                "color": palette.mark,
                "line": {"width": 1.5, "color": palette.mark_line},
            },
            customdata=[[days[i].isoformat(), int(marks[days[i]])] for i in hit],
            hovertemplate="%{customdata[0]}<br>%{customdata[1]} open alert(s)<extra></extra>",
            name="open alerts",
            showlegend=False,
        )
    )
