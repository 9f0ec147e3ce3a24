"""Sealing after each ingest cycle, and `python -m ingest verify` (docs/evidence.md).

A tenant's day is complete once its cursor is past the day's end plus LOOKBACK_SECONDS
(no delta poll reads it again) and the clock past the day's end plus AUDIT_MARGIN (no
audit row of it is still being written); the installation's chain needs the clock only.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from config.tenants import Tenant
from db.audit import failure_reason
from db.models import INSTALLATION_CHAIN, utc_now
from db.seal_verify import Verification, chains, record_check, verify_chain
from db.seals import amend_days, seal_days
from db.state import read_cursor
from ingest.commands.common import EXIT_FAILED, EXIT_OK, log

AUDIT_MARGIN = timedelta(minutes=10)
"""How long after a day's end its last audit rows may still be committing."""


def seal_tenant(engine: Engine, tenant: Tenant, now: datetime) -> None:
    """Amend the sealed days a sweep may have stored into, then seal the complete days."""
    since = now.astimezone(UTC).date() - timedelta(days=tenant.reconcile_days + 1)
    for day in amend_days(engine, tenant.name, since, now):
        log.info(
            "tenant %r: amendment sealed for %s (searches a sweep stored late)", tenant.name, day
        )
    cursor = read_cursor(engine, tenant.name)
    if cursor is None:
        return
    complete = min(cursor - timedelta(seconds=tenant.lookback_seconds), now - AUDIT_MARGIN)
    days = seal_days(engine, tenant.name, complete, now)
    if days:
        log.info("tenant %r: sealed %s to %s", tenant.name, days[0], days[-1])


def seal_installation(engine: Engine, now: datetime) -> None:
    days = seal_days(engine, INSTALLATION_CHAIN, now - AUDIT_MARGIN, now)
    if days:
        log.info("installation audit trail: sealed %s to %s", days[0], days[-1])


def sealer(
    engine: Engine, tenants: Sequence[Tenant], clock: Callable[[], datetime] = utc_now
) -> Callable[[], None]:
    """What the ingest runs after its tenants' polls: every chain sealed up to date. A
    failure is logged in one line and left to the next cycle (nothing is half-sealed:
    each chain's links are written in one transaction)."""

    def seal() -> None:
        now = clock()
        try:
            for tenant in tenants:
                seal_tenant(engine, tenant, now)
            seal_installation(engine, now)
        except SQLAlchemyError as exc:
            log.error("sealing failed, will retry after the next poll: %s", failure_reason(exc))

    return seal


def chain_name(chain: str) -> str:
    return "installation" if chain == INSTALLATION_CHAIN else f"tenant {chain!r}"


def report(result: Verification) -> list[str]:
    """One line per problem (on stderr), or one line saying the chain holds."""
    name = chain_name(result.chain)
    if result.ok:
        last = result.last_day.isoformat() if result.last_day else "none yet"
        return [f"{name}: ok, {result.links} links, last sealed day {last}, head {result.head}"]
    return [
        f"error: {name}: " + (f"{p.day.isoformat()}: " if p.day else "") + p.text
        for p in result.problems
    ]


def command_verify(
    engine: Engine, only: str | None, clock: Callable[[], datetime] = utc_now
) -> int:
    """Verify every chain (or `only`'s), store each result, print them; exit 1 on any
    problem."""
    names = chains(engine) if only is None else [only]
    status = EXIT_OK
    for chain in names:
        result = verify_chain(engine, chain)
        record_check(engine, result, clock())
        stream = sys.stdout if result.ok else sys.stderr
        for text in report(result):
            print(text, file=stream)
        if not result.ok:
            status = EXIT_FAILED
    return status
