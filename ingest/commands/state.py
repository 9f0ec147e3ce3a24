"""`status` (text or `--json`), `status --check` and `reset-cursor`: the ingest's state
read and reset through `db.state`."""

from __future__ import annotations

import json
import sys
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from config.settings import Settings
from db.audit import AuditAction
from db.engine import make_engine
from db.locks import AlreadyRunning
from db.readiness import check_readiness
from db.state import read_cursor, reset_cursor, run_kind_name
from ingest.commands.actor import cli_entry, nothing_changed
from ingest.commands.common import (
    EXIT_CONFIG,
    EXIT_FAILED,
    EXIT_OK,
    EXIT_RUNNING,
    UserError,
    cli_scope,
    cli_tenant,
    database_errors,
    database_shown,
    open_engine,
    open_existing_engine,
)
from ingest.status import collect_status

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


def command_status(settings: Settings, as_json: bool) -> int:
    engine = open_engine(settings)
    try:
        with database_errors(engine):
            status = collect_status(engine, cli_scope())
    finally:
        engine.dispose()
    if as_json:
        print(json.dumps(status, indent=2, ensure_ascii=False))
    else:
        print_status(status)
    return EXIT_OK


def command_status_check(settings: Settings) -> int:
    """`status --check`: the readiness test of `/readyz`, without upgrading the schema."""
    engine = make_engine(settings.effective_database_url, create_folder=False)
    try:
        readiness = check_readiness(engine, cli_scope(), settings.poll_seconds)
    finally:
        engine.dispose()
    if readiness.ready:
        print(f"ready: the last successful poll finished {readiness.last_poll_ok_at}")
        return EXIT_OK
    for reason in readiness.reasons:
        print(f"not ready: {reason}", file=sys.stderr)
    return EXIT_FAILED


def command_reset_cursor(settings: Settings, yes: bool) -> int:
    engine = open_existing_engine(settings)
    try:
        if not yes:
            if not sys.stdin.isatty():
                raise UserError(
                    "reset-cursor needs confirmation: run it in a terminal or pass --yes",
                    EXIT_CONFIG,
                )
            cursor = read_cursor(engine, cli_tenant())
            print(
                f"The cursor is {cursor or 'not set'}. Resetting it makes the next "
                f"run backfill {settings.initial_backfill_days} days again (stored rows are kept "
                "and never doubled)."
            )
            if input("Reset the cursor? [y/N] ").strip().lower() not in ("y", "yes"):
                print("Nothing changed.")
                return EXIT_OK
        entry = cli_entry(
            AuditAction.RESET_CURSOR, "cursor", "cursor reset (CLI)", tenant=cli_tenant()
        )
        reset_cursor(engine, cli_tenant(), audited=entry)
        print(
            f"Cursor reset in {database_shown(settings)}: the next run backfills "
            "INITIAL_BACKFILL_DAYS days."
        )
        return EXIT_OK
    except AlreadyRunning as exc:
        raise UserError(str(exc), EXIT_RUNNING) from None
    except SQLAlchemyError as exc:
        raise UserError(nothing_changed(exc), EXIT_FAILED) from None
    finally:
        engine.dispose()
