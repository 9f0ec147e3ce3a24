"""Tenant isolation: data of three tenants written through the product's real write path into
a database that holds them all and into one that holds tenant A's only, and the means to
compare what a read of A's scope returns from each (issue 16)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pandas as pd
from hypothesis import strategies as st
from sqlalchemy import Engine, delete, select, update

from db.alerts import NewAlert, insert_alerts
from db.models import Base, IngestRun, RejectedRecord
from db.queries import SYSTEM_SENDER
from ingest.records import EventKeyer, Rejection, SearchEvent, parse_record
from ingest.store import PageBatch, Store

A, B, C = "acme", "beta-2", "gamma_3"
TENANTS = (A, B, C)
ANCHOR = datetime(2026, 3, 26, tzinfo=UTC)
"""The searches fall in the eight days from here: Berlin's change to summer time inside."""
DAYS = 8
WINDOW = (datetime(2026, 1, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC))
ADDRESSES = (
    "shared@corp.example",
    "Shared@Corp.Example",
    "a@acme.example",
    "b@beta.example",
    "x%_@corp.example",
    SYSTEM_SENDER,
)
"""Every tenant draws from the same addresses: the same person searches in several."""
SOURCES = ("archive", "console", "api", "=cmd|' /C calc'!A0")
TYPES = ("Archive Search", "Message Tracking Search", "Audit [Page 1] - Depth 100")
HOSTILE_TEXT = ("", "invoice", '=HYPERLINK("http://evil","x")', "a;=1+1", "100% done", "a_b\nc")
TEXTS = ("", "in", "%", "_", "=", "INVOICE")
ZONES = ("UTC", "Europe/Berlin", "Asia/Kolkata")
RULES = ("volume", "breadth", "off_hours")


