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

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import streamlit as st
from streamlit import config as st_config

from config.settings import ConfigError, Settings, load_settings
from dashboard.notices import SignInSetup, sign_in_setup

Role = Literal["admin", "viewer"]
ANONYMOUS = "anonymous (sign-in not configured)"
"""The actor named in the audit trail when nobody can sign in."""

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+$")
CLAIMS = ("is_logged_in", "email", "email_verified")
"""The only identity claims read: never a token."""


def matches(email: str, entries: tuple[str, ...]) -> bool:
    """Whether `email` is one of `entries` (an address, or `@domain` for its whole domain).

    Case-insensitive; a domain entry covers that exact domain, not its subdomains.
    """
    address = email.strip().lower()
    if not _EMAIL.match(address):
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


def email_of(claims: Mapping[str, Any]) -> str | None:
    """The signed-in address from the identity token's claims, lower case, or None.

    Only the `email` claim counts (Entra ID sends it once the optional claim is added), and
    not when the provider says it is unverified: a display name or an unverified address
    must never match an entry on the lists. Only a boolean `true` counts as verified (a
    string "false" is truthy); an absent claim is accepted, as Entra ID sends none.
    """
    value = claims.get("email")
    verified = claims.get("email_verified", True)  # absent: Entra ID does not send it
    if not isinstance(value, str) or verified is not True:
        return None
    address = value.strip().lower()
    return address if _EMAIL.match(address) and len(address) <= 320 else None


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
    email = email_of(claims)
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
    claims = {name: st.user[name] for name in CLAIMS if name in st.user}
    return visitor_for(setup.mode == "sign_in", claims, settings)
