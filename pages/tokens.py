"""`/tokens` — the machine API's bearer tokens, for administrators: list, create, revoke.

A new token is shown once, right after it is made: only its hash is stored. The navigation
gives viewers a refusal at this address; the role is checked here again, and again when
a token is created or revoked.
"""

from __future__ import annotations

import streamlit as st

from dashboard import audit, context, tokens_view, widgets
from dashboard.auth import current_visitor
from dashboard.formatting import TABLE_TIME, escape_markdown
from db.api_tokens import ROLES, TokenError
from db.audit import AuditAction

NEW_TOKEN_KEY = "_new_api_token"
CONFIRM_KEY = "confirm_revoke_token"

ctx = context.page_context()
if audit.require_admin(ctx.db_url, AuditAction.VIEW_TOKENS, target="tokens") is None:
    st.warning("This page is for administrators only.", icon=":material/lock:")
    st.stop()
widgets.record_view(ctx)
platform_admin = current_visitor(ctx.settings).access.platform_admin
scope = tokens_view.tokens_scope(ctx.scope, platform_admin, len(ctx.tenants))

st.caption(
    "Bearer tokens for the machine API (`/api/v1/…`). Only a hash of each token is stored: "
    "a token is shown once, when it is created. `python -m ingest token …` does the same "
    "from a shell."
)

new = st.session_state.pop(NEW_TOKEN_KEY, None)  # shown on this run only, never again
if new is not None:
    name, token = new
    st.warning(
        f"Copy the new token {escape_markdown(name)} now: it is not stored and will not be "
        "shown again. Send it as `Authorization: Bearer <token>`.",
        icon=":material/key:",
    )
    st.code(token, language=None)

table = tokens_view.token_table(ctx.engine, scope)
st.subheader("Tokens")
if table.empty:
    st.info("No token yet: create one below.")
else:
    st.dataframe(
        table,
        hide_index=True,
        width="stretch",
        column_config={
            "name": st.column_config.TextColumn("Name"),
            "tenant": st.column_config.TextColumn("Tenant"),
            "role": st.column_config.TextColumn("Role"),
            "created_at": st.column_config.DatetimeColumn("Created", format=TABLE_TIME),
            "expires_at": st.column_config.DatetimeColumn("Expires", format=TABLE_TIME),
            "state": st.column_config.TextColumn("State"),
        },
    )


def _create() -> None:
    state = st.session_state
    days = int(state.get("token_expires") or 0)
    try:
        token = tokens_view.create(
            ctx.db_url,
            ctx.engine,
            scope,
            state.get("token_name", ""),
            state["token_role"],
            days or None,
            only_tenant=ctx.tenants[0].name if len(ctx.tenants) == 1 else None,
        )
    except (PermissionError, TokenError) as exc:
        state["token_result"] = ("error", str(exc))
        return
    state[NEW_TOKEN_KEY] = (state["token_name"].strip(), token)
    state["token_name"] = ""


def _revoke() -> None:
    state = st.session_state
    name = state.get("token_revoke_name") or ""
    try:
        tokens_view.revoke(ctx.db_url, ctx.engine, scope, name)
    except (PermissionError, TokenError) as exc:
        state["token_result"] = ("error", str(exc))
    else:
        state["token_result"] = ("ok", f"Token {name} revoked: calls with it now get 401.")
    state[CONFIRM_KEY] = False


st.subheader("Create a token")
if scope.is_every_tenant:
    st.caption(
        "A new token is a platform token: it reads every tenant, and names the one it asks "
        "for with `?tenant=` where there are several."
    )
else:
    st.caption(f"A new token reads tenant {escape_markdown(scope.label())} only.")
left, middle, right = st.columns([3, 1, 1])
left.text_input(
    "Name",
    key="token_name",
    max_chars=64,
    help="Letters, digits, '.', '_' or '-': the name the audit trail records for its calls.",
)
middle.selectbox("Role", ROLES, key="token_role")
right.number_input(
    "Expires after (days)",
    min_value=0,
    max_value=3650,
    value=90,
    step=1,
    key="token_expires",
    help="0: never expires.",
)
st.button("Create token", type="primary", on_click=_create, icon=":material/key:")

active = [] if table.empty else list(table.loc[table["state"] == "active", "name"])
st.subheader("Revoke a token")
if not active:
    st.caption("No active token.")
else:
    st.selectbox("Token", active, key="token_revoke_name")
    confirmed = st.checkbox(
        "I understand that programs using this token are refused at once.", key=CONFIRM_KEY
    )
    st.button("Revoke token", disabled=not confirmed, on_click=_revoke, icon=":material/block:")

result = st.session_state.pop("token_result", None)
if result:
    kind, message = result
    (st.success if kind == "ok" else st.error)(escape_markdown(message))
