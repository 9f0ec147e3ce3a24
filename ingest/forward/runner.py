"""A forwarding pass: every destination delivers what is pending of each tenant it receives,
side by side, until a shared deadline.

Each tenant's stream to a destination has its own cursor and its own thread, so a receiver
that is down, or refuses one tenant's messages, spends that stream's time box and not the
others'. A destination's streams share one transport (one file, one HTTPS session), whose
`send` they take turns at: a file never gets two writers, and a stream waiting out a
receiver's error sleeps without holding it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

from sqlalchemy import Engine

from db.locks import AlreadyRunning, forward_lock
from ingest.forward.config import Destination, ForwardConfig
from ingest.forward.delivery import DeliveryResult, deliver
from ingest.forward.transports import Outgoing, Transport, open_transport

log = logging.getLogger("ingest.forward")
MAX_PARALLEL = 8
"""Destinations delivered at once; each runs every one of its tenants' streams at once."""


class SharedTransport:
    """One destination's transport for all of its tenants' streams: one `send` at a time."""

    def __init__(self, transport: Transport) -> None:
        self.transport = transport
        self.lock = threading.Lock()

    def send(self, batch: Sequence[Outgoing]) -> None:
        with self.lock:
            self.transport.send(batch)

    def close(self) -> None:
        self.transport.close()


def forward_one(
    engine: Engine,
    tenants: Sequence[str],
    destination: Destination,
    deadline: float,
    stop: threading.Event,
    since: datetime | None,
) -> list[DeliveryResult]:
    """Every stream of `destination` (one per tenant of `tenants`), in `tenants`' order."""

    def failed(error: str) -> list[DeliveryResult]:
        return [DeliveryResult(destination.name, tenant, error=error) for tenant in tenants]

    try:
        with forward_lock(engine, destination.name):
            try:
                transport = SharedTransport(open_transport(destination))
            except OSError as exc:
                return failed(f"cannot open: {exc.strerror or exc}")
            try:
                return _streams(engine, tenants, destination, transport, deadline, stop, since)
            finally:
                transport.close()
    except AlreadyRunning as exc:
        return failed(str(exc))


def _streams(
    engine: Engine,
    tenants: Sequence[str],
    destination: Destination,
    transport: SharedTransport,
    deadline: float,
    stop: threading.Event,
    since: datetime | None,
) -> list[DeliveryResult]:
    def one(tenant: str) -> DeliveryResult:
        return deliver(
            engine, tenant, destination, transport, deadline=deadline, stop=stop, since=since
        )

    if len(tenants) == 1:
        return [one(tenants[0])]
    with ThreadPoolExecutor(max_workers=len(tenants)) as pool:
        return list(pool.map(one, tenants))


def describe(destination: Destination, result: DeliveryResult) -> str:
    text = (
        f"forward {result.tenant} → {destination.name} ({destination.where}): "
        f"{result.delivered:,} delivered"
        f"{f', {result.parked:,} parked' if result.parked else ''} in {result.seconds:.1f} s"
    )
    if result.error:
        return f"{text}; failed: {result.error} (will resume from its cursor)"
    return text if result.complete else f"{text}; more pending (time box reached)"


def forward_pending(
    engine: Engine,
    config: ForwardConfig,
    *,
    max_seconds: float,
    stop: threading.Event | None = None,
    since: datetime | None = None,
    only: str | None = None,
    tenant: str | None = None,
) -> list[DeliveryResult]:
    """One pass over every destination (or the one named `only`) and every configured tenant
    it receives (or `tenant` alone); results in config order, then the tenants' order."""
    stop = stop or threading.Event()
    deadline = time.monotonic() + max_seconds
    names = config.tenants if tenant is None else (tenant,)
    chosen = [
        (d, [name for name in names if d.receives(name)])
        for d in config.destinations
        if only is None or d.name == only
    ]
    chosen = [(d, streams) for d, streams in chosen if streams]
    if not chosen:
        return []
    with ThreadPoolExecutor(max_workers=min(MAX_PARALLEL, len(chosen))) as pool:
        futures = [
            pool.submit(forward_one, engine, streams, d, deadline, stop, since)
            for d, streams in chosen
        ]
        results = [result for future in futures for result in future.result()]
    by_name = {d.name: d for d, _ in chosen}
    for result in results:
        (log.warning if result.error else log.info)(describe(by_name[result.destination], result))
    return results


def forward_after_cycle(engine: Engine, config: ForwardConfig, stop: threading.Event) -> None:
    """The scheduled loop's hook: one pass, time-boxed by `forward.max_seconds`, that never
    raises, so a receiver that is down never stops or delays the ingest for longer."""
    try:
        forward_pending(engine, config, max_seconds=config.max_seconds, stop=stop)
    except Exception as exc:  # whatever went wrong, the ingest goes on; the cursor is safe
        log.error("forwarding failed, will resume after the next cycle: %s", type(exc).__name__)
        log.debug("forwarding failure", exc_info=True)
