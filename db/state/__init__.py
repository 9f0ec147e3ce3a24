"""Ingest state, read and written in one place by the CLI, the ingest, the status page and
the API: the cursor and backfill flag and their reset (`cursor`), the freshness the pages
and the readiness check use (`health`), and the status report (`report`). Values are typed
(datetimes, dataclasses); `ingest status --json` serialises them at its edge.
"""

from db.locks import AlreadyRunning, cycle_lock, forward_lock, single_writer
from db.state.cursor import (
    BACKFILL,
    BACKFILL_DONE_KEY,
    CURSOR_KEY,
    DELTA,
    POLL_KINDS,
    RECONCILE,
    RUN_KIND_NAMES,
    forget_cursor,
    read_backfill_done,
    read_cursor,
    reset_cursor,
    run_kind_name,
    write_cursor,
)
from db.state.health import IngestHealth, data_version, ingest_health, last_poll_ok
from db.state.report import (
    RUN_FIELDS,
    IngestStatus,
    Rejected,
    Run,
    Totals,
    database_size_bytes,
    describe_notes,
    read_status,
    read_totals,
    wal_size_bytes,
)

__all__ = [
    "BACKFILL",
    "BACKFILL_DONE_KEY",
    "CURSOR_KEY",
    "DELTA",
    "POLL_KINDS",
    "RECONCILE",
    "RUN_FIELDS",
    "RUN_KIND_NAMES",
    "AlreadyRunning",
    "IngestHealth",
    "IngestStatus",
    "Rejected",
    "Run",
    "Totals",
    "cycle_lock",
    "data_version",
    "database_size_bytes",
    "describe_notes",
    "forget_cursor",
    "forward_lock",
    "ingest_health",
    "last_poll_ok",
    "read_backfill_done",
    "read_cursor",
    "read_status",
    "read_totals",
    "reset_cursor",
    "run_kind_name",
    "single_writer",
    "wal_size_bytes",
    "write_cursor",
]
