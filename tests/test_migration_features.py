"""Migration 0015 (the detector's per-person daily features): main's database upgrades with
the two tables empty (the next `detect` fills them from the searches), a downgrade drops
them and gives back 0014's schema exactly, and the database upgrades again."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import Engine, inspect, text

from db.engine import alembic_config, make_engine, open_database
from tests.support.backends import database_name, fresh_postgres_database, postgres_server
from tests.support.migrations import HEAD
from tests.test_migration_tenants import FIXTURE, _at_revision, _schema

FEATURE_TABLES = {"person_day_features", "feature_days"}


def _at_0014_schema(url: str) -> dict:
    engine = make_engine(url)
    try:
        command.upgrade(alembic_config(engine), "0014")
        return _schema(engine)
    finally:
        engine.dispose()


def _check_upgrade_then_downgrade(engine: Engine) -> None:
    assert _at_revision(engine) == HEAD
    assert set(inspect(engine).get_table_names()) >= FEATURE_TABLES
    with engine.begin() as conn:
        for table in FEATURE_TABLES:
            assert conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one() == 0
        for tenant in ("acme", "globex"):  # the same address and day in two tenants
            conn.execute(
                text(
                    "INSERT INTO person_day_features (tenant, day, email_addr, searches, "
                    "features) VALUES (:tenant, '2026-05-01', 'a@x.example', 1, '{}')"
                ),
                {"tenant": tenant},
            )
            conn.execute(
                text(
                    "INSERT INTO feature_days (tenant, day, searches, fingerprint) "
                    "VALUES (:tenant, '2026-05-01', 1, 'f')"
                ),
                {"tenant": tenant},
            )
    command.downgrade(alembic_config(engine), "0014")
    assert _at_revision(engine) == "0014"
    assert FEATURE_TABLES.isdisjoint(inspect(engine).get_table_names())


def test_migration_0015_adds_the_feature_tables_and_downgrades_to_0014_schema(tmp_path: Path):
    shutil.copy(FIXTURE, tmp_path / "searchlogs.db")
    engine = open_database(f"sqlite:///{tmp_path / 'searchlogs.db'}")
    try:
        _check_upgrade_then_downgrade(engine)
        downgraded = _schema(engine)
        command.upgrade(alembic_config(engine), "head")  # and up again
        assert _at_revision(engine) == HEAD
    finally:
        engine.dispose()
    assert downgraded == _at_0014_schema(f"sqlite:///{tmp_path / 'fresh.db'}")


@pytest.mark.postgres
def test_migration_0015_upgrades_and_downgrades_on_postgresql(request: pytest.FixtureRequest):
    server = postgres_server()
    url = fresh_postgres_database(server, database_name(request.node.nodeid))
    engine = open_database(url)
    try:
        _check_upgrade_then_downgrade(engine)
        downgraded = _schema(engine)
    finally:
        engine.dispose()
    fresh = fresh_postgres_database(server, database_name(request.node.nodeid + "fresh"))
    assert downgraded == _at_0014_schema(fresh)
