"""Who may see and administer which tenant, decided once from the address and the lists.

Platform administrators (`ADMIN_EMAILS`) see every tenant, may do everything and may use the
every-tenant scope. A tenant's `admins` administer and view that tenant only; its `viewers`
view it only. `VIEWER_EMAILS` view every tenant without administering any. Anyone on no
list sees nothing. Plain functions of the settings and the tenants, like
`dashboard.auth.role_for`, so the rules are tested without Streamlit or a server.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from config.addresses import canonical_address
from config.settings import Settings
from config.tenants import Tenant
from db.scope import TenantScope, is_tenant_name

EVERY_TENANT = "*"
"""What a request names to ask for every tenant at once (`TenantScope.label()` of it)."""


def matches(email: str | None, entries: Iterable[str]) -> bool:
    """Whether `email` is one of the canonical `entries` (an address, or `@domain` for that
    exact domain); an address outside the canonical form matches nothing."""
    address = canonical_address(email) if email else None
    if address is None:
        return False
    listed = set(entries)
    return address in listed or "@" + address.rsplit("@", 1)[1] in listed


@dataclass(frozen=True)
class TenantAccess:
    """What one person may do: tenants' names in the tenants file's order."""

    viewable: tuple[str, ...]
    administered: tuple[str, ...]
    platform_admin: bool = False

    @property
    def sees_nothing(self) -> bool:
        return not self.viewable

    def may_view(self, tenant: str) -> bool:
        return tenant in self.viewable

    def may_administer(self, tenant: str) -> bool:
        return tenant in self.administered

    def role_in(self, tenant: str) -> Literal["admin", "viewer"] | None:
        """The dashboard's role inside one tenant: "admin", "viewer" or None."""
        if self.may_administer(tenant):
            return "admin"
        return "viewer" if self.may_view(tenant) else None

    def scope_for(self, requested: str | None) -> TenantScope | None:
        """The scope a request may read with, or None: answer "not found" (or, when
        nothing was requested, ask which tenant). The rules:

        - a tenant this person may view: that tenant;
        - a tenant that does not exist, one they may not view, or text that is no tenant
          name: None, the same None, so an answer cannot tell whether the tenant exists;
        - `EVERY_TENANT` ("*"): every tenant for a platform administrator, else None;
        - nothing requested: their only tenant when they see exactly one, else None
          (several: the caller asks which, or picks one and says so; none: no access).
        """
        if requested is None:
            return TenantScope.one(self.viewable[0]) if len(self.viewable) == 1 else None
        if requested == EVERY_TENANT:
            return TenantScope.every_tenant() if self.platform_admin else None
        if is_tenant_name(requested) and requested in self.viewable:
            return TenantScope.one(requested)
        return None


def platform_access(tenants: Iterable[Tenant]) -> TenantAccess:
    """Everything, for a platform administrator, a platform token, or the dashboard open
    without sign-in (where everyone is an administrator, as before tenants)."""
    names = tuple(tenant.name for tenant in tenants)
    return TenantAccess(viewable=names, administered=names, platform_admin=True)


def access_for(email: str | None, settings: Settings, tenants: Iterable[Tenant]) -> TenantAccess:
    """What the person signed in as `email` may see and do (nothing without an address)."""
    tenants = tuple(tenants)
    if matches(email, settings.admin_emails):
        return platform_access(tenants)
    everywhere = matches(email, settings.viewer_emails)
    administered = tuple(t.name for t in tenants if matches(email, t.admins))
    viewable = tuple(
        t.name for t in tenants if everywhere or t.name in administered or matches(email, t.viewers)
    )
    return TenantAccess(viewable=viewable, administered=administered)


def tenant_access_lists(tenants: Iterable[Tenant]) -> tuple[str, ...]:
    """Which tenants' lists are set, named as a message would (`TENANTS_FILE: tenant
    'acme' admins`): sign-in must then be configured, as for ADMIN_EMAILS."""
    return tuple(
        f"TENANTS_FILE: tenant {tenant.name!r} {key}"
        for tenant in tenants
        for key, entries in (("admins", tenant.admins), ("viewers", tenant.viewers))
        if entries
    )
