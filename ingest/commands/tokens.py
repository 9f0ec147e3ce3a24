"""`python -m ingest token create|list|revoke`: the machine API's bearer tokens.

A token reads one tenant (`--tenant NAME`), or, for an admin token without `--tenant`,
every tenant (a platform token, which names the tenant of each call). The new token is
printed once, alone on the last line of output, so a script can take it
with `tail -n 1`; only its hash is stored, and nothing here logs it. Creating and revoking
leave an audit row (actor `cli:<os user>`) in the same transaction as the change.
"""

from __future__ import annotations

import argparse

from sqlalchemy.exc import SQLAlchemyError

from config.settings import ConfigError, Settings
from config.tenants import load_tenants
from db.api_tokens import (
    ROLES,
    TokenError,
    create_token,
    creation_detail,
    list_tokens,
    revoke_token,
    token_tenant,
)
from db.audit import AuditAction
from db.models import utc_now
from db.scope import TenantScope
from ingest.commands.actor import cli_entry, nothing_changed
from ingest.commands.common import database_shown, open_existing_engine


def add_token_parser(commands: argparse._SubParsersAction) -> None:
    token = commands.add_parser("token", help="machine API tokens: create, list, revoke")
    actions = token.add_subparsers(dest="token_command", required=True, metavar="ACTION")
    create = actions.add_parser("create", help="a new token, printed once")
    create.add_argument("--name", required=True, help="who or what uses it (the audit actor)")
    create.add_argument("--role", required=True, choices=ROLES)
    create.add_argument("--expires", type=int, metavar="DAYS", help="valid for DAYS days")
    create.add_argument(
        "--tenant",
        metavar="NAME",
        help="the one tenant it reads; left out, an admin token reads every tenant (a "
        "platform token) and a viewer token the only tenant there is",
    )
    listing = actions.add_parser("list", help="every token's name, role, tenant, dates and state")
    listing.add_argument("--tenant", metavar="NAME", help="only this tenant's tokens")
    revoke = actions.add_parser("revoke", help="revoke a token at once")
    revoke.add_argument("name")


def configured_tenant(settings: Settings, name: str) -> str:
    """`name` if it is a configured tenant, else a ConfigError (exit 2) saying which are."""
    names = [tenant.name for tenant in load_tenants(settings)]
    if name not in names:
        raise ConfigError(
            f"--tenant {name[:80]!r} is not a configured tenant: use one of {', '.join(names)}"
        )
    return name


def token_tenant_of(settings: Settings, requested: str | None, role: str) -> str | None:
    """The tenant a new token reads: the one named, or None (a platform token) for an
    admin token without one; a viewer token without one reads the only tenant there is."""
    if requested is not None:
        return configured_tenant(settings, requested)
    if role == "admin":
        return None
    names = [tenant.name for tenant in load_tenants(settings)]
    if len(names) > 1:
        raise ConfigError(
            f"a {role} token reads one tenant: add --tenant NAME (one of {', '.join(names)})"
        )
    return names[0]


def _when(moment: object) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC") if moment else "—"  # type: ignore[attr-defined]


def command_token(settings: Settings, args: argparse.Namespace) -> str | None:
    """Run one token action; None on success, else the one-line error."""
    engine = open_existing_engine(settings)
    try:
        if args.token_command == "create":
            detail = creation_detail(args.role, args.expires)
            tenant = token_tenant_of(settings, args.tenant, args.role)
            entry = cli_entry(AuditAction.TOKEN_CREATE, args.name, detail, tenant=tenant)
            token = create_token(
                engine,
                args.name,
                args.role,
                tenant=tenant,
                expires_days=args.expires,
                audited=entry,
            )
            expiry = f", expires in {args.expires} days" if args.expires else ", no expiry"
            where = database_shown(settings)
            reads = f"tenant {tenant!r}" if tenant else "every tenant (a platform token)"
            print(f"created {args.role} token {args.name!r} for {reads} in {where}{expiry}.")
            print("It is shown only now; store it safely:")
            print(token)
        elif args.token_command == "list":
            scope = TenantScope.every_tenant()
            if args.tenant is not None:
                scope = TenantScope.one(configured_tenant(settings, args.tenant))
            tokens = list_tokens(engine, scope)
            if not tokens:
                print("no tokens: `token create --name NAME --role viewer` makes one")
            now = utc_now()
            for info in tokens:
                print(
                    f"{info.name:<24} {info.role:<7} {info.tenant or '*':<16} "
                    f"{info.state(now):<8} "
                    f"created {_when(info.created_at)}  expires {_when(info.expires_at)}"
                    + (f"  revoked {_when(info.revoked_at)}" if info.revoked_at else "")
                )
        else:
            tenant = token_tenant(engine, args.name)
            entry = cli_entry(AuditAction.TOKEN_REVOKE, args.name, "revoked", tenant=tenant)
            revoke_token(engine, args.name, audited=entry)
            where = database_shown(settings)
            print(f"revoked {args.name!r} in {where}: calls with it are refused from now on.")
    except TokenError as exc:
        return str(exc)
    except SQLAlchemyError as exc:
        return nothing_changed(exc)
    finally:
        engine.dispose()
    return None
