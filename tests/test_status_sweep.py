"""`/status` shows the last reconciliation sweep and what it found (AppTest, real SQLite)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from ingest.store import PageCounts, Store
from tests.support.apptest import (  # noqa: F401 (page_*: the page fixtures)
    assert_clean,
    metrics,
    open_page,
    page_db_file,
    page_engine,
    page_known,
    texts,
)
from tests.support.tenancy import TENANT


@pytest.mark.usefixtures("known")
def test_status_says_no_sweep_yet_and_how_to_run_one() -> None:
    at = open_page("status")
    assert_clean(at)
    assert "Last reconciliation sweep" in texts(at)
    assert any("None yet" in text and "python -m ingest reconcile" in text for text in texts(at))


def test_status_shows_the_last_sweep_and_its_findings(request: pytest.FixtureRequest) -> None:
    store = Store(request.getfixturevalue("known"), TENANT)
    start, end = datetime(2026, 3, 29, tzinfo=UTC), datetime(2026, 4, 1, tzinfo=UTC)
    run_id = store.start_run("reconcile", start, end)
    notes = {"late": [{"start": "2026-03-30T00:00:00+0000", "end": "…", "new": 4}]}
    counts = PageCounts(pages=3, fetched=250, inserted=4, duplicates=246)
    store.finish_run(run_id, "ok", counts, 4, notes=json.dumps(notes))
    at = open_page("status")
    assert_clean(at)
    shown = metrics(at)
    assert shown["Searches re-read"] == "250"
    assert shown["Found late"] == "4"
    assert shown["Sweep status"] == "ok"
    findings = [t.value for t in at.text if t.value.startswith("Findings: ")]
    assert findings == [
        "Findings: 4 searches found late (reached the API later than LOOKBACK_SECONDS) in 1 window"
    ]
