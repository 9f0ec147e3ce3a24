"""The sidebar: the page menu, the account box and the search filters.

The filters live in the URL (`from`, `to` or `range`, `user`, …) so a copied link
reproduces the view; the session remembers them across page switches that drop the query
string. A date preset (`range=7d`) is kept as the preset: its days follow "today".
"""

from __future__ import annotations

from datetime import date

import streamlit as st
from streamlit.navigation.page import StreamlitPage

from dashboard import routes
from dashboard.auth import Visitor
from dashboard.filters import (
    EARLIEST,
    FILTER_KEYS,
    LATEST,
    MAX_TEXT,
    PRESETS,
    default_filters,
    filter_part,
    filters_to_query,
    parse_filters,
    preset_days,
    preset_in,
)
from dashboard.formatting import literal
from dashboard.routes import Route
from db.queries import SYSTEM_SENDER, FilterOptions, SearchFilters
from db.scope import TenantScope

LAST_QUERY_KEY = "_filters_query"
LAST_FILTERS_KEY = "_filters"
LAST_PRESET_KEY = "_filters_preset"
K_DATES, K_RANGE, K_USERS, K_SOURCES, K_TYPES, K_TEXT, K_SYSTEM = (
    "filter_dates",
    "filter_range",
    "filter_users",
    "filter_sources",
    "filter_types",
    "filter_text",
    "filter_system",
)


def _seed(filters: SearchFilters, preset: str | None = None) -> None:
    """Put `filters` (and the date `preset` that chose their days) into the sidebar
    widgets (before they are drawn, or in a callback)."""
    state = st.session_state
    state[K_DATES] = (filters.start, filters.end)
    state[K_RANGE] = preset
    state[K_USERS] = list(filters.users)
    state[K_SOURCES] = list(filters.sources)
    state[K_TYPES] = list(filters.descriptions)
    state[K_TEXT] = filters.text
    state[K_SYSTEM] = filters.include_system


def _apply_preset(today: date) -> None:
    """A preset was picked: its days go into the date picker (un-picking keeps them)."""
    preset = st.session_state.get(K_RANGE)
    if preset in PRESETS:
        st.session_state[K_DATES] = preset_days(preset, today)


def _dates_picked() -> None:
    """Days picked by hand are no preset any more: the link carries them as `from`/`to`."""
    st.session_state[K_RANGE] = None


def _follow_today(today: date) -> None:
    """A preset's days move with the date (a session left open past midnight)."""
    state = st.session_state
    preset = state.get(K_RANGE)
    if preset in PRESETS and state.get(K_DATES) != preset_days(preset, today):
        state[K_DATES] = preset_days(preset, today)


def chosen_preset() -> str | None:
    """The date preset behind this run's filters (None: days picked or linked as dates)."""
    return st.session_state.get(LAST_PRESET_KEY)


def _current_query() -> dict[str, list[str]]:
    return {key: st.query_params.get_all(key) for key in st.query_params}


def _write_query(filters: SearchFilters, preset: str | None) -> None:
    """Mirror `filters` into the URL, leaving a page's own parameters alone."""
    wanted = filters_to_query(filters, preset)
    for key in FILTER_KEYS:
        if key in wanted:
            value = wanted[key]
            if st.query_params.get_all(key) != ([value] if isinstance(value, str) else value):
                st.query_params[key] = value
        elif key in st.query_params:
            del st.query_params[key]
    st.session_state[LAST_QUERY_KEY] = filter_part(wanted)
    st.session_state[LAST_FILTERS_KEY] = filters
    st.session_state[LAST_PRESET_KEY] = preset


def _with_selected(options: tuple[str, ...], selected: list[str]) -> list[str]:
    """Options plus values from a link that are not (yet) in the database."""
    return list(options) + [value for value in selected if value not in options]


def _user_label(email: str) -> str:
    if email == SYSTEM_SENDER:
        return "<> (system)"
    return email or "(empty address)"


def sidebar_filters(
    options: FilterOptions,
    scope: TenantScope,
    today: date,
    route: Route = routes.SUMMARY,
) -> tuple[SearchFilters, list[str]]:
    """Draw the filters; return them (inside `scope`) and any problems with the link's
    values.

    The URL wins when it changed from outside (a pasted link, the back button); a page
    switch that dropped the query string keeps the filters already chosen.
    """
    state = st.session_state
    incoming = filter_part(_current_query())
    problems: list[str] = []
    if incoming and incoming != state.get(LAST_QUERY_KEY):
        parsed, problems = parse_filters(incoming, scope, today, frozenset(options.users))
        _seed(parsed, preset_in(incoming))
    elif K_DATES not in state:
        _seed(
            state.get(LAST_FILTERS_KEY) or default_filters(scope, today),
            state.get(LAST_PRESET_KEY),
        )
    _follow_today(today)

    bar = st.sidebar
    bar.header("Filters")
    note = route.note
    unfiltered = not route.filtered
    if note:
        bar.caption(note)
    picked = bar.date_input(
        "Dates",
        key=K_DATES,
        min_value=EARLIEST,
        max_value=LATEST,
        format="YYYY-MM-DD",
        disabled=note is not None,
        on_change=_dates_picked,
        help="Whole days in the display time zone, both ends included. A preset below is "
        'counted back from today whenever the page or its link is opened ("Last 24 hours": '
        "yesterday and today).",
    )
    bar.pills(
        "Date presets",
        list(PRESETS),
        key=K_RANGE,
        format_func=PRESETS.__getitem__,
        on_change=_apply_preset,
        args=(today,),
        disabled=note is not None,
        label_visibility="collapsed",
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
    previous: SearchFilters = state.get(LAST_FILTERS_KEY) or default_filters(scope, today)
    if isinstance(picked, tuple) and len(picked) == 2:
        start, end = picked
    else:
        start, end = previous.start, previous.end
        bar.caption("Pick the last day of the range.")
    filters = SearchFilters(
        scope=scope,
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
        args=(default_filters(scope, today),),
        icon=":material/restart_alt:",
        disabled=unfiltered,
    )
    preset = state.get(K_RANGE)
    _write_query(filters, preset if preset in PRESETS else None)
    return filters, problems


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
