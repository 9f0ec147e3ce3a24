"""Every page of the dashboard, once: its address, file, titles, parameters and audit action.

The navigation (`dashboard.frame`), the menu, every link between pages, the sign-in gate
and the tests read this registry; nothing else names a page. Like Datasette's
`url_builder.py`, `link` and `switch_to` build every link, so a page's address lives here
only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import quote, urlencode

import streamlit as st

from dashboard.filters import (
    P_ADDR,
    P_DATE,
    P_EMAIL,
    P_MONTH,
    P_RULE,
    P_SEVERITY,
    P_STATUS,
    P_VIEW,
    P_YEAR,
)
from db.audit import AuditAction

Query = Mapping[str, str | list[str]]


@dataclass(frozen=True)
class Route:
    """One page: `path` is its url_path ("" for `/`), `file` its script in `pages/`."""

    path: str
    file: str
    title: str
    """In the menu and the browser tab."""
    heading: str
    """The page's own title, above its content."""
    icon: str
    action: AuditAction
    """What opening the page records in the audit trail."""
    params: tuple[str, ...] = ()
    """The query parameters the page owns, besides the sidebar filters."""
    note: str | None = None
    """The sidebar's note on how its filters apply here (None: they simply apply)."""
    filtered: bool = True
    """Whether the sidebar filters apply at all (their widgets are disabled if not)."""
    admin_only: bool = False


SUMMARY = Route(
    "",
    "pages/summary.py",
    "Summary by user",
    "Searches by user",
    ":material/group:",
    AuditAction.VIEW_SUMMARY,
)
USER = Route(
    "user",
    "pages/user.py",
    "User history",
    "User history",
    ":material/person:",
    AuditAction.VIEW_USER,
    params=(P_EMAIL,),
)
CALENDAR = Route(
    "calendar",
    "pages/calendar.py",
    "Calendar",
    "Calendar",
    ":material/calendar_month:",
    AuditAction.VIEW_CALENDAR,
    params=(P_MONTH, P_YEAR),
    note="On the calendar, the month or year chosen on the page sets the dates.",
)
DAY = Route(
    "day",
    "pages/day.py",
    "Day",
    "Day",
    ":material/today:",
    AuditAction.VIEW_DAY,
    params=(P_DATE,),
    note="On this page, the day chosen on the page sets the dates.",
)
ALERTS = Route(
    "alerts",
    "pages/alerts.py",
    "Alerts",
    "Alerts",
    ":material/notifications:",
    AuditAction.VIEW_ALERTS,
    params=(P_RULE, P_SEVERITY, P_STATUS),
)
MAILBOXES = Route(
    "mailboxes",
    "pages/mailboxes.py",
    "Mailboxes",
    "Whose mailbox was searched",
    ":material/inbox:",
    AuditAction.VIEW_MAILBOXES,
    params=(P_ADDR, P_VIEW),
)
STATUS = Route(
    "status",
    "pages/status.py",
    "Ingest status",
    "Ingest status",
    ":material/monitor_heart:",
    AuditAction.VIEW_STATUS,
    note="The status page is not filtered.",
    filtered=False,
)
AUDIT = Route(
    "audit",
    "pages/audit.py",
    "Audit trail",
    "Audit trail",
    ":material/policy:",
    AuditAction.VIEW_AUDIT,
    note="The audit trail has its own filters, on the page.",
    filtered=False,
    admin_only=True,
)

TOKENS = Route(
    "tokens",
    "pages/tokens.py",
    "API tokens",
    "API tokens",
    ":material/key:",
    AuditAction.VIEW_TOKENS,
    note="The API tokens page is not filtered.",
    filtered=False,
    admin_only=True,
)

ROUTES: tuple[Route, ...] = (
    SUMMARY,
    USER,
    CALENDAR,
    DAY,
    ALERTS,
    MAILBOXES,
    STATUS,
    AUDIT,
    TOKENS,
)
"""In menu order; the first is the default page."""


def route_for(path: str) -> Route:
    """The route whose url_path is `path` (an unknown one: the default page's)."""
    return next((route for route in ROUTES if route.path == path), SUMMARY)


def page(route: Route) -> st.Page:
    """The `st.Page` that runs `route`'s file."""
    return st.Page(
        route.file,
        title=route.title,
        icon=route.icon,
        url_path=route.path or None,
        default=route is SUMMARY,
    )


def link(route: Route, query: Query) -> str:
    """A relative link to `route` with `query`: `user?email=…&from=…` (for link columns)."""
    return f"{route.path}?{urlencode(query, doseq=True, quote_via=quote)}"


def switch_to(route: Route, query: Query) -> None:
    """Open `route` with `query` in this tab (stops this run)."""
    st.switch_page(route.file, query_params=dict(query))


def page_link(route: Route, query: Query, label: str) -> None:
    """A link to `route` with `query`, drawn where it is called."""
    st.page_link(route.file, label=label, icon=route.icon, query_params=dict(query))
