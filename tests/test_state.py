"""Ingest state read and written through `db.state`: typed values, one reset, backfill named."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite

from db import rollups, state
from db.engine import open_database
from db.locks import AlreadyRunning, cycle_lock
from db.models import KeyValue, SearchLog
from db.sql import epoch_bucket, epoch_sql
from db.state.upsert import upsert
from ingest.commands.state import print_status
from ingest.status import collect_status, status_json
from ingest.store import PageCounts, Store
from tests.support.tenancy import SCOPE, TENANT

MOMENT = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


def finished_backfill(store: Store) -> int:
    run_id = store.start_run(state.BACKFILL, MOMENT - timedelta(days=1), MOMENT)
    store.finish_run(run_id, "ok", PageCounts(pages=1), api_requests=2)
    store.advance_cursor(MOMENT, backfill_done=True)
    return run_id


def test_status_is_typed_with_aware_datetimes_not_iso_strings(db_url):
    engine = open_database(db_url)
    run_id = finished_backfill(Store(engine, TENANT))
    status = state.read_status(engine, SCOPE)
    assert status.cursor == MOMENT and status.backfill_done is True
    (run,) = status.recent_runs
    assert run.id == run_id and isinstance(run.started_at, datetime)
    assert run.started_at.tzinfo is not None and run.finished_at is not None
    assert status.last_ok_run == run and status.last_failed_run is None
    assert status.totals.search_logs == 0 and status.totals.first_event is None


def test_status_json_is_serialised_at_the_edge_with_iso_times(db_url):
    engine = open_database(db_url)
    finished_backfill(Store(engine, TENANT))
    document = collect_status(engine, SCOPE)
    json.dumps(document)  # nothing left that JSON cannot hold
    assert document["cursor"] == MOMENT.isoformat()
    assert document["backfill_done"] is True and document["bootstrap_done"] is True
    assert datetime.fromisoformat(document["recent_runs"][0]["finished_at"]).tzinfo is not None
    assert document["forwarding"] == []
    assert status_json(state.read_status(engine, SCOPE))["totals"]["search_logs"] == 0


def test_reset_cursor_forgets_cursor_and_backfill_and_refuses_during_a_poll(db_url):
    engine = open_database(db_url)
    finished_backfill(Store(engine, TENANT))
    held, release = threading.Event(), threading.Event()

    def poll() -> None:  # another thread stands for the poll holding the cycle lock
        with cycle_lock(engine, TENANT):
            held.set()
            release.wait(10)

    worker = threading.Thread(target=poll)
    worker.start()
    try:
        assert held.wait(10)
        with pytest.raises(AlreadyRunning):
            state.reset_cursor(engine, TENANT)
        assert state.read_cursor(engine, TENANT) == MOMENT, "a refused reset changes nothing"
    finally:
        release.set()
        worker.join()
    state.reset_cursor(engine, TENANT)
    assert (
        state.read_cursor(engine, TENANT) is None
        and state.read_backfill_done(engine, TENANT) is False
    )


def test_users_see_backfill_for_the_stored_bootstrap_run_kind(db_url, capsys):
    engine = open_database(db_url)
    finished_backfill(Store(engine, TENANT))
    assert state.run_kind_name(state.BACKFILL) == "backfill"
    print_status(collect_status(engine, SCOPE))
    out = capsys.readouterr().out
    assert "backfill done    yes" in out
    assert "bootstrap" not in out, "the stored name never reaches the user"
    run_line = next(line for line in out.splitlines() if line.strip().startswith("1 "))
    assert run_line.split()[1] == "backfill"


def test_rollups_and_queries_share_one_epoch_sql():
    for dialect, compiler in (("sqlite", sqlite.dialect()), ("postgresql", postgresql.dialect())):
        bucket = epoch_bucket(SearchLog.create_time, 3600)
        compiled = str(bucket.compile(dialect=compiler))
        assert epoch_sql("search_logs.create_time", dialect) in compiled
        upsert = rollups._upsert_sql(rollups.ROLLUP_TABLES[0], dialect)
        assert f"{epoch_sql('create_time', dialect)} / 3600" in upsert


def kv_rows(engine) -> dict[str, tuple[str, datetime]]:
    with engine.connect() as conn:
        rows = conn.execute(select(KeyValue.key, KeyValue.value, KeyValue.updated_at)).all()
    return {key: (value, updated) for key, value, updated in rows}


KEY = ["tenant", "key"]


def test_upsert_inserts_then_updates_the_one_row_of_its_key(db_url):
    engine = open_database(db_url)
    table = KeyValue.__table__
    with engine.begin() as conn:
        upsert(
            conn, table, {"tenant": TENANT, "key": "k", "value": "first", "updated_at": MOMENT}, KEY
        )
        upsert(
            conn,
            table,
            {"tenant": TENANT, "key": "other", "value": "kept", "updated_at": MOMENT},
            KEY,
        )
    later = MOMENT + timedelta(hours=1)
    with engine.begin() as conn:
        upsert(
            conn, table, {"tenant": TENANT, "key": "k", "value": "second", "updated_at": later}, KEY
        )
    assert kv_rows(engine) == {"k": ("second", later), "other": ("kept", MOMENT)}


def test_upsert_is_rolled_back_with_the_callers_transaction(db_url):
    engine = open_database(db_url)
    table = KeyValue.__table__
    with engine.begin() as conn:
        upsert(
            conn, table, {"tenant": TENANT, "key": "k", "value": "first", "updated_at": MOMENT}, KEY
        )
    with pytest.raises(RuntimeError), engine.begin() as conn:
        upsert(
            conn,
            table,
            {"tenant": TENANT, "key": "k", "value": "second", "updated_at": MOMENT},
            KEY,
        )
        upsert(
            conn,
            table,
            {"tenant": TENANT, "key": "new", "value": "never", "updated_at": MOMENT},
            KEY,
        )
        raise RuntimeError("the rows this state covers failed")
    assert kv_rows(engine) == {"k": ("first", MOMENT)}
