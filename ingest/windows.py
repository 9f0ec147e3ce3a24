"""What a cycle reads and keeps: the window of a poll (backfill, resumed backfill, delta with
its overlap) or a sweep, cut into chunks, and the records of a page sorted into what lies
inside the window and what is rejected."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from config.settings import Settings
from db.state import BACKFILL, DELTA
from ingest.client import format_api_time
from ingest.page_writer import PageBatch
from ingest.records import EventKeyer, Rejection, SearchEvent, parse_record

CHUNK = timedelta(days=1)


def window_doc(window: tuple[datetime, datetime]) -> dict[str, str]:
    return {"start": format_api_time(window[0]), "end": format_api_time(window[1])}


def reconcile_range(
    settings: Settings, cursor: datetime, now: datetime
) -> tuple[datetime, datetime]:
    """What a sweep re-reads: the RECONCILE_DAYS days before the cursor, less the last
    LOOKBACK_SECONDS (every delta poll re-reads those anyway). A search found there that is
    not stored reached the API later than LOOKBACK_SECONDS: without the sweep it was lost."""
    end_of_polls = min(cursor, now)
    start = end_of_polls - timedelta(days=settings.reconcile_days)
    end = max(start, end_of_polls - timedelta(seconds=settings.lookback_seconds))
    return start, end


def utc_now_seconds() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def plan_windows(start: datetime, end: datetime, chunk: timedelta = CHUNK) -> list[tuple]:
    """[start, end] cut into consecutive windows of at most `chunk`, oldest first."""
    windows = []
    cursor = start
    while cursor < end:
        upper = min(cursor + chunk, end)
        windows.append((cursor, upper))
        cursor = upper
    return windows


def choose_window(
    settings: Settings,
    cursor: datetime | None,
    backfill_done: bool,
    now: datetime,
    newest_stored: datetime | None = None,
) -> tuple[str, datetime, list[str]]:
    """The cycle's kind and start: backfill, resumed backfill, or delta with overlap.

    A cursor ahead of the clock was written by a clock that ran fast: the API only had
    searches up to the real time of that poll, so the cycle re-reads from the newest search
    stored (less the overlap), which the fast clock cannot have moved.
    """
    warnings: list[str] = []
    lookback = timedelta(seconds=settings.lookback_seconds)
    kind = DELTA if backfill_done else BACKFILL
    if cursor is not None and cursor > now:
        if newest_stored is None:
            start = now - timedelta(days=settings.initial_backfill_days)
            resumed = f"backfilling {settings.initial_backfill_days} days again (nothing is stored)"
        else:
            start = min(newest_stored, now) - lookback
            resumed = (
                f"re-reading from {start.isoformat()} "
                "(the newest stored search less LOOKBACK_SECONDS)"
            )
        warnings.append(
            f"the cursor {cursor.isoformat()} is ahead of this machine's clock "
            f"({now.isoformat()}); {resumed} — check the clock"
        )
        return kind, start, warnings
    if cursor is None:
        return BACKFILL, now - timedelta(days=settings.initial_backfill_days), warnings
    if not backfill_done:
        return BACKFILL, cursor, warnings
    return DELTA, cursor - lookback, warnings


def sort_page(
    records: list,
    window: tuple[datetime, datetime],
    keyer: EventKeyer,
    held: list[Rejection],
) -> PageBatch:
    """Validate and key one page's records; keep only those inside the window.

    A rejected record is keyed by the createTime of the next valid record served after it
    (the next older one: pages run newest first), so it waits in `held` until one comes,
    on this page or a later one. The older neighbour does not change when newer searches
    arrive, so a record at the live edge of one poll keeps its key in the next.
    """
    batch = PageBatch(fetched=len(records))
    start, end = window
    for record in records:
        parsed = parse_record(record)
        if isinstance(parsed, SearchEvent):
            batch.rejections += release_held(keyer, held, parsed.create_time.isoformat())
            if not start <= parsed.create_time <= end:
                batch.out_of_window += 1
                continue
            batch.events.append((keyer.event_key(parsed), parsed))
        else:
            held.append(parsed)
    return batch


def release_held(
    keyer: EventKeyer, held: list[Rejection], anchor: str
) -> list[tuple[str, Rejection]]:
    """Key the held rejected records by `anchor` and empty `held`."""
    keyed = [(keyer.reject_key(rejection, anchor), rejection) for rejection in held]
    held.clear()
    return keyed


@dataclass
class Held:
    """Rejected records that end a window, waiting for their anchor (see `sort_page`)."""

    keyer: EventKeyer
    records: list[Rejection]
