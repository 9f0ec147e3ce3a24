"""`python -m ingest token create|list|revoke`: the machine API's bearer tokens.

The new token is printed once, alone on the last line of output, so a script can take it
with `tail -n 1`; only its hash is stored, and nothing here logs it. Creating and revoking
leave an audit row (actor `cli:<os user>`) in the same transaction as the change.
"""

from __future__ import annotations

import argparse

from sqlalchemy.exc import SQLAlchemyError

from config.settings import Settings
from db.api_tokens import (
    ROLES,
    TokenError,
    create_token,
    creation_detail,
    list_tokens,
    revoke_token,
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
    actions.add_parser("list", help="every token's name, role, dates and state")
    revoke = actions.add_parser("revoke", help="revoke a token at once")
    revoke.add_argument("name")


def _when(moment: object) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC") if moment else "—"  # type: ignore[attr-defined]


def command_token(settings: Settings, args: argparse.Namespace) -> str | None:
    """Run one token action; None on success, else the one-line error."""
    engine = open_existing_engine(settings)
    try:
        if args.token_command == "create":
            detail = creation_detail(args.role, args.expires)
            tenant = None  # tenant: phase 2 (--tenant NAME; omitted, a platform token)
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
            print(f"created {args.role} token {args.name!r} in {where}{expiry}.")
            print("It is shown only now; store it safely:")
            print(token)
        elif args.token_command == "list":
            tokens = list_tokens(engine, TenantScope.every_tenant())  # tenant: phase 2
            if not tokens:
                print("no tokens: `token create --name NAME --role viewer` makes one")
            now = utc_now()
            for info in tokens:
                print(
                    f"{info.name:<24} {info.role:<7} {info.state(now):<8} "
                    f"created {_when(info.created_at)}  expires {_when(info.expires_at)}"
                    + (f"  revoked {_when(info.revoked_at)}" if info.revoked_at else "")
                )
        else:
            entry = cli_entry(AuditAction.TOKEN_REVOKE, args.name, "revoked", tenant=None)
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
