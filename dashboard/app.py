"""The dashboard's navigation and shared chrome, run by `streamlit_app.py`.

Pages live in `pages/`. Streamlit still has a legacy mode for a folder of that name: on a
freshly started server, until some run has called `st.navigation`, a deep link such as
`/user?email=…` runs `pages/user.py` on its own. Every page therefore starts with
`chrome.page_start`, which notices that it runs outside this navigation and runs `main()`
instead — the same page, with the real menu, layout and filters. The legacy mode's own
menu of file names never shows: `client.showSidebarNavigation` is off, and `chrome.menu`
draws the real one.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import partial

import streamlit as st
from sqlalchemy.exc import SQLAlchemyError

from dashboard import chrome
from dashboard.auth import Visitor, current_setup, current_visitor
from dashboard.chrome import navigation_running
from dashboard.formatting import escape_markdown
from dashboard.notices import SignInSetup

log = logging.getLogger("dashboard")
ROUTES = ("", "user", "calendar", "day", "alerts", "status", "audit", "tokens")
"""Every page's url_path (see `main`)."""


def main() -> None:
    """Build the navigation, the shared context, and run the page the URL names."""
    st.set_page_config(
        page_title="Archive search logs",
        page_icon=":material/manage_search:",
        layout="wide",
    )
    settings = chrome.settings_or_stop()
    setup = current_setup(settings)
    if setup.mode == "broken":
        _misconfigured(setup.problem or "Sign-in is misconfigured.")
        return
    visitor = current_visitor(settings)
    if not visitor.may_view:
        _gate(visitor, setup, settings.effective_database_url)
        return

    pages = {
        "": st.Page(
            "pages/summary.py", title="Summary by user", icon=":material/group:", default=True
        ),
        "user": st.Page(
            "pages/user.py", title="User history", icon=":material/person:", url_path="user"
        ),
        "calendar": st.Page(
            "pages/calendar.py",
            title="Calendar",
            icon=":material/calendar_month:",
            url_path="calendar",
        ),
        "day": st.Page("pages/day.py", title="Day", icon=":material/today:", url_path="day"),
        "alerts": st.Page(
            "pages/alerts.py", title="Alerts", icon=":material/notifications:", url_path="alerts"
        ),
        "status": st.Page(
            "pages/status.py",
            title="Ingest status",
            icon=":material/monitor_heart:",
            url_path="status",
        ),
        "audit": _audit_page(visitor),
        "tokens": _admin_page(visitor, "pages/tokens.py", "API tokens", ":material/key:", "tokens"),
    }
    # The menu is drawn by `chrome.menu`, not by Streamlit: `client.showSidebarNavigation`
    # is off (.streamlit/config.toml) so that the legacy `pages/` menu never shows.
    page = st.navigation(list(pages.values()))
    chrome.menu(list(pages.values()))
    chrome.account(visitor)
    try:
        chrome.build_context(settings, page.url_path)
        with navigation_running():
            page.run()
    except SQLAlchemyError as exc:
        log.exception("database error while drawing %s", page.url_path or "/")
        first_line = (str(getattr(exc, "orig", exc)).strip().splitlines() or [type(exc).__name__])[
            0
        ]
        st.error(
            f"Database error: {escape_markdown(first_line)} — check that the database is "
            "reachable, then reload the page.",
            icon=":material/error:",
        )


def _audit_page(visitor: Visitor) -> st.Page:
    """The audit trail for administrators; for viewers, a hidden page at the same address
    that refuses (and records the attempt) instead of running `pages/audit.py`."""
    if visitor.is_admin:
        return st.Page(
            "pages/audit.py", title="Audit trail", icon=":material/policy:", url_path="audit"
        )
    return st.Page(
        chrome.admin_only_page, title="Audit trail", url_path="audit", visibility="hidden"
    )


def _admin_page(visitor: Visitor, path: str, title: str, icon: str, route: str) -> st.Page:
    """An administrators' page; for viewers, a hidden page at the same address that
    refuses (and records the attempt), like `/audit`."""
    if visitor.is_admin:
        return st.Page(path, title=title, icon=icon, url_path=route)
    refuse = partial(chrome.admin_only_page, title, route)
    return st.Page(refuse, title=title, url_path=route, visibility="hidden")


def _gate(visitor: Visitor, setup: SignInSetup, url: str) -> None:
    """With sign-in configured, someone without a role sees one page whatever the URL: the
    sign-in button, or (signed in, on neither list) their address and a sign-out button."""
    if visitor.signed_in:
        _everywhere("No access", partial(chrome.no_access_page, url))
    else:
        _everywhere("Sign in", partial(chrome.sign_in_page, setup.providers))


_logged_problems: set[str] = set()


def _misconfigured(problem: str) -> None:
    """A broken sign-in configuration closes the dashboard: every route shows the problem
    and nothing else, and the log says it once per problem, in one line."""
    if problem not in _logged_problems:
        _logged_problems.add(problem)
        log.error("dashboard closed: %s", problem)
    _everywhere("Sign-in misconfigured", partial(chrome.misconfigured_page, problem))


def _everywhere(title: str, draw: Callable[[], None]) -> None:
    """Run `draw` as the only page, at every route, without a menu: a deep link shows it
    too, not "page not found"."""
    gates = [st.Page(draw, title=title, url_path="welcome", default=True)]
    gates += [
        st.Page(draw, title=title, url_path=route, visibility="hidden") for route in ROUTES if route
    ]
    page = st.navigation(gates, position="hidden")
    with navigation_running():
        page.run()
