"""The ingest's view of a ClickHouse store: the same methods as `ingest.store.Store`, so the
poller runs unchanged, with pages written through `SearchStore.write_page` and the run log,
filter values and totals kept in ClickHouse (`db.clickhouse.runs`).

No transaction spans the writes here: a commit's pages are stored in one write, durable
when it returns, and the window's cursor is written after it, so the cursor is never
ahead of its rows. A kill or an error between the two leaves rows whose keys the next
read of the window finds: it stores nothing twice (`db.clickhouse.writer`). The locks
stay in the control database (`engine`), as on SQL.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine

from db.clickhouse import runs
from db.clickhouse.store import ClickHouseStore
from ingest.page_writer import PageBatch, PageCounts
from ingest.page_writer import _filter_values as filter_values_of  # the SQL path's own
from ingest.records import Rejection, SearchEvent, storable_text


def _now() -> datetime:
    return datetime.now(UTC)


class ClickHousePageWriter:
    """`ingest.page_writer.PageWriter`'s methods on ClickHouse: the pages of one commit
    (the poller commits at a window's end, every PAGES_PER_TRANSACTION pages, and before it
    waits for the network) stored in one write at `commit`, then the window's cursor.

    Why one write per commit and not per page: each write is a lookup of the known keys and
    an insert (a new part), whose fixed cost is most of a page's time; a commit's pages
    share both. A kill before `commit` loses only pages not yet written, read again by the
    next run, as a rolled-back transaction is on SQL."""

    def __init__(self, owner: ClickHouseIngestStore, run_id: int) -> None:
        self.owner = owner
        self.run_id = run_id
        self.counts = PageCounts()
        self._events: list[tuple[str, SearchEvent]] = []
        self._rejections: list[tuple[str, Rejection]] = []
        self._window: tuple[datetime, datetime] | None = None
        self._cursor: tuple[datetime, bool | None] | None = None

    def write_page(self, batch: PageBatch, window: tuple[datetime, datetime]) -> PageCounts:
        """Keep the page for `commit`; what it fetched (stored and known are counted then)."""
        self._events += batch.events
        self._rejections += batch.rejections
        self._window = window  # the poller commits at each window's end: one per writer
        counts = PageCounts(
            pages=batch.pages, fetched=batch.fetched, out_of_window=batch.out_of_window
        )
        self.counts.add(counts)
        return counts

    def advance_cursor(self, end: datetime, *, backfill_done: bool | None = None) -> None:
        """Move the cursor to `end` at `commit`, once this writer's rows are all written."""
        self._cursor = (end, backfill_done)

    def commit(self) -> PageCounts:
        """Store the pages' new rows and filter values, then move the cursor."""
        owner = self.owner
        if self._window is not None:
            with owner.lock:
                written = owner.search.write_page(
                    owner.tenant, self._events, self._rejections, self.run_id, self._window
                )
                owner.remember_filter_values(filter_values_of(self._events))
            self.counts.inserted = written.inserted
            self.counts.duplicates = len(self._events) - written.inserted
            self.counts.rejected = written.rejected
        if self._cursor is not None:
            owner.advance_cursor(self._cursor[0], backfill_done=self._cursor[1])
        return self.counts

    def rollback(self) -> None:
        """Forget the pages not written yet: the next read of the window brings them back."""
        self._events, self._rejections = [], []


class ClickHouseIngestStore:
    """`ingest.store.Store` for one tenant on ClickHouse; `engine` is the control database,
    where the cycle locks are taken."""

    def __init__(
        self, search: ClickHouseStore, control: Engine, tenant: str, lock: threading.RLock
    ) -> None:
        self.search = search
        self.engine = control
        self.tenant = tenant
        self.lock = lock  # one client is shared by the tenants' threads: calls take turns
        self._values: set[tuple[str, str]] = set()

    @property
    def client(self) -> Any:
        return self.search.client

    # --- cursor -------------------------------------------------------------------------
    def cursor(self) -> datetime | None:
        with self.lock:
            return self.search.read_cursor(self.tenant)

    def backfill_done(self) -> bool:
        with self.lock:
            return self.search.read_backfill_done(self.tenant)

    def advance_cursor(self, end: datetime, *, backfill_done: bool | None = None) -> None:
        with self.lock:
            self.search.advance_cursor(self.tenant, end, backfill_done=backfill_done)

    # --- runs ---------------------------------------------------------------------------
    def start_run(self, kind: str, window_start: datetime, window_end: datetime) -> int:
        with self.lock:
            return runs.start_run(
                self.client, self.tenant, kind, (window_start, window_end), _now()
            )

    def finish_run(
        self,
        run_id: int,
        status: str,
        counts: PageCounts,
        api_requests: int,
        error: str | None = None,
        *,
        notes: str | None = None,
    ) -> None:
        changes = {
            "status": status,
            "finished_at": _now(),
            "api_requests": api_requests,
            "error": None if error is None else storable_text(error),
            "notes": None if notes is None else storable_text(notes),
            **{name: getattr(counts, name) for name in PageCounts.__dataclass_fields__},
        }
        with self.lock:
            runs.finish_run(self.client, self.tenant, run_id, changes)

    def last_run_time(self, kind: str) -> datetime | None:
        with self.lock:
            return runs.last_run_time(self.client, self.tenant, kind)

    def close_abandoned_runs(self) -> int:
        with self.lock:
            return runs.close_abandoned_runs(self.client, self.tenant, _now())

    # --- pages --------------------------------------------------------------------------
    def page_writer(self, run_id: int) -> ClickHousePageWriter:
        return ClickHousePageWriter(self, run_id)

    def remember_filter_values(self, values: set[tuple[str, str]]) -> None:
        """Add the values this process has not added yet (under `lock`)."""
        new = values - self._values
        if new:
            runs.remember_filter_values(self.client, self.tenant, new)
            self._values |= new

    # --- totals -------------------------------------------------------------------------
    def newest_before(self, moment: datetime) -> str:
        with self.lock:
            newest = runs.newest_before(self.client, self.tenant, moment)
        return newest.isoformat() if newest is not None else ""

    def totals(self) -> dict[str, Any]:
        with self.lock:
            searches, first, last, rejected = runs.totals(self.client, self.tenant)
        return {
            "search_logs": searches,
            "first_event": first,
            "last_event": last,
            "rejected_records": rejected,
        }
