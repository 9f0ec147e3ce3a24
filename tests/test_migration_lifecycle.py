"""Migration 0012 (alert lifecycle): main's database upgrades with its alerts' evidence
empty ('{}': every search of the user in the window) and nothing suppressed; a downgrade
gives back 0011's schema exactly, a withdrawn alert becoming a dismissed one."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import Engine, inspect, text

from db.engine import alembic_config, make_engine, open_database
from tests.support.backends import database_name, fresh_postgres_database, postgres_server
from tests.test_migration_tenants import FIXTURE, _at_revision, _schema

LIFECYCLE = {"evidence", "suppressed_until", "updated_at"}


def _at_0011_schema(url: str) -> dict:
    engine = make_engine(url)
    try:
        command.upgrade(alembic_config(engine), "0011")
        return _schema(engine)
    finally:
        engine.dispose()


def _check_upgrade_then_downgrade(engine: Engine) -> None:
    assert _at_revision(engine) == "0012"
    with engine.begin() as conn:
        assert conn.execute(text("SELECT DISTINCT evidence FROM alerts")).scalars().all() == ["{}"]
        assert (
            conn.execute(
                text("SELECT count(*) FROM alerts WHERE suppressed_until IS NOT NULL")
            ).scalar_one()
            == 0
        )
        assert conn.execute(text("SELECT count(*) FROM scored_days")).scalar_one() == 0
        conn.execute(
            text("UPDATE alerts SET status = 'withdrawn' WHERE id = (SELECT min(id) FROM alerts)")
        )
        total = conn.execute(text("SELECT count(*) FROM alerts")).scalar_one()
    command.downgrade(alembic_config(engine), "0011")
    assert _at_revision(engine) == "0011"
    assert LIFECYCLE.isdisjoint(c["name"] for c in inspect(engine).get_columns("alerts"))
    assert "scored_days" not in inspect(engine).get_table_names()
    with engine.connect() as conn:
        statuses = conn.execute(text("SELECT status, count(*) FROM alerts GROUP BY status")).all()
    assert "withdrawn" not in dict(statuses) and sum(n for _, n in statuses) == total


def test_migration_0012_upgrades_main_alerts_and_downgrades_to_0011_schema(tmp_path: Path):
    shutil.copy(FIXTURE, tmp_path / "searchlogs.db")
    engine = open_database(f"sqlite:///{tmp_path / 'searchlogs.db'}")
    try:
        _check_upgrade_then_downgrade(engine)
        downgraded = _schema(engine)
        command.upgrade(alembic_config(engine), "head")  # and up again
        assert _at_revision(engine) == "0012"
    finally:
        engine.dispose()
    assert downgraded == _at_0011_schema(f"sqlite:///{tmp_path / 'fresh.db'}")


@pytest.mark.postgres
def test_migration_0012_upgrades_and_downgrades_on_postgresql(request: pytest.FixtureRequest):
    server = postgres_server()
    url = fresh_postgres_database(server, database_name(request.node.nodeid))
    engine = make_engine(url)
    try:
        command.upgrade(alembic_config(engine), "0011")
        with engine.begin() as conn:  # an alert as 0011 stores it
            conn.execute(
                text(
                    "INSERT INTO alerts (tenant, rule, email_addr, day, window_start, "
                    "window_end, severity, summary, figures, evidence_url, status, "
                    "created_at) VALUES ('default', 'breadth', 'a@x.example', '2026-05-01', "
                    "now(), now(), 'low', 's', '{}', '/user', 'new', now())"
                )
            )
        engine.dispose()
        engine = open_database(url)
        _check_upgrade_then_downgrade(engine)
        downgraded = _schema(engine)
    finally:
        engine.dispose()
    fresh = fresh_postgres_database(server, database_name(request.node.nodeid + "fresh"))
    assert downgraded == _at_0011_schema(fresh)