def _time(seconds: int) -> str:
    return (ANCHOR + timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%S+0000")


search_records = st.fixed_dictionaries(
    {
        "createTime": st.integers(0, DAYS * 86_400 - 1).map(_time),
        "emailAddr": st.sampled_from(ADDRESSES),
    },
    optional={
        "source": st.sampled_from(SOURCES),
        "searchText": st.one_of(
            st.sampled_from(HOSTILE_TEXT),
            st.text(max_size=12),
            st.sampled_from(ADDRESSES[:4]).map(lambda box: f"[User : {box}]"),  # a mailbox
        ),
        "searchReason": st.one_of(st.sampled_from(HOSTILE_TEXT), st.none()),
        "description": st.sampled_from(TYPES),
    },
)
bad_records = st.one_of(
    st.fixed_dictionaries({"createTime": st.just("not a time"), "emailAddr": st.just("r@x.io")}),
    st.integers(),
    st.text(max_size=8),
)
"""Records the ingest rejects: they land in `rejected_records` and the status report."""
tenant_records = st.tuples(
    st.lists(search_records, min_size=1, max_size=8),
    st.lists(st.one_of(search_records, bad_records), max_size=6),
).map(lambda parts: parts[0] + parts[1])
"""At least one search per tenant (mixed with hostile values and rejected records)."""


@st.composite
def tenant_data(draw: st.DrawFn) -> dict[str, list[object]]:
    """Records per tenant; B repeats some of A's searches exactly (identical searches in two
    accounts must stay two rows)."""
    mine = draw(tenant_records)
    copied = draw(st.lists(st.sampled_from(mine), min_size=1, max_size=4))
    return {A: mine, B: copied + draw(tenant_records), C: draw(tenant_records)}


@st.composite
def tenant_alerts(draw: st.DrawFn) -> list[NewAlert]:
    """Alerts of every tenant: the first (user, rule, day) alerted in A and in B, the others
    in one to three tenants."""
    keys = st.tuples(st.sampled_from(ADDRESSES), st.sampled_from(RULES), st.integers(0, DAYS - 1))
    severities = st.sampled_from(("high", "medium", "low"))
    alerts = []
    for number, (email, rule, offset) in enumerate(draw(st.lists(keys, min_size=1, max_size=6))):
        tenants = (A, B) if number == 0 else draw(st.lists(st.sampled_from(TENANTS), min_size=1))
        day = ANCHOR.date() + timedelta(days=offset)
        start = datetime.combine(day, datetime.min.time(), UTC)
        for tenant in dict.fromkeys(tenants):
            alerts.append(
                NewAlert(
                    tenant,
                    rule,
                    email,
                    day,
                    start,
                    start + timedelta(days=1),
                    draw(severities),
                    f"{rule} of {email} in {tenant}",
                    f'{{"tenant": "{tenant}"}}',
                    f"/user?email={email}",
                )
            )
    return alerts


@dataclass
class Installations:
    """`every` holds all three tenants, `only` tenant A's records alone (as tenant A)."""

    every: Engine
    only: Engine

    def clear(self) -> None:
        for engine in (self.every, self.only):
            with engine.begin() as conn:
                for table in reversed(Base.metadata.sorted_tables):
                    conn.execute(delete(table))


def write_page(store: Store, keyer: EventKeyer, records: list[object], status: str) -> None:
    """One page through the ingest's writer, as one run of `store`'s tenant."""
    run_id = store.start_run("delta", *WINDOW)
    batch = PageBatch(fetched=len(records))
    for record in records:
        parsed = parse_record(record)
        if isinstance(parsed, SearchEvent):
            batch.events.append((keyer.event_key(parsed), parsed))
        else:
            assert isinstance(parsed, Rejection)
            batch.rejections.append((keyer.reject_key(parsed, ""), parsed))
    counts = store.write_page(batch, run_id, WINDOW)
    error = None if status == "ok" else f"the poll of {store.tenant} failed"
    store.finish_run(run_id, status, counts, api_requests=1, error=error)


def write_tenants(
    places: Installations, data: dict[str, list[object]], alerts: list[NewAlert]
) -> None:
    """Pages of four records, the tenants' pages interleaved in `every` (so their row ids
    interleave), A's in the same order in `only`; cursors and alerts likewise."""
    pages = {
        t: [records[i : i + 4] for i in range(0, len(records), 4)] for t, records in data.items()
    }
    keyers = {(engine, t): EventKeyer() for engine in ("every", "only") for t in TENANTS}
    for number in range(max(len(p) for p in pages.values())):
        for tenant in TENANTS:
            if number >= len(pages[tenant]):
                continue
            page = pages[tenant][number]
            status = "ok" if tenant == A or number % 2 == 0 else "failed"
            write_page(Store(places.every, tenant), keyers["every", tenant], page, status)
            if tenant == A:
                write_page(Store(places.only, A), keyers["only", A], page, status)
    for offset, tenant in enumerate(TENANTS):
        cursor = ANCHOR + timedelta(days=DAYS, hours=offset)
        Store(places.every, tenant).advance_cursor(cursor, backfill_done=tenant != B)
        if tenant == A:
            Store(places.only, A).advance_cursor(cursor, backfill_done=True)
    with places.every.begin() as conn:
        insert_alerts(conn, alerts)
    with places.only.begin() as conn:
        insert_alerts(conn, [alert for alert in alerts if alert.tenant == A])
    for engine in (places.every, places.only):
        fix_clock_columns(engine)


def fix_clock_columns(engine: Engine) -> None:
    """Give each tenant's runs and rejects fixed times by their order (the writer stamps
    them with the wall clock): A's are the same in both databases, the others' differ."""
    with engine.begin() as conn:
        for table, columns in (
            (IngestRun.__table__, ("started_at", "finished_at")),
            (RejectedRecord.__table__, ("rejected_at",)),
        ):
            rows = conn.execute(select(table.c.id, table.c.tenant).order_by(table.c.id)).all()
            seen: dict[str, int] = {}
            for row_id, tenant in rows:
                seen[tenant] = seen.get(tenant, 0) + 1
                moment = ANCHOR + timedelta(hours=seen[tenant], minutes=TENANTS.index(tenant))
                values = dict.fromkeys(columns, moment)
                conn.execute(update(table).where(table.c.id == row_id).values(**values))


def without_ids(value: Any) -> Any:
    """`value` with what is the installation's, not the tenant's, set aside: row ids (their
    order is kept by the lists), the database's name and sizes, alerts' creation times."""
    if isinstance(value, pd.DataFrame):
        return value.drop(columns=[c for c in ("id", "created_at") if c in value.columns])
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        changes = {f.name: without_ids(getattr(value, f.name)) for f in dataclasses.fields(value)}
        for name in ("id", "database", "database_bytes", "wal_bytes"):
            if name in changes:
                changes[name] = None
        return dataclasses.replace(value, **changes)
    if isinstance(value, list | tuple):
        return type(value)(without_ids(item) for item in value)
    if isinstance(value, dict):
        return {key: without_ids(item) for key, item in value.items()}
    return value


def assert_same(mixed: Any, alone: Any, what: str) -> None:
    """The read of A's scope from both databases is the same, frames cell for cell."""
    mixed, alone = without_ids(mixed), without_ids(alone)
    _compare(mixed, alone, what)


def _compare(mixed: Any, alone: Any, what: str) -> None:
    if isinstance(alone, pd.DataFrame):
        pd.testing.assert_frame_equal(mixed, alone, check_exact=True, obj=what)
    elif dataclasses.is_dataclass(alone) and not isinstance(alone, type):
        assert type(mixed) is type(alone), what
        for f in dataclasses.fields(alone):
            _compare(getattr(mixed, f.name), getattr(alone, f.name), f"{what}.{f.name}")
    elif isinstance(alone, list | tuple):
        assert len(mixed) == len(alone), what
        for index, (one, other) in enumerate(zip(mixed, alone, strict=True)):
            _compare(one, other, f"{what}[{index}]")
    elif isinstance(alone, dict):
        assert mixed.keys() == alone.keys(), what
        for key in alone:
            _compare(mixed[key], alone[key], f"{what}[{key!r}]")
    else:
        assert mixed == alone, what


def day_range(start: int, length: int) -> tuple[date, date]:
    first = ANCHOR.date() + timedelta(days=start - 1)
    return first, first + timedelta(days=length)
