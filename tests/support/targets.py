"""Two tenants whose searches target mailboxes (tests/test_targets_*.py, the Mailboxes
page's tests): their data differ, and the mailbox SHARED_BOX is searched in both, as is
the searcher SEARCHER; the stored targets read back, and what the parser makes of the
stored searches (the truth they must equal)."""

from __future__ import annotations

from collections import Counter

from sqlalchemy import Engine, select

from db.models import SearchLog, SearchTarget
from ingest.targets import parse_targets
from tests.support.builders import record, store_records

SHARED_BOX = "dhamilton@example.com"
SEARCHER = "admin@example.com"
RANGE = {"from": "2026-11-01", "to": "2026-11-05", "tz": "UTC"}
TWO_TENANTS = {
    "acme": [
        record(
            "2026-11-02T09:00:00",
            SEARCHER,
            searchText="[User : DHamilton@example.com]",
            searchReason="Legal hold LH-1",
            description="Archive Search",
            source="archive",
        ),
        record(
            "2026-11-03T09:00:00",
            "eve@example.com",
            searchText="1b471db32c08 [User : dhamilton@example.com]",
            searchReason="",
            description="Threat Remediation search",
            source="archive",
        ),
        record(
            "2026-11-03T10:00:00",
            SEARCHER,
            searchText="[User : pat@example.com] [Route : inbound]",
            description="Message Tracking Search",
            source="archive",
        ),
        record(
            "2026-11-04T10:00:00",
            SEARCHER,
            searchText="<ab12@mail.example.com> invoice from ceo@examp1e.com",
            description="Message Tracking Search",
            source="archive",
        ),
    ],
    "globex": [
        record(
            "2026-11-03T11:00:00",
            SEARCHER,
            searchText="[User : dhamilton@example.com]",
            description="Message Tracking Search",
            source="archive",
        ),
        record(
            "2026-11-04T11:00:00",
            "gus@globex.example",
            searchText="[User : kim@globex.example]",
            searchReason="HR case 7",
            description="Archive Search",
            source="archive",
        ),
    ],
}
"""acme: SHARED_BOX searched twice by two searchers (one without a reason), pat once;
globex: SHARED_BOX once (no reason), kim once."""


def store_two_tenants(engine: Engine) -> None:
    for tenant, records in TWO_TENANTS.items():
        store_records(engine, records, tenant=tenant)


def stored_targets(engine: Engine) -> Counter[tuple[str, str, str, str, str]]:
    """Every stored target as (tenant, event_key, kind, field, value)."""
    columns = SearchTarget.__table__.c
    with engine.connect() as conn:
        rows = conn.execute(
            select(columns.tenant, columns.event_key, columns.kind, columns.field, columns.value)
        ).all()
    return Counter(tuple(row) for row in rows)


def parsed_targets(engine: Engine) -> Counter[tuple[str, str, str, str, str]]:
    """What the parser makes of every stored search: what `stored_targets` must equal."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(SearchLog.tenant, SearchLog.event_key, SearchLog.search_text)
        ).all()
    return Counter(
        (tenant, key, *target) for tenant, key, text in rows for target in parse_targets(text)
    )
