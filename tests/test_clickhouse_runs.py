"""The ingest's own records on ClickHouse (chDB), through its ClickHouse view
(`ingest.clickhouse_store`): a run is one row to FINAL however many times it was written,
run ids, filter values and cursors per tenant, and a data version that moves only when
rows are stored."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from db.clickhouse import runs
from db.clickhouse.store import ClickHouseStore
from db.engine import open_database
from ingest.clickhouse_store import ClickHouseIngestStore
from ingest.page_writer import PageBatch, PageCounts
from tests.support.builders import KNOWN, WINDOW, record
from tests.support.clickhouse import chdb_store, keyed

SHARED = "shared@both.example.com"
PAGE = [*KNOWN, record("2026-05-02T08:00:00", SHARED, source="archive", description="Audit")]


@pytest.fixture
def views(tmp_path: Path) -> Iterator[dict[str, ClickHouseIngestStore]]:
    """Two tenants' ingest views on one chDB store, the locks in a control SQLite file."""
    control = open_database(f"sqlite:///{tmp_path / 'control.db'}")
    lock = threading.RLock()
    with chdb_store(tmp_path) as store:
        yield {t: ClickHouseIngestStore(store, control, t, lock) for t in ("acme", "globex")}
    control.dispose()


def _raw_run_rows(store: ClickHouseStore) -> int:
    return int(store.client.query("SELECT count() FROM ingest_runs").result_rows[0][0])


def _write(view: ClickHouseIngestStore, records: list, run_id: int) -> PageCounts:
    writer = view.page_writer(run_id)
    writer.write_page(PageBatch(events=keyed(records), fetched=len(records)), WINDOW)
    writer.advance_cursor(WINDOW[1])
    return writer.commit()


def test_a_runs_start_and_end_rows_are_one_run_to_a_final_read(views) -> None:
    acme = views["acme"]
    run_id = acme.start_run("bootstrap", *WINDOW)
    counts = _write(acme, KNOWN, run_id)
    acme.finish_run(run_id, "ok", counts, api_requests=3, notes='{"remark": "x"}')

    [run] = runs.recent_runs(acme.client, "acme")
    assert _raw_run_rows(acme.search) == 2, "start and end rows, not merged yet"
    assert (run["id"], run["status"], run["inserted"]) == (run_id, "ok", len(KNOWN))
    assert (run["api_requests"], run["notes"]) == (3, '{"remark": "x"}')
    assert (run["window_start"], run["window_end"]) == WINDOW
    assert acme.last_run_time("bootstrap") == run["started_at"]


def test_run_ids_and_abandoned_runs_are_per_tenant(views) -> None:
    acme, globex = views["acme"], views["globex"]
    assert [acme.start_run("delta", *WINDOW) for _ in range(2)] == [1, 2]
    assert globex.start_run("delta", *WINDOW) == 1

    assert acme.close_abandoned_runs() == 2
    assert [run["status"] for run in runs.recent_runs(acme.client, "acme")] == ["failed"] * 2
    assert [run["status"] for run in runs.recent_runs(globex.client, "globex")] == ["running"]
    assert acme.close_abandoned_runs() == 0


def test_filter_values_and_cursors_stay_with_their_tenant(views) -> None:
    acme, globex = views["acme"], views["globex"]
    _write(acme, PAGE, acme.start_run("bootstrap", *WINDOW))
    _write(globex, PAGE[-1:], globex.start_run("bootstrap", *WINDOW))
    _write(globex, PAGE[-1:], globex.start_run("delta", *WINDOW))  # added again: one value

    acme_users = runs.filter_values(acme.client, "acme", "user")
    assert acme_users == sorted({event.email_addr for _key, event in keyed(PAGE)})
    assert SHARED in acme_users
    assert runs.filter_values(globex.client, "globex", "user") == [SHARED]
    assert runs.filter_values(globex.client, "globex", "description") == ["Audit"]
    assert acme.totals()["search_logs"] == len(PAGE)
    assert globex.totals()["search_logs"] == 1
    assert acme.cursor() == globex.cursor() == WINDOW[1]
    globex.search.forget_cursor("globex")
    assert (acme.cursor(), globex.cursor()) == (WINDOW[1], None)


def test_the_data_version_moves_only_when_rows_are_stored(views) -> None:
    acme, globex = views["acme"], views["globex"]
    empty = acme.search.data_version()
    acme.start_run("bootstrap", *WINDOW)
    acme.advance_cursor(WINDOW[1], backfill_done=True)
    assert acme.search.data_version() == empty, "a run and a cursor are not data"

    _write(acme, KNOWN, 1)
    stored = acme.search.data_version()
    assert stored != empty
    _write(acme, KNOWN, 2)  # a replayed window: nothing stored
    assert acme.search.data_version() == stored
    _write(globex, KNOWN, 1)  # the same searches in another tenant are new rows
    assert acme.search.data_version() != stored


def test_a_commits_pages_are_stored_at_commit_then_the_cursor(views) -> None:
    acme = views["acme"]
    run_id = acme.start_run("bootstrap", *WINDOW)
    dropped = acme.page_writer(run_id)
    dropped.write_page(PageBatch(events=keyed(KNOWN), fetched=len(KNOWN)), WINDOW)
    dropped.advance_cursor(WINDOW[1])
    dropped.rollback()
    assert (acme.cursor(), acme.totals()["search_logs"]) == (None, 0), "nothing of it kept"

    writer = acme.page_writer(run_id)
    for half in (KNOWN[:3], KNOWN[3:]):
        writer.write_page(PageBatch(events=keyed(half), fetched=len(half)), WINDOW)
    writer.advance_cursor(WINDOW[1])
    assert (acme.cursor(), acme.totals()["search_logs"]) == (None, 0), "not before commit"
    counts = writer.commit()
    assert (counts.pages, counts.fetched, counts.inserted) == (2, len(KNOWN), len(KNOWN))
    assert (acme.cursor(), acme.totals()["search_logs"]) == (WINDOW[1], len(KNOWN))
