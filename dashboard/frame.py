"""The frame every page is drawn in, drawn once by the entry point around `page.run()`.

`streamlit_app.py` calls `run` on every script run: page config, settings, the sign-in
gate, the navigation built from `dashboard.routes`, then the menu, the account box and the
sidebar filters, then the page's title and the notices an analyst must not miss (demo
data, missing or stale data, bad link values, the time zone in use) — and only then the
page itself. Pages import nothing from here.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import streamlit as st
from sqlalchemy.exc import SQLAlchemyError

from dashboard import gate, routes, sidebar, tenancy
from dashboard.auth import SCOPE_KEY, current_setup, current_visitor
from dashboard.context import Context, build_context, settings_or_stop, tenants_or_stop
from dashboard.formatting import escape_markdown, format_time
from dashboard.notices import OPEN_ACCESS_NOTICE, data_warnings, describe_filters, is_loopback_url
from db.engine import redact_url

log = logging.getLogger("dashboard")


def run() -> None:
    """Build the navigation and the shared context, and run the page the URL names."""
    st.set_page_config(
        page_title="Archive search logs",
        page_icon=":material/manage_search:",
        layout="wide",
    )
    settings = settings_or_stop()
    tenants = tenants_or_stop(settings)
    setup = current_setup(settings, tenants)
    if setup.mode == "broken":
        gate.close_misconfigured(setup.problem or "Sign-in is misconfigured.")
        return
    st.session_state.pop(SCOPE_KEY, None)  # chosen afresh below, before anything is read
    visitor = current_visitor(settings)
    if not visitor.may_view:
        gate.keep_out(visitor, setup, settings.effective_database_url)
        return
    choice = tenancy.session_choice(visitor.access)
    st.session_state[SCOPE_KEY] = choice.scope
    visitor = visitor.within(choice.scope)

    pages = [
        gate.admin_page(route, visitor) if route.admin_only else routes.page(route)
        for route in routes.ROUTES
    ]
    # The menu is drawn by `sidebar.menu`, not by Streamlit: `client.showSidebarNavigation`
    # is off (.streamlit/config.toml) so that the legacy `pages/` menu never shows.
    page = st.navigation(pages)
    sidebar.menu(pages)
    tenancy.picker(choice, tenants)
    sidebar.account(visitor)
    if choice.scope is None:
        gate.tenant_refused(page.url_path, visitor, settings.effective_database_url, choice)
        return
    try:
        context = build_context(settings, page.url_path, choice, tenants)
        header(context)
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


def header(context: Context) -> None:
    """The page's title and the notices every page carries."""
    route = context.route
    st.title(route.heading)
    settings = context.settings
    if is_loopback_url(settings.mimecast_base_url):
        st.info(
            "**Demo data** — MIMECAST\\_BASE\\_URL points at a simulator on this machine "
            # redacted: a simulator's URL may carry a user and password or a token parameter
            f"({escape_markdown(redact_url(settings.mimecast_base_url))}); "
            "these are not real searches.",
            icon=":material/science:",
        )
    if current_setup(settings, context.tenants).mode == "open":
        st.caption(f":material/lock_open: {OPEN_ACCESS_NOTICE}")
    for line in data_warnings(context.health, settings.poll_seconds, datetime.now(UTC)):
        st.warning(line, icon=":material/warning:")
    for problem in context.problems:
        st.warning(escape_markdown(problem), icon=":material/link_off:")
    last_ok = context.health.last_ok_finished
    st.caption(
        f"Times and days in **{escape_markdown(context.tz)}** (DISPLAY\\_TZ) · "
        f"last successful ingest {escape_markdown(format_time(last_ok, context.tz))}"
    )
    active = describe_filters(context.filters, users=route is not routes.USER)
    if active and route.filtered:
        st.caption(active)
