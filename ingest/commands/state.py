"""`status` (text or `--json`), `status --check` and `reset-cursor`, each tenant's or the
one `--tenant` names: the ingest's state read and reset through `db.state`."""

from __future__ import annotations

import json
import sys
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from config.settings import Settings
from db.audit import AuditAction
from db.engine import make_engine
from db.locks import AlreadyRunning
from db.readiness import check_readiness
from db.scope import TenantScope
from db.state import read_cursor, reset_cursor, run_kind_name
from db.stores import on_clickhouse
from ingest.commands.actor import cli_entry, nothing_changed
from ingest.commands.common import (
    EXIT_CONFIG,
    EXIT_FAILED,
    EXIT_OK,
    EXIT_RUNNING,
    UserError,
    database_errors,
    database_shown,
    one_tenant,
    open_engine,
    open_existing_engine,
    selected_tenants,
    tenant_label,
)
from ingest.commands.stores import open_ingest_stores
from ingest.status import collect_status, status_json

RUN_HEADER = (
    f"{'#':>5}  {'kind':<9} {'status':<11} {'started':<32} "
    f"{'pages':>5} {'fetched':>7} {'new':>7} {'dup':>6} {'rej':>4} {'req':>5}  error"
)
RUN_ROW = (
    "{id:>5}  {kind:<9} {status:<11} {started_at:<32} {pages:>5} {fetched:>7} "
    "{inserted:>7} {duplicates:>6} {rejected:>4} {api_requests:>5}  {error_text}"
)


def print_status(status: dict[str, Any]) -> None:
    totals = status["totals"]
    lines = [
        f"database         {status['database']}"
        + (f" ({status['database_bytes']:,} bytes)" if status["database_bytes"] else ""),
        *(
            [f"WAL file         {status['wal_bytes']:,} bytes (SQLite's write-ahead log)"]
            if status.get("wal_bytes") is not None
            else []
        ),
        f"cursor           {status['cursor'] or 'none (the first run will backfill)'}",
        f"backfill done    {'yes' if status['backfill_done'] else 'no'}",
        f"search logs      {totals['search_logs']:,} "
        f"(from {totals['first_event'] or '—'} to {totals['last_event'] or '—'})",
        f"rejected records {totals['rejected_records']:,}",
    ]
    for label, run in (
        ("last ok run", status["last_ok_run"]),
        ("last failed", status["last_failed_run"]),
    ):
        if run:
            lines.append(
                f"{label:<16} #{run['id']} finished {run['finished_at']}"
                + (f": {run['error']}" if run["error"] else "")
            )
    lines.append(f"last sweep       {describe_sweep(status['last_reconcile'])}")
    lines += [f"forwarding       {describe_destination(d)}" for d in status["forwarding"]]
    if status["recent_runs"]:
        lines += ["", "recent runs (newest first)", RUN_HEADER]
        lines += [
            RUN_ROW.format(
                **{**run, "kind": run_kind_name(run["kind"])}, error_text=run["error"] or ""
            )
            for run in status["recent_runs"]
        ]
        lines += [
            f"{'':>5}  notes of #{run['id']}: {run['notes_text']}"
            for run in status["recent_runs"]
            if run["notes_text"]
        ]
    if status["recent_rejects"]:
        lines.append("")
        lines.append("recent rejected records")
        for reject in status["recent_rejects"]:
            raw = reject["raw_json"]
            raw = raw if len(raw) <= 80 else raw[:77] + "..."
            lines.append(f"  #{reject['id']} {reject['rejected_at']}  {reject['reason']}  {raw}")
    print("\n".join(lines))


def describe_sweep(run: dict[str, Any] | None) -> str:
    """The last reconciliation sweep in one line: when, what it re-read, what it found."""
    if run is None:
        return "none yet (the scheduled loop sweeps once a day; `reconcile` sweeps now)"
    text = (
        f"#{run['id']} {run['status']}, finished {run['finished_at']}: re-read "
        f"{run['window_start']} → {run['window_end']}, {run['fetched']:,} fetched, "
        f"{run['inserted']:,} new"
    )
    if run["notes_text"]:
        text += f"; {run['notes_text']}"
    if run["error"]:
        text += f"; error: {run['error']}"
    return text


def describe_destination(row: dict[str, Any]) -> str:
    """One forwarding destination in one line: delivered, lag, parked, last error."""
    text = (
        f"{row['destination']}: {row['delivered']:,} delivered, last "
        f"{row['last_delivery_at'] or 'never'}; lag {row['lag_messages']:,} "
        f"({row['lag_seconds']:,} s); {row['parked']:,} parked"
    )
    return text + (f"; last error: {row['last_error']}" if row["last_error"] else "")


