"""`python -m ingest status --json`: the ingest's state (`db.state.read_status`) and where
each forwarding destination stands, as JSON-ready values (ISO times) at the CLI's edge."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Any

from sqlalchemy import Engine

from db.scope import TenantScope
from db.state import IngestStatus, read_status
from db.state.forwarding import forwarding_status


def _iso(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def _plain(values: dict[str, Any]) -> dict[str, Any]:
    return {key: _iso(value) for key, value in values.items()}


def status_json(status: IngestStatus) -> dict[str, Any]:
    """`status` as JSON-ready values: times as ISO strings, runs and rejects as objects.

    `bootstrap_done` repeats `backfill_done` for scripts written before the rename."""

    def run(value: Any) -> dict[str, Any] | None:
        return None if value is None else _plain(asdict(value))

    return {
        "cursor": _iso(status.cursor),
        "backfill_done": status.backfill_done,
        "bootstrap_done": status.backfill_done,
        "totals": _plain(asdict(status.totals)),
        "database": status.database,
        "database_bytes": status.database_bytes,
        "wal_bytes": status.wal_bytes,
        "last_ok_run": run(status.last_ok_run),
        "last_failed_run": run(status.last_failed_run),
        "last_reconcile": run(status.last_reconcile),
        "recent_runs": [run(item) for item in status.recent_runs],
        "recent_rejects": [_plain(asdict(item)) for item in status.recent_rejects],
    }


def collect_status(
    engine: Engine, scope: TenantScope, *, runs: int = 10, rejects: int = 10
) -> dict[str, Any]:
    """Cursor, backfill state, totals, sizes, recent runs (each with its `notes` and
    `notes_text`), the last ok and failed run, the last reconciliation sweep, recent
    rejects and the forwarding destinations of `scope`, JSON-ready."""
    status = status_json(read_status(engine, scope, runs=runs, rejects=rejects))
    status["forwarding"] = forwarding_status(engine, scope)
    return status
