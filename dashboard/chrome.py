"""What every page shows around its content, and the state it is built from.

`streamlit_app.py` calls `build_context` once per rerun: settings, database, the data
version that keys every cache, and the sidebar filters (kept in the URL so a copied link
reproduces the view). Each page then calls `page_start`, which titles the page and shows
the notices an analyst must not miss: demo data, missing or stale data, bad link values,
and the time zone in use.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, TypeVar
from urllib.parse import quote, urlencode
from zoneinfo import ZoneInfo

import streamlit as st
from sqlalchemy import Engine
from streamlit.navigation.page import StreamlitPage

from config.settings import ConfigError, Settings, load_settings
from dashboard import audit, cached, export
from dashboard.auth import Visitor, current_setup, current_visitor
from dashboard.filters import (
    EARLIEST,
    FILTER_KEYS,
    LATEST,
    MAX_TEXT,
    P_DATE,
    P_EMAIL,
    P_MONTH,
    P_YEAR,
    default_filters,
    filter_part,
    filters_to_query,
    parse_filters,
    shown,
)
from dashboard.formatting import escape_markdown, format_time, literal
from dashboard.notices import (
    OPEN_ACCESS_NOTICE,
    data_warnings,
    describe_filters,
    is_loopback_url,
)
from db import queries
from db.engine import DatabaseSetupError
from db.queries import SYSTEM_SENDER, FilterOptions, IngestHealth, SearchFilters

T = TypeVar("T")
CONTEXT_KEY = "_dashboard_context"
PAGE_PARAMS = {
    "user": (P_EMAIL,),
    "calendar": (P_MONTH, P_YEAR),
    "day": (P_DATE,),
    "alerts": ("rule", "severity", "status"),
}
PAGE_NOTES = {
    "calendar": "On the calendar, the month or year chosen on the page sets the dates.",
    "day": "On this page, the day chosen on the page sets the dates.",
    "status": "The status page is not filtered.",
    "audit": "The audit trail has its own filters, on the page.",
    "tokens": "The API tokens page is not filtered.",
}
UNFILTERED_PAGES = ("status", "audit", "tokens")
LAST_QUERY_KEY = "_filters_query"
LAST_FILTERS_KEY = "_filters"
K_DATES, K_USERS, K_SOURCES, K_TYPES, K_TEXT, K_SYSTEM = (
    "filter_dates",
    "filter_users",
    "filter_sources",
    "filter_types",
    "filter_text",
    "filter_system",
)


@dataclass(frozen=True)
class Context:
    """One rerun's view of settings, data and filters, shared by the chrome and the page."""

    settings: Settings
    url: str
    version: str
    tz: str
    today: date
    filters: SearchFilters
    health: IngestHealth
    page: str = ""
    problems: tuple[str, ...] = ()

    @property
    def engine(self) -> Engine:
        return cached.engine(self.url)

    def query(self, **extra: str) -> dict[str, str | list[str]]:
        """The current filters as query parameters, plus a page's own (`email=…`)."""
        return {**filters_to_query(self.filters), **extra}

    def link(self, path: str, **extra: str) -> str:
        """A relative link to a page with the current filters: `user?email=…&from=…`."""
        return f"{path}?{urlencode(self.query(**extra), doseq=True, quote_via=quote)}"


# --- start-up -------------------------------------------------------------------------


def settings_or_stop() -> Settings:
    try:
        return load_settings()
    except ConfigError as exc:
        st.error(f"Configuration error: {escape_markdown(str(exc))}", icon=":material/error:")
        st.stop()


def engine_or_stop(url: str) -> Engine:
    try:
        return cached.engine(url)
    except DatabaseSetupError as exc:
        st.error(f"Cannot open the database: {escape_markdown(str(exc))}", icon=":material/error:")
        st.stop()


def today_in(tz: str) -> date:
    return datetime.now(ZoneInfo(tz)).date()


