"""The ingest's own records on ClickHouse: its run log, the filter values and the totals,
per tenant (the SQL path keeps them in `ingest_runs`, `filter_values`
and `db.state`; docs/clickhouse.md says why they live beside the searches).

ClickHouse has no autoincrement and no UPDATE that a reader sees at once, so a run is two
rows with one key (tenant, id): its start (revision 0) and its end (revision 1), which
`ReplacingMergeTree(revision)` and `FINAL` collapse to the end. A run id is the tenant's
largest plus one, taken under the tenant's cycle lock (one writer per tenant).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from db.state.report import RUN_FIELDS

RUN_COLUMNS = ("tenant", "revision", "notes", *RUN_FIELDS)
_SELECT_RUN = f"SELECT {', '.join(RUN_FIELDS)}, notes FROM ingest_runs FINAL"
ABANDONED = "the ingest process ended without finishing this run"


def aware(value: Any) -> Any:
    """A time as an aware UTC datetime (chDB returns naive UTC times); others unchanged."""
    if isinstance(value, datetime) and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


def _rows(client: Any, sql: str, params: Mapping[str, Any]) -> list[dict[str, Any]]:
    result = client.query(sql, parameters=dict(params))
    return [
        {name: aware(value) for name, value in zip(result.column_names, row, strict=True)}
        for row in result.result_rows
    ]


def _insert_run(client: Any, tenant: str, revision: int, run: Mapping[str, Any]) -> None:
    row = [tenant, revision, run.get("notes"), *(run.get(name) for name in RUN_FIELDS)]
    client.insert("ingest_runs", [row], column_names=list(RUN_COLUMNS))


def start_run(
    client: Any, tenant: str, kind: str, window: tuple[datetime, datetime], now: datetime
) -> int:
    """Record a running run of `tenant`; its id (the tenant's largest plus one)."""
    largest = client.query(
        "SELECT max(id) FROM ingest_runs WHERE tenant = {tenant:String}",
        parameters={"tenant": tenant},
    ).result_rows[0][0]
    run_id = int(largest or 0) + 1
    counts = dict.fromkeys(RUN_FIELDS[7:14], 0)
    run = {"id": run_id, "kind": kind, "status": "running", "started_at": now, **counts}
    _insert_run(client, tenant, 0, {**run, "window_start": window[0], "window_end": window[1]})
    return run_id


def read_run(client: Any, tenant: str, run_id: int) -> dict[str, Any] | None:
    found = _rows(
        client,
        f"{_SELECT_RUN} WHERE tenant = {{tenant:String}} AND id = {{id:Int64}}",
        {"tenant": tenant, "id": run_id},
    )
    return found[0] if found else None


def finish_run(client: Any, tenant: str, run_id: int, changes: Mapping[str, Any]) -> None:
    """The run's end row: its start row with `changes` (status, counts, error, notes)."""
    started = read_run(client, tenant, run_id)
    if started is None:
        raise LookupError(f"run #{run_id} of tenant {tenant!r} was never started")
    _insert_run(client, tenant, 1, {**started, **changes})


def close_abandoned_runs(client: Any, tenant: str, now: datetime) -> int:
    """End `tenant`'s runs left running by a killed process as failed; how many."""
    running = recent_runs(client, tenant, status="running", limit=None)
    for run in running:
        _insert_run(
            client, tenant, 1, {**run, "status": "failed", "finished_at": now, "error": ABANDONED}
        )
    return len(running)


def recent_runs(
    client: Any,
    tenant: str,
    *,
    status: str | None = None,
    kind: str | None = None,
    ended: bool = False,
    limit: int | None = 10,
) -> list[dict[str, Any]]:
    """`tenant`'s runs, newest first: of `status` or `kind` if given, only ended ones if
    `ended`."""
    where, params = ["tenant = {tenant:String}"], {"tenant": tenant}
    if status is not None:
        where.append("status = {status:String}")
        params["status"] = status
    if kind is not None:
        where.append("kind = {kind:String}")
        params["kind"] = kind
    if ended:
        where.append("status != 'running'")
    tail = "" if limit is None else f" LIMIT {int(limit)}"
    return _rows(
        client, f"{_SELECT_RUN} WHERE {' AND '.join(where)} ORDER BY id DESC{tail}", params
    )


def last_run_time(client: Any, tenant: str, kind: str) -> datetime | None:
    """When `tenant`'s last successful run of `kind` started."""
    runs = recent_runs(client, tenant, status="ok", kind=kind, limit=1)
    return runs[0]["started_at"] if runs else None


def remember_filter_values(client: Any, tenant: str, values: Iterable[tuple[str, str]]) -> None:
    """Add (kind, value) pairs to `tenant`'s filter lists (a value added twice is one)."""
    rows = [[tenant, kind, value] for kind, value in sorted(values)]
    if rows:
        client.insert("filter_values", rows, column_names=["tenant", "kind", "value"])


def filter_values(client: Any, tenant: str, kind: str) -> list[str]:
    return [
        row[0]
        for row in client.query(
            "SELECT DISTINCT value FROM filter_values WHERE tenant = {tenant:String}"
            " AND kind = {kind:String} ORDER BY value",
            parameters={"tenant": tenant, "kind": kind},
        ).result_rows
    ]


def totals(client: Any, tenant: str) -> tuple[int, datetime | None, datetime | None, int]:
    """Searches of `tenant` (each key once), the first and last, records rejected."""
    searches, first, last = client.query(
        "SELECT count(), min(create_time), max(create_time) FROM search_logs FINAL"
        " WHERE tenant = {tenant:String}",
        parameters={"tenant": tenant},
    ).result_rows[0]
    rejected = client.query(
        "SELECT count() FROM rejected_records FINAL WHERE tenant = {tenant:String}",
        parameters={"tenant": tenant},
    ).result_rows[0][0]
    if not searches:
        return 0, None, None, int(rejected)
    return int(searches), aware(first), aware(last), int(rejected)


def newest_before(client: Any, tenant: str, moment: datetime) -> datetime | None:
    """The createTime of `tenant`'s newest search before `moment` (None if none)."""
    count, newest = client.query(
        "SELECT count(), max(create_time) FROM search_logs WHERE tenant = {tenant:String}"
        " AND create_time < {moment:DateTime64(6, 'UTC')}",
        parameters={"tenant": tenant, "moment": moment},
    ).result_rows[0]
    return aware(newest) if count else None


def database_bytes(client: Any) -> int:
    """Bytes on disk of the store's tables (active parts)."""
    rows = client.query(
        "SELECT sum(bytes_on_disk) FROM system.parts WHERE active AND database = currentDatabase()"
    ).result_rows
    return int(rows[0][0] or 0)
