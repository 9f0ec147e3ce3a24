"""Storage rules, on SQLite and on a real PostgreSQL server."""

from __future__ import annotations

import random
import threading
from datetime import timedelta

import pytest
from sqlalchemy import inspect, text

from db.engine import open_database
from db.locks import AlreadyRunning, single_writer
from ingest.records import EventKeyer
from ingest.store import PageBatch, Store
from ingest.windows import release_held, sort_page
from tests.support.harness import fixed_clock, make_settings, run_ingest_once, settled_now
from tests.support.tenancy import SCOPE, TENANT
from tests.support.truth import (
    assert_rollups_and_filter_values_match_the_rows,
    canonical,
    difference,
    expected_records,
    row_count,
    runs,
    stored_records,
    stored_rejects,
)

RECORDS = [
    {"createTime": "2026-11-12T16:22:16+0000", "emailAddr": "a@example.com", "searchText": "x"},
    {"createTime": "2026-11-12T16:22:16+0000", "emailAddr": "a@example.com", "searchText": "x"},
    {"createTime": "2026-11-12T16:22:17+0000", "emailAddr": "B@example.com", "searchText": "y"},
    None,
]


def sort_window(store: Store, pages: list[list], window: tuple) -> list[PageBatch]:
    """The pages of one window as the poller sorts them: rejects held at the window's end
    are keyed by the newest search stored before it and go with the last page."""
    keyer, held = EventKeyer(), []
    batches = [sort_page(page, window, keyer, held) for page in pages]
    batches[-1].rejections += release_held(keyer, held, store.newest_before(window[0]))
    return batches


def write(store: Store, run_id: int, records: list) -> object:
    from ingest.records import parse_create_time

    window = (parse_create_time("2026-11-12T00:00:00Z"), parse_create_time("2026-11-13T00:00:00Z"))
    (batch,) = sort_window(store, [records], window)
    return store.write_page(batch, run_id, window)


def test_schema_is_created_by_migrations_and_reopening_is_a_no_op(db_url):
    engine = open_database(db_url)
    open_database(db_url).dispose()
    tables = set(inspect(engine).get_table_names())
    assert {"search_logs", "kv", "ingest_runs", "rejected_records", "alembic_version"} <= tables
    with engine.connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == "0013"
    indexes = {ix["name"] for ix in inspect(engine).get_indexes("search_logs")}
    assert "ix_search_logs_tenant_create_time" in indexes


def test_writing_the_same_page_twice_stores_it_once_and_counts_duplicates(db_url):
    store = Store(open_database(db_url), TENANT)
    window = settled_now()
    run_id = store.start_run("bootstrap", window - timedelta(days=1), window)
    first = write(store, run_id, RECORDS)
    second = write(store, run_id, RECORDS)
    assert (first.inserted, first.duplicates, first.rejected) == (3, 0, 1)
    assert (second.inserted, second.duplicates) == (0, 3)
    totals = store.totals()
    assert totals["search_logs"] == 3, "twins kept, re-read not doubled"
    assert totals["rejected_records"] == 1, "a re-read reject is not doubled either"


def test_a_page_half_stored_before_counts_exactly_its_new_rows(db_url):
    store = Store(open_database(db_url), TENANT)
    moment = settled_now()
    run_id = store.start_run("bootstrap", moment, moment)
    records = [
        {"createTime": f"2026-11-12T16:22:{second:02d}+0000", "emailAddr": "a@example.com"}
        for second in range(50)
    ]
    write(store, run_id, records[::2])
    counts = write(store, run_id, records)
    assert (counts.inserted, counts.duplicates) == (25, 25)
    assert row_count(db_url) == 50


def test_cursor_round_trips_as_utc_and_reset_forgets_it(db_url):
    store = Store(open_database(db_url), TENANT)
    moment = settled_now()
    store.advance_cursor(moment, backfill_done=True)
    assert store.cursor() == moment and store.cursor().utcoffset() == timedelta(0)
    assert store.backfill_done()
    store.reset_cursor()
    assert store.cursor() is None and not store.backfill_done()