def build_context(settings: Settings, page: str = "") -> Context:
    """Everything a page needs for this rerun; renders the sidebar filters.

    `page` is the page's url_path: it decides which query parameters belong in the URL
    and how the sidebar applies (dates come from the calendar and day pages themselves).
    """
    url = settings.effective_database_url
    engine_or_stop(url)
    version = cached.data_version(url)
    tz = settings.display_tz
    today = today_in(tz)
    options = cached.filter_options(url, version)
    _drop_foreign_params(page)
    filters, problems = sidebar_filters(options, today, page=page)
    context = Context(
        settings=settings,
        url=url,
        version=version,
        tz=tz,
        today=today,
        filters=filters,
        health=cached.ingest_health(url, version),
        page=page,
        problems=tuple(problems),
    )
    st.session_state[CONTEXT_KEY] = context
    return context


def current() -> Context:
    """The context `streamlit_app.py` built for this rerun (built here if run alone)."""
    context = st.session_state.get(CONTEXT_KEY)
    if context is None:
        context = build_context(settings_or_stop())
    return context


def _drop_foreign_params(page: str) -> None:
    """Remove another page's parameters (`date` on the calendar after the back button)."""
    allowed = set(FILTER_KEYS) | set(PAGE_PARAMS.get(page, ()))
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


# --- sidebar filters ------------------------------------------------------------------


def _seed(filters: SearchFilters) -> None:
    """Put `filters` into the sidebar widgets (before they are drawn, or in a callback)."""
    state = st.session_state
    state[K_DATES] = (filters.start, filters.end)
    state[K_USERS] = list(filters.users)
    state[K_SOURCES] = list(filters.sources)
    state[K_TYPES] = list(filters.descriptions)
    state[K_TEXT] = filters.text
    state[K_SYSTEM] = filters.include_system


def _current_query() -> dict[str, list[str]]:
    return {key: st.query_params.get_all(key) for key in st.query_params}


def _write_query(filters: SearchFilters) -> None:
    """Mirror `filters` into the URL, leaving a page's own parameters alone."""
    wanted = filters_to_query(filters)
    for key in FILTER_KEYS:
        if key in wanted:
            value = wanted[key]
            if st.query_params.get_all(key) != ([value] if isinstance(value, str) else value):
                st.query_params[key] = value
        elif key in st.query_params:
            del st.query_params[key]
    st.session_state[LAST_QUERY_KEY] = filter_part(wanted)
    st.session_state[LAST_FILTERS_KEY] = filters


def _with_selected(options: tuple[str, ...], selected: list[str]) -> list[str]:
    """Options plus values from a link that are not (yet) in the database."""
    return list(options) + [value for value in selected if value not in options]


def _user_label(email: str) -> str:
    if email == SYSTEM_SENDER:
        return "<> (system)"
    return email or "(empty address)"


