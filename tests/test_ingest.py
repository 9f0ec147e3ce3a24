"""The ingest against the simulator over real HTTP, into a real SQLite file.

Every test compares what was stored with the simulator's ground truth: nothing missing,
nothing doubled, every reject accounted for.
"""

from __future__ import annotations

from datetime import timedelta
from itertools import pairwise

import pytest

from db.engine import open_database
from ingest.client import MimecastClient
from ingest.poller import CycleFailed, Poller
from ingest.store import Store
from tests.support.harness import (
    SIM_ID,
    SIM_SECRET,
    fixed_clock,
    make_settings,
    run_ingest_once,
    settled_now,
)
from tests.support.tenancy import TENANT
from tests.support.truth import (
    difference,
    expected_records,
    row_count,
    runs,
    stored_records,
    stored_rejects,
)


def assert_matches_truth(sim, settings, start, end):
    valid, _malformed = sim.truth(start, end)
    expected = expected_records(valid, start, end)
    actual = stored_records(settings.effective_database_url)
    assert actual == expected, difference(expected, actual)
    return sum(expected.values())


def test_backfill_stores_every_event_of_the_window_exactly_once(sim, settings):
    now = settled_now()
    result = run_ingest_once(settings, clock=fixed_clock(now))
    start = now - timedelta(days=settings.initial_backfill_days)
    served = assert_matches_truth(sim, settings, start, now)
    assert served > 500
    assert result.kind == "bootstrap"
    assert result.counts.inserted == served
    assert result.counts.rejected == 0
    assert result.cursor == now
    assert Store(open_database(settings.effective_database_url), TENANT).backfill_done()


def test_backfill_is_fetched_in_day_chunks_oldest_first_committing_the_cursor_each_time(
    sim, settings
):
    engine = open_database(settings.effective_database_url)
    store = Store(engine, TENANT)
    client = MimecastClient(settings.mimecast_base_url, SIM_ID, SIM_SECRET)
    now = settled_now()
    chunks, cursors = [], []

    def on_chunk(progress):
        chunks.append((progress.start, progress.end))
        cursors.append(store.cursor())

    Poller(settings, store, client, clock=fixed_clock(now), on_chunk=on_chunk).run_cycle()
    assert chunks[0][0] == now - timedelta(days=7)
    assert chunks[-1][1] == now
    assert all(end - start <= timedelta(days=1) for start, end in chunks)
    assert all(later[0] == earlier[1] for earlier, later in pairwise(chunks))
    assert cursors == [end for _start, end in chunks]


def test_second_run_is_a_delta_that_duplicates_nothing(sim, settings):
    now = settled_now(600)
    run_ingest_once(settings, clock=fixed_clock(now))
    before = stored_records(settings.effective_database_url)
    later = now + timedelta(minutes=5)
    result = run_ingest_once(settings, clock=fixed_clock(later))
    assert result.kind == "delta"
    assert result.window_start == now - timedelta(seconds=settings.lookback_seconds)
    assert result.counts.duplicates > 0, "the lookback window re-reads stored events"
    start = now - timedelta(days=settings.initial_backfill_days)
    assert_matches_truth(sim, settings, start, later)
    assert (
        sum(stored_records(settings.effective_database_url).values())
        == sum(before.values()) + result.counts.inserted
    )


def test_identical_twins_are_both_kept_across_overlapping_polls(sim, settings):
    now = settled_now()
    twin_time = (now - timedelta(minutes=30)).strftime("%Y-%m-%dT%H:%M:%S+0000")
    twin = {
        "createTime": twin_time,
        "emailAddr": "twin.tester@example.com",
        "source": "archive",
        "searchText": "payroll",
        "searchReason": "",
        "description": "Archive Search",
    }
    sim.add_events([twin, dict(twin), dict(twin)])
    run_ingest_once(settings, clock=fixed_clock(now))
    run_ingest_once(settings, clock=fixed_clock(now + timedelta(minutes=1)))
    run_ingest_once(settings, clock=fixed_clock(now + timedelta(minutes=2)))
    stored = stored_records(settings.effective_database_url)
    from tests.support.truth import canonical

    assert stored[canonical(twin)] == 3
    assert_matches_truth(sim, settings, now - timedelta(days=7), now + timedelta(minutes=2))


def test_late_event_inside_the_lookback_window_is_picked_up(sim, settings):
    now = settled_now()
    run_ingest_once(settings, clock=fixed_clock(now))
    late = {
        "createTime": (now - timedelta(minutes=50)).strftime("%Y-%m-%dT%H:%M:%S+0000"),
        "emailAddr": "late.arrival@example.com",
        "source": "archive",
        "searchText": "arrived late",
        "searchReason": "investigation 42",
        "description": "Archive Search",
    }
    sim.add_events([late])
    result = run_ingest_once(settings, clock=fixed_clock(now + timedelta(minutes=10)))
    assert result.counts.inserted >= 1
    assert_matches_truth(sim, settings, now - timedelta(days=7), now + timedelta(minutes=10))


