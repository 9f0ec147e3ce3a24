"""Rollups give exactly the figures the raw rows give, on random data and random filters.

Rows go in through the real write path, page by page, so every rollup row is built by the
per-page upserts; each figure is then computed twice — from the rollups and, with
`raw=True`, from `search_logs` alone — on SQLite and PostgreSQL.
"""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta

import pandas as pd
import pytest
from sqlalchemy import Engine, Table, select, text

from db import queries, rollups
from db.engine import open_database
from db.models import ROLLUP_USER_DAY_TOTAL, ROLLUP_USER_HOUR
from db.queries import SYSTEM_SENDER, SearchFilters
from ingest.records import EventKeyer, parse_record
from ingest.store import PageBatch, Store
from tests.support.builders import record, store_records
from tests.support.tenancy import SCOPE, TENANT

USERS = [f"user{n}@example.com" for n in range(12)] + ["admin@example.com", SYSTEM_SENDER]
SOURCES = ["archive", "api", "mobile", "", None]
DESCRIPTIONS = ["Archive Search", "Message Tracking Search", "Audit [Page 1]", "", None]
REASONS = ["", "   ", "Legal hold LH-2291", None]
TEXTS = ["invoice", "", "Überweisung", "payroll"]
ZONES = ["UTC", "Europe/Berlin", "America/New_York", "Asia/Kolkata", "Australia/Lord_Howe"]
FIRST = datetime(2025, 9, 1, tzinfo=UTC)
SPAN_DAYS = 430


def random_records(rng: random.Random, count: int) -> list[dict[str, object]]:
    records = []
    for _ in range(count):
        moment = FIRST + timedelta(seconds=rng.randrange(SPAN_DAYS * 86400))
        fields: dict[str, object] = {}
        for name, values in (
            ("source", SOURCES),
            ("description", DESCRIPTIONS),
            ("searchReason", REASONS),
            ("searchText", TEXTS),
        ):
            value = rng.choice(values)
            if value is not None:
                fields[name] = value
        user = rng.choice(USERS[:3]) if rng.random() < 0.4 else rng.choice(USERS)
        when = moment.strftime("%Y-%m-%dT%H:%M:%S")
        records.append(record(when, user, **fields))
    return records


def store_in_pages(engine: Engine, records: list[dict[str, object]], page: int = 97) -> None:
    """Time-ordered pages, as the ingest writes them; each page is one transaction."""
    ordered = sorted(records, key=lambda r: str(r["createTime"]))
    for start in range(0, len(ordered), page):
        store_records(engine, ordered[start : start + page])


def random_filters(rng: random.Random) -> SearchFilters:
    kind = rng.random()
    if kind < 0.15:  # everything: the all-time rollup answers
        start, end = date(2020, 1, 1), date(2030, 12, 31)
    else:
        start = (FIRST - timedelta(days=20)).date() + timedelta(days=rng.randrange(SPAN_DAYS))
        end = start + timedelta(days=rng.choice([0, 1, 6, 30, 45, 100, 300, 500]))
    pick = rng.random
    return SearchFilters(
        SCOPE,
        start=start,
        end=end,
        users=tuple(rng.sample(USERS, rng.randint(1, 3))) if pick() < 0.3 else (),
        sources=tuple(s for s in rng.sample(SOURCES[:4], 2)) if pick() < 0.3 else (),
        descriptions=tuple(rng.sample(DESCRIPTIONS[:4], 2)) if pick() < 0.3 else (),
        include_system=pick() < 0.7,
    )


FRAME_FIGURES = (
    queries.summary_by_user,
    queries.searches_per_day,
    queries.hour_weekday_counts,
    queries.user_counts,
)


def same(left: pd.DataFrame, right: pd.DataFrame, what: str) -> None:
    pd.testing.assert_frame_equal(
        left.reset_index(drop=True), right.reset_index(drop=True), check_dtype=False, obj=what
    )


