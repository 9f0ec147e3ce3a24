"""Shared fixtures: a real simulator on loopback, a real database file, the real ingest.

`ingest_env(sim, db)` gives the environment for running `python -m ingest` as a
subprocess; `run_ingest_once(...)` runs one cycle in-process through the same code.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from db.engine import open_database
from ingest.client import MimecastClient
from ingest.poller import CycleResult, Poller
from ingest.settings import Settings, load_settings
from ingest.simulator import SimConfig, Simulator
from ingest.store import Store

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
        k: v for k, v in os.environ.items() if not k.startswith(("MIMECAST_", "DB_", "DATABASE_"))
    }
    env.update(settings_env)
    env["PYTHONPATH"] = str(PROJECT_ROOT)
    return env


def run_cli(args: list[str], env: dict[str, str], cwd: Path, timeout: float = 120, **kwargs):
    """`python -m ingest ARGS` in a child process, like a user would run it."""
    return subprocess.run(
        [sys.executable, "-m", "ingest", *args],
        env=subprocess_env(env),
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        **kwargs,
    )


def run_ingest_once(settings: Settings, **client_kwargs) -> CycleResult:
    """One cycle in-process: the same Poller, Store and client the CLI uses."""
    engine = open_database(settings.effective_database_url)
    client = MimecastClient(
        settings.mimecast_base_url, SIM_ID, settings.mimecast_client_secret or "", **client_kwargs
    )
    try:
        return Poller(settings, Store(engine), client).run_cycle()
    finally:
        client.close()
        engine.dispose()


@pytest.fixture
def sim_config() -> SimConfig:
    return SimConfig(seed=7, days=10, events_per_day=120)


@pytest.fixture
def sim(sim_config: SimConfig) -> Iterator[Simulator]:
    simulator = Simulator(sim_config)
    simulator.start()
    try:
        yield simulator
    finally:
        simulator.stop()


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "data" / "searchlogs.db"


@pytest.fixture
def settings(sim: Simulator, db_path: Path) -> Settings:
    return make_settings(sim.base_url, db_path)


def with_settings(settings: Settings, **changes) -> Settings:
    return replace(settings, **changes)
