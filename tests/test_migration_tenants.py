"""Migration 0011 (tenants): a database written by today's `main` upgrades, by the path
users take (`db.engine.open_database`, what the ingest and the dashboard call on start),
with every row kept, under the tenant `default`, into exactly the schema the models declare.

The database is tests/data/main-0010.db, written by main's own ingest, detector, forwarder
and token command (tests/data/README.md says how). On PostgreSQL its rows are copied into a
database migrated to 0010 by main's migrations, then upgraded the same way.
"""

from __future__ import annotations

import shutil
import sqlite3
import warnings
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, MetaData, Table, create_engine, inspect, select, text
from sqlalchemy.exc import DatabaseError

from db.engine import DatabaseSetupError, alembic_config, make_engine, open_database
from db.models import Base, text_key
from tests.support.backends import database_name, fresh_postgres_database, postgres_server
from tests.support.migrations import head_revision

FIXTURE = Path(__file__).parent / "data" / "main-0010.db"
TENANT = "default"
TABLES = tuple(sorted(Base.metadata.tables))
LATER_TABLES = (
    "scored_days",
    "search_targets",
    "seals",
    "seal_checks",
    "person_day_features",
    "feature_days",
    "rollup_user_day_hours",
)
"""Tables of revisions after 0011 (0012: the days scored; 0013: the search targets, checked in
tests/test_targets_store.py; 0014: the sealed days, tests/test_seals.py; 0015: the detector's
features, tests/test_migration_features.py; 0016: the users' hours per day,
tests/test_user_day_hours.py): main's database has none of them."""
LATER_COLUMNS = {"alerts": ("evidence", "suppressed_until", "updated_at")}
"""Columns of revisions after 0011 (0012: the alert lifecycle), left out of the comparison."""
ROW_TABLES = tuple(name for name in TABLES if name not in LATER_TABLES)
HEAD = head_revision()
"""The newest revision: what opening the database upgrades to (through 0011)."""
EXPECTED_ROWS = {  # what main wrote (tests/data/README.md): none of it may be lost
    "search_logs": 111,
    "rejected_records": 2,
    "ingest_runs": 1,
    "kv": 3,
    "alerts": 13,
    "api_tokens": 1,
    "audit_events": 1,
    "forward_cursors": 1,
    "filter_values": 43,
    "rollup_user_all": 69,
}

Rows = dict[str, list[dict[str, Any]]]


def _naive_utc(value: Any) -> Any:
    """Times as SQLite stores them (naive UTC), so both backends' rows compare."""
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.astimezone(UTC).replace(tzinfo=None)
    return value


def _read_all(engine: Engine) -> Rows:
    """Every row of every table of the models, as plain values, in a stable order."""
    metadata = MetaData()
    rows: Rows = {}
    with engine.connect() as conn:
        for name in ROW_TABLES:
            table = Table(name, metadata, autoload_with=conn)
            later = LATER_COLUMNS.get(name, ())
            found = [
                {k: _naive_utc(v) for k, v in row._mapping.items() if k not in later}
                for row in conn.execute(select(table))
            ]
            rows[name] = sorted(found, key=repr)
    return rows


def _as_before(after: Rows) -> Rows:
    """The upgraded rows as main stored them: every `tenant` must be `default`, and is
    dropped; alerts' `tenant` was their `account` ("")."""
    before: Rows = {}
    for name, rows in after.items():
        tenants = {row.pop("tenant") for row in rows}
        assert tenants <= {TENANT}, f"{name}: rows under {tenants - {TENANT}}"
        if name == "alerts":
            rows = [{**row, "account": ""} for row in rows]
        before[name] = sorted(rows, key=repr)
    return before


def _fixture_rows() -> Rows:
    engine = create_engine(f"sqlite:///{FIXTURE}")
    try:
        rows = _read_all(engine)
    finally:
        engine.dispose()
    for name, count in EXPECTED_ROWS.items():
        assert len(rows[name]) == count, name
    return rows


