"""Shared fixtures: a real simulator on loopback, a real database file, the real ingest.

`ingest_env(sim, db)` gives the environment for running `python -m ingest` as a
subprocess; `run_ingest_once(...)` runs one cycle in-process through the same code.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from config.settings import Settings, load_settings
from db.engine import open_database
from ingest.client import MimecastClient
from ingest.poller import CycleResult, Poller, utc_now_seconds
from ingest.simulator import SimConfig, Simulator
from ingest.store import Store
from tests.helpers import fresh_postgres_database
from tests.runtime import runtime_python

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SIM_ID = "sim-client-id"
SIM_SECRET = "sim-client-secret"


def make_settings(base_url: str, db_path: Path, **overrides: str) -> Settings:
    env = {
        "MIMECAST_CLIENT_ID": SIM_ID,
        "MIMECAST_CLIENT_SECRET": SIM_SECRET,
        "MIMECAST_BASE_URL": base_url,
        "DB_PATH": str(db_path),
        "INITIAL_BACKFILL_DAYS": "7",
        **overrides,
    }
    return load_settings(env)


def subprocess_env(settings_env: dict[str, str]) -> dict[str, str]:
    """A child environment with only our settings (no stray .env, no inherited values)."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("MIMECAST_", "DB_", "DATABASE_", "FORWARD_"))
    }
    # Empty, not absent: an access list in a developer's .env would close the dashboard.
    env.update(ADMIN_EMAILS="", VIEWER_EMAILS="")
    env.update(settings_env)
    env["PYTHONPATH"] = str(PROJECT_ROOT)
    return env


def run_cli(args: list[str], env: dict[str, str], cwd: Path, timeout: float = 120, **kwargs):
    """`python -m ingest ARGS` in a child process, like a user would run it: with the
    runtime virtualenv's Python (see `tests.runtime`)."""
    return subprocess.run(
        [runtime_python(), "-m", "ingest", *args],
        env=subprocess_env(env),
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        **kwargs,
    )


def run_ingest_once(
    settings: Settings, clock: Callable[[], datetime] | None = None, **client_kwargs
) -> CycleResult:
    """One cycle in-process: the same Poller, Store and client the CLI uses."""
    engine = open_database(settings.effective_database_url)
    client = MimecastClient(
        settings.mimecast_base_url, SIM_ID, settings.mimecast_client_secret or "", **client_kwargs
    )
    try:
        poller = Poller(settings, Store(engine), client, clock=clock or utc_now_seconds)
        return poller.run_cycle()
    finally:
        client.close()
        engine.dispose()


def fixed_clock(moment: datetime) -> Callable[[], datetime]:
    return lambda: moment


def settled_now(margin_seconds: int = 120) -> datetime:
    """A 'now' far enough in the past that every on-time simulator event is visible."""
    return utc_now_seconds() - timedelta(seconds=margin_seconds)


@pytest.fixture
def sim_config() -> SimConfig:
    """Small, and with no late arrivals, so the truth is settled; late events are added
    explicitly by the tests that need them."""
    return SimConfig(seed=7, days=10, events_per_day=120, late_fraction=0.0)


@pytest.fixture
def sim(sim_config: SimConfig) -> Iterator[Simulator]:
    with Simulator(sim_config) as simulator:
        yield simulator


@pytest.fixture
def sim_url(sim: Simulator) -> str:
    return sim.base_url


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "data" / "searchlogs.db"


@pytest.fixture
def settings(sim_url: str, db_path: Path) -> Settings:
    return make_settings(sim_url, db_path)


def with_settings(settings: Settings, **changes) -> Settings:
    return replace(settings, **changes)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, empty database: a SQLite file, or a new PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'data' / 'searchlogs.db'}"
    server = os.environ.get("TEST_DATABASE_URL")
    if not server:
        pytest.skip("no PostgreSQL server: set TEST_DATABASE_URL (scripts/test starts one)")
    return fresh_postgres_database(server, f"t_{abs(hash(request.node.nodeid)) % 10**10}")
