"""A forwarding pass: every destination delivers what is pending, side by side (a receiver
that is down spends its own time box, not the others'), until a shared deadline."""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

from sqlalchemy import Engine

from db.locks import AlreadyRunning, forward_lock
from db.scope import DEFAULT_TENANT
from ingest.forward.config import Destination, ForwardConfig
from ingest.forward.delivery import DeliveryResult, deliver
from ingest.forward.transports import open_transport

log = logging.getLogger("ingest.forward")
MAX_PARALLEL = 8


def forward_one(
    engine: Engine,
    tenant: str,
    destination: Destination,
    deadline: float,
    stop: threading.Event,
    since: datetime | None,
) -> DeliveryResult:
    try:
        with forward_lock(engine, destination.name):
            try:
                transport = open_transport(destination)
            except OSError as exc:
                return DeliveryResult(destination.name, error=f"cannot open: {exc.strerror or exc}")
            try:
                return deliver(
                    engine,
                    tenant,
                    destination,
                    transport,
                    deadline=deadline,
                    stop=stop,
                    since=since,
                )
            finally:
                transport.close()
    except AlreadyRunning as exc:
        return DeliveryResult(destination.name, error=str(exc))


def describe(destination: Destination, result: DeliveryResult) -> str:
    text = (
        f"forward {destination.name} ({destination.where}): {result.delivered:,} delivered"
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
) -> list[DeliveryResult]:
    """One pass over every destination (or the one named `only`); results in config order."""
    stop = stop or threading.Event()
    deadline = time.monotonic() + max_seconds
    chosen = [d for d in config.destinations if only is None or d.name == only]
    if not chosen:
        return []
    tenant = DEFAULT_TENANT  # tenant: phase 2 (each tenant's stream; a destination's tenants)
    with ThreadPoolExecutor(max_workers=min(MAX_PARALLEL, len(chosen))) as pool:
        futures = [
            pool.submit(forward_one, engine, tenant, d, deadline, stop, since) for d in chosen
        ]
        results = [future.result() for future in futures]
    for destination, result in zip(chosen, results, strict=True):
        (log.warning if result.error else log.info)(describe(destination, result))
    return results


def forward_after_cycle(engine: Engine, config: ForwardConfig, stop: threading.Event) -> None:
    """The scheduled loop's hook: one pass, time-boxed by `forward.max_seconds`, that never
    raises, so a receiver that is down never stops or delays the ingest for longer."""
    try:
        forward_pending(engine, config, max_seconds=config.max_seconds, stop=stop)
    except Exception as exc:  # whatever went wrong, the ingest goes on; the cursor is safe
        log.error("forwarding failed, will resume after the next cycle: %s", type(exc).__name__)
        log.debug("forwarding failure", exc_info=True)