def test_every_rollup_figure_equals_the_raw_figure_on_random_filters(engine: Engine) -> None:
    rng = random.Random(20261126)
    store_in_pages(engine, random_records(rng, 3000))
    checked = 0
    for _ in range(70):
        filters = random_filters(rng)
        tz = rng.choice(ZONES)
        label = f"{filters} in {tz}"
        for figure in FRAME_FIGURES:
            same(
                figure(engine, filters, tz),
                figure(engine, filters, tz, raw=True),
                f"{figure.__name__} {label}",
            )
        raw_total = queries.count_searches(engine, filters, tz, raw=True)
        assert queries.count_searches(engine, filters, tz) == raw_total, label
        for hours in (True, False):
            rolled = queries.activity(engine, filters, tz, hours=hours)
            raw = queries.activity(engine, filters, tz, hours=hours, raw=True)
            same(rolled.summary, raw.summary, f"activity summary {label}")
            same(rolled.per_day, raw.per_day, f"activity per day {label}")
            assert rolled.searches == raw.searches == raw_total, label
        checked += raw_total
    assert checked > 10_000, "the random filters matched too little to prove anything"


def rollup_contents(engine: Engine) -> dict[str, list[tuple[object, ...]]]:
    contents = {}
    with engine.connect() as conn:
        for table in rollups.ROLLUP_TABLES:
            rows = conn.execute(select(table)).all()
            contents[table.name] = sorted(tuple(str(v) for v in row) for row in rows)
    return contents


def test_pages_written_twice_do_not_count_twice_and_a_rebuild_agrees(engine: Engine) -> None:
    records = random_records(random.Random(7), 600)
    store_in_pages(engine, records)
    incremental = rollup_contents(engine)
    store = Store(engine, TENANT)
    run_id = store.start_run("delta", FIRST, FIRST + timedelta(days=SPAN_DAYS))
    keyer = EventKeyer()
    again = [parse_record(r) for r in sorted(records, key=lambda r: str(r["createTime"]))]
    batch = PageBatch(events=[(keyer.event_key(e), e) for e in again[:250]], fetched=250)
    counts = store.write_page(batch, run_id, (FIRST, FIRST + timedelta(days=SPAN_DAYS)))
    assert (counts.inserted, counts.duplicates) == (0, 250)
    assert rollup_contents(engine) == incremental
    with engine.begin() as conn:
        rollups.rebuild(conn)
    assert rollup_contents(engine) == incremental
    assert all(incremental[table.name] for table in rollups.ROLLUP_TABLES)


def test_the_all_time_rollup_holds_every_search_once(engine: Engine) -> None:
    records = random_records(random.Random(3), 500)
    store_in_pages(engine, records)
    table: Table = rollups.ROLLUP_USER_ALL
    with engine.connect() as conn:
        total = conn.execute(select(text("sum(searches)")).select_from(table)).scalar()
    assert total == len(records)


