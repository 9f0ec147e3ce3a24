"""Data builders: search-log records as the API sends them, written through the real write
path (`parse_record`, `EventKeyer`, `Store.write_page`), and KNOWN, a small set of rows
whose figures the query, page and API tests know by heart."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Engine

from db.queries import SYSTEM_SENDER
from ingest.records import EventKeyer, SearchEvent, parse_record
from ingest.store import PageBatch, Store
from tests.support.tenancy import TENANT

WINDOW = (datetime(2026, 1, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC))


def record(when: str, email: str, **fields: object) -> dict[str, object]:
    """A search-log record as the API sends it (`when` is UTC, `YYYY-MM-DDTHH:MM:SS`)."""
    return {"createTime": f"{when}+0000", "emailAddr": email, **fields}


def store_records(engine: Engine, records: list[dict[str, object]], tenant: str = TENANT) -> int:
    """Write `records` as one page of one finished run of `tenant`; return the run id."""
    store = Store(engine, tenant)
    run_id = store.start_run("bootstrap", *WINDOW)
    keyer = EventKeyer()
    events = [parse_record(r) for r in records]
    assert all(isinstance(e, SearchEvent) for e in events)
    batch = PageBatch(
        events=[(keyer.event_key(e), e) for e in events if isinstance(e, SearchEvent)],
        fetched=len(records),
    )
    counts = store.write_page(batch, run_id, WINDOW)
    assert counts.inserted == len(records)
    store.finish_run(run_id, "ok", counts, api_requests=1)
    return run_id


# Times are UTC. Europe/Berlin: CET (+1) until 2026-03-29 01:00 UTC, then CEST (+2) until
# 2026-10-25 01:00 UTC. Asia/Kolkata is +05:30 all year.
KNOWN = [
    record(
        "2026-03-28T10:00:00",
        "a@example.com",
        source="archive",
        searchText="invoice",
        searchReason="Legal hold",
        description="Archive Search",
    ),
    record(
        "2026-03-29T00:30:00",  # Berlin 01:30 CET on the 29th; Kolkata 06:00 on the 29th
        "a@example.com",
        source="archive",
        searchText="Invoice March",
        description="Message Tracking Search",
    ),
    record(
        "2026-03-29T23:30:00",  # Berlin 01:30 CEST on the 30th; Kolkata 05:00 on the 30th
        "A@Example.com",
        source="console",
        searchText='=HYPERLINK("http://evil","x")',
        searchReason="",
        description="Message Tracking Search",
    ),
    record(
        "2026-03-29T18:29:00",  # Kolkata 23:59 on Sunday the 29th
        "b@example.com",
        source="console",
        searchText="100% done",
        searchReason="Ticket #1",
        description="Archive Search",
    ),
    record(
        "2026-03-29T18:30:00",  # Kolkata 00:00 on Monday the 30th
        "b@example.com",
        source="archive",
        searchText="100 percent_done",
        description="Archive Search",
    ),
    record(
        "2026-03-30T12:00:00",
        SYSTEM_SENDER,
        source="api",
        searchText="",
        description="Audit [Page 1] - Depth 100",
    ),
    record(
        "2026-03-31T22:30:00",  # Berlin 00:30 CEST on 1 April
        "c@example.com",
        source="archive",
        searchText="<img src=x onerror=alert(1)>",
        searchReason="HR case",
        description="Archive Search",
    ),
    record("2026-10-25T00:30:00", "d@example.com", description="Archive Search"),
    record("2026-10-25T01:30:00", "d@example.com", description="Archive Search"),
]
