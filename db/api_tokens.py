"""Bearer tokens of the machine API: create, list, revoke, and check one on every call.

A token is 32 random bytes (`secrets.token_urlsafe`), so a plain SHA-256 is enough to
store it: nobody can guess a preimage, and there is no password to stretch. Only the hash
is kept; the token is handed to the caller once, at creation. A lookup finds the row by
its hash and compares the hashes again in constant time; revocation and expiry are read
from the database on every call, so they take effect at once. Creating and revoking take
the audit event of whoever asks, written in the same transaction as the change.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, Engine, insert, select, update
from sqlalchemy.exc import IntegrityError

from db import audit
from db.models import ApiToken, utc_now
from db.scope import TenantScope, is_tenant_name

ROLES = ("viewer", "admin")
TOKEN_PREFIX = "msl_"
NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
"""Letters, digits, `.`, `_`, `-`: never an e-mail address, so a token's name in the audit
trail cannot pass for a person."""


class TokenError(Exception):
    """A token cannot be created or revoked; the message says why and what to do."""


@dataclass(frozen=True)
class TokenInfo:
    """A token as listed: everything but the secret."""

    name: str
    role: str
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    tenant: str | None
    """The one tenant the token reads; None for a platform token."""

    def state(self, now: datetime) -> str:
        """active | expired | revoked."""
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and self.expires_at <= now:
            return "expired"
        return "active"


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def creation_detail(role: str, expires_days: int | None) -> str:
    """What the audit trail says about a new token: its role and expiry (never the token)."""
    expiry = f"expires in {expires_days} days" if expires_days else "never expires"
    return f"{role}, {expiry}"


def create_token(
    engine: Engine,
    name: str,
    role: str,
    *,
    tenant: str | None,
    expires_days: int | None = None,
    audited: audit.AuditEntry | None = None,
) -> str:
    """Store a new token's hash; return the token itself (the only time it exists).
    `tenant` is the one tenant it reads, or None for a platform token (admin only).

    `audited` is written in the same transaction: if it cannot be written (a
    SQLAlchemyError), no token is stored."""
    if not NAME_PATTERN.match(name):
        raise TokenError(
            f"token name {name!r} is not allowed: use 1-64 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit"
        )
    if role not in ROLES:
        raise TokenError(f"role must be one of {', '.join(ROLES)}, got {role!r}")
    if tenant is None and role != "admin":
        raise TokenError(
            f"a {role} token reads one tenant: name it (--tenant NAME); only an admin "
            "token may be a platform token, reading every tenant"
        )
    if tenant is not None and not is_tenant_name(tenant):
        raise TokenError(f"{tenant[:80]!r} is not a tenant name")
    if expires_days is not None and expires_days < 1:
        raise TokenError(f"--expires must be at least 1 day, got {expires_days}")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with engine.begin() as conn:
        _insert_token(conn, name, tenant, role, hash_token(token), expires_days)
        if audited is not None:
            audit.write(conn, audited)
    return token


def _insert_token(
    conn: Connection,
    name: str,
    tenant: str | None,
    role: str,
    digest: str,
    expires_days: int | None,
) -> None:
    now = utc_now()
    expires = now + timedelta(days=expires_days) if expires_days is not None else None
    try:
        conn.execute(
            insert(ApiToken).values(
                name=name,
                tenant=tenant,
                token_hash=digest,
                role=role,
                created_at=now,
                expires_at=expires,
                revoked_at=None,
            )
        )
    except IntegrityError:  # only this insert: an audit insert's failure is not a name's
        raise TokenError(
            f"a token named {name!r} already exists (names are never reused, also after "
            "revocation): choose another name"
        ) from None


def list_tokens(engine: Engine, scope: TenantScope) -> list[TokenInfo]:
    """The tokens of `scope`: platform tokens only in the every-tenant scope."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(
                ApiToken.name,
                ApiToken.role,
                ApiToken.created_at,
                ApiToken.expires_at,
                ApiToken.revoked_at,
                ApiToken.tenant,
            )
            .where(scope.where(ApiToken.tenant))
            .order_by(ApiToken.name)
        ).all()
    return [TokenInfo(*row) for row in rows]


def token_tenant(engine: Engine, name: str) -> str | None:
    """The tenant of the token `name` (None: a platform token, or no such token), for the
    audit row of its revocation."""
    with engine.connect() as conn:
        return conn.execute(select(ApiToken.tenant).where(ApiToken.name == name)).scalar()


def revoke_token(engine: Engine, name: str, *, audited: audit.AuditEntry | None = None) -> None:
    """Revoke the token `name` now; the next call with it gets 401. `audited` is written
    in the same transaction: if it cannot be written, the token stays active."""
    with engine.begin() as conn:
        done = conn.execute(
            update(ApiToken)
            .where(ApiToken.name == name, ApiToken.revoked_at.is_(None))
            .values(revoked_at=utc_now())
        ).rowcount
        if not done:
            known = conn.execute(select(ApiToken.id).where(ApiToken.name == name)).first()
            if known is None:
                raise TokenError(f"no token named {name!r}: `token list` shows the names")
            raise TokenError(f"the token {name!r} was already revoked")
        if audited is not None:
            audit.write(conn, audited)


@dataclass(frozen=True)
class Caller:
    """Who is calling the API: a token's name and role, and its tenant (None for a
    platform token)."""

    name: str
    role: str
    tenant: str | None = None

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


@dataclass(frozen=True)
class Refusal:
    """Why a presented token is not accepted; `name` when the token is known."""

    reason: str
    name: str | None = None
    role: str | None = None
    tenant: str | None = None


def authenticate(engine: Engine, token: str, now: datetime | None = None) -> Caller | Refusal:
    """The caller a token belongs to, or why it is refused (unknown, revoked, expired)."""
    digest = hash_token(token)
    with engine.connect() as conn:
        row = conn.execute(
            select(
                ApiToken.name,
                ApiToken.role,
                ApiToken.tenant,
                ApiToken.token_hash,
                ApiToken.expires_at,
                ApiToken.revoked_at,
            ).where(ApiToken.token_hash == digest)
        ).first()
    if row is None or not hmac.compare_digest(row.token_hash, digest):
        return Refusal("the token is not known")
    if row.revoked_at is not None:
        return Refusal("the token was revoked", row.name, row.role, row.tenant)
    if row.expires_at is not None and row.expires_at <= (now or utc_now()):
        return Refusal("the token has expired", row.name, row.role, row.tenant)
    return Caller(row.name, row.role, row.tenant)