def sidebar_filters(
    options: FilterOptions,
    today: date,
    *,
    page: str = "",
) -> tuple[SearchFilters, list[str]]:
    """Draw the filters; return them and any problems with the link's values.

    The URL wins when it changed from outside (a pasted link, the back button); a page
    switch that dropped the query string keeps the filters already chosen.
    """
    state = st.session_state
    incoming = filter_part(_current_query())
    problems: list[str] = []
    if incoming and incoming != state.get(LAST_QUERY_KEY):
        parsed, problems = parse_filters(incoming, today, frozenset(options.users))
        _seed(parsed)
    elif K_DATES not in state:
        _seed(state.get(LAST_FILTERS_KEY) or default_filters(today))

    bar = st.sidebar
    bar.header("Filters")
    note = PAGE_NOTES.get(page)
    unfiltered = page in UNFILTERED_PAGES
    if note:
        bar.caption(note)
    picked = bar.date_input(
        "Dates",
        key=K_DATES,
        min_value=EARLIEST,
        max_value=LATEST,
        format="YYYY-MM-DD",
        disabled=note is not None,
        help="Whole days in the display time zone, both ends included.",
    )
    users = bar.multiselect(
        "Users",
        _with_selected(options.users, state.get(K_USERS, [])),
        key=K_USERS,
        disabled=unfiltered,
        format_func=_user_label,
        placeholder="All users",
    )
    sources = bar.multiselect(
        "Source",
        _with_selected(options.sources, state.get(K_SOURCES, [])),
        key=K_SOURCES,
        disabled=unfiltered,
        placeholder="All sources",
    )
    types = bar.multiselect(
        "Search type",
        _with_selected(options.descriptions, state.get(K_TYPES, [])),
        key=K_TYPES,
        disabled=unfiltered,
        placeholder="All search types",
        help="The description Mimecast gives each search.",
    )
    text = bar.text_input(
        "Search text contains",
        key=K_TEXT,
        disabled=unfiltered,
        max_chars=MAX_TEXT,
        help="Case-insensitive for A–Z; matched anywhere in the search text.",
    )
    include_system = bar.toggle(
        "Include system searches (sender \\<\\>)",
        key=K_SYSTEM,
        disabled=unfiltered,
        help="Searches the system itself made. Included by default so totals match "
        "the archive's own count.",
    )
    previous: SearchFilters = state.get(LAST_FILTERS_KEY) or default_filters(today)
    if isinstance(picked, tuple) and len(picked) == 2:
        start, end = picked
    else:
        start, end = previous.start, previous.end
        bar.caption("Pick the last day of the range.")
    filters = SearchFilters(
        start=start,
        end=end,
        users=tuple(users),
        sources=tuple(sources),
        descriptions=tuple(types),
        text=text.strip(),
        include_system=include_system,
    )
    bar.button(
        "Reset filters",
        on_click=_seed,
        args=(default_filters(today),),
        icon=":material/restart_alt:",
        disabled=unfiltered,
    )
    _write_query(filters)
    return filters, problems


# --- notices --------------------------------------------------------------------------


_navigation = threading.local()


@contextmanager
def navigation_running() -> Iterator[None]:
    """Mark this script run as one that went through `dashboard.app.main`."""
    _navigation.active = True
    try:
        yield
    finally:
        _navigation.active = False


def page_start(title: str) -> Context:
    """Title the page and show the notices every page carries.

    Run on its own by Streamlit's legacy `pages/` mode (see `dashboard/app.py`), a page
    hands over to the real navigation, which runs it again, then stops this run."""
    if not getattr(_navigation, "active", False):
        from dashboard.app import main

        main()
        st.stop()
    context = current()
    st.title(title)
    settings = context.settings
    if is_loopback_url(settings.mimecast_base_url):
        st.info(
            "**Demo data** — MIMECAST\\_BASE\\_URL points at a simulator on this machine "
            f"({escape_markdown(settings.mimecast_base_url)}); these are not real searches.",
            icon=":material/science:",
        )
    if current_setup(settings).mode == "open":
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
    active = describe_filters(context.filters, users=context.page != "user")
    if active and context.page not in UNFILTERED_PAGES:
        st.caption(active)
    return context


def page_problem(message: str) -> None:
    """A one-line warning about a page parameter (plain text, shown literally)."""
    st.warning(escape_markdown(message), icon=":material/link_off:")


def search_columns(time_format: str) -> dict[str, Any]:
    """How a list of searches is shown (the text stays plain: tables never render markup)."""
    return {
        "time": st.column_config.DatetimeColumn("Time", format=time_format),
        "source": st.column_config.TextColumn("Source"),
        "search_text": st.column_config.TextColumn("Search text", width="large"),
        "search_reason": st.column_config.TextColumn("Reason"),
        "description": st.column_config.TextColumn("Search type"),
    }


