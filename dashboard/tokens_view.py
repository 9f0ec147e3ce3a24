"""The API tokens page's logic: the list as shown (never a token or its hash), creating a
token and revoking one as an administrator checked when the action runs, each with its
audit entry in the same transaction (no entry, no change).

Everything happens in the session's tenant scope: a tenant administrator lists, makes and
revokes that tenant's tokens only; a platform administrator's "All tenants" view lists
every token and makes platform tokens (no tenant)."""

from __future__ import annotations

from datetime import datetime
from typing import TypeGuard

import pandas as pd
from sqlalchemy import Engine

from dashboard import audit
from dashboard.auth import Visitor
from db import api_tokens
from db.api_tokens import TokenError
from db.audit import AuditAction
from db.models import utc_now
from db.scope import TenantScope

TOKEN_COLUMNS = ("name", "tenant", "role", "created_at", "expires_at", "state")
PLATFORM = "(all tenants)"
"""How the list names a platform token's tenant."""


def tokens_scope(session: TenantScope, platform_admin: bool, tenants: int) -> TenantScope:
    """The tokens the page lists and makes: the session's tenant's, except that a platform
    administrator of a one-tenant installation lists every token, platform ones included
    (admin tokens made without a tenant, as `token create` makes them)."""
    return TenantScope.every_tenant() if platform_admin and tenants == 1 else session


def _administers(admin: Visitor | None, scope: TenantScope) -> TypeGuard[Visitor]:
    """Checked when the action runs: platform tokens are a platform administrator's."""
    if admin is None:
        return False
    return admin.access.platform_admin or not scope.is_every_tenant


def token_table(engine: Engine, scope: TenantScope, now: datetime | None = None) -> pd.DataFrame:
    """The tokens of `scope`: name, tenant, role, created, expires, state (active, expired
    or revoked)."""
    now = now or utc_now()
    tokens = api_tokens.list_tokens(engine, scope)
    return pd.DataFrame(
        [
            (t.name, t.tenant or PLATFORM, t.role, t.created_at, t.expires_at, t.state(now))
            for t in tokens
        ],
        columns=list(TOKEN_COLUMNS),
    )


def token_tenant(scope: TenantScope, role: str, only_tenant: str | None) -> str | None:
    """The tenant a new token reads: the scope's; in the every-tenant scope an admin token
    is a platform token and any other reads the installation's only tenant (as `token
    create` decides), or is refused when there are several."""
    if scope.name is not None or role == "admin":
        return scope.name
    if only_tenant is None:
        raise TokenError(f"a {role} token reads one tenant: pick the tenant first")
    return only_tenant


def create(
    url: str,
    engine: Engine,
    scope: TenantScope,
    name: str,
    role: str,
    expires_days: int | None,
    only_tenant: str | None = None,
) -> str:
    """A new token of `scope`'s tenant (see `token_tenant` for the every-tenant scope) for
    its administrator (checked now); the token is returned once and never recorded. Raises
    PermissionError for anyone else, TokenError for a bad request or when the change or
    its entry cannot be written (then no token exists)."""
    name = name.strip()
    admin = audit.require_admin(url, AuditAction.TOKEN_CREATE, target=name or None)
    if not _administers(admin, scope):
        raise PermissionError("Only administrators can create API tokens.")
    detail = api_tokens.creation_detail(role, expires_days)
    entry = audit.entry(admin, AuditAction.TOKEN_CREATE, target=name, detail=detail)
    with audit.all_or_nothing(AuditAction.TOKEN_CREATE, TokenError):
        return api_tokens.create_token(
            engine,
            name,
            role,
            tenant=token_tenant(scope, role, only_tenant),
            expires_days=expires_days,
            audited=entry,
        )


def revoke(url: str, engine: Engine, scope: TenantScope, name: str) -> None:
    """Revoke `name`, a token of `scope`, for its administrator (checked now); the next
    call with it gets 401. TokenError for a token outside `scope` (the same words as for
    one that does not exist), or when the change or its entry cannot be written (the
    token stays active)."""
    admin = audit.require_admin(url, AuditAction.TOKEN_REVOKE, target=name or None)
    if not _administers(admin, scope):
        raise PermissionError("Only administrators can revoke API tokens.")
    if not name:
        raise TokenError("pick the token to revoke first")
    if name not in {token.name for token in api_tokens.list_tokens(engine, scope)}:
        # the words of a token that does not exist: a name outside the scope reveals nothing
        raise TokenError(f"no token named {name!r}: `token list` shows the names")
    entry = audit.entry(admin, AuditAction.TOKEN_REVOKE, target=name, detail="revoked")
    with audit.all_or_nothing(AuditAction.TOKEN_REVOKE, TokenError):
        api_tokens.revoke_token(engine, name, audited=entry)
