"""Who sees which tenant (`config.tenant_access`): platform administrators, a tenant's
admins and viewers, global viewers, nobody; and the scope a request may read with."""

from __future__ import annotations

import pytest

from config.settings import load_settings
from config.tenant_access import (
    EVERY_TENANT,
    TenantAccess,
    access_for,
    platform_access,
    tenant_access_lists,
)
from config.tenants import Tenant
from db.scope import TenantScope

SETTINGS = load_settings(
    {"ADMIN_EMAILS": "root@msp.example", "VIEWER_EMAILS": "@soc.msp.example, noc@msp.example"}
)


def _tenant(name: str, admins: tuple[str, ...] = (), viewers: tuple[str, ...] = ()) -> Tenant:
    return Tenant(
        name=name,
        display_name=name,
        base_url="https://api.services.mimecast.com",
        client_id="id",
        client_secret="not-a-real-secret",
        initial_backfill_days=30,
        lookback_seconds=7200,
        reconcile_days=3,
        admins=admins,
        viewers=viewers,
    )


TENANTS = (
    _tenant("acme", admins=("boss@acme.example",), viewers=("@acme.example",)),
    _tenant("globex", admins=("boss@globex.example",), viewers=("hank@acme.example",)),
    _tenant("initech"),
)


def _access(email: str | None) -> TenantAccess:
    return access_for(email, SETTINGS, TENANTS)


def test_platform_admin_sees_and_administers_every_tenant():
    access = _access("Root@MSP.example")
    assert access.platform_admin
    assert access.viewable == access.administered == ("acme", "globex", "initech")
    assert access.scope_for(EVERY_TENANT) == TenantScope.every_tenant()


def test_tenant_admin_administers_and_views_only_their_tenant():
    access = _access("boss@acme.example")
    assert (access.viewable, access.administered) == (("acme",), ("acme",))
    assert not access.platform_admin
    assert [access.role_in(name) for name in ("acme", "globex")] == ["admin", None]


def test_tenant_viewer_views_only_the_tenants_that_list_them():
    assert _access("ann@acme.example").viewable == ("acme",)
    hank = _access("hank@acme.example")  # acme by domain, globex by address
    assert (hank.viewable, hank.administered) == (("acme", "globex"), ())
    assert hank.role_in("globex") == "viewer"


def test_global_viewer_views_every_tenant_but_administers_none():
    for email in ("noc@msp.example", "eve@soc.msp.example"):
        access = _access(email)
        assert access.viewable == ("acme", "globex", "initech")
        assert access.administered == () and not access.platform_admin
        assert access.scope_for(EVERY_TENANT) is None


@pytest.mark.parametrize(
    "email",
    [
        None,
        "",
        "stranger@example.com",
        "ann@sub.acme.example",  # a domain entry covers that domain, not its subdomains
        "\u212aate@acme.example",  # a Kelvin sign is not a K
        "boss@acme.example\u3000",  # nor is an ideographic space a blank
        "root@msp.example.evil.example",
    ],
)
def test_someone_on_no_list_sees_nothing(email):
    access = _access(email)
    assert access.sees_nothing and access.administered == () and not access.platform_admin
    assert access.scope_for(None) is None
    assert all(access.scope_for(name) is None for name in ("acme", "globex", EVERY_TENANT))


@pytest.mark.parametrize(
    ("email", "requested", "expected"),
    [
        ("ann@acme.example", None, TenantScope.one("acme")),  # their only tenant
        ("ann@acme.example", "acme", TenantScope.one("acme")),
        ("hank@acme.example", None, None),  # two tenants: the caller must ask which
        ("hank@acme.example", "globex", TenantScope.one("globex")),
        ("root@msp.example", None, None),
        ("root@msp.example", "initech", TenantScope.one("initech")),
        ("root@msp.example", EVERY_TENANT, TenantScope.every_tenant()),
        ("boss@acme.example", EVERY_TENANT, None),
        ("root@msp.example", "ACME", None),  # names are exact
        ("root@msp.example", "", None),
        ("root@msp.example", "acme' OR 1=1", None),
    ],
)
def test_scope_for_follows_the_documented_rules(email, requested, expected):
    assert _access(email).scope_for(requested) == expected


def test_a_hidden_tenant_is_answered_exactly_like_one_that_does_not_exist():
    access = _access("ann@acme.example")
    assert access.scope_for("globex") == access.scope_for("no-such-tenant") is None
    assert not access.may_view("globex") and not access.may_view("no-such-tenant")


def test_a_platform_admin_with_one_tenant_gets_it_unasked():
    access = access_for("root@msp.example", SETTINGS, TENANTS[:1])
    assert access.scope_for(None) == TenantScope.one("acme")


def test_platform_access_is_everything_for_an_open_dashboard_or_a_platform_token():
    access = platform_access(TENANTS)
    assert access == _access("root@msp.example")


def test_tenant_access_lists_names_every_list_that_is_set():
    assert tenant_access_lists(TENANTS) == (
        "TENANTS_FILE: tenant 'acme' admins",
        "TENANTS_FILE: tenant 'acme' viewers",
        "TENANTS_FILE: tenant 'globex' admins",
        "TENANTS_FILE: tenant 'globex' viewers",
    )
