"""Each failure the API produces is survived, or reported as specified with the cursor unmoved."""

from __future__ import annotations

from datetime import timedelta

import pytest

from db.engine import open_database
from ingest.poller import CycleFailed
from ingest.store import Store
from tests.support.harness import fixed_clock, run_ingest_once, settled_now
from tests.support.tenancy import TENANT
from tests.support.truth import difference, expected_records, runs, stored_records


class SleepRecorder:
    """Stands in for time.sleep so retries are fast; remembers every wait asked for."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


def assert_exact(sim, settings, now, end=None):
    start = now - timedelta(days=settings.initial_backfill_days)
    now = end or now
    valid, _ = sim.truth(start, now)
    expected = expected_records(valid, start, now)
    actual = stored_records(settings.effective_database_url)
    assert actual == expected, difference(expected, actual)


@pytest.mark.parametrize(
    "fault",
    [
        "500",
        "502",
        "503",
        "drop",
        "fail200",
        "malformed_json",
        "data_not_list",
        "logs_null",
        "no_pagination",
    ],
)
def test_transient_fault_is_retried_and_nothing_is_lost(sim, settings, fault):
    sim.queue_faults([fault, fault])  # the first page of the backfill always has logs
    sleep = SleepRecorder()
    now = settled_now()
    result = run_ingest_once(settings, clock=fixed_clock(now), sleep=sleep)
    assert result.status == "ok"
    assert len(sleep.waits) == 2, "two retries, with backoff"
    assert sleep.waits[1] > sleep.waits[0] / 2
    assert_exact(sim, settings, now)


def test_429_waits_the_reset_milliseconds_then_succeeds(sim, settings):
    sim.queue_faults(["ok", "429"])
    sleep = SleepRecorder()
    now = settled_now()
    run_ingest_once(settings, clock=fixed_clock(now), sleep=sleep)
    assert sleep.waits == [pytest.approx(0.2)], "X-RateLimit-Reset: 200 means 200 ms"
    assert sim.stats()["responses_by_status"].get("429") == 1
    assert_exact(sim, settings, now)


def test_401_fetches_one_new_token_and_retries(sim, settings):
    sim.queue_faults(["ok", "401"])
    now = settled_now()
    run_ingest_once(settings, clock=fixed_clock(now))
    assert sim.stats()["token_requests"] == 2
    assert_exact(sim, settings, now)


def test_403_fails_the_run_naming_the_missing_permission(sim, settings):
    sim.queue_faults(["ok", "403"])
    with pytest.raises(CycleFailed, match="'Archive \\| Search Logs \\| Read' permission"):
        run_ingest_once(settings, clock=fixed_clock(settled_now()), sleep=SleepRecorder())
    assert sim.stats()["responses_by_status"].get("403") == 1, "a 403 is not retried"
    assert runs(settings.effective_database_url)[-1].status == "failed"


def test_non_retryable_fail_in_200_fails_the_run_with_its_message(sim, settings):
    sim.queue_faults(["fail200_fatal"])
    with pytest.raises(CycleFailed, match="err_validation_failed"):
        run_ingest_once(settings, clock=fixed_clock(settled_now()), sleep=SleepRecorder())
    store = Store(open_database(settings.effective_database_url), TENANT)
    failed = runs(settings.effective_database_url)[-1]
    assert store.cursor() == failed.window_start, "the cursor stays at the backfill's start"
    assert not store.backfill_done()


def test_persistent_5xx_gives_up_after_bounded_retries_with_cursor_unmoved(sim, settings):
    now = settled_now()
    sim.queue_faults(["ok"] * 3 + ["503"] * 6)
    sleep = SleepRecorder()
    with pytest.raises(CycleFailed, match="HTTP 503"):
        run_ingest_once(settings, clock=fixed_clock(now), sleep=sleep)
    assert len(sleep.waits) == 5, "six attempts, five waits"
    assert all(wait <= 30 for wait in sleep.waits)
    cursor = Store(open_database(settings.effective_database_url), TENANT).cursor()
    failed = runs(settings.effective_database_url)[-1]
    assert failed.status == "failed" and "HTTP 503" in failed.error
    assert cursor is None or cursor < now
    run_ingest_once(settings, clock=fixed_clock(now), sleep=sleep)
    assert_exact(sim, settings, now)


def test_a_mix_of_faults_at_realistic_rates_loses_and_doubles_nothing(sim, settings):
    sim.set_rates(rate_5xx=0.10, rate_429=0.05, rate_fail200=0.02, rate_drop=0.01)
    sleep = SleepRecorder()
    now = settled_now()
    for minutes in (0, 5, 10):
        run_ingest_once(settings, clock=fixed_clock(now + timedelta(minutes=minutes)), sleep=sleep)
    assert len(sleep.waits) > 0
    assert_exact(sim, settings, now, end=now + timedelta(minutes=10))
