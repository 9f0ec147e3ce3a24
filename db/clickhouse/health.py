"""The dashboard's freshness notices on ClickHouse: `db.state.health`'s `ingest_health` and
`ingest_version`, read from the ClickHouse run log and state (the SQL path reads its own
`ingest_runs` and `kv`), so a page over ClickHouse warns of stale data as on SQL."""

from __future__ import annotations

from typing import Any

from db.clickhouse.runs import aware
from db.scope import TenantScope
from db.state.health import IngestHealth


def _where(scope: TenantScope) -> tuple[str, dict[str, Any]]:
    if scope.name is None:
        return "1", {}
    return "tenant = {tenant:String}", {"tenant": scope.name}


def ingest_health(client: Any, scope: TenantScope) -> IngestHealth:
    """The freshness of `scope`'s data: its searches and its runs only (`FINAL`: a run's
    start and end rows are one run)."""
    where, params = _where(scope)
    has = client.query(f"SELECT 1 FROM search_logs WHERE {where} LIMIT 1", parameters=params)
    last_ok = client.query(
        f"SELECT max(finished_at) FROM ingest_runs FINAL WHERE {where} AND status = 'ok'",
        parameters=params,
    ).result_rows
    last = client.query(
        "SELECT status, finished_at, error FROM ingest_runs FINAL"
        f" WHERE {where} AND status != 'running' ORDER BY finished_at DESC, id DESC LIMIT 1",
        parameters=params,
    ).result_rows
    status, finished, error = last[0] if last else (None, None, None)
    return IngestHealth(
        has_searches=bool(has.result_rows),
        last_ok_finished=aware(last_ok[0][0]) if last_ok and last_ok[0][0] else None,
        last_run_status=status,
        last_run_finished=aware(finished),
        last_run_error=error,
    )


def ingest_version(client: Any, data_version: str) -> str:
    """Moves whenever the ingest stores rows, starts or ends a run or moves a cursor."""
    row = client.query(
        "SELECT (SELECT count() FROM ingest_runs), (SELECT max(finished_at) FROM ingest_runs),"
        " (SELECT count() FROM kv), (SELECT max(updated_at) FROM kv)"
    ).result_rows[0]
    return data_version + "|" + "|".join("" if value is None else str(value) for value in row)
