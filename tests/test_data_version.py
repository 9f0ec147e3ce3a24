"""The data version keys every cached answer about the searches (the pages' `st.cache_data`,
the API's answer cache): it must move when a poll stored rows, and only then. A poll that
stored nothing used to move it too, throwing every cached answer away on every poll.

Real polls of the simulator over HTTP into each backend, with a second tenant whose rows
differ (one user address in both) stored beside them.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine

from db.engine import open_database
from db.state import data_version, ingest_version
from ingest.client import MimecastClient
from ingest.poller import CycleResult, Poller
from ingest.simulator import SimConfig, Simulator
from ingest.store import Store
from tests.support.builders import record, store_records
from tests.support.harness import SIM_ID, SIM_SECRET, fixed_clock, make_settings

POLLED = "acme"
OTHER = "globex"
SHARED_USER = "shared.user@example.com"
NOW = datetime(2026, 11, 12, 16, 0, tzinfo=UTC)  # the simulator's clock and the ingest's


@pytest.fixture
def sim_config() -> SimConfig:
    """Two days of searches as of NOW, none late: what a poll at NOW stores is fixed."""
    return SimConfig(seed=7, days=2, events_per_day=40, late_fraction=0.0, clock=lambda: NOW)


def poll(sim: Simulator, url: str, folder: Path, engine: Engine, moment) -> CycleResult:
    """One real cycle of POLLED's ingest at the fixed `moment`."""
    settings = make_settings(sim.base_url, folder / "unused.db", DATABASE_URL=url)
    client = MimecastClient(sim.base_url, SIM_ID, SIM_SECRET, sleep=lambda _s: None)
    try:
        return Poller(
            settings, Store(engine, POLLED), client, clock=fixed_clock(moment)
        ).run_cycle()
    finally:
        client.close()


def search(moment, email: str, text: str) -> dict[str, object]:
    return {
        "createTime": moment.strftime("%Y-%m-%dT%H:%M:%S+0000"),
        "emailAddr": email,
        "source": "archive",
        "searchText": text,
        "searchReason": "",
        "description": "Archive Search",
    }


def test_the_data_version_moves_only_when_a_poll_stores_rows(
    sim: Simulator, db_url: str, tmp_path: Path
) -> None:
    engine = open_database(db_url)
    try:
        sim.add_events([search(NOW - timedelta(hours=2), SHARED_USER, "acme's own search")])
        other = record("2026-03-28T10:00:00", SHARED_USER, searchText="globex's search")
        store_records(engine, [other], OTHER)
        first = poll(sim, db_url, tmp_path, engine, NOW)
        assert first.status == "ok" and first.counts.inserted > 0
        stored, state = data_version(engine), ingest_version(engine)

        again = poll(sim, db_url, tmp_path, engine, NOW)  # the lookback reads it all again
        assert again.status == "ok" and again.counts.inserted == 0
        assert again.counts.duplicates > 0, "the poll read the stored rows again"
        assert data_version(engine) == stored, "a poll that stored nothing moved it"
        assert ingest_version(engine) != state, "the status sees the new run"

        sim.add_events([search(NOW - timedelta(minutes=1), SHARED_USER, "one more")])
        third = poll(sim, db_url, tmp_path, engine, NOW)
        assert third.status == "ok" and third.counts.inserted == 1
        assert data_version(engine) != stored, "a poll that stored a row left it"
    finally:
        engine.dispose()