def test_a_stored_time_is_found_by_a_query_bounded_at_that_very_second(db_url):
    """Pages go to the driver as pre-bound rows: their times must take the exact form
    SQLAlchemy binds in queries, or a window edge would miss the row."""
    from sqlalchemy import select

    from db.models import SearchLog
    from ingest.records import parse_create_time

    store = Store(open_database(db_url), TENANT)
    moment = settled_now()
    run_id = store.start_run("bootstrap", moment, moment)
    write(store, run_id, [{**RECORDS[0], "isAdmin": True}])
    on_time = parse_create_time(RECORDS[0]["createTime"])
    edges = (SearchLog.create_time >= on_time, SearchLog.create_time <= on_time)
    with store.engine.connect() as conn:
        row = conn.execute(select(SearchLog).where(*edges)).one()
    assert row.create_time == on_time and row.is_admin is True
    assert row.ingested_at.utcoffset() == timedelta(0)


def test_a_page_writer_commits_its_pages_and_the_cursor_together_or_neither(db_url):
    from ingest.records import parse_create_time

    store = Store(open_database(db_url), TENANT)
    moment = settled_now()
    run_id = store.start_run("bootstrap", moment, moment)
    window = (parse_create_time("2026-11-12T00:00:00Z"), parse_create_time("2026-11-13T00:00:00Z"))
    pages = [RECORDS[:2], RECORDS[2:]]

    abandoned = store.page_writer(run_id)
    for batch in sort_window(store, pages, window):
        abandoned.write_page(batch, window)
    abandoned.advance_cursor(window[1])
    abandoned.rollback()
    assert row_count(db_url) == 0 and row_count(db_url, "rejected_records") == 0
    assert store.cursor() is None

    kept = store.page_writer(run_id)
    for batch in sort_window(store, pages, window):
        kept.write_page(batch, window)
    kept.advance_cursor(window[1])
    counts = kept.commit()
    assert (counts.pages, counts.inserted, counts.rejected) == (2, 3, 1)
    assert row_count(db_url) == 3 and row_count(db_url, "rejected_records") == 1
    assert store.cursor() == window[1]
    assert store.totals()["search_logs"] == 3, "the rollups counted the transaction's rows"


def test_only_one_writer_holds_the_lock(db_url):
    engine = open_database(db_url)
    other = open_database(db_url)
    with single_writer(engine), pytest.raises(AlreadyRunning), single_writer(other):
        pass
    with single_writer(other):
        pass  # released when the first writer finished


def test_readers_are_not_blocked_while_a_page_is_written(db_url):
    store = Store(open_database(db_url), TENANT)
    reader = open_database(db_url)
    errors: list[Exception] = []
    done = threading.Event()

    def read_steadily() -> None:
        while not done.is_set():
            try:
                with reader.connect() as conn:
                    conn.execute(text("SELECT count(*) FROM search_logs")).scalar()
            except Exception as exc:  # any error reaching a reader fails the test
                errors.append(exc)

    thread = threading.Thread(target=read_steadily)
    thread.start()
    try:
        moment = settled_now()
        run_id = store.start_run("bootstrap", moment, moment)
        for second in range(200):
            write(store, run_id, [{**RECORDS[0], "searchText": f"s{second}"}])
    finally:
        done.set()
        thread.join()
    assert errors == []


def test_full_ingest_from_the_simulator_is_exact(sim, sim_url, tmp_path, db_url):
    settings = make_settings(sim_url, tmp_path / "unused.db", DATABASE_URL=db_url)
    now = settled_now()
    run_ingest_once(settings, clock=fixed_clock(now))
    run_ingest_once(settings, clock=fixed_clock(now + timedelta(minutes=3)))
    start = now - timedelta(days=7)
    valid, _ = sim.truth(start, now + timedelta(minutes=3))
    expected = expected_records(valid, start, now + timedelta(minutes=3))
    actual = stored_records(db_url)
    assert actual == expected, difference(expected, actual)
    assert [run.status for run in runs(db_url)] == ["ok", "ok"]


