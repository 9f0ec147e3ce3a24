"""One rerun's view of settings, data and filters, shared by the frame and the page.

`dashboard.frame` builds the `Context` once per rerun (settings, database, the data
version that keys every cache of the searches, the ingest version that keys its state, and
the sidebar filters, kept in the URL so a copied link reproduces the view) before it runs
the page; a page's first line, `page_context()`, reads it back.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import TypeVar
from zoneinfo import ZoneInfo

import streamlit as st
from sqlalchemy import Engine

from config.settings import (
    CONFIG_ERROR_PUBLIC,
    ConfigError,
    Settings,
    load_settings,
    log_config_error,
)
from config.tenants import Tenant, load_tenants
from dashboard import cached, legacy, routes, tenancy
from dashboard.auth import SCOPE_KEY, current_visitor
from dashboard.filters import FILTER_KEYS, filters_to_query, shown
from dashboard.formatting import escape_markdown
from dashboard.routes import Route
from dashboard.sidebar import chosen_preset, sidebar_filters
from db.engine import DatabaseSetupError
from db.queries import IngestHealth, SearchFilters
from db.scope import TenantScope

log = logging.getLogger("dashboard")

T = TypeVar("T")
CONTEXT_KEY = "_dashboard_context"


@dataclass(frozen=True)
class Context:
    """One rerun's view of settings, data and filters, shared by the frame and the page."""

    settings: Settings
    db_url: str
    """The database's URL (`Settings.effective_database_url`), which keys the caches."""
    version: str
    """`db.state.data_version`: moves only when rows were stored."""
    tz: str
    today: date
    filters: SearchFilters
    health: IngestHealth
    scope: TenantScope
    """Which tenants this session sees: every read of the page goes through it."""
    page: str = ""
    problems: tuple[str, ...] = ()
    tenants: tuple[Tenant, ...] = ()
    """The installation's tenants (for names and the all-tenants status table)."""
    tenant_param: str | None = None
    """What the URL carries as `tenant=` (None with one tenant to see: URLs as before)."""
    preset: str | None = None
    """The date preset (`range=7d`) that chose the filters' days, kept in links."""
    ingest_version: str = ""
    """`db.state.ingest_version`: moves with every poll (runs, cursors); keys the status."""

    @property
    def engine(self) -> Engine:
        return cached.engine(self.db_url)

    @property
    def tenant(self) -> str:
        """The one tenant an action applies to (a cursor reset); the every-tenant view
        names none, so an action there is refused."""
        if self.scope.name is None:
            raise ValueError("pick one tenant for this action")
        return self.scope.name

    @property
    def route(self) -> Route:
        return routes.route_for(self.page)

    def query(self, **extra: str) -> dict[str, str | list[str]]:
        """The current filters as query parameters, plus a page's own (`email=…`)."""
        tenant = {tenancy.P_TENANT: self.tenant_param} if self.tenant_param else {}
        return {**filters_to_query(self.filters, self.preset), **tenant, **extra}

    def link(self, route: Route, **extra: str) -> str:
        """A relative link to `route` with the current filters: `user?email=…&from=…`."""
        return routes.link(route, self.query(**extra))

    def switch_to(self, route: Route, **extra: str) -> None:
        """Open `route` with the current filters and `extra` (stops this run)."""
        routes.switch_to(route, self.query(**extra))


def settings_or_stop() -> Settings:
    """The settings, or a generic error and a stop: this runs before anyone signs in, so
    the page never says which setting or value (the log does, once per problem)."""
    try:
        return load_settings()
    except ConfigError as exc:
        log_config_error(log, exc)
        st.error(escape_markdown(CONFIG_ERROR_PUBLIC.capitalize()), icon=":material/error:")
        st.stop()


def engine_or_stop(db_url: str) -> Engine:
    try:
        return cached.engine(db_url)
    except DatabaseSetupError as exc:
        st.error(f"Cannot open the database: {escape_markdown(str(exc))}", icon=":material/error:")
        st.stop()


