"""Support for the detection tests and bench/detections.py: write API records into a
database through the ingest's own store, as one bootstrap run, and set the cursor; reach an
anchored tenant from a child process that polls up to the real now."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import Engine

from db.alerts import NewAlert, evidence_url
from db.scope import DEFAULT_TENANT
from ingest.records import EventKeyer, SearchEvent, parse_record
from ingest.store import PageBatch, PageCounts, Store

PAGE = 20_000


def load_records(
    engine: Engine,
    records: Sequence[dict[str, object]],
    end: datetime,
    tenant: str = DEFAULT_TENANT,
) -> int:
    """Store `records` (oldest first) in `tenant`, in pages, keyed and rolled up like the
    ingest does, then move its cursor to `end`; returns how many were stored."""
    store = Store(engine, tenant)
    start = datetime.fromisoformat(str(records[0]["createTime"]).replace("+0000", "+00:00"))
    run_id = store.start_run("bootstrap", start, end)
    keyer = EventKeyer()
    total = PageCounts()
    for offset in range(0, len(records), PAGE):
        batch = PageBatch()
        for record in records[offset : offset + PAGE]:
            event = parse_record(record)
            assert isinstance(event, SearchEvent), event
            batch.events.append((keyer.event_key(event), event))
        batch.fetched = len(batch.events)
        writer = store.page_writer(run_id)
        writer.write_page(batch, (start, end))
        total.add(writer.commit())
    store.finish_run(run_id, "ok", total, api_requests=0)
    store.advance_cursor(end, backfill_done=True)
    return total.inserted


def new_alert(
    rule: str,
    email: str,
    day: date,
    severity: str = "medium",
    *,
    summary: str | None = None,
    figures: str = "{}",
    tenant: str = DEFAULT_TENANT,
) -> NewAlert:
    """An alert as the detector would store it for that local day, with its evidence link."""
    start = datetime(day.year, day.month, day.day, tzinfo=UTC)
    return NewAlert(
        tenant=tenant,
        rule=rule,
        email_addr=email,
        day=day,
        window_start=start,
        window_end=start + timedelta(days=1),
        severity=severity,
        summary=summary or f"{rule}: 12 searches against a usual 2",
        figures=figures,
        evidence_url=evidence_url(email, day, day),
    )


def backfill_days_to(first_day: date, last_day: date) -> str:
    """INITIAL_BACKFILL_DAYS for `python -m ingest` (which polls up to the real now) that
    reach back to `first_day` with a day to spare: the tests plant tenants on fixed dates,
    so that what they hold does not follow the weekday the test runs on."""
    today = datetime.now(UTC).date()
    assert today > last_day + timedelta(days=1), f"the machine's clock is before {last_day}"
    return str((today - first_day).days + 2)
