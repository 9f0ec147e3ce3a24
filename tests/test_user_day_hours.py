"""The per-user, per-UTC-day hours rollup (issue 20): active days read from it equal the raw
rows' in every zone, for ranges that start and end inside a UTC day, with two tenants that
share an address; migration 0016 builds it from stored searches as the ingest would, and
downgrades; a replayed page changes nothing."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from itertools import product
from zoneinfo import ZoneInfo

import pandas as pd
from alembic import command
from sqlalchemy import Engine, inspect, select, text

from db import queries, rollups
from db.active_days import day_masks
from db.engine import alembic_config
from db.models import ROLLUP_USER_DAY_HOURS
from db.queries import SearchFilters
from db.scope import TenantScope
from ingest.records import EventKeyer, parse_record
from ingest.store import PageBatch, Store
from tests.support.builders import WINDOW, record, store_records

TENANTS = ("acme", "globex")
SHARED = "shared@example.com"  # searches in both tenants, on different days
USERS = [SHARED, "ann@example.com", "bob@example.com", "cy@example.com", "<>"]
ZONES = (
    "UTC",
    "Europe/Berlin",  # DST on 2025-10-26 and 2026-03-29
    "America/New_York",  # DST on 2025-11-02 and 2026-03-08
    "Asia/Tokyo",
    "Pacific/Kiritimati",  # UTC+14
    "Pacific/Pago_Pago",  # UTC-11
    "Atlantic/Azores",  # -1 in winter, 0 in summer
    "Asia/Kolkata",  # half an hour: the raw rows answer
)
FIRST = datetime(2025, 10, 15, tzinfo=UTC)
SPAN_DAYS = 182
RANGES = (  # local days: whole months, DST weeks, single days, a day across New Year
    (date(2025, 10, 20), date(2026, 4, 10)),
    (date(2025, 10, 25), date(2025, 11, 3)),
    (date(2026, 3, 7), date(2026, 3, 9)),
    (date(2026, 3, 28), date(2026, 3, 30)),
    (date(2026, 1, 15), date(2026, 1, 15)),
    (date(2025, 12, 31), date(2026, 2, 1)),
)
HOURLESS = (datetime(2026, 1, 10, tzinfo=UTC), datetime(2026, 1, 20, tzinfo=UTC))
"""Whole UTC days, no offset change in any zone: their hourly rows are deleted below."""


def _records(seed: int, count: int) -> list[dict[str, object]]:
    rng = random.Random(seed)
    found = []
    for _ in range(count):
        moment = FIRST + timedelta(seconds=rng.randrange(SPAN_DAYS * 86400))
        user = SHARED if rng.random() < 0.3 else rng.choice(USERS)
        fields = {"source": rng.choice(["archive", "api"]), "description": "Archive Search"}
        found.append(record(moment.strftime("%Y-%m-%dT%H:%M:%S"), user, **fields))
    return sorted(found, key=lambda r: str(r["createTime"]))


def _store_two_tenants(engine: Engine) -> None:
    for seed, tenant in enumerate(TENANTS):
        records = _records(seed, 900)
        for start in range(0, len(records), 97):
            store_records(engine, records[start : start + 97], tenant=tenant)


def _same(engine: Engine, filters: SearchFilters, tz: str, *, activity: bool = True) -> None:
    label = f"{filters.scope.label()} {filters.start}..{filters.end} {filters.sources} in {tz}"
    pd.testing.assert_frame_equal(
        queries.summary_by_user(engine, filters, tz),
        queries.summary_by_user(engine, filters, tz, raw=True),
        check_dtype=False,
        obj=label,
    )
    if not activity:
        return
    rolled = queries.activity(engine, filters, tz, hours=False).summary
    raw = queries.activity(engine, filters, tz, hours=False, raw=True).summary
    pd.testing.assert_frame_equal(rolled, raw, check_dtype=False, obj=f"activity {label}")


def _scopes() -> list[TenantScope]:
    return [*(TenantScope.one(tenant) for tenant in TENANTS), TenantScope.every_tenant()]


def test_active_days_equal_the_raw_rows_in_every_zone_without_hourly_rows_for_whole_days(
    engine: Engine,
) -> None:
    _store_two_tenants(engine)
    scopes = _scopes()
    for number, (tz, (start, end)) in enumerate(product(ZONES, RANGES)):
        sources = ("api",) if number % 2 else ()
        filters = SearchFilters(scopes[number % 3], start, end, sources=sources)
        _same(engine, filters, tz, activity=number % 3 == 0)
    shared = [
        queries.summary_by_user(engine, SearchFilters(TenantScope.one(t), *RANGES[0]), "UTC")
        .set_index("email")
        .loc[SHARED, "active_days"]
        for t in TENANTS
    ]
    assert shared[0] != shared[1], "the tenants' data must differ for the test to mean anything"
    # A tenant's whole UTC days in the middle of a range need no hourly rows any more:
    # without them, every zone's active days still equal the raw rows'.
    with engine.begin() as conn:
        hours = [int(moment.timestamp()) // 3600 for moment in HOURLESS]
        deleted = conn.execute(
            text("DELETE FROM rollup_user_hour WHERE bucket >= :low AND bucket < :high"),
            {"low": hours[0], "high": hours[1]},
        ).rowcount
    assert deleted > 50
    for number, tz in enumerate(ZONES[:-1]):  # Kolkata reads raw rows
        scope = scopes[number % 2]  # one tenant (every tenant's users read their hours)
        _same(engine, SearchFilters(scope, date(2026, 1, 5), date(2026, 1, 25)), tz)
        _same(engine, SearchFilters(scope, date(2025, 12, 1), date(2026, 2, 28)), tz)


def _contents(engine: Engine) -> list[tuple[object, ...]]:
    with engine.connect() as conn:
        return sorted(tuple(row) for row in conn.execute(select(ROLLUP_USER_DAY_HOURS)))


def test_a_replayed_page_changes_no_day_hours(engine: Engine) -> None:
    _store_two_tenants(engine)
    before = _contents(engine)
    assert {row[0] for row in before} == set(TENANTS)
    store = Store(engine, TENANTS[0])
    run_id = store.start_run("delta", *WINDOW)
    keyer = EventKeyer()
    again = [parse_record(r) for r in _records(0, 900)[:300]]
    batch = PageBatch(events=[(keyer.event_key(e), e) for e in again], fetched=300)
    counts = store.write_page(batch, run_id, WINDOW)
    assert (counts.inserted, counts.duplicates) == (0, 300)
    assert _contents(engine) == before


def test_migration_0016_builds_the_day_hours_the_ingest_keeps_and_downgrades(
    engine: Engine,
) -> None:
    _store_two_tenants(engine)
    kept = _contents(engine)
    assert len(kept) > 500
    config = alembic_config(engine)
    command.downgrade(config, "0015")
    assert "rollup_user_day_hours" not in inspect(engine).get_table_names()
    command.upgrade(config, "head")  # fills the new table from the stored searches
    assert _contents(engine) == kept
    with engine.begin() as conn:
        rollups.rebuild(conn)
    assert _contents(engine) == kept


def _day(moment: datetime) -> int:
    return int(moment.timestamp()) // 86400


def test_the_hours_of_each_utc_day_fall_on_the_local_day_they_are_on() -> None:
    for tz in ZONES[:-1]:
        zone = ZoneInfo(tz)
        lower = datetime(2025, 10, 20, tzinfo=zone).astimezone(UTC)
        upper = datetime(2026, 4, 11, tzinfo=zone).astimezone(UTC)
        found = day_masks(tz, lower, upper)
        assert found is not None, tz
        shift, spans = found
        assert (
            spans[0].first == _day(lower) and spans[-1].end == _day(upper - timedelta(hours=1)) + 1
        )
        hour = lower
        while hour < upper:  # every hour of the range on exactly its local day
            (span,) = [s for s in spans if s.first <= _day(hour) < s.end]
            bit = 1 << hour.hour
            assert bool(span.early & bit) != bool(span.late & bit), (tz, hour)
            local = _day(hour) + shift + (1 if span.late & bit else 0)
            assert datetime.fromtimestamp(local * 86400, UTC).date() == hour.astimezone(zone).date()
            hour += timedelta(hours=1)
        first_day = datetime.fromtimestamp(spans[0].first * 86400, UTC)
        last_day = (upper - timedelta(hours=1)).replace(hour=0)
        for span, day in ((spans[0], first_day), (spans[-1], last_day)):
            for hour_of_day in range(24):  # an hour outside the range is in no mask
                moment = day + timedelta(hours=hour_of_day)
                inside = lower <= moment < upper
                assert bool((span.early | span.late) & 1 << hour_of_day) == inside, (tz, moment)


def test_a_range_whose_hours_fall_on_three_local_days_of_one_utc_day_is_left_to_the_hours():
    zone = ZoneInfo("Pacific/Apia")  # 2011-12-30 did not happen: -10 to +14
    lower = datetime(2011, 12, 25, tzinfo=zone).astimezone(UTC)
    upper = datetime(2012, 1, 5, tzinfo=zone).astimezone(UTC)
    assert day_masks("Pacific/Apia", lower, upper) is None
    assert day_masks("Pacific/Apia", lower + timedelta(days=7), upper) is not None
