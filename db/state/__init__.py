"""The one home of state: where the ingest, the detector and the forwarder have got to,
read and written here and nowhere else, by the CLI, the ingest, the pages and the API.

- `cursor`: the ingest's cursor and backfill flag, and their reset;
- `detection`: the last day the detector scored;
- `forwarding`: each destination's cursor, its dead letters, and where it stands;
- `health` and `report`: the freshness the pages and the readiness check use, and the
  status report.

Every write takes the caller's connection, so state moves only in the transaction that
stores what it covers (rows, alerts, an acknowledged batch), and every key-value write goes
through the one upsert (`upsert`). Each function's signature is where issue 16 adds the
tenant. Values are typed (datetimes, dataclasses); `ingest status --json` serialises them at
its edge.
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
from db.state.detection import forget_scored_days, scored_through, set_scored_through
from db.state.health import (
    IngestHealth,
    data_version,
    ingest_health,
    ingest_version,
    last_poll_ok,
)
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
from db.state.upsert import dialect_insert, upsert

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
    "dialect_insert",
    "forget_cursor",
    "forget_scored_days",
    "forward_lock",
    "ingest_health",
    "ingest_version",
    "last_poll_ok",
    "read_backfill_done",
    "read_cursor",
    "read_status",
    "read_totals",
    "reset_cursor",
    "run_kind_name",
    "scored_through",
    "set_scored_through",
    "single_writer",
    "upsert",
    "wal_size_bytes",
    "write_cursor",
]
