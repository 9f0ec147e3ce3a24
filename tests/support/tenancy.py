"""The one tenant the tests write and read while the product has one (issue 16, phase 1),
and the every-tenant scope of a platform administrator."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from db.scope import DEFAULT_TENANT, TenantScope

TENANT = DEFAULT_TENANT
SCOPE = TenantScope.one(TENANT)
EVERY = TenantScope.every_tenant()


def write_tenants_file(folder: Path, tenants: Mapping[str, str]) -> Path:
    """A TENANTS_FILE in `folder`, one table per name -> display name, in the mapping's
    order; each secret from the variable `<NAME>_SECRET`."""
    lines = []
    for name, display in tenants.items():
        lines += [
            "[[tenant]]",
            f'name = "{name}"',
            f'display_name = "{display}"',
            f'client_id = "{name}-id"',
            f'client_secret_env = "{name.upper()}_SECRET"',
        ]
    path = folder / "tenants.toml"
    path.write_text("\n".join(lines) + "\n")
    return path