def audited_download(
    ctx: Context,
    label: str,
    produce: Callable[[], tuple[bytes, int]],
    *,
    action: str,
    target: str | None,
    filters: SearchFilters | Mapping[str, Any] | None,
    file_name: str,
    mime: str,
    where: Any = None,
    disabled: bool = False,
) -> None:
    """A download button whose file is made only when it is asked for, and recorded in
    the audit trail as it is made, with the rows it holds.

    Why not `on_click`: Streamlit serves a file from its media endpoint whether or not the
    click reaches the app, so a client could take the data and leave no entry. Here the
    data is a deferred callable (Streamlit 1.67 runs it when the browser asks for the file,
    on a thread of its own: `MediaFileManager.execute_deferred`), which writes the entry
    before it hands over the bytes; if the entry cannot be written, no file is served. The
    visitor is read now, while the page runs: the callable has no session to read it from.
    """
    who = visitor(ctx.settings)
    engine = ctx.engine

    def data() -> bytes:
        content, rows = produce()
        item = audit.entry(who, action, target=target, filters=filters, rows=rows, detail=file_name)
        audit.record_download(engine, item)
        return content

    (where or st).download_button(
        label,
        data=data,
        file_name=file_name,
        mime=mime,
        on_click="ignore",
        icon=":material/download:",
        disabled=disabled,
    )


def download_searches(
    ctx: Context,
    filters: SearchFilters,
    label: str,
    file_name: str,
    *,
    target: str | None = None,
) -> None:
    """A CSV of every search matching `filters`, streamed from SQL when it is requested
    (`target`: the user or day exported, for the audit trail)."""

    def csv_bytes() -> tuple[bytes, int]:
        return export.csv_with_rows(
            queries.iter_searches(ctx.engine, filters, ctx.tz), queries.SEARCH_COLUMNS
        )

    audited_download(
        ctx,
        label,
        csv_bytes,
        action="export_csv",
        target=target,
        filters=filters,
        file_name=file_name,
        mime="text/csv",
    )


# --- sign-in --------------------------------------------------------------------------


def record_view(
    ctx: Context,
    action: str,
    *,
    target: str | None = None,
    filters: SearchFilters | None = None,
) -> None:
    """Record that this session's visitor sees this view (once, not on every rerun)."""
    who = current_visitor(ctx.settings)
    audit.record_view(ctx.url, who, action, target=target, filters=filters)


def visitor(settings: Settings | None = None) -> Visitor:
    """Who is looking, read afresh from `st.user` and the settings (see `dashboard.auth`)."""
    return current_visitor(settings)


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


def no_access_page(url: str) -> None:
    """Signed in, but on neither list: their address, a way out, and nothing else."""
    who = visitor()
    st.title("No access")
    shown = literal(who.email) if who.email else "an account that gave no e-mail address"
    st.markdown(
        f"You are signed in as {shown}, which has no access to this dashboard. If you "
        "need it, ask the dashboard's administrator to add your address."
    )
    st.button("Sign out", on_click=st.logout, icon=":material/logout:")
    audit.record_view(url, who, "denied", target="dashboard")


def admin_only_page(title: str = "Audit trail", target: str = "audit") -> None:
    """What a viewer gets at an administrator's address such as `/audit` or `/tokens`."""
    ctx = page_start(title)
    st.warning("This page is for administrators only.", icon=":material/lock:")
    audit.record_view(ctx.url, visitor(), "denied", target=target)


def menu(pages: list[StreamlitPage]) -> None:
    """The page menu at the top of the sidebar: the visible pages, the current one marked.

    Drawn here because Streamlit's own menu is switched off (`client.showSidebarNavigation
    = false`): on a new server its legacy `pages/` mode would otherwise show a menu of file
    names ("streamlit app, audit, …") until the first `st.navigation` call."""
    bar = st.sidebar
    for page in pages:
        if page.visibility != "hidden":
            bar.page_link(page, label=page.title, icon=page.icon or None)


def account(who: Visitor) -> None:
    """The signed-in address, role and a sign-out button, at the top of the sidebar."""
    if not who.sign_in:
        return
    bar = st.sidebar
    name = literal(who.email) if who.email else "unknown"
    bar.caption(f":material/account_circle: {name} · {who.role or 'no access'}")
    bar.button("Sign out", on_click=st.logout, icon=":material/logout:", key="sign_out")
