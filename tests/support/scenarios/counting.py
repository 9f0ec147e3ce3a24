"""Counting a database against the simulator's ground truth, and feeding the simulator new
events while the ingest runs."""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta

from ingest.client import format_api_time
from ingest.simulator import Simulator
from tests.support.scenarios.outcome import SETTLE_SECONDS, Outcome
from tests.support.truth import (
    canonical,
    difference,
    expected_records,
    runs,
    stored_records,
    stored_rejects,
)

# --- the truth ----------------------------------------------------------------------------


def tally(outcome: Outcome, sim: Simulator, url: str, settle: int = SETTLE_SECONDS) -> Outcome:
    """Compare the database with everything the simulator served between the first run's
    start and the last run's end (events of the last `settle` seconds may not have been
    visible yet, so they are left out; rejects are checked against the whole range)."""
    history = runs(url)
    start, end = history[0].window_start, history[-1].window_end
    settled = end - timedelta(seconds=settle)
    valid, malformed = sim.truth(start, settled)
    _, malformed_all = sim.truth(start, end)
    expected = expected_records(valid, start, settled)
    stored = stored_records(url, start, settled)
    rejects = stored_rejects(url)
    served_malformed = Counter(canonical(record) for record in malformed)
    outcome.events_checked += sum(expected.values())
    outcome.stored += sum(stored.values())
    outcome.lost += sum((expected - stored).values())
    outcome.duplicates += sum((stored - expected).values())
    outcome.malformed_served += sum(served_malformed.values())
    outcome.rejects_accounted += sum((rejects & served_malformed).values())
    served_all = Counter(canonical(record) for record in malformed_all)
    extra = rejects - served_all
    outcome.rejects_unexplained += sum(n for raw, n in extra.items() if raw not in served_all)
    outcome.rejects_doubled += sum(n for raw, n in extra.items() if raw in served_all)
    if expected != stored:
        outcome.figures["difference"] = difference(expected, stored)
    faults = dict(sim.stats().get("faults_injected", {}))
    outcome.faults += sum(int(count) for count in faults.values())
    outcome.figures["runs"] = len(history)
    return outcome


VISIBLE_AFTER = 1  # seconds between adding a record to the simulator and its serving it


class EventFeed:
    """Adds searches while the ingest runs, like a live tenant: late arrivals (created
    130–170 s before they appear, inside the lookback window) and identical twins."""

    def __init__(self, sim: Simulator, seed: int, interval: float = 0.5, batch: int = 10) -> None:
        self.sim = sim
        self.rng = random.Random(seed)
        self.interval = interval
        self.batch = batch
        self.added = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="event-feed", daemon=True)

    def __enter__(self) -> EventFeed:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
        time.sleep(VISIBLE_AFTER + 0.1)  # so a poll started now sees the last batch

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            now = datetime.now(UTC)
            records = []
            for _ in range(self.batch):
                self.added += 1
                created = now - timedelta(seconds=self.rng.randint(130, 170))
                record = {
                    "createTime": format_api_time(created),
                    "emailAddr": f"feed{self.rng.randrange(12)}@example.com",
                    "source": "archive",
                    "searchText": f"[Feed : {self.added}]",
                    "searchReason": "",
                    "description": "Message Tracking Search",
                }
                records.append(record)
                if self.rng.random() < 0.1:
                    records.append(dict(record))  # a twin: identical in every field
            # visible from the next second: the simulator's pages are stable as of the second
            # their first page was cut, so a record visible in that very second would shift them
            self.sim.add_events(records, visible_after_seconds=VISIBLE_AFTER)


def recent_events(now: datetime, count: int, tag: str) -> list[dict[str, str]]:
    """`count` searches in the hour before `now` (settled: at least SETTLE_SECONDS old)."""
    step = (3600 - SETTLE_SECONDS - 10) / count
    return [
        {
            "createTime": format_api_time(now - timedelta(seconds=SETTLE_SECONDS + 10 + i * step)),
            "emailAddr": f"analyst{i % 7}@example.com",
            "source": "archive",
            "searchText": f"[{tag} : {i}]",
            "searchReason": "",
            "description": "Message Tracking Search",
        }
        for i in range(count)
    ]
