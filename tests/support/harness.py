"""The ingest against the simulator, as the tests run it: settings for a simulator and a
database, one cycle in-process, or `python -m ingest` as a child process."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

from config.settings import Settings, load_settings
from db.engine import open_database
from ingest.client import MimecastClient
from ingest.poller import CycleResult, Poller
from ingest.store import Store
from ingest.windows import utc_now_seconds
from tests.support.runtime import runtime_python, subprocess_env
from tests.support.tenancy import TENANT

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


def run_cli(args: list[str], env: dict[str, str], cwd: Path, timeout: float = 120, **kwargs):
    """`python -m ingest ARGS` in a child process, like a user would run it: with the
    runtime virtualenv's Python (see `tests.support.runtime`)."""
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
        poller = Poller(settings, Store(engine, TENANT), client, clock=clock or utc_now_seconds)
        return poller.run_cycle()
    finally:
        client.close()
        engine.dispose()


def fixed_clock(moment: datetime) -> Callable[[], datetime]:
    return lambda: moment


def settled_now(margin_seconds: int = 120) -> datetime:
    """A 'now' far enough in the past that every on-time simulator event is visible."""
    return utc_now_seconds() - timedelta(seconds=margin_seconds)
