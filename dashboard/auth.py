"""Who is looking at the dashboard, and what they may do.

Sign-in is Streamlit's own OpenID Connect (`st.login`), switched on by an `[auth]` section
in `.streamlit/secrets.toml`. Who sees and administers which tenant comes from ADMIN_EMAILS,
VIEWER_EMAILS and the tenants' `admins` and `viewers` (`config.tenant_access`); a visitor's
role is their role in the session's tenant scope. Only when nothing about sign-in is
configured (no `[auth]`, no access list, one tenant) is the dashboard open, with everyone
an administrator; a broken configuration, or several tenants without sign-in, gives no role
to anyone (see `dashboard.notices.sign_in_setup`). These are plain functions of the identity
claims and the settings, so the rules are tested without Streamlit; `dashboard.frame`
feeds them `st.user` on every run and at the moment of every admin action.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any, Literal
from urllib.parse import urlparse

import streamlit as st
from streamlit import config as st_config

from config.addresses import canonical_address
from config.settings import ConfigError, Settings, load_settings
from config.tenant_access import TenantAccess, access_for, platform_access, tenant_access_lists
from config.tenants import Tenant, load_tenants
from dashboard.notices import SignInSetup, sign_in_setup
from db.scope import TenantScope

Role = Literal["admin", "viewer"]
ANONYMOUS = "anonymous (sign-in not configured)"
"""The actor named in the audit trail when nobody can sign in."""

CLAIMS = ("is_logged_in", "iss", "email", "email_verified", "xms_edov")
"""The identity claims read (plus the one EMAIL_CLAIM names): never a token."""
ENTRA_ISSUER_HOSTS = frozenset(
    {
        "login.microsoftonline.com",
        "sts.windows.net",
        "login.microsoftonline.us",
        "login.partner.microsoftonline.cn",
        "sts.chinacloudapi.cn",
    }
)
"""Microsoft Entra ID's issuers (v2.0 and v1 tokens, public and national clouds)."""
SCOPE_KEY = "_tenant_scope"
"""Where the frame keeps the session's tenant scope for this run (re-checked on every read)."""
NO_ACCESS = TenantAccess(viewable=(), administered=())


def matches(email: str, entries: tuple[str, ...]) -> bool:
    """Whether `email` is one of `entries` (an address, or `@domain` for its whole domain).

    Compared in the canonical form (`config.addresses`): any case of ASCII letters, but
    nothing outside ASCII; a domain entry covers that exact domain, not its subdomains.
    """
    address = canonical_address(email)
    if address is None:
        return False
    domain = "@" + address.rsplit("@", 1)[1]
    return address in entries or domain in entries


def role_for(email: str | None, settings: Settings) -> Role | None:
    """ "admin", "viewer", or None for an address on neither list (admin wins over viewer)."""
    if not email:
        return None
    if matches(email, settings.admin_emails):
        return "admin"
    if matches(email, settings.viewer_emails):
        return "viewer"
    return None


def is_entra_issuer(issuer: object) -> bool:
    """Whether the token comes from Microsoft Entra ID (by its `iss` claim's host)."""
    if not isinstance(issuer, str):
        return False
    try:
        host = urlparse(issuer.strip()).hostname
    except ValueError:
        return False
    return host in ENTRA_ISSUER_HOSTS


def email_of(claims: Mapping[str, Any], claim: str = "email") -> str | None:
    """The signed-in address from the identity token's claims, canonical, or None.

    `claim` is EMAIL_CLAIM. The `email` claim counts only when the provider does not call
    it unverified: only a boolean `true` counts as verified (a string "false" is truthy);
    an absent `email_verified` is accepted, as Entra ID sends none. Entra ID lets a guest
    or an account of an unverified domain carry any `email` ("nOAuth"), so from an Entra
    issuer it counts only with `xms_edov` exactly `true` (the domain owner verified it).
    `preferred_username` or `upn`, when EMAIL_CLAIM names them, are the tenant's own
    sign-in names. An address outside the canonical form counts as none.
    """
    value = claims.get(claim)
    if not isinstance(value, str):
        return None
    if claim == "email":
        if claims.get("email_verified", True) is not True:
            return None
        if is_entra_issuer(claims.get("iss")) and claims.get("xms_edov") is not True:
            return None
    return canonical_address(value)


