"""Which tenant this session reads: the `tenant=` URL parameter, the sidebar's picker, and
the answer to a tenant the visitor may not see.

The choice is made once per rerun by the frame, before anything is read, from the URL
(so a link or a bookmark keeps its tenant), else what this session last showed, else the
visitor's first tenant. A tenant that does not exist and one the visitor may not see get
the same answer, word for word, and the same audit row: nothing tells them apart.
"""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

from config.tenant_access import EVERY_TENANT, TenantAccess
from config.tenants import Tenant
from dashboard.filters import shown
from dashboard.formatting import escape_markdown
from db.scope import TenantScope

P_TENANT = "tenant"
"""The query parameter naming the tenant (`*`: all tenants, platform administrators only)."""
PICKER_KEY = "tenant_picker"
LAST_KEY = "_last_tenant"
ALL_TENANTS = "All tenants"
NOT_OPEN = "No tenant of that name is open to you"
"""The one answer to a tenant that does not exist and to one the visitor may not see."""
WAY_BACK = {True: "pick one in the sidebar.", False: "open a page from the menu to see yours."}
"""What to do next: it depends on the visitor (a picker or not), never on the tenant named."""


@dataclass(frozen=True)
class TenantChoice:
    """The outcome of one rerun's choice: the scope (None: refused), the picker's entries
    (empty: no picker, one tenant to see) and the value the URL carries."""

    scope: TenantScope | None
    entries: tuple[str, ...]
    requested: str | None


def picker_entries(access: TenantAccess) -> tuple[str, ...]:
    """The tenants the picker offers: only those the visitor may see, "All tenants" first
    for a platform administrator; none when there is only one to see."""
    if len(access.viewable) < 2:
        return ()
    every = (EVERY_TENANT,) if access.platform_admin else ()
    return every + access.viewable


def choose(access: TenantAccess, requested: str | None, remembered: str | None) -> TenantChoice:
    """The scope for a URL's `tenant=` (`requested`) and the session's last one.

    A requested tenant is taken or refused (`access.scope_for`); without one, the session's
    last tenant if still allowed, else the visitor's first tenant (a platform
    administrator with several tenants starts on the first, not on all of them)."""
    entries = picker_entries(access)
    if requested is not None:
        return TenantChoice(access.scope_for(requested), entries, requested)
    for candidate in (remembered, *access.viewable[:1]):
        scope = access.scope_for(candidate) if candidate is not None else None
        if scope is not None:
            return TenantChoice(scope, entries, scope.label() if entries else None)
    return TenantChoice(None, entries, None)


def entry_label(entry: str, tenants: tuple[Tenant, ...]) -> str:
    """How the picker shows an entry: the tenant's display name, or "All tenants"."""
    if entry == EVERY_TENANT:
        return ALL_TENANTS
    return next((t.display_name for t in tenants if t.name == entry), entry)


def session_choice(access: TenantAccess) -> TenantChoice:
    """This rerun's choice from the URL and the session; a chosen tenant goes into the URL
    when there is a picker, so a copied link keeps it."""
    requested = st.query_params.get(P_TENANT)
    choice = choose(access, requested, st.session_state.get(LAST_KEY))
    if choice.scope is not None:
        st.session_state[LAST_KEY] = choice.scope.label()
        if choice.entries and requested is None:
            st.query_params[P_TENANT] = choice.scope.label()
    return choice


def _picked() -> None:
    st.query_params[P_TENANT] = st.session_state[PICKER_KEY]


def picker(choice: TenantChoice, tenants: tuple[Tenant, ...]) -> None:
    """The sidebar's tenant picker (not drawn when there is one tenant to see)."""
    if not choice.entries:
        return
    current = choice.scope.label() if choice.scope is not None else None
    st.session_state[PICKER_KEY] = current
    st.sidebar.selectbox(
        "Tenant",
        choice.entries,
        key=PICKER_KEY,
        format_func=lambda entry: entry_label(entry, tenants),
        on_change=_picked,
        placeholder="Pick a tenant",
    )


def refusal(choice: TenantChoice) -> str:
    """The one message for a tenant that is not open to this visitor (plain text)."""
    named = f"tenant={shown(choice.requested)}" if choice.requested is not None else "Tenant"
    return f"{named}: {NOT_OPEN}: {WAY_BACK[bool(choice.entries)]}"


def show_refusal(choice: TenantChoice) -> None:
    st.warning(escape_markdown(refusal(choice)), icon=":material/link_off:")
