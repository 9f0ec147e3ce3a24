"""Which tenants a question may see: the one place tenant isolation is enforced.

Every read of a tenant's data takes a `TenantScope`: one tenant (`TenantScope.one`), or
every tenant (`TenantScope.every_tenant`), which only a platform administrator's session or
a platform token reaches. A scope is required, never defaulted, so no page, endpoint or
export can forget it or build a tenant filter of its own: they ask `scope.where(column)`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, true

DEFAULT_TENANT = "default"
"""The tenant the `MIMECAST_*` settings define when there is no tenants file, and the one
every row of a database written before tenants moves under."""

TENANT_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")
"""A tenant's name, the key everywhere: letters, digits, '-' and '_', at most 64."""


def is_tenant_name(value: object) -> bool:
    return isinstance(value, str) and TENANT_NAME.fullmatch(value) is not None


@dataclass(frozen=True)
class TenantScope:
    """One tenant (`name`), or every tenant (`name` is None, through `every_tenant`)."""

    name: str | None

    @staticmethod
    def one(name: str) -> TenantScope:
        if not is_tenant_name(name):
            raise ValueError(f"not a tenant name: {name!r}")
        return TenantScope(name)

    @staticmethod
    def every_tenant() -> TenantScope:
        """All tenants at once: for platform administrators only (the caller checks)."""
        return TenantScope(None)

    @property
    def is_every_tenant(self) -> bool:
        return self.name is None

    def where(self, column: Any) -> ColumnElement[bool]:
        """The condition that keeps `column` (a `tenant` column) inside this scope."""
        if self.name is None:
            return true()
        return column == self.name

    def allows(self, tenant: str | None) -> bool:
        """Whether a row of `tenant` is inside this scope."""
        return self.name is None or tenant == self.name

    def label(self) -> str:
        """For audit rows and messages: the tenant's name, or "*" for every tenant."""
        return "*" if self.name is None else self.name
