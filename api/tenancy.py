"""Which tenant a call reads: the token's own, or the one `?tenant=` names.

A token scoped to a tenant reads that tenant only; a platform token (no tenant, admin only)
reads any configured tenant and must name it when there are several. Asking for a tenant
the token may not read is answered exactly like asking for one that does not exist, so
an answer cannot tell whether another tenant exists. The rules themselves are
`config.tenant_access.TenantAccess.scope_for`, the dashboard's.
"""

from __future__ import annotations

from collections.abc import Sequence

from api.problems import ApiProblem
from api.spec import Param
from config.tenant_access import EVERY_TENANT, TenantAccess
from db.api_tokens import Caller
from db.scope import TenantScope

P_TENANT = Param(
    "tenant",
    "string",
    "the tenant to read (its name in TENANTS_FILE): a scoped token reads its own tenant "
    "and may leave this out; a platform token must name one when there are several, or "
    f"`{EVERY_TENANT}` for every tenant at once",
)


def token_access(caller: Caller, configured: Sequence[str]) -> TenantAccess:
    """What a token may read: its tenant (while it is configured), or every tenant for a
    platform token, which is an admin token; a platform viewer token reads nothing."""
    if caller.tenant is None:
        names = tuple(configured) if caller.is_admin else ()
        return TenantAccess(viewable=names, administered=names, platform_admin=bool(names))
    names = tuple(name for name in configured if name == caller.tenant)
    return TenantAccess(viewable=names, administered=names if caller.is_admin else ())


NO_SUCH_TENANT = "no such tenant: name a tenant this token may read, or leave `tenant` out"
"""The one answer for a tenant that does not exist and for one the token may not read: it
does not repeat the name asked for, so the two answers are the same bytes."""


def call_scope(caller: Caller, configured: Sequence[str], requested: str | None) -> TenantScope:
    """The scope of a call by `caller` asking for `requested` (None: not named); a 400
    problem when a platform token must name the tenant, a 404 when it may not read it."""
    access = token_access(caller, configured)
    scope = access.scope_for(requested)
    if scope is not None:
        return scope
    if requested is not None:
        raise ApiProblem(404, NO_SUCH_TENANT)
    if len(access.viewable) > 1:
        raise ApiProblem(
            400,
            f"name the tenant: this installation has {len(access.viewable)} tenants, so a "
            f"platform token adds ?tenant=NAME (one of {', '.join(access.viewable)})",
        )
    if caller.tenant is not None:
        raise ApiProblem(404, NO_SUCH_TENANT)
    raise ApiProblem(
        404, "this platform token reads no tenant: only admin tokens are platform tokens"
    )