def tenant_verdict(status: dict[str, Any]) -> tuple[str, str | None]:
    """Whether a tenant's polls are "ok", "failing" (its newest run failed) or "not polled
    yet", and why it fails (the run's one-line error)."""
    ok, failed = status["last_ok_run"], status["last_failed_run"]
    if failed and (not ok or failed["id"] > ok["id"]):
        return "failing", f"run #{failed['id']} finished {failed['finished_at']}: {failed['error']}"
    return ("ok" if ok else "not polled yet"), None


def tenant_status(engine: Engine, tenant: str) -> dict[str, Any]:
    status = {"tenant": tenant, **collect_status(engine, TenantScope.one(tenant))}
    status["state"], status["failure"] = tenant_verdict(status)
    return status


def clickhouse_statuses(settings: Settings, tenants: list[str]) -> list[dict[str, Any]]:
    """Each tenant's status read from ClickHouse (no forwarding there yet)."""
    from db.clickhouse.status import read_status  # loads the ClickHouse modules on use

    stores = open_ingest_stores(settings)
    try:
        store, shown = stores.clickhouse, stores.search_shown
        assert store is not None
        statuses = []
        for name in tenants:
            status = {"tenant": name, **status_json(read_status(store, name, shown))}
            status["forwarding"] = []
            status["state"], status["failure"] = tenant_verdict(status)
            statuses.append(status)
        return statuses
    finally:
        stores.close()


def command_status(settings: Settings, as_json: bool, tenant: str | None = None) -> int:
    """One tenant's status as before tenants (without TENANTS_FILE, or with --tenant);
    with several, a line per tenant saying whether it polls and why not, then each one's."""
    tenants = selected_tenants(settings, tenant)
    if on_clickhouse(settings):
        statuses = clickhouse_statuses(settings, [each.name for each in tenants])
    else:
        engine = open_engine(settings)
        try:
            with database_errors(engine):
                statuses = [tenant_status(engine, each.name) for each in tenants]
        finally:
            engine.dispose()
    alone = not settings.tenants_file or tenant is not None
    if as_json:
        shown = statuses[0] if alone else {"tenants": statuses}
        print(json.dumps(shown, indent=2, ensure_ascii=False))
        return EXIT_OK
    if alone:
        print_status(statuses[0])
        return EXIT_OK
    print("tenants")
    for status in statuses:
        print(
            f"  {status['tenant']:<16} {status['state']}"
            + (f": {status['failure']}" if status["failure"] else "")
        )
    for status in statuses:
        print(f"\n== tenant {status['tenant']} ==")
        print_status(status)
    return EXIT_OK


def command_status_check(settings: Settings, tenant: str | None = None) -> int:
    """`status --check`: the readiness test of `/readyz` for every tenant (or `tenant`),
    without upgrading the schema; ready only if every one is."""
    tenants = selected_tenants(settings, tenant)
    engine = make_engine(settings.effective_database_url, create_folder=False)
    try:
        answers = [
            (each.name, check_readiness(engine, TenantScope.one(each.name), settings.poll_seconds))
            for each in tenants
        ]
    finally:
        engine.dispose()
    for name, readiness in answers:
        label = tenant_label(settings, name)
        if readiness.ready:
            print(f"{label}ready: the last successful poll finished {readiness.last_poll_ok_at}")
        for reason in readiness.reasons:
            print(f"{label}not ready: {reason}", file=sys.stderr)
    return EXIT_OK if all(readiness.ready for _, readiness in answers) else EXIT_FAILED


def command_reset_cursor(settings: Settings, yes: bool, tenant: str | None = None) -> int:
    name = one_tenant(settings, tenant, "reset the cursor of").name
    engine = open_existing_engine(settings)
    try:
        if not yes:
            if not sys.stdin.isatty():
                raise UserError(
                    "reset-cursor needs confirmation: run it in a terminal or pass --yes",
                    EXIT_CONFIG,
                )
            cursor = read_cursor(engine, name)
            print(
                f"The {tenant_label(settings, name)}cursor is {cursor or 'not set'}. Resetting "
                f"it makes the next run backfill {settings.initial_backfill_days} days again "
                "(stored rows are kept and never doubled)."
            )
            if input("Reset the cursor? [y/N] ").strip().lower() not in ("y", "yes"):
                print("Nothing changed.")
                return EXIT_OK
        entry = cli_entry(AuditAction.RESET_CURSOR, "cursor", "cursor reset (CLI)", tenant=name)
        reset_cursor(engine, name, audited=entry)
        print(
            f"{tenant_label(settings, name)}Cursor reset in {database_shown(settings)}: the "
            "next run backfills INITIAL_BACKFILL_DAYS days."
        )
        return EXIT_OK
    except AlreadyRunning as exc:
        raise UserError(str(exc), EXIT_RUNNING) from None
    except SQLAlchemyError as exc:
        raise UserError(nothing_changed(exc), EXIT_FAILED) from None
    finally:
        engine.dispose()