def test_ranges_are_tiled_by_months_days_and_hours_exactly() -> None:
    lower = datetime(2025, 11, 17, 5, tzinfo=UTC)
    upper = datetime(2026, 3, 2, 23, tzinfo=UTC)
    parts = rollups.segments(lower, upper)
    assert [part.table.name for part in parts] == [
        "rollup_user_hour",
        "rollup_user_hour",
        "rollup_user_day",
        "rollup_user_month",
        "rollup_user_day",
    ]
    hours = {
        "rollup_user_hour": 1,
        "rollup_user_day": 24,
    }
    covered = 0
    for part in parts:
        if part.table.name == "rollup_user_month":
            first = datetime(part.first // 12, part.first % 12 + 1, 1, tzinfo=UTC)
            end = datetime(part.end // 12, part.end % 12 + 1, 1, tzinfo=UTC)
            covered += int((end - first).total_seconds()) // 3600
        else:
            covered += (part.end - part.first) * hours[part.table.name]
    assert covered == int((upper - lower).total_seconds()) // 3600
    with pytest.raises(ValueError, match="whole UTC hour"):
        rollups.segments(lower + timedelta(minutes=30), upper)


def test_upgrading_a_database_with_searches_counts_them_into_the_rollups(tmp_path) -> None:
    from alembic import command

    from db.engine import alembic_config, make_engine

    url = f"sqlite:///{tmp_path / 'old.db'}"
    old = make_engine(url)
    command.upgrade(alembic_config(old), "0003")
    with old.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO search_logs (event_key, create_time, email_addr, source, "
                "description, search_reason, raw_json, ingested_at) VALUES "
                "('k1', '2026-03-01 10:00:00.000000', 'a@example.com', 'archive', NULL, 'why',"
                " '{}', '2026-03-01 10:00:00.000000'),"
                "('k2', '2026-03-01 10:30:00.000000', 'a@example.com', 'archive', NULL, '',"
                " '{}', '2026-03-01 10:00:00.000000')"
            )
        )
    old.dispose()
    upgraded = open_database(url)
    summary = queries.summary_by_user(
        upgraded, SearchFilters(SCOPE, start=date(2026, 3, 1), end=date(2026, 3, 1)), "UTC"
    )
    assert summary.loc[0, "searches"] == 2 and summary.loc[0, "reason_share"] == 0.5
    with upgraded.connect() as conn:
        assert conn.execute(text("SELECT sum(searches) FROM rollup_user_hour")).scalar() == 2
    upgraded.dispose()


def test_pages_read_from_the_oldest_end_equal_the_pages_read_from_the_newest(
    engine: Engine,
) -> None:
    rng = random.Random(11)
    records = random_records(rng, 180)
    records += [dict(records[0], searchText=f"same second {n}") for n in range(7)]  # time ties
    store_in_pages(engine, records)
    filters = SearchFilters(SCOPE, start=date(2020, 1, 1), end=date(2030, 12, 31))
    total = queries.count_searches(engine, filters, "UTC")
    assert total == len(records)
    for limit in (10, 25, 100):
        for offset in range(0, total + limit, limit):
            plain = queries.search_page(engine, filters, "UTC", limit=limit, offset=offset)
            turned = queries.search_page(
                engine, filters, "UTC", limit=limit, offset=offset, total=total
            )
            same(turned, plain, f"limit {limit} offset {offset}")


def postgresql_plan(engine: Engine, statement) -> str:
    """The PostgreSQL plan of `statement`, with sequential scans priced out so the plan
    shows whether an index can serve it at all (a tiny table is otherwise scanned)."""
    sql = statement.compile(engine, compile_kwargs={"literal_binds": True})
    with engine.connect() as conn:
        conn.execute(text("SET enable_seqscan = off"))
        return "\n".join(conn.execute(text(f"EXPLAIN {sql}")).scalars())


def test_a_users_searches_and_rollups_are_read_through_an_index_whatever_the_address_length(
    engine: Engine,
) -> None:
    """Addresses of any length fit the PostgreSQL indexes (keyed by text_key), and a user's
    reads still go through them: their rows in time order, their hours and their days.
    (SQLite's indexes and the SQL it is sent are unchanged: its plans are not checked.)"""
    long_user = "l" * 5000 + "@example.com"
    records = [*random_records(random.Random(5), 50), record("2026-03-01T10:00:00", long_user)]
    store_in_pages(engine, records)
    for user in ("user1@example.com", long_user):
        filters = SearchFilters(SCOPE, start=date(2026, 3, 1), end=date(2026, 3, 1), users=(user,))
        rolled = queries.count_searches(engine, filters, "UTC")
        assert rolled == queries.count_searches(engine, filters, "UTC", raw=True)
        if engine.dialect.name != "postgresql":
            continue
        newest = queries._newest_first(engine.dialect.name, filters, "UTC").limit(50)
        assert "ix_search_logs_tenant_email_addr_create_time" in postgresql_plan(engine, newest)
        dims = rollups.Dimensions(SCOPE, users=(user,))
        for table, index in (
            (ROLLUP_USER_HOUR, "ix_rollup_user_hour_email_addr_bucket"),
            (ROLLUP_USER_DAY_TOTAL, "ux_rollup_user_day_total_key"),
        ):
            where = [*rollups.dimension_conditions(table, dims), table.c.bucket >= 0]
            statement = select(table.c.searches).where(*where)
            assert index in postgresql_plan(engine, statement), table.name
    assert rolled == 1