def test_filter_values_are_exactly_the_distinct_stored_values(sim, sim_url, tmp_path, db_url):
    from db.queries import filter_options

    settings = make_settings(sim_url, tmp_path / "unused.db", DATABASE_URL=db_url)
    run_ingest_once(settings, clock=fixed_clock(settled_now()))
    engine = open_database(db_url)
    with engine.connect() as conn:

        def distinct(column: str) -> tuple[str, ...]:
            rows = conn.execute(
                text(f"SELECT DISTINCT {column} FROM search_logs WHERE {column} IS NOT NULL")
            ).scalars()
            return tuple(sorted(rows))

        expected = (distinct("email_addr"), distinct("source"), distinct("description"))
    options = filter_options(engine, SCOPE)
    actual = (
        tuple(sorted(options.users)),
        tuple(sorted(options.sources)),
        tuple(sorted(options.descriptions)),
    )
    assert actual == expected
    assert len(options.users) > 10


def test_upgrading_an_existing_database_fills_the_new_filter_values(db_url):
    from alembic import command

    from db.engine import alembic_config, make_engine, upgrade_schema

    engine = make_engine(db_url)
    command.upgrade(alembic_config(engine), "0001")
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO search_logs (event_key, create_time, email_addr, source, "
                "description, raw_json, ingested_at) VALUES "
                "('k1', '2026-11-01 10:00:00', 'a@x.com', 'archive', 'Archive Search', '{}', "
                "'2026-11-01 10:00:00'), "
                "('k2', '2026-11-01 11:00:00', 'b@x.com', NULL, 'Archive Search', '{}', "
                "'2026-11-01 11:00:00')"
            )
        )
    upgrade_schema(engine)
    with engine.connect() as conn:
        rows = set(conn.execute(text("SELECT kind, value FROM filter_values")).all())
    assert rows == {
        ("user", "a@x.com"),
        ("user", "b@x.com"),
        ("source", "archive"),
        ("description", "Archive Search"),
    }


def random_text(seed: int, length: int) -> str:
    """`length` characters from anywhere in Unicode (surrogates left out: JSON cannot hold
    them as characters)."""
    rng = random.Random(seed)
    return "".join(
        chr(rng.choice((rng.randrange(1, 0xD800), rng.randrange(0xE000, 0x110000))))
        for _ in range(length)
    )


AT = "2026-11-12T16:22:17+0000"
HOSTILE = {
    "createTime before year 1 in UTC": {"createTime": "0001-01-01T00:30:00+0100"},
    "createTime after year 9999 in UTC": {"createTime": "9999-12-31T23:59:59-0100"},
    "lone surrogate in searchText": {"searchText": "\ud800"},
    "lone surrogate in emailAddr": {"emailAddr": "x\udc00@example.com"},
    "lone surrogate in source and description": {"source": "\udbff", "description": "a\ud800"},
    "lone surrogate in a field name": {"extra\ud800": 1},
    "NUL in searchText": {"searchText": "a\x00b"},
    "NUL in emailAddr and source": {"emailAddr": "\x00@example.com", "source": "\x00"},
    "emailAddr of 400 characters": {"emailAddr": "u" * 388 + "@example.com"},
    "emailAddr of 6,000 random characters": {"emailAddr": random_text(1, 6000)},
    "source of 6,000 random characters": {"source": random_text(2, 6000)},
    "description of 6,000 random characters": {"description": random_text(3, 6000)},
    "every free-text field of 6,000 characters": {
        "emailAddr": random_text(4, 6000),
        "source": random_text(5, 6000),
        "description": random_text(6, 6000),
        "searchText": random_text(7, 6000),
        "searchReason": random_text(8, 6000),
    },
}