def test_boundary_second_returned_by_two_windows_is_not_duplicated(sim, settings):
    now = settled_now()
    boundary = now - timedelta(days=1)  # a chunk edge of the 7-day backfill
    on_edge = {
        "createTime": boundary.strftime("%Y-%m-%dT%H:%M:%S+0000"),
        "emailAddr": "edge@example.com",
        "source": "archive",
        "searchText": "on the edge",
        "searchReason": "",
        "description": "Archive Search",
    }
    sim.add_events([on_edge, dict(on_edge)])
    result = run_ingest_once(settings, clock=fixed_clock(now))
    from tests.support.truth import canonical

    assert stored_records(settings.effective_database_url)[canonical(on_edge)] == 2
    assert result.counts.duplicates >= 2, "the simulator serves edges to both windows"
    assert_matches_truth(sim, settings, now - timedelta(days=7), now)


def test_cursor_not_advanced_when_a_page_fails_and_a_rerun_completes_exactly(sim, settings):
    now = settled_now()
    sim.queue_faults(["ok"] * 5 + ["fail200_fatal"])
    with pytest.raises(CycleFailed, match="Mimecast reported a failure"):
        run_ingest_once(settings, clock=fixed_clock(now))
    engine = open_database(settings.effective_database_url)
    cursor = Store(engine, TENANT).cursor()
    failed = runs(settings.effective_database_url)[-1]
    assert failed.status == "failed"
    assert cursor is not None and cursor < now
    result = run_ingest_once(settings, clock=fixed_clock(now))
    assert result.kind == "bootstrap", "an unfinished backfill resumes"
    assert result.window_start == cursor
    assert_matches_truth(sim, settings, now - timedelta(days=7), now)


def test_a_failed_run_counts_exactly_the_rows_it_committed(sim, settings):
    sim.queue_faults(["ok"] * 5 + ["fail200_fatal"])
    with pytest.raises(CycleFailed):
        run_ingest_once(settings, clock=fixed_clock(settled_now()))
    failed = runs(settings.effective_database_url)[-1]
    assert failed.status == "failed"
    assert failed.inserted == row_count(settings.effective_database_url) > 0


def test_backfill_that_fails_in_its_first_chunk_resumes_from_its_own_start(sim, settings):
    now = settled_now()
    sim.queue_faults(["ok", "fail200_fatal"])
    with pytest.raises(CycleFailed):
        run_ingest_once(settings, clock=fixed_clock(now))
    first = runs(settings.effective_database_url)[-1]
    later = now + timedelta(minutes=40)
    result = run_ingest_once(settings, clock=fixed_clock(later))
    assert result.kind == "bootstrap"
    assert result.window_start == first.window_start, "no gap before the resumed backfill"
    assert_matches_truth(sim, settings, first.window_start, later)


def test_token_is_reused_across_pages_and_polls(sim, settings):
    engine = open_database(settings.effective_database_url)
    client = MimecastClient(settings.mimecast_base_url, SIM_ID, SIM_SECRET)
    now = settled_now()
    poller = Poller(settings, Store(engine, TENANT), client, clock=fixed_clock(now))
    first = poller.run_cycle()
    poller.clock = fixed_clock(now + timedelta(minutes=1))
    poller.run_cycle()
    assert first.counts.pages > 7
    assert client.tokens_fetched == 1
    assert sim.stats()["token_requests"] == 1


def test_wrong_secret_is_reported_as_rejected_credentials(sim_url, db_path):
    settings = make_settings(sim_url, db_path, MIMECAST_CLIENT_SECRET="wrong-secret")
    client = MimecastClient(settings.mimecast_base_url, SIM_ID, "wrong-secret")
    from ingest.client import CredentialsRejected

    with pytest.raises(CredentialsRejected) as caught:
        client.check_credentials()
    assert "wrong-secret" not in str(caught.value)
    assert "MIMECAST_CLIENT_SECRET" in str(caught.value)


def test_malformed_records_are_rejected_one_by_one_with_reasons(sim_url, db_path):
    from ingest.simulator import SimConfig, Simulator

    with Simulator(
        SimConfig(seed=3, days=5, events_per_day=100, late_fraction=0.0, malformed_rate=0.05)
    ) as noisy:
        settings = make_settings(noisy.base_url, db_path, INITIAL_BACKFILL_DAYS="3")
        now = settled_now()
        run_ingest_once(settings, clock=fixed_clock(now))
        later = now + timedelta(minutes=1)
        run_ingest_once(settings, clock=fixed_clock(later))
        start = now - timedelta(days=3)
        valid, malformed = noisy.truth(start, later)
        from collections import Counter

        from tests.support.truth import canonical

        expected_rejects = Counter(canonical(r) for r in malformed)
        assert len(malformed) > 5
        assert stored_rejects(settings.effective_database_url) == expected_rejects
        expected = expected_records(valid, start, later)
        assert stored_records(settings.effective_database_url) == expected