def today_in(tz: str) -> date:
    return datetime.now(ZoneInfo(tz)).date()


def tenants_or_stop(settings: Settings) -> tuple[Tenant, ...]:
    """The tenants, or the same generic error as bad settings and a stop (the log names
    the tenant and the key; the page, shown before sign-in, does not)."""
    try:
        return load_tenants(settings)
    except ConfigError as exc:
        log_config_error(log, exc)
        st.error(escape_markdown(CONFIG_ERROR_PUBLIC.capitalize()), icon=":material/error:")
        st.stop()


def build_context(
    settings: Settings, page: str, choice: tenancy.TenantChoice, tenants: tuple[Tenant, ...]
) -> Context:
    """Everything a page needs for this rerun inside the tenant scope the frame chose;
    renders the sidebar filters.

    `page` is the page's url_path: it decides which query parameters belong in the URL
    and how the sidebar applies (dates come from the calendar and day pages themselves).
    """
    if choice.scope is None:
        raise ValueError("no tenant scope: the frame answers the refusal instead")
    scope = choice.scope
    db_url = settings.effective_database_url
    engine_or_stop(db_url)
    version = cached.data_version(db_url)
    ingest_version = cached.ingest_version(db_url)
    tz = settings.display_tz
    today = today_in(tz)
    options = cached.filter_options(db_url, version, scope)
    route = routes.route_for(page)
    _drop_foreign_params(route)
    filters, problems = sidebar_filters(options, scope, today, route)
    context = Context(
        settings=settings,
        db_url=db_url,
        version=version,
        tz=tz,
        today=today,
        filters=filters,
        health=cached.ingest_health(db_url, ingest_version, scope),
        scope=scope,
        page=page,
        problems=tuple(problems),
        tenants=tenants,
        tenant_param=choice.scope.label() if choice.entries else None,
        preset=chosen_preset(),
        ingest_version=ingest_version,
    )
    st.session_state[CONTEXT_KEY] = context
    return context


def page_context() -> Context:
    """A page's first line: the context the frame built for this rerun.

    On a fresh server Streamlit's legacy `pages/` mode may run the page on its own, with
    no frame around it: the page then hands over to the registered navigation and this
    run stops (see `dashboard.legacy`)."""
    legacy.hand_over_if_alone()
    context = st.session_state.get(CONTEXT_KEY)
    if context is None:  # run without the frame (a test running a page file directly)
        settings = settings_or_stop()
        choice = tenancy.session_choice(current_visitor(settings).access)
        if choice.scope is None:
            st.stop()
        st.session_state[SCOPE_KEY] = choice.scope
        context = build_context(settings, "", choice, load_tenants(settings))
    return context


def _drop_foreign_params(route: Route) -> None:
    """Remove another page's parameters (`date` on the calendar after the back button)."""
    allowed = set(FILTER_KEYS) | set(route.params) | {tenancy.P_TENANT}
    for key in list(st.query_params):
        if key not in allowed:
            del st.query_params[key]


def page_param(name: str, parse: Callable[[str], T | None], expected: str) -> T | None:
    """A page's own URL parameter (`email`, `month`, `date`), validated and remembered.

    A bad value gets a one-line warning and is dropped from the URL. A missing one falls
    back to what this session last showed on the page (opening it from the menu, or going
    back to it, shows the same thing), written back to the URL so a copied link matches.
    """
    remembered = f"_last_{name}"
    raw = st.query_params.get(name)
    if raw is not None:
        value = parse(raw)
        if value is not None:
            st.session_state[remembered] = raw
            return value
        page_problem(f"Ignored {name}={shown(raw)}: {expected}")
        del st.query_params[name]
    raw = st.session_state.get(remembered)
    if raw is None:
        return None
    st.query_params[name] = raw
    return parse(raw)


def page_problem(message: str) -> None:
    """A one-line warning about a page parameter (plain text, shown literally)."""
    st.warning(escape_markdown(message), icon=":material/link_off:")
