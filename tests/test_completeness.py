"""Completeness that can be proven: paging that does not trust `totalCount`, windows whose
pages shift while read, and the reconciliation sweep that recovers searches which reached
the API later than LOOKBACK_SECONDS. Real simulator over HTTP, real database files.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update

from config.settings import Settings
from db.engine import open_database
from db.models import IngestRun
from ingest.client import MimecastClient, format_api_time
from ingest.poller import MAX_WINDOW_READS, CycleFailed, NothingToReconcile, Poller
from ingest.simulator import SimConfig, Simulator
from ingest.status import collect_status
from ingest.store import Store
from tests.support.harness import (
    SIM_ID,
    SIM_SECRET,
    fixed_clock,
    make_settings,
    run_ingest_once,
    settled_now,
)
from tests.support.tenancy import SCOPE, TENANT
from tests.support.truth import canonical, difference, expected_records, runs, stored_records


def poller_for(settings: Settings, now: datetime) -> Poller:
    engine = open_database(settings.effective_database_url)
    client = MimecastClient(settings.mimecast_base_url, SIM_ID, SIM_SECRET)
    return Poller(settings, Store(engine, TENANT), client, clock=fixed_clock(now))


def assert_exact(sim: Simulator, settings: Settings, start: datetime, end: datetime) -> int:
    valid, _ = sim.truth(start, end)
    expected = expected_records(valid, start, end)
    actual = stored_records(settings.effective_database_url)
    assert actual == expected, difference(expected, actual)
    return sum(expected.values())


def search_at(moment: datetime, text: str, who: str = "late.comer@example.com") -> dict:
    return {
        "createTime": format_api_time(moment),
        "emailAddr": who,
        "source": "archive",
        "searchText": text,
        "searchReason": "",
        "description": "Message Tracking Search",
    }


def notes_of(run: IngestRun) -> dict:
    return json.loads(run.notes) if run.notes else {}


# --- paging ---------------------------------------------------------------------------------


def test_paging_goes_on_past_a_total_count_that_undercounts_and_the_run_notes_it(db_path):
    config = SimConfig(seed=11, days=4, events_per_day=250, late_fraction=0.0, total_count_error=-5)
    with Simulator(config) as sim:
        settings = make_settings(sim.base_url, db_path, INITIAL_BACKFILL_DAYS="2")
        now = settled_now()
        result = run_ingest_once(settings, clock=fixed_clock(now))
        assert_exact(sim, settings, now - timedelta(days=2), now)
    mismatches = notes_of(runs(settings.effective_database_url)[-1])["count_mismatches"]
    assert len(mismatches) == 2, "each of the two day windows"
    assert all(m["served"] == m["total_count"] + 5 for m in mismatches)
    assert result.notes.count_mismatches == mismatches


def test_paging_stops_on_an_empty_page_not_on_total_count(sim, settings):
    now = settled_now()
    result = run_ingest_once(settings, clock=fixed_clock(now))
    windows = settings.initial_backfill_days
    # one token, every page with records, and one empty page per window
    assert result.api_requests == 1 + result.counts.pages + windows
    assert not result.notes.count_mismatches, "the simulator's totalCount is exact"


def test_a_window_served_empty_although_its_total_count_is_not_zero_is_noted(sim, settings):
    pagination = {"pageSize": 100, "totalCount": 5}
    empty = {"meta": {"status": 200, "pagination": pagination}, "data": [{"logs": []}]}
    sim.queue_bodies([json.dumps(empty).encode()])  # the first window's first page
    result = run_ingest_once(settings, clock=fixed_clock(settled_now()))
    (mismatch,) = result.notes.count_mismatches
    assert (mismatch["served"], mismatch["total_count"]) == (0, 5)
    assert mismatch["start"] == format_api_time(result.window_start)


# --- windows whose pages shift while read ----------------------------------------------------


# A Wednesday afternoon, UTC, for the simulator and the ingest alike: the day before it holds
# 431 searches whenever the test runs (the last day of real time held from 155 searches on a
# Sunday morning to 554 on a Saturday morning: the tenant's weekends are quiet).
ANCHOR = datetime(2026, 11, 11, 15, 0, tzinfo=UTC)


def offset_sim(**overrides: object) -> Simulator:
    settings = {"seed": 5, "days": 3, "events_per_day": 400, "late_fraction": 0.0}
    return Simulator(SimConfig(paging="offset", twin_fraction=0.0, **{**settings, **overrides}))


@pytest.mark.parametrize("total_count_error", [0, None], ids=["total_count", "no_total_count"])
def test_offset_paging_with_searches_landing_mid_window_stores_exactly_the_truth(
    db_path, total_count_error
):
    with offset_sim(total_count_error=total_count_error, clock=fixed_clock(ANCHOR)) as sim:
        settings = make_settings(sim.base_url, db_path, INITIAL_BACKFILL_DAYS="1")
        now = ANCHOR - timedelta(minutes=2)  # every on-time search visible
        # newer than every record of the first page: the pages already read shift by one
        sim.add_events_after_pages(1, [search_at(now - timedelta(seconds=30), "landed first")])
        sim.add_events_after_pages(4, [search_at(now - timedelta(seconds=20), "landed later")])
        result = run_ingest_once(settings, clock=fixed_clock(now))
        served = assert_exact(sim, settings, now - timedelta(days=1), now)
    assert served > 300
    assert len(result.notes.rereads) == 2, result.notes
    reasons = " ".join(note["reason"] for note in result.notes.rereads)
    expected = "totalCount changed" if total_count_error == 0 else "repeats a record"
    assert expected in reasons
    assert notes_of(runs(settings.effective_database_url)[-1])["rereads"] == result.notes.rereads


def test_twins_at_a_page_boundary_are_not_taken_for_shifted_pages(db_path):
    with offset_sim(events_per_day=0, total_count_error=None) as sim:
        now = settled_now()
        searches = [search_at(now - timedelta(minutes=i + 1), f"s{i}") for i in range(150)]
        searches.insert(100, dict(searches[99]))  # a twin: the first record of page two
        sim.add_events(searches)
        settings = make_settings(sim.base_url, db_path, INITIAL_BACKFILL_DAYS="1")
        result = run_ingest_once(settings, clock=fixed_clock(now))
        assert_exact(sim, settings, now - timedelta(days=1), now)
    assert stored_records(settings.effective_database_url)[canonical(searches[99])] == 2
    assert result.notes.rereads == []
    assert result.api_requests == 1 + 2 + 1 + 1, "token, two pages, the check, the empty page"


def test_a_window_that_shifts_on_every_read_fails_the_run_with_the_cursor_unmoved(db_path):
    with offset_sim() as sim:
        settings = make_settings(sim.base_url, db_path, INITIAL_BACKFILL_DAYS="1")
        now = settled_now(600)
        run_ingest_once(settings, clock=fixed_clock(now))
        cursor = Store(open_database(settings.effective_database_url), TENANT).cursor()
        later = now + timedelta(minutes=5)
        for page in range(1, 2 * MAX_WINDOW_READS + 2):
            late = search_at(later - timedelta(seconds=page), f"moving {page}")
            sim.add_events_after_pages(page, [late])
        with pytest.raises(CycleFailed, match=f"changed on each of {MAX_WINDOW_READS} reads"):
            run_ingest_once(settings, clock=fixed_clock(later))
        assert Store(open_database(settings.effective_database_url), TENANT).cursor() == cursor
        failed = runs(settings.effective_database_url)[-1]
        assert failed.status == "failed" and "the cursor before it" in failed.error
        assert len(notes_of(failed)["rereads"]) == MAX_WINDOW_READS
        result = run_ingest_once(settings, clock=fixed_clock(later + timedelta(minutes=1)))
        assert result.status == "ok"
        assert_exact(sim, settings, now - timedelta(days=1), later + timedelta(minutes=1))


# --- the reconciliation sweep ----------------------------------------------------------------


def test_sweep_stores_searches_that_arrived_days_late_without_moving_the_cursor(sim, settings):
    now = settled_now()
    run_ingest_once(settings, clock=fixed_clock(now))
    a_day_ago = (format_api_time(now - timedelta(days=2)), format_api_time(now - timedelta(days=1)))
    twin_of_stored = next(  # a late twin of a search stored a day or two ago
        record
        for record in map(json.loads, stored_records(settings.effective_database_url))
        if a_day_ago[0] < record["createTime"] < a_day_ago[1]
    )
    late = [
        search_at(now - timedelta(days=2, hours=3), "two days late"),
        search_at(now - timedelta(days=1, minutes=1), "a day late"),
        search_at(now - timedelta(hours=5), "five hours late"),
        twin_of_stored,
    ]
    before = stored_records(settings.effective_database_url)
    sim.add_events(late)
    later = now + timedelta(minutes=10)
    run_ingest_once(settings, clock=fixed_clock(later))
    after_delta = stored_records(settings.effective_database_url)
    # (the delta poll may store an on-time search of the last minutes; none of the late ones)
    assert all(after_delta[canonical(r)] == before[canonical(r)] for r in late), (
        "every late one is older than LOOKBACK_SECONDS"
    )
    poller = poller_for(settings, later + timedelta(minutes=1))
    cursor = poller.store.cursor()
    sweep = poller.run_reconcile()
    assert sweep.kind == "reconcile" and sweep.status == "ok"
    assert sweep.counts.inserted == len(late)
    assert sweep.counts.fetched == len(sim.truth(sweep.window_start, sweep.window_end)[0])
    assert sweep.window_start == cursor - timedelta(days=3)
    assert sweep.window_end == cursor - timedelta(seconds=settings.lookback_seconds)
    assert poller.store.cursor() == cursor, "a sweep never moves the cursor"
    assert sum(note["new"] for note in sweep.notes.late) == len(late)
    assert_exact(sim, settings, now - timedelta(days=7), later)
    again = poller.run_reconcile()
    assert again.counts.inserted == 0 and again.counts.duplicates > 0, "idempotent"
    recorded = runs(settings.effective_database_url)
    assert [run.kind for run in recorded[-2:]] == ["reconcile", "reconcile"]
    assert recorded[-2].inserted == len(late) and recorded[-2].fetched == sweep.counts.fetched
    assert notes_of(recorded[-2])["late"] == sweep.notes.late


def test_a_sweep_is_due_once_a_day_counted_from_the_last_successful_one(sim, settings):
    now = settled_now()
    run_ingest_once(settings, clock=fixed_clock(now))
    poller = poller_for(settings, now)

    def age(kind: str, hours: float) -> None:
        """Make the runs of `kind` look `hours` older."""
        with poller.store.engine.begin() as conn:
            rows = conn.execute(
                select(IngestRun.id, IngestRun.started_at).where(IngestRun.kind == kind)
            )
            for run_id, started in rows.all():
                conn.execute(
                    update(IngestRun)
                    .where(IngestRun.id == run_id)
                    .values(started_at=started - timedelta(hours=hours))
                )

    assert not poller.reconcile_due(), "the backfill has just read those days"
    age("bootstrap", 25)
    assert poller.reconcile_due()
    poller.run_reconcile()
    assert not poller.reconcile_due(), "a restart does not sweep again"
    age("reconcile", 23)
    assert not poller.reconcile_due()
    sim.queue_faults(["fail200_fatal"])
    age("reconcile", 2)
    assert poller.reconcile_due()
    with pytest.raises(CycleFailed):
        poller.run_reconcile()
    assert poller.reconcile_due(), "a failed sweep does not count"
    off = poller_for(make_settings(sim.base_url, settings.db_path, RECONCILE_DAYS="0"), now)
    assert not off.reconcile_due()


def test_a_sweep_before_the_first_backfill_is_refused(sim, settings):
    with pytest.raises(NothingToReconcile, match="first backfill has not finished"):
        poller_for(settings, settled_now()).run_reconcile()


def test_a_sweep_recovers_late_searches_on_sqlite_and_postgresql(sim, db_url, tmp_path):
    settings = make_settings(sim.base_url, tmp_path / "unused.db", DATABASE_URL=db_url)
    now = settled_now()
    run_ingest_once(settings, clock=fixed_clock(now))
    sim.add_events([search_at(now - timedelta(days=1, hours=2), "late on PostgreSQL")])
    sweep = poller_for(settings, now + timedelta(minutes=1)).run_reconcile()
    assert sweep.counts.inserted == 1
    assert_exact(sim, settings, now - timedelta(days=7), now)


def test_status_shows_the_last_sweep_and_what_it_found(sim, settings):
    now = settled_now()
    run_ingest_once(settings, clock=fixed_clock(now))
    engine = open_database(settings.effective_database_url)
    assert collect_status(engine, SCOPE)["last_reconcile"] is None
    sim.add_events([search_at(now - timedelta(days=2), "found by the sweep")])
    poller_for(settings, now).run_reconcile()
    sweep = collect_status(engine, SCOPE)["last_reconcile"]
    assert sweep["kind"] == "reconcile" and sweep["inserted"] == 1
    assert sweep["notes"]["late"][0]["new"] == 1
    assert sweep["notes_text"].startswith("1 search found late")
    assert "LOOKBACK_SECONDS" in sweep["notes_text"]
