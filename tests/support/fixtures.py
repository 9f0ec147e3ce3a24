"""The shared fixtures (registered by tests/conftest.py): a real simulator on loopback, a
real database on each backend, the settings that join them, and KNOWN rows stored."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from config.settings import Settings
from db.engine import open_database
from ingest.simulator import SimConfig, Simulator
from tests.support.backends import (
    ALL_BACKENDS,
    FILE_BACKENDS,
    database_name,
    file_database_url,
    fresh_database_url,
    fresh_postgres_database,
    postgres_server,
)
from tests.support.builders import KNOWN, store_records
from tests.support.harness import make_settings


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


@pytest.fixture(params=ALL_BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, empty database: a SQLite file, or a new PostgreSQL database."""
    return fresh_database_url(request.param, tmp_path, database_name(request.node.nodeid))


@pytest.fixture(params=ALL_BACKENDS)
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A fresh database with the schema, on each backend (the data-layer tests' engine)."""
    if request.param in FILE_BACKENDS:
        url = file_database_url(request.param, tmp_path / "queries.db")
    else:
        url = fresh_postgres_database(postgres_server(), database_name(request.node.nodeid))
    engine = open_database(url)
    yield engine
    engine.dispose()


@pytest.fixture
def known(engine: Engine) -> Engine:
    """`engine` holding the KNOWN rows."""
    store_records(engine, KNOWN)
    return engine
