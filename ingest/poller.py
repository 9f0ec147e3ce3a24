"""Windows and the cursor: what to fetch in a cycle, and when the cursor may move.

A cycle fetches [cursor − LOOKBACK_SECONDS, now] (or the backfill on the first run) in
chunks of at most a day, oldest first. Pages stream into the database as they arrive,
fetched and parsed on a second thread a page or two ahead of the one being written; the
cursor moves to a chunk's end in the transaction that commits the chunk's last pages, so
a crash resumes at the last finished chunk and nothing is lost or doubled.

Once a day the scheduled loop also runs a reconciliation sweep (`run_reconcile`): the last
RECONCILE_DAYS days re-read in one-day windows through the same keys, storing only what
is missing (a search that reached the API later than LOOKBACK_SECONDS) and never moving
the cursor. What a run finds that its counts cannot say (windows whose served count
disagrees with `totalCount`, windows read again because their pages shifted, late
searches a sweep recovered) goes to the run's `notes`.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TypeVar

from config.log_format import log_context
from config.settings import Settings
from db.state import BACKFILL, RECONCILE
from ingest.client import MimecastClient, WindowShifted
from ingest.prefetch import Prefetched
from ingest.records import EventKeyer, Rejection
from ingest.store import IngestPageWriter, IngestStore, PageBatch, PageCounts
from ingest.windows import (
    Held,
    choose_window,
    plan_windows,
    reconcile_range,
    release_held,
    sort_page,
    utc_now_seconds,
    window_doc,
)

log = logging.getLogger(__name__)
T = TypeVar("T")

# Pages fetched and parsed ahead of the one being written: enough to keep the network and
# the database busy at once, few enough that memory does not grow with the backfill.
PREFETCH_PAGES = 2
# Pages that may share one transaction (one commit) while more are already waiting; a
# window's end or a wait for the network commits sooner. Bounds how much a kill rolls back.
PAGES_PER_TRANSACTION = 50
# Reads of one window whose pages keep shifting before the run fails (cursor unmoved).
MAX_WINDOW_READS = 3
# How often the scheduled loop sweeps, measured from the last successful sweep.
RECONCILE_EVERY = timedelta(days=1)


@dataclass
class ChunkProgress:
    """Reported after each committed chunk, for progress lines."""

    kind: str
    index: int
    total: int
    start: datetime
    end: datetime
    counts: PageCounts
    elapsed_seconds: float


@dataclass
class RunNotes:
    """What a run found beyond its counts, kept as JSON in `ingest_runs.notes`.

    Appended to by the page reader (on the prefetch thread) and the writer; read only once
    both have stopped."""

    count_mismatches: list[dict] = field(default_factory=list)
    rereads: list[dict] = field(default_factory=list)
    late: list[dict] = field(default_factory=list)
    remark: str | None = None

    def to_json(self) -> str | None:
        doc: dict[str, object] = {
            name: value for name, value in vars(self).items() if value not in ([], None)
        }
        return json.dumps(doc, ensure_ascii=False) if doc else None


@dataclass
class CycleResult:
    run_id: int
    kind: str
    window_start: datetime
    window_end: datetime
    status: str  # ok | interrupted
    counts: PageCounts = field(default_factory=PageCounts)
    api_requests: int = 0
    tokens: int = 0
    cursor: datetime | None = None
    warnings: list[str] = field(default_factory=list)
    write_seconds: float = 0.0  # time spent in the database, to tell it apart from the API
    notes: RunNotes = field(default_factory=RunNotes)


class CycleFailed(Exception):
    """The cycle stopped on an error; the cursor stays at the last committed chunk."""


class NothingToReconcile(Exception):
    """A sweep was asked for before the first backfill finished (nothing to compare yet)."""


class Poller:
    """Runs cycles against one client and one store."""

    def __init__(
        self,
        settings: Settings,
        store: IngestStore,
        client: MimecastClient,
        *,
        stop: threading.Event | None = None,
        on_chunk: Callable[[ChunkProgress], None] | None = None,
        clock: Callable[[], datetime] = utc_now_seconds,
    ) -> None:
        self.settings = settings
        self.store = store
        self.client = client
        self.stop = stop or threading.Event()
        self.on_chunk = on_chunk
        self.clock = clock
        self._tokens_counted = 0
        self._requests_counted = 0  # requests before a cycle (the start-up token) count too

    def run_cycle(self) -> CycleResult:
        """One cycle; raises CycleFailed (with the run recorded as failed) on error."""
        now = self.clock()
        self.store.close_abandoned_runs()
        cursor = self.store.cursor()
        newest = self.store.totals()["last_event"] if cursor is not None and cursor > now else None
        kind, start, warnings = choose_window(
            self.settings, cursor, self.store.backfill_done(), now, newest
        )
        for warning in warnings:
            log.warning(warning)
        if kind == BACKFILL and self.store.cursor() is None:
            # remember where this backfill began, so a run killed before its first chunk
            # is committed resumes from the same start instead of leaving a gap behind it
            self.store.advance_cursor(start, backfill_done=False)
        run_id = self.store.start_run(kind, start, now)
        result = CycleResult(run_id, kind, start, now, "ok", warnings=warnings)
        return self._run(result, plan_windows(start, now), move_cursor=True)

    def reconcile_due(self, now: datetime | None = None) -> bool:
        """Whether the scheduled loop should sweep now: RECONCILE_DAYS is not 0, the first
        backfill is done, and the last successful sweep (or, before the first one, the end
        of the backfill) is at least a day old. Read from the database, so a restart does
        not sweep again."""
        if self.settings.reconcile_days == 0 or not self.store.backfill_done():
            return False
        last = self.store.last_run_time(RECONCILE) or self.store.last_run_time(BACKFILL)
        return last is None or (now or datetime.now(UTC)) - last >= RECONCILE_EVERY

    def run_reconcile(self) -> CycleResult:
        """One reconciliation sweep (see `reconcile_range`); the cursor does not move.
        Raises NothingToReconcile before the first backfill, CycleFailed on error."""
        now = self.clock()
        self.store.close_abandoned_runs()
        cursor = self.store.cursor()
        if cursor is None or not self.store.backfill_done():
            raise NothingToReconcile(
                "nothing to reconcile yet: the first backfill has not finished "
                "(run `python -m ingest run --once` first)"
            )
        start, end = reconcile_range(self.settings, cursor, now)
        run_id = self.store.start_run(RECONCILE, start, end)
        result = CycleResult(run_id, RECONCILE, start, end, "ok")
        if start == end:
            result.notes.remark = "nothing to re-read: LOOKBACK_SECONDS covers RECONCILE_DAYS"
        return self._run(result, plan_windows(start, end), move_cursor=False)

    def _run(self, result: CycleResult, windows: list[tuple], *, move_cursor: bool) -> CycleResult:
        """Fetch the windows and record the run; raises CycleFailed (run recorded as failed)."""
        try:
            with log_context(run_id=result.run_id):  # its lines carry the run (LOG_FORMAT=json)
                self._fetch_windows(result, windows, move_cursor=move_cursor)
        except Exception as exc:
            self._count_requests(result)
            message = one_line(exc)
            self.store.finish_run(
                result.run_id,
                "failed",
                result.counts,
                result.api_requests,
                message,
                notes=result.notes.to_json(),
            )
            raise CycleFailed(message) from exc
        self._count_requests(result)
        self.store.finish_run(
            result.run_id,
            result.status,
            result.counts,
            result.api_requests,
            notes=result.notes.to_json(),
        )
        return result

    def _count_requests(self, result: CycleResult) -> None:
        result.api_requests = self.client.requests_made - self._requests_counted
        result.tokens = self.client.tokens_fetched - self._tokens_counted
        self._requests_counted = self.client.requests_made
        self._tokens_counted = self.client.tokens_fetched

    def _fetch_windows(
        self, result: CycleResult, windows: list[tuple], *, move_cursor: bool = True
    ) -> None:
        started = time.monotonic()
        if not windows and result.kind == BACKFILL:
            self.store.advance_cursor(result.window_end, backfill_done=True)
        chunk_counts = PageCounts()
        writer: IngestPageWriter | None = None
        with Prefetched(self._pages(windows, result.notes), depth=PREFETCH_PAGES) as pages:
            try:
                for index, item in pages:
                    window = windows[index]
                    writer = writer or self.store.page_writer(result.run_id)
                    if item is not None:
                        batch = self._held_batch(item, window) if isinstance(item, Held) else item
                        self._timed(result, writer.write_page, batch, window)
                        if self._commit_now(writer, pages):
                            self._commit(writer, result, chunk_counts)
                            writer = None
                        if self.stop.is_set():
                            result.status = "interrupted"
                            return  # this chunk is incomplete: the cursor stays before it
                        continue
                    last = index == len(windows) - 1
                    if move_cursor:
                        backfill_done = True if (last and result.kind == BACKFILL) else None
                        writer.advance_cursor(window[1], backfill_done=backfill_done)
                    self._commit(writer, result, chunk_counts)  # rows and cursor at once
                    writer = None
                    if move_cursor:
                        result.cursor = window[1]
                    if result.kind == RECONCILE and chunk_counts.inserted:
                        late = {**window_doc(window), "new": chunk_counts.inserted}
                        result.notes.late.append(late)
                    self._report_chunk(result, windows, index, chunk_counts, started)
                    chunk_counts = PageCounts()
                    if self.stop.is_set() and not last:
                        result.status = "interrupted"
                        return
            finally:
                if writer is not None:
                    writer.rollback()  # an error: nothing of it is kept or counted

    def _report_chunk(
        self,
        result: CycleResult,
        windows: list[tuple],
        index: int,
        counts: PageCounts,
        started: float,
    ) -> None:
        if self.on_chunk:
            start, end = windows[index]
            elapsed = time.monotonic() - started
            self.on_chunk(
                ChunkProgress(result.kind, index + 1, len(windows), start, end, counts, elapsed)
            )

    def _commit_now(self, writer: IngestPageWriter, pages: Prefetched) -> bool:
        """Commit a transaction when asked to stop, when it is full, or when the next page
        is not there yet: never hold the database while waiting for the network."""
        return (
            self.stop.is_set() or writer.counts.pages >= PAGES_PER_TRANSACTION or not pages.ready()
        )

    def _commit(self, writer: IngestPageWriter, result: CycleResult, chunk: PageCounts) -> None:
        """Commit, then count: a run's counts hold only what is in the database."""
        counts = self._timed(result, writer.commit)
        chunk.add(counts)
        result.counts.add(counts)

    @staticmethod
    def _timed(result: CycleResult, call: Callable[..., T], *args: object) -> T:
        writing = time.perf_counter()
        try:
            return call(*args)
        finally:
            result.write_seconds += time.perf_counter() - writing

    def _pages(
        self, windows: list[tuple], notes: RunNotes
    ) -> Iterator[tuple[int, PageBatch | Held | None]]:
        """(window index, page) for every page of every window, oldest window first, then
        (window index, None) once a window's last page has been read.

        A window whose pages shifted while it was read is read again from its first page,
        with fresh keys: the pages before the shift were one consistent listing, so what of
        them is already written comes back with the same keys and is skipped as duplicates."""
        for index, window in enumerate(windows):
            total: int | None = None
            for attempt in range(1, MAX_WINDOW_READS + 1):
                keyer = EventKeyer()
                held: list[Rejection] = []
                served, reader = 0, self.client.iter_pages(*window)
                try:
                    while True:
                        try:
                            page = next(reader)
                        except StopIteration as end:  # the window's totalCount
                            total = end.value
                            break
                        served += len(page.records)
                        yield index, sort_page(page.records, window, keyer, held)
                except WindowShifted as exc:
                    notes.rereads.append({**window_doc(window), "reason": str(exc)})
                    log.warning("window read again (%d/%d): %s", attempt, MAX_WINDOW_READS, exc)
                    if attempt == MAX_WINDOW_READS:
                        raise WindowShifted(
                            f"{exc}; the window changed on each of {MAX_WINDOW_READS} reads, so "
                            "the run stops with the cursor before it: the next run reads it again"
                        ) from exc
                    continue
                break
            if total is not None and served != total:
                notes.count_mismatches.append(
                    {**window_doc(window), "served": served, "total_count": total}
                )
                log.warning(
                    "the API served %d searches for %s → %s but its totalCount said %d",
                    served,
                    *window_doc(window).values(),
                    total,
                )
            if held:  # the oldest records of the window: their older neighbour is stored
                yield index, Held(keyer, held)
            yield index, None

    def _held_batch(self, held: Held, window: tuple[datetime, datetime]) -> PageBatch:
        """Key the rejects that end a window by the newest search stored before it. Done on
        the writing side: pages are read ahead, and only here is every earlier window
        certain to be committed."""
        anchor = self.store.newest_before(window[0])
        return PageBatch(rejections=release_held(held.keyer, held.records, anchor), pages=0)


def one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
