"""`targets --backfill`: parse the search targets of every stored search again (each
tenant's, or `--tenant`'s), replacing what is stored.

Migration 0013 fills the table once, when a database is upgraded; this command is for
after an upgrade whose parser learnt a form (docs/targets.md), so older searches are read
as newer ones are. One transaction per tenant: a failure leaves that tenant as it was."""

from __future__ import annotations

from config.settings import Settings
from db.scope import TenantScope
from ingest.commands.common import (
    EXIT_CONFIG,
    EXIT_OK,
    UserError,
    log,
    open_existing_engine,
    selected_tenants,
    tenant_label,
    written_to,
)
from ingest.target_rows import backfill


def command_targets(settings: Settings, do_backfill: bool, tenant: str | None) -> int:
    if not do_backfill:
        raise UserError(
            "nothing to do: `targets --backfill` parses the targets of every stored search again",
            EXIT_CONFIG,
        )
    tenants = selected_tenants(settings, tenant)
    engine = open_existing_engine(settings)
    try:
        for chosen in tenants:
            with engine.begin() as conn:
                written = backfill(conn, TenantScope.one(chosen.name))
            log.info("%s%d search targets stored", tenant_label(settings, chosen.name), written)
            print(f"{tenant_label(settings, chosen.name)}{written:,} search targets stored")
        written_to(settings)
    finally:
        engine.dispose()
    return EXIT_OK
