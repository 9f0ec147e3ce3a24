"""`detect`, and the detections after each successful poll: the rules file checked before
the ingest starts, every tenant scored on its own (`--tenant NAME`: that one), a failed
scoring logged and left to the next poll. On ClickHouse the searches are read from it and
the features, alerts and progress written to the control database (`db.stores`)."""

from __future__ import annotations

import sys
from collections.abc import Callable, Collection, Sequence
from datetime import date
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from config.settings import Settings, spec
from config.tenants import Tenant, load_tenants
from db.clickhouse.url import is_clickhouse_url
from db.detect_reads import DetectionSearches
from db.locks import AlreadyRunning, cycle_lock
from ingest.commands.common import (
    EXIT_CONFIG,
    EXIT_FAILED,
    EXIT_OK,
    EXIT_RUNNING,
    UserError,
    database_errors,
    log,
    open_engine,
    selected_tenants,
    written_to,
)
from ingest.detect.config import DetectionConfig, DetectionConfigError, load_config
from ingest.detect.plan import parse_rescore
from ingest.detect.runner import DetectResult, detect
from ingest.poller import one_line


def load_detections(settings: Settings) -> DetectionConfig:
    """The rules file; a missing or broken one is a configuration error (exit 2)."""
    required = settings.detections_file != spec("DETECTIONS_FILE").default
    try:
        return load_config(Path(settings.detections_file).expanduser(), required=required)
    except DetectionConfigError as exc:
        raise UserError(str(exc), EXIT_CONFIG) from None


def detect_tenant(
    engine: Engine,
    settings: Settings,
    config: DetectionConfig,
    tenant: Tenant,
    rescore: tuple[date, date] | None = None,
    searches: DetectionSearches | None = None,
) -> DetectResult:
    """Score `tenant`'s new complete days against its own people, with its own overlap, and
    again the days its reconciliation sweep can still change (RECONCILE_DAYS + 1) whose
    searches changed since they were scored. The searches come from `searches` (the
    ClickHouse store) when given; everything detect writes goes to `engine`."""
    return detect(
        engine,
        tenant.name,
        settings.display_tz,
        config,
        tenant.lookback_seconds,
        recheck_days=tenant.reconcile_days + 1,
        rescore=rescore,
        searches=searches,
    )


def detections_after_cycle(
    engine: Engine,
    settings: Settings,
    config: DetectionConfig,
    tenants: Sequence[Tenant] | None = None,
    searches: DetectionSearches | None = None,
) -> Callable[[Collection[str]], None]:
    """Detections after a cycle, of those of every tenant (or `tenants`) whose poll in it
    succeeded (the names given): a tenant not polled has no new data to score, and scoring
    it would hold the write gate for nothing. One tenant's failure is logged, never fails
    the ingest or skips the other tenants."""
    chosen = load_tenants(settings) if tenants is None else tuple(tenants)

    def run(polled: Collection[str]) -> None:
        for tenant in chosen:
            if tenant.name not in polled:
                continue
            try:
                result = detect_tenant(engine, settings, config, tenant, searches=searches)
                log.info(result.line(tenant.name))
            except Exception as exc:  # the searches are stored; the next cycle scores again
                log.error(
                    "detect %s failed, will retry after the next poll: %s",
                    tenant.name,
                    one_line(exc),
                )
                log.debug("details", exc_info=True)

    return run


def command_detect(
    settings: Settings, tenant: str | None = None, rescore: Sequence[str] | None = None
) -> int:
    """`detect`: every tenant (or `tenant`), one line each; `rescore` (FROM, TO) scores
    those days again too (a bad date or range: exit 2). A tenant that cannot be scored now
    (its poll is writing: 3; anything else: 1) is one `error:` line; the others are still
    scored."""
    try:
        days = parse_rescore(list(rescore) if rescore else None)
    except ValueError as exc:
        raise UserError(str(exc), EXIT_CONFIG) from None
    config = load_detections(settings)
    tenants = selected_tenants(settings, tenant)
    engine, searches, close = _open(settings)
    status = EXIT_OK
    try:
        with database_errors(engine):
            for chosen in tenants:
                try:
                    with cycle_lock(engine, chosen.name):  # that tenant's poll is not writing
                        result = detect_tenant(engine, settings, config, chosen, days, searches)
                    print(result.line(chosen.name))
                except SQLAlchemyError:
                    raise  # the database's problem, not the tenant's: one line, as always
                except AlreadyRunning as exc:
                    status = max(status, EXIT_RUNNING)
                    print(f"error: detect {chosen.name}: {exc}", file=sys.stderr)
                except Exception as exc:
                    status = max(status, EXIT_FAILED)
                    print(f"error: detect {chosen.name} failed: {one_line(exc)}", file=sys.stderr)
                    log.debug("details", exc_info=True)
        written_to(settings)
        return status
    finally:
        close()


def _open(settings: Settings) -> tuple[Engine, DetectionSearches | None, Callable[[], None]]:
    """(the database detect writes, the searches when not in it, how to close both): on
    ClickHouse its searches and the control database; else one SQL database, opened without
    the store interface, whose pandas would cost a new day's run about a second."""
    if not is_clickhouse_url(settings.effective_database_url):
        engine = open_engine(settings)
        return engine, None, engine.dispose
    from ingest.commands.stores import open_ingest_stores

    stores = open_ingest_stores(settings)
    return stores.control, stores.search, stores.close
