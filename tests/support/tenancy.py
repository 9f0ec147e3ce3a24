"""The one tenant the tests write and read while the product has one (issue 16, phase 1),
and the every-tenant scope of a platform administrator."""

from __future__ import annotations

from db.scope import DEFAULT_TENANT, TenantScope

TENANT = DEFAULT_TENANT
SCOPE = TenantScope.one(TENANT)
EVERY = TenantScope.every_tenant()
