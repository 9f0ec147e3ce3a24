"""`forward`, and the time-boxed forwarding pass after each cycle."""

from __future__ import annotations

import threading
from collections.abc import Callable

from sqlalchemy import Engine

from config.settings import Settings
from config.tenants import load_tenants
from db.clickhouse.url import is_clickhouse_url
from ingest.commands.common import (
    EXIT_CONFIG,
    EXIT_FAILED,
    EXIT_OK,
    UserError,
    database_errors,
    open_engine,
    selected_tenants,
    stop_on_signals,
    written_to,
)
from ingest.forward.config import (
    ForwardConfig,
    display_names_of,
    load_forward_config,
    parse_since,
)
from ingest.forward.runner import forward_after_cycle, forward_pending

FORWARD_MAX_SECONDS = 600.0


def forwarder(
    engine: Engine, forwarding: ForwardConfig | None, stop: threading.Event
) -> Callable[[], None]:
    """What runs after each cycle: a time-boxed forwarding pass, or nothing."""
    if forwarding is None:
        return lambda: None
    return lambda: forward_after_cycle(engine, forwarding, stop)


def alerts_only(forwarding: ForwardConfig | None) -> None:
    """On ClickHouse only alerts are forwarded (they are in the control database): a
    destination of searches is refused in one line (exit 2) rather than left silent."""
    for destination in forwarding.destinations if forwarding else ():
        if destination.source != "alerts":
            raise UserError(
                f"forwarding destination {destination.name!r} sends searches, which are not "
                'forwarded from ClickHouse yet: set its source = "alerts" or forward from '
                "a SQL store (docs/clickhouse.md)",
                EXIT_CONFIG,
            )


def command_forward(
    settings: Settings,
    since: str | None,
    only: str | None,
    max_seconds: float,
    tenant: str | None = None,
) -> int:
    """`forward`: deliver what is pending of every tenant (or `tenant`) to every destination
    (or `only`), then exit; 1 when a destination could not take everything."""
    configured = load_tenants(settings)
    selected_tenants(settings, tenant)  # an unknown --tenant stops here
    forwarding = load_forward_config(settings, tenants=display_names_of(configured))
    if forwarding is None:
        raise UserError(
            "nothing to forward to: set FORWARD_URL (and FORWARD_FORMAT) or FORWARD_CONFIG",
            EXIT_CONFIG,
        )
    if only is not None and only not in {d.name for d in forwarding.destinations}:
        raise UserError(f"no forwarding destination is named {only!r}", EXIT_CONFIG)
    if tenant is not None and only is not None:
        (destination,) = [d for d in forwarding.destinations if d.name == only]
        if not destination.receives(tenant):
            raise UserError(
                f"forwarding destination {only!r} does not receive tenant {tenant!r} "
                "(its tenants = [...] leaves it out)",
                EXIT_CONFIG,
            )
    if max_seconds <= 0:
        raise UserError("--max-seconds must be above 0", EXIT_CONFIG)
    start = parse_since(since) if since else None
    engine = _open_control(settings, forwarding)
    stop = threading.Event()
    try:
        with database_errors(engine), stop_on_signals(stop):
            results = forward_pending(
                engine,
                forwarding,
                max_seconds=max_seconds,
                stop=stop,
                since=start,
                only=only,
                tenant=tenant,
            )
    finally:
        engine.dispose()
    written_to(settings)  # the destinations' cursors and dead letters
    failed = [r for r in results if r.error]
    return EXIT_FAILED if failed else EXIT_OK


def _open_control(settings: Settings, forwarding: ForwardConfig) -> Engine:
    """The database holding what is forwarded and the streams' cursors: with a ClickHouse
    DATABASE_URL the control database (alerts only), else the one SQL database."""
    if not is_clickhouse_url(settings.effective_database_url):
        return open_engine(settings)
    alerts_only(forwarding)
    from db.engine import DatabaseSetupError
    from db.stores import open_control  # loads the store interface: on ClickHouse only

    try:
        return open_control(settings)
    except DatabaseSetupError as exc:
        raise UserError(str(exc), EXIT_CONFIG) from None
