"""Is the data fresh: what every page's notices, the caches' key and the readiness check
read about the ingest."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, Select, desc, func, select

from db.models import IngestRun, KeyValue, RejectedRecord, SearchLog
from db.scope import TenantScope
from db.state.cursor import POLL_KINDS


@dataclass(frozen=True)
class IngestHealth:
    """Enough to warn about missing or stale data on every page."""

    has_searches: bool
    last_ok_finished: datetime | None
    last_run_status: str | None
    last_run_finished: datetime | None
    last_run_error: str | None


def data_version(engine: Engine) -> str:
    """Changes only when the ingest stores rows: the key of every cached answer about the
    searches. A poll that stores nothing (most polls of a quiet account) leaves it, so the
    answers cached before the poll stay valid after it.

    Cheap (primary-key maxima), so it is read on every rerun. Searches and rejects are only
    ever added, never changed or deleted, so a new row is the one way their data changes.
    """
    statement = select(
        select(func.max(SearchLog.id)).scalar_subquery(),
        select(func.max(RejectedRecord.id)).scalar_subquery(),
    )
    return _joined(engine, statement)


def ingest_version(engine: Engine) -> str:
    """Changes whenever the ingest stores rows, starts or finishes a run or moves a cursor:
    the key of what shows the ingest's own state (freshness notices, the status page)."""
    statement = select(
        select(func.max(IngestRun.id)).scalar_subquery(),
        select(func.max(IngestRun.finished_at)).scalar_subquery(),
        select(func.count()).select_from(KeyValue).scalar_subquery(),
        select(func.max(KeyValue.updated_at)).scalar_subquery(),
    )
    return f"{data_version(engine)}|{_joined(engine, statement)}"


def _joined(engine: Engine, statement: Select) -> str:
    with engine.connect() as conn:
        values = conn.execute(statement).one()
    return "|".join("" if value is None else str(value) for value in values)


def ingest_health(engine: Engine, scope: TenantScope) -> IngestHealth:
    """The freshness of `scope`'s data: its searches and its runs only."""
    runs = scope.where(IngestRun.tenant)
    with engine.connect() as conn:
        has_searches = (
            conn.execute(select(SearchLog.id).where(scope.where(SearchLog.tenant)).limit(1)).first()
            is not None
        )
        last_ok = conn.execute(
            select(func.max(IngestRun.finished_at)).where(runs, IngestRun.status == "ok")
        ).scalar()
        last = conn.execute(
            select(IngestRun.status, IngestRun.finished_at, IngestRun.error)
            .where(runs, IngestRun.status != "running")
            .order_by(desc(IngestRun.id))
            .limit(1)
        ).first()
    return IngestHealth(
        has_searches=has_searches,
        last_ok_finished=last_ok,
        last_run_status=last.status if last else None,
        last_run_finished=last.finished_at if last else None,
        last_run_error=last.error if last else None,
    )


def last_poll_ok(engine: Engine, scope: TenantScope) -> datetime | None:
    """When the newest successful backfill or delta run of `scope` finished."""
    with engine.connect() as conn:
        return conn.execute(
            select(func.max(IngestRun.finished_at)).where(
                scope.where(IngestRun.tenant),
                IngestRun.status == "ok",
                IngestRun.kind.in_(POLL_KINDS),
            )
        ).scalar()
