"""`python -m ingest status` on ClickHouse: the same `db.state.IngestStatus` the SQL path
reads (`db.state.read_status`), from the ClickHouse run log, state and tables, so the CLI
prints and serialises it unchanged."""

from __future__ import annotations

from typing import Any

from db.clickhouse import runs
from db.clickhouse.store import ClickHouseStore
from db.state import RECONCILE, IngestStatus, Rejected, Run, Totals, describe_notes
from db.state.report import RUN_FIELDS, parse_notes


def _run(row: dict[str, Any] | None) -> Run | None:
    if row is None:
        return None
    notes = parse_notes(row["notes"])
    return Run(
        **{name: row[name] for name in RUN_FIELDS}, notes=notes, notes_text=describe_notes(notes)
    )


def _first(rows: list[dict[str, Any]]) -> Run | None:
    return _run(rows[0]) if rows else None


def recent_rejects(store: ClickHouseStore, tenant: str, limit: int) -> list[Rejected]:
    """The newest rejects, numbered in the order they were stored (ClickHouse has no ids)."""
    result = store.client.query(
        "SELECT number, rejected_at, reason, raw_json FROM ("
        " SELECT row_number() OVER (ORDER BY rejected_at, reject_key) AS number,"
        " rejected_at, reason, raw_json FROM rejected_records FINAL"
        " WHERE tenant = {tenant:String}) ORDER BY number DESC LIMIT {limit:UInt32}",
        parameters={"tenant": tenant, "limit": limit},
    )
    return [
        Rejected(int(number), runs.aware(at), reason, raw)
        for number, at, reason, raw in result.result_rows
    ]


def read_status(
    store: ClickHouseStore, tenant: str, shown: str, *, limit: int = 10
) -> IngestStatus:
    """`tenant`'s cursor, backfill flag, totals, runs and rejects; `shown` is the store's
    URL fit to show (`db.engine.redact_url`)."""
    client = store.client
    return IngestStatus(
        cursor=store.read_cursor(tenant),
        backfill_done=store.read_backfill_done(tenant),
        totals=Totals(*runs.totals(client, tenant)),
        database=shown,
        database_bytes=runs.database_bytes(client),
        wal_bytes=None,
        last_ok_run=_first(runs.recent_runs(client, tenant, status="ok", limit=1)),
        last_failed_run=_first(runs.recent_runs(client, tenant, status="failed", limit=1)),
        last_reconcile=_first(
            runs.recent_runs(client, tenant, kind=RECONCILE, ended=True, limit=1)
        ),
        recent_runs=[
            run for run in map(_run, runs.recent_runs(client, tenant, limit=limit)) if run
        ],
        recent_rejects=recent_rejects(store, tenant, limit),
    )
