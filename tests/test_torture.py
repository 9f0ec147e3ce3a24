"""Torture: the ingest killed, starved of disk, fed broken responses and read while it
writes, each case checked against the simulator's ground truth — every event stored exactly
once, every malformed record rejected exactly once, every rule of the case held.

The cases live in tests/support/scenarios/; `python -m bench.ingest_scenarios` writes
docs/reliability.md from them. Marker `torture`: run by `scripts/test --full` and CI, not by
the quick suite.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.scenarios import BROKEN_RESPONSES, SCENARIOS, CannotRun, Outcome, run_scenario
from tests.support.scenarios.kills import FAULTS_WANTED

pytestmark = pytest.mark.torture


def run(key: str, folder: Path, database_url: str | None = None) -> Outcome:
    """Run a scenario on `database_url` (a SQLite file in `folder` by default) and fail with
    every rule it broke and every event it lost or doubled."""
    url = database_url or f"sqlite:///{folder / 'data' / 'searchlogs.db'}"
    try:
        outcome = run_scenario(key, folder, url)
    except CannotRun as exc:
        pytest.skip(str(exc))
    problems = outcome.problems()
    assert not problems, f"{SCENARIOS[key].title}: {problems}; figures {outcome.figures}"
    return outcome


def known_issue(key: str, *, strict: bool = True) -> pytest.MarkDecorator:
    """xfail(strict) for a scenario with a documented bug: it fails until the bug is fixed,
    and then fails again until the mark is removed. `strict=False` only where the scenario
    meets the bug on timing, not always (say why at the call)."""
    reason = SCENARIOS[key].known_issue
    return pytest.mark.xfail(reason=reason or "", strict=strict, condition=reason is not None)


def test_sigkill_at_20_random_moments_then_resuming_loses_and_doubles_nothing(tmp_path):
    run("kills", tmp_path)


def test_scheduled_loop_under_a_fault_mix_stays_exact_and_its_memory_flat(tmp_path):
    outcome = run("fault_loop", tmp_path)
    assert outcome.faults >= FAULTS_WANTED, "the mix was injected"
    assert outcome.malformed_served > 0, "malformed records were served and rejected"


@pytest.mark.parametrize(
    "kind",
    [pytest.param(kind, marks=known_issue(f"broken_{kind}"), id=kind) for kind in BROKEN_RESPONSES],
)
def test_broken_response_is_stored_rejected_or_fails_the_run_with_the_cursor_unmoved(
    tmp_path, kind
):
    run(f"broken_{kind}", tmp_path)


@known_issue("reject_at_live_edge")
def test_malformed_record_at_the_live_edge_of_a_poll_is_rejected_once_not_per_poll(tmp_path):
    run("reject_at_live_edge", tmp_path)


# Not strict: the scenario places its records by the wall clock and sleeps 1.1 s, so on a
# slow machine the late search can miss the next poll's overlap and the bug does not show
# (an XPASS seen once, in a full run at 301e003). Making the scenario's clock fixed is work.
@known_issue("reject_before_late_search", strict=False)
def test_malformed_record_is_rejected_once_when_a_late_search_lands_before_it(tmp_path):
    run("reject_before_late_search", tmp_path)


def test_hostile_records_are_stored_or_rejected_once_and_never_stop_the_ingest(tmp_path, db_url):
    run(
        f"hostile_records_{'sqlite' if db_url.startswith('sqlite') else 'postgresql'}",
        tmp_path,
        db_url,
    )


def test_dashboard_queries_never_fail_while_the_ingest_writes_a_backfill(tmp_path, db_url):
    run(f"readers_{'sqlite' if db_url.startswith('sqlite') else 'postgresql'}", tmp_path, db_url)


def test_ingests_and_dashboards_starting_together_on_a_new_database_all_succeed(tmp_path, db_url):
    key = f"first_start_{'sqlite' if db_url.startswith('sqlite') else 'postgresql'}"
    run(key, tmp_path, db_url)


def test_second_ingest_exits_3_at_once_and_the_first_loses_nothing(tmp_path):
    run("second_ingest", tmp_path)


@pytest.mark.parametrize("what", ["file", "folder"])
def test_read_only_database_exits_2_in_one_line_and_writes_nothing(tmp_path, what):
    run(f"read_only_{what}", tmp_path)


@pytest.mark.parametrize("how", ["limit", "tmpfs"])
def test_full_disk_exits_2_leaves_no_partial_chunk_and_the_next_run_loses_nothing(tmp_path, how):
    run(f"full_disk_{how}", tmp_path)


def test_file_that_is_not_a_database_exits_2_and_is_left_untouched(tmp_path):
    run("not_a_database", tmp_path)


@known_issue("future_cursor")
def test_cursor_ahead_of_the_clock_is_named_in_one_line_and_nothing_is_skipped(tmp_path):
    run("future_cursor", tmp_path)


def test_no_secret_or_token_in_output_status_errors_or_database_at_any_log_level(tmp_path):
    outcome = run("secrets", tmp_path)
    assert outcome.figures["tokens issued"] > 4, "tokens expired and were renewed"


def test_identical_twins_survive_overlapping_polls_once_each(tmp_path):
    run("twins", tmp_path)


def test_reconciliation_sweep_stores_searches_days_late_once_without_moving_the_cursor(tmp_path):
    outcome = run("reconcile_sweep", tmp_path)
    assert outcome.figures["stored by the sweep"] == outcome.figures["searches days late"]


def test_offset_paging_with_searches_landing_mid_window_stores_exactly_the_truth(tmp_path):
    outcome = run("offset_paging", tmp_path)
    assert outcome.figures["windows read again"] >= 3


def test_every_scenario_has_a_test_here():
    tested = {"kills", "fault_loop", "second_ingest", "not_a_database", "future_cursor"}
    tested |= {"secrets", "twins", "read_only_file", "read_only_folder", "reject_at_live_edge"}
    tested |= {"full_disk_limit", "full_disk_tmpfs", "reject_before_late_search"}
    tested |= {
        f"{case}_{backend}"
        for case in ("readers", "first_start", "hostile_records")
        for backend in ("sqlite", "postgresql")
    }
    tested |= {f"broken_{kind}" for kind in BROKEN_RESPONSES}
    tested |= {"reconcile_sweep", "offset_paging"}
    assert set(SCENARIOS) == tested
