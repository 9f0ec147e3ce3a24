"""The pages shown instead of the dashboard: sign in, no access, sign-in misconfigured, a
tenant that is not open to the visitor, and a viewer's refusal at an administrator's
address.

A gate page is the only page at every route (a deep link shows it too, not "page not
found"), with no menu, no filters and no figures.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import partial

import streamlit as st

from dashboard import audit, routes, tenancy
from dashboard.auth import Visitor, current_visitor
from dashboard.context import page_context
from dashboard.formatting import escape_markdown, literal
from dashboard.notices import SignInSetup
from db.audit import AuditAction

log = logging.getLogger("dashboard")
_logged_problems: set[str] = set()


def keep_out(visitor: Visitor, setup: SignInSetup, db_url: str) -> None:
    """With sign-in configured, someone without a role sees one page whatever the URL: the
    sign-in button, or (signed in, on neither list) their address and a sign-out button."""
    if visitor.signed_in:
        everywhere("No access", partial(no_access_page, db_url))
    else:
        everywhere("Sign in", partial(sign_in_page, setup.providers))


def close_misconfigured(problem: str) -> None:
    """A broken sign-in configuration closes the dashboard: every route shows the problem
    and nothing else, and the log says it once per problem, in one line."""
    if problem not in _logged_problems:
        _logged_problems.add(problem)
        log.error("dashboard closed: %s", problem)
    everywhere("Sign-in misconfigured", partial(misconfigured_page, problem))


def everywhere(title: str, draw: Callable[[], None]) -> None:
    """Run `draw` as the only page, at every route, without a menu."""
    gates = [st.Page(draw, title=title, url_path="welcome", default=True)]
    gates += [
        st.Page(draw, title=title, url_path=route.path, visibility="hidden")
        for route in routes.ROUTES
        if route.path
    ]
    st.navigation(gates, position="hidden").run()


def admin_page(route: routes.Route, visitor: Visitor) -> st.Page:
    """An administrators' page (of the session's tenant); for anyone else, a hidden page at
    the same address that refuses (and records the attempt) instead of running the page's
    file."""
    if visitor.is_admin:
        return routes.page(route)
    return st.Page(
        partial(admin_only_page, route),
        title=route.title,
        url_path=route.path,
        visibility="hidden",
    )


def sign_in_page(providers: tuple[str | None, ...] = (None,)) -> None:
    """All a visitor who has not signed in sees: no figures, no menu, no filters.

    One button per provider configured in `[auth]` (None: the default provider)."""
    st.title("Archive search logs")
    st.caption("Sign in with your organisation's account to see the dashboard.")
    for provider in providers or (None,):
        st.button(
            "Sign in" if provider is None else f"Sign in with {provider}",
            type="primary",
            on_click=st.login,
            args=() if provider is None else (provider,),
            icon=":material/login:",
            key=f"sign_in_{provider or ''}",
        )


def misconfigured_page(problem: str) -> None:
    """All anyone sees while the sign-in configuration is broken: what is wrong and how to
    fix it (the problem names files and keys, never a secret's value)."""
    st.title("Sign-in is misconfigured")
    st.error(escape_markdown(problem), icon=":material/gpp_bad:")
    st.caption("The dashboard shows no data until this is fixed.")


def no_access_page(db_url: str) -> None:
    """Signed in, but on neither list: their address, a way out, and nothing else."""
    who = current_visitor()
    st.title("No access")
    shown = (
        literal(who.email)
        if who.email
        else "an account whose e-mail address could not be verified (or that gave none)"
    )
    st.markdown(
        f"You are signed in as {shown}, which has no access to this dashboard. If you "
        "need it, ask the dashboard's administrator to add your address."
    )
    st.button("Sign out", on_click=st.logout, icon=":material/logout:")
    audit.record_view(db_url, who, AuditAction.DENIED, target="dashboard")


def tenant_refused(path: str, visitor: Visitor, db_url: str, choice: tenancy.TenantChoice) -> None:
    """A URL naming a tenant this visitor may not see, or one that does not exist: the
    page's title, one warning and the picker, nothing read; the same words and the same
    audit row (no tenant, the visitor's role anywhere) for both, so nothing tells them
    apart."""
    st.title(routes.route_for(path).heading)
    tenancy.show_refusal(choice)
    audit.record_view(db_url, visitor, AuditAction.DENIED, target="tenant")


def admin_only_page(route: routes.Route) -> None:
    """What a viewer gets at an administrator's address such as `/audit` (the frame has
    drawn its title and notices)."""
    ctx = page_context()
    st.warning("This page is for administrators only.", icon=":material/lock:")
    audit.record_view(ctx.db_url, current_visitor(), AuditAction.DENIED, target=route.path)