@pytest.mark.parametrize("fields", HOSTILE.values(), ids=list(HOSTILE))
def test_a_hostile_record_is_stored_or_rejected_and_the_records_around_it_are_stored(
    db_url, fields
):
    store = Store(open_database(db_url), TENANT)
    moment = settled_now()
    run_id = store.start_run("bootstrap", moment, moment)
    newer = {"createTime": "2026-11-12T16:22:18+0000", "emailAddr": "n@example.com"}
    hostile = {"createTime": AT, "emailAddr": "h@example.com", **fields}
    older = {"createTime": "2026-11-12T16:22:16+0000", "emailAddr": "o@example.com"}
    first = write(store, run_id, [newer, hostile, older])
    again = write(store, run_id, [newer, hostile, older])
    stored, rejects = stored_records(db_url), stored_rejects(db_url)
    assert stored[canonical(newer)] == stored[canonical(older)] == 1
    assert stored[canonical(hostile)] + rejects[canonical(hostile)] == 1, "exactly once"
    assert (first.inserted + first.rejected, again.inserted) == (3, 0)
    if "createTime" in fields:
        assert "outside the years 1970 to 9998" in rejected_reasons(db_url)[0]
    else:
        assert stored[canonical(hostile)] == 1, "stored, not rejected"
    assert_rollups_and_filter_values_match_the_rows(store)


def rejected_reasons(db_url: str) -> list[str]:
    with open_database(db_url).connect() as conn:
        return list(conn.execute(text("SELECT reason FROM rejected_records")).scalars())


def test_a_user_with_a_6000_character_address_reads_back_exactly(db_url):
    from datetime import date

    from db import queries
    from db.queries import SearchFilters

    store = Store(open_database(db_url), TENANT)
    moment = settled_now()
    run_id = store.start_run("bootstrap", moment, moment)
    long_user = random_text(9, 6000).lower()
    similar = long_user[:200] + "-other"  # same first characters, another user
    records = [
        {"createTime": f"2026-11-12T16:22:{second:02d}+0000", "emailAddr": user}
        for second, user in enumerate([long_user, similar, long_user, "a@example.com"])
    ]
    write(store, run_id, records[::-1])
    day = SearchFilters(SCOPE, start=date(2026, 11, 12), end=date(2026, 11, 12), users=(long_user,))
    for raw in (False, True):  # from the rollups, and from the rows
        summary = queries.summary_by_user(store.engine, day, "UTC", raw=raw)
        assert summary[["email", "searches"]].values.tolist() == [[long_user, 2]]
    page = queries.search_page(store.engine, day, "UTC", limit=10, offset=0)
    assert page["email"].tolist() == [long_user, long_user]


def test_upgrading_a_database_with_rollups_keeps_its_counts_and_then_takes_any_length(db_url):
    from alembic import command

    from db.engine import alembic_config, make_engine, upgrade_schema

    engine = make_engine(db_url)
    command.upgrade(alembic_config(engine), "0003")
    with engine.begin() as conn:  # rows as version 0003 wrote them
        conn.execute(
            text(
                "INSERT INTO search_logs (event_key, create_time, email_addr, source, "
                "description, raw_json, ingested_at) VALUES "
                "('k1', '2026-11-01 10:00:00', 'a@x.com', 'archive', 'Archive Search', '{}', "
                "'2026-11-01 10:00:00'), "
                "('k2', '2026-11-01 11:00:00', 'b@x.com', NULL, 'Archive Search', '{}', "
                "'2026-11-01 11:00:00')"
            )
        )
        conn.execute(
            text(
                "INSERT INTO filter_values VALUES ('user', 'a@x.com'), "
                "('user', 'b@x.com'), ('source', 'archive'), ('description', 'Archive Search')"
            )
        )
    command.upgrade(alembic_config(engine), "0004")  # rollups as version 0004 counted them
    upgrade_schema(engine)
    store = Store(engine, TENANT)
    assert store.totals()["search_logs"] == 2, "the rollups kept their counts"
    moment = settled_now()
    long_source = random_text(10, 6000)
    page = [{**RECORDS[0], "source": long_source, "emailAddr": "x" * 5000}, *RECORDS]
    counts = write(store, store.start_run("delta", moment, moment), page)
    assert (counts.inserted, counts.duplicates) == (4, 0)
    assert_rollups_and_filter_values_match_the_rows(store)
    engine.dispose()
