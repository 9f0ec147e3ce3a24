"""Who is looking at the dashboard, and what they may do.

Sign-in is Streamlit's own OpenID Connect (`st.login`), switched on by an `[auth]` section
in `.streamlit/secrets.toml`. Roles come from the ADMIN_EMAILS and VIEWER_EMAILS settings.
Only when nothing about sign-in is configured (no `[auth]`, no access list) is the
dashboard open, with everyone an administrator; a broken configuration gives no role to
anyone (see `dashboard.notices.sign_in_setup`). These are plain functions of the identity
claims and the settings, so the rules are tested without Streamlit; `dashboard.frame`
feeds them `st.user` on every run and at the moment of every admin action.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import urlparse

import streamlit as st
from streamlit import config as st_config

from config.addresses import canonical_address
from config.settings import ConfigError, Settings, load_settings
from dashboard.notices import SignInSetup, sign_in_setup

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
    """The person behind one browser session, as far as the dashboard knows them."""

    sign_in: bool  # is sign-in configured at all?
    signed_in: bool
    email: str | None
    role: Role | None

    @property
    def actor(self) -> str:
        """Who the audit trail names: the address, or the anonymous marker."""
        if not self.sign_in:
            return ANONYMOUS
        return self.email or "unknown (signed in without an e-mail address)"

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    @property
    def may_view(self) -> bool:
        return self.role is not None


def visitor_for(sign_in: bool, claims: Mapping[str, Any], settings: Settings) -> Visitor:
    """The visitor for `st.user`'s claims: without sign-in configured, an anonymous admin."""
    if not sign_in:
        return Visitor(sign_in=False, signed_in=False, email=None, role="admin")
    if claims.get("is_logged_in") is not True:
        return Visitor(sign_in=True, signed_in=False, email=None, role=None)
    email = email_of(claims, settings.email_claim)
    return Visitor(sign_in=True, signed_in=True, email=email, role=role_for(email, settings))


def current_setup(settings: Settings) -> SignInSetup:
    """Sign-in as configured now: `st.secrets` (from the files Streamlit reads, its
    `secrets.files` option) and which access lists are set."""
    files = [str(path) for path in st_config.get_option("secrets.files") or ()]
    lists = [
        name
        for name, entries in (
            ("ADMIN_EMAILS", settings.admin_emails),
            ("VIEWER_EMAILS", settings.viewer_emails),
        )
        if entries
    ]
    return sign_in_setup(st.secrets, files, lists)


def current_visitor(settings: Settings | None = None) -> Visitor:
    """This session's visitor, from `st.user` and the settings as they are now.

    Settings that cannot be read, or a broken sign-in configuration, count as no role at
    all: an admin action fails closed.
    """
    if settings is None:
        try:
            settings = load_settings()
        except ConfigError:
            return Visitor(sign_in=True, signed_in=False, email=None, role=None)
    setup = current_setup(settings)
    if setup.mode == "broken":
        return Visitor(sign_in=True, signed_in=False, email=None, role=None)
    # Only the claims present: an absent `email_verified` differs from a null one.
    names = (*CLAIMS, settings.email_claim)
    claims = {name: st.user[name] for name in names if name in st.user}
    return visitor_for(setup.mode == "sign_in", claims, settings)