def _schema(engine: Engine) -> dict[str, Any]:
    """Everything about the tables that the product relies on: columns (type, NULL,
    default), keys, uniques, foreign keys, indexes with their exact definitions."""
    found: dict[str, Any] = {}
    inspector = inspect(engine)
    present = set(inspector.get_table_names())  # below 0012: none of LATER_TABLES
    for name in (name for name in TABLES if name in present):
        found[name] = {
            "columns": sorted(
                (c["name"], c["type"].compile(engine.dialect), c["nullable"], c["default"])
                for c in inspector.get_columns(name)
            ),
            "primary_key": inspector.get_pk_constraint(name)["constrained_columns"],
            "uniques": sorted(
                (u["name"], tuple(u["column_names"]))
                for u in inspector.get_unique_constraints(name)
            ),
            "foreign_keys": sorted(
                (tuple(f["constrained_columns"]), f["referred_table"])
                for f in inspector.get_foreign_keys(name)
            ),
        }
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            sql = "SELECT tbl_name, name, sql FROM sqlite_master WHERE type = 'index'"
            for table, name, ddl in conn.execute(text(sql)):
                if table in found:
                    found[table].setdefault("indexes", []).append((name, ddl))
            for name in found:
                ddl = conn.execute(
                    text("SELECT sql FROM sqlite_master WHERE name = :n"), {"n": name}
                ).scalar_one()
                found[name]["without_rowid"] = "WITHOUT ROWID" in ddl
        else:
            sql = (
                "SELECT tablename, indexname, indexdef FROM pg_indexes WHERE schemaname = 'public'"
            )
            for table, name, ddl in conn.execute(text(sql)):
                if table in found:
                    found[table].setdefault("indexes", []).append((name, ddl))
    for table in found.values():
        table["indexes"] = sorted(table.get("indexes", []), key=lambda i: (i[0], i[1] or ""))
    return found


def _models_schema(url: str) -> dict[str, Any]:
    engine = make_engine(url)
    try:
        Base.metadata.create_all(engine)
        return _schema(engine)
    finally:
        engine.dispose()


KEYED_BY_EXPRESSION = {
    index.name
    for table in Base.metadata.tables.values()
    for index in table.indexes
    if any(isinstance(part, text_key) for part in index.expressions)
}
"""Indexes over `text_key(...)`: alembic cannot compare expression indexes (it reports
them as different even on a database the models created); `_schema` compares them exactly."""


def _for_this_dialect(dialect: str):
    """compare_metadata's filter: objects the models create on the other database only
    (`ddl_if(dialect=...)`), and the expression indexes, are left out."""

    def include(obj: Any, name: Any, type_: str, _reflected: bool, _compare_to: Any) -> bool:
        if type_ == "index" and name in KEYED_BY_EXPRESSION:
            return False
        condition = getattr(obj, "_ddl_if", None)
        return condition is None or condition.dialect in (None, dialect)

    return include


def _model_differences(engine: Engine) -> list[Any]:
    with engine.connect() as conn, warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        context = MigrationContext.configure(
            conn, opts={"include_object": _for_this_dialect(engine.dialect.name)}
        )
        return compare_metadata(context, Base.metadata)


def _at_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def test_main_database_upgrades_with_every_row_kept_under_default(tmp_path: Path) -> None:
    before = _fixture_rows()
    path = tmp_path / "searchlogs.db"
    shutil.copy(FIXTURE, path)
    engine = open_database(f"sqlite:///{path}")
    try:
        assert _at_revision(engine) == HEAD
        assert _as_before(_read_all(engine)) == before
        with engine.connect() as conn:  # the stored key and the rollups answer per tenant
            assert conn.execute(
                text("SELECT sum(searches) FROM rollup_user_all WHERE tenant = :t"), {"t": TENANT}
            ).scalar_one() == len(before["search_logs"])
    finally:
        engine.dispose()


def test_upgraded_sqlite_schema_is_the_models_schema(tmp_path: Path) -> None:
    shutil.copy(FIXTURE, tmp_path / "upgraded.db")
    engine = open_database(f"sqlite:///{tmp_path / 'upgraded.db'}")
    try:
        assert _model_differences(engine) == []
        upgraded = _schema(engine)
    finally:
        engine.dispose()
    assert upgraded == _models_schema(f"sqlite:///{tmp_path / 'models.db'}")


def test_upgrade_keeps_a_foreign_key_to_a_copied_table(tmp_path: Path) -> None:
    """`ingest_runs` is copied into its new shape while searches and rejects refer to it:
    the references survive, and SQLite still enforces them afterwards."""
    shutil.copy(FIXTURE, tmp_path / "searchlogs.db")
    engine = open_database(f"sqlite:///{tmp_path / 'searchlogs.db'}")
    try:
        assert "tenant" in {c["name"] for c in inspect(engine).get_columns("ingest_runs")}
        with engine.connect() as conn:
            assert conn.execute(text("PRAGMA foreign_key_check")).all() == []
            assert conn.execute(text("PRAGMA foreign_keys")).scalar_one() == 1
            linked = "SELECT count(*) FROM search_logs JOIN ingest_runs ON run_id = ingest_runs.id"
            assert conn.execute(text(linked)).scalar_one() == EXPECTED_ROWS["search_logs"]
    finally:
        engine.dispose()