@dataclass(frozen=True)
class Visitor:
    """The person behind one browser session, as far as the dashboard knows them: what
    they may see (`access`) and the tenant scope this session reads (`scope`, None until
    the frame has chosen one, or when the URL names a tenant they may not see)."""

    sign_in: bool  # is sign-in configured at all?
    signed_in: bool
    email: str | None
    access: TenantAccess = NO_ACCESS
    scope: TenantScope | None = None

    @property
    def actor(self) -> str:
        """Who the audit trail names: the address, or the anonymous marker."""
        if not self.sign_in:
            return ANONYMOUS
        return self.email or "unknown (signed in without an e-mail address)"

    def role_in(self, scope: TenantScope) -> Role | None:
        """The role in `scope`: the every-tenant scope is a platform administrator's only."""
        if scope.is_every_tenant:
            return "admin" if self.access.platform_admin else None
        return self.access.role_in(scope.label())

    @property
    def role(self) -> Role | None:
        """The role in the session's scope; before one is chosen, the highest anywhere."""
        if self.scope is not None:
            return self.role_in(self.scope)
        if self.access.platform_admin or self.access.administered:
            return "admin"
        return "viewer" if self.access.viewable else None

    @property
    def is_admin(self) -> bool:
        """Whether they administer the session's scope (no scope: nothing to administer)."""
        return self.scope is not None and self.role_in(self.scope) == "admin"

    @property
    def may_view(self) -> bool:
        return not self.access.sees_nothing

    @property
    def tenant(self) -> str | None:
        """The tenant the audit trail records: None for the every-tenant view or none."""
        return None if self.scope is None else self.scope.name

    def within(self, scope: TenantScope | None) -> Visitor:
        """This visitor reading `scope`, kept only if they may (else no scope at all)."""
        allowed = scope is not None and self.role_in(scope) is not None
        return replace(self, scope=scope if allowed else None)


def visitor_for(
    sign_in: bool,
    claims: Mapping[str, Any],
    settings: Settings,
    tenants: tuple[Tenant, ...] | None = None,
) -> Visitor:
    """The visitor for `st.user`'s claims: without sign-in configured, an anonymous admin
    of every tenant. The scope is their only tenant when they see exactly one."""
    if tenants is None:
        tenants = load_tenants(settings, {})
    if not sign_in:
        visitor = Visitor(
            sign_in=False, signed_in=False, email=None, access=platform_access(tenants)
        )
    elif claims.get("is_logged_in") is not True:
        return Visitor(sign_in=True, signed_in=False, email=None)
    else:
        email = email_of(claims, settings.email_claim)
        visitor = Visitor(True, True, email, access_for(email, settings, tenants))
    return visitor.within(visitor.access.scope_for(None))


def current_setup(settings: Settings, tenants: tuple[Tenant, ...] = ()) -> SignInSetup:
    """Sign-in as configured now: `st.secrets` (from the files Streamlit reads, its
    `secrets.files` option) and which access lists are set. Several tenants with no list at
    all stay open, as one tenant does: open means nothing about sign-in is configured, on
    loopback, with the notice saying that anyone who can reach it sees every search; a
    tenant's `admins` or `viewers` list is sign-in configuration and closes it without
    `[auth]` (fail closed)."""
    files = [str(path) for path in st_config.get_option("secrets.files") or ()]
    lists = [
        name
        for name, entries in (
            ("ADMIN_EMAILS", settings.admin_emails),
            ("VIEWER_EMAILS", settings.viewer_emails),
        )
        if entries
    ]
    lists += tenant_access_lists(tenants)
    return sign_in_setup(st.secrets, files, lists)


def current_visitor(settings: Settings | None = None) -> Visitor:
    """This session's visitor, from `st.user`, the settings and tenants as they are now,
    reading the scope the frame chose for this session (re-checked against their access).

    Settings or tenants that cannot be read, or a broken sign-in configuration, count as
    no access at all: an admin action fails closed.
    """
    nobody = Visitor(sign_in=True, signed_in=False, email=None)
    try:
        settings = settings or load_settings()
        tenants = load_tenants(settings)
    except ConfigError:
        return nobody
    setup = current_setup(settings, tenants)
    if setup.mode == "broken":
        return nobody
    # Only the claims present: an absent `email_verified` differs from a null one.
    names = (*CLAIMS, settings.email_claim)
    claims = {name: st.user[name] for name in names if name in st.user}
    visitor = visitor_for(setup.mode == "sign_in", claims, settings, tenants)
    chosen = st.session_state.get(SCOPE_KEY)
    return visitor.within(chosen) if isinstance(chosen, TenantScope) else visitor