def test_a_refused_upgrade_leaves_the_database_as_it_was(tmp_path: Path) -> None:
    """Alerts under two account labels would collide as tenant `default`: the upgrade stops
    at the alerts, after other tables were copied, and all of it is rolled back."""
    path = tmp_path / "searchlogs.db"
    shutil.copy(FIXTURE, path)
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE alerts SET account = 'other' WHERE id = (SELECT min(id) FROM alerts)")
    conn.close()
    with pytest.raises(DatabaseSetupError, match="alerts carry 2 account labels"):
        open_database(f"sqlite:///{path}")
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT version_num FROM alembic_version").fetchall() == [("0010",)]
        columns = {row[1] for row in conn.execute("PRAGMA table_info(search_logs)")}
        assert "tenant" not in columns
        assert conn.execute("SELECT count(*) FROM search_logs").fetchone() == (111,)
    conn.close()


def _at_0010_schema(url: str) -> dict[str, Any]:
    """The schema main's migrations make: what a downgrade must give back."""
    engine = make_engine(url)
    try:
        command.upgrade(alembic_config(engine), "0010")
        return _schema(engine)
    finally:
        engine.dispose()


def test_downgrade_gives_back_main_database_while_every_row_is_default(tmp_path: Path) -> None:
    before = _fixture_rows()
    shutil.copy(FIXTURE, tmp_path / "searchlogs.db")
    engine = open_database(f"sqlite:///{tmp_path / 'searchlogs.db'}")
    try:
        assert _at_revision(engine) == HEAD
        command.downgrade(alembic_config(engine), "0010")
        assert _at_revision(engine) == "0010"
        assert _read_all(engine) == before
        downgraded = _schema(engine)
    finally:
        engine.dispose()
    assert downgraded == _at_0010_schema(f"sqlite:///{tmp_path / 'main.db'}")


def test_downgrade_refuses_once_another_tenant_has_rows(tmp_path: Path) -> None:
    shutil.copy(FIXTURE, tmp_path / "searchlogs.db")
    engine = open_database(f"sqlite:///{tmp_path / 'searchlogs.db'}")
    try:
        with engine.begin() as conn:
            conn.execute(text("UPDATE kv SET tenant = 'acme' WHERE key = 'bootstrap_done'"))
        with pytest.raises(DatabaseError, match="kv holds rows of tenants other than 'default'"):
            command.downgrade(alembic_config(engine), "0010")
        assert _at_revision(engine) == HEAD
        assert "tenant" in {c["name"] for c in inspect(engine).get_columns("search_logs")}
    finally:
        engine.dispose()


def _copy_rows(rows: Rows, engine: Engine) -> None:
    """main's rows into a PostgreSQL database at 0010, as they were (times in UTC)."""
    metadata = MetaData()
    with engine.begin() as conn:
        for name, table_rows in rows.items():
            table = Table(name, metadata, autoload_with=conn)
            aware = [
                {k: v.replace(tzinfo=UTC) if isinstance(v, datetime) else v for k, v in r.items()}
                for r in table_rows
            ]
            if aware:
                conn.execute(table.insert(), aware)
            if "id" in table.c:
                conn.execute(
                    text(
                        f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "
                        f"coalesce((SELECT max(id) FROM {name}), 0) + 1, false)"
                    )
                )


@pytest.mark.postgres
def test_main_rows_upgrade_on_postgresql(request: pytest.FixtureRequest) -> None:
    before = _fixture_rows()
    server = postgres_server()
    url = fresh_postgres_database(server, database_name(request.node.nodeid))
    engine = make_engine(url)
    try:
        command.upgrade(alembic_config(engine), "0010")
        _copy_rows(_table_order(before), engine)
        engine.dispose()
        engine = open_database(url)
        assert _at_revision(engine) == HEAD
        assert _as_before(_read_all(engine)) == before
        assert _model_differences(engine) == []
        upgraded = _schema(engine)
        command.downgrade(alembic_config(engine), "0010")
        assert _read_all(engine) == before
        downgraded = _schema(engine)
    finally:
        engine.dispose()
    models_url = fresh_postgres_database(server, database_name(request.node.nodeid + "models"))
    assert upgraded == _models_schema(models_url)
    main_url = fresh_postgres_database(server, database_name(request.node.nodeid + "main"))
    assert downgraded == _at_0010_schema(main_url)


def _table_order(rows: Rows) -> Rows:
    """Parents first: runs before the searches and rejects that refer to them."""
    return dict(sorted(rows.items(), key=lambda item: item[0] != "ingest_runs"))
