"""libSQL as a store (`sqlite+libsql://`): what is its own beyond the backend matrix, which
runs the SQLite tests on a libSQL file too (`tests.support.backends`).

A bad libSQL URL is refused in one line; the driver's bare ValueErrors reach the product as
SQLAlchemy's errors (so its fail-closed paths catch them); an auth token never shows. A
libSQL server is not installable here: the remote tests run only when TEST_LIBSQL_URL names
one (`sqlite+libsql://host?secure=true&authToken=…`).
"""

from __future__ import annotations

import os
import sys
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError, OperationalError

from db import queries
from db.engine import DatabaseSetupError, make_engine, open_database
from db.scope import TenantScope
from tests.support.builders import record, store_records
from tests.support.harness import run_cli

TOKEN = "libsql-token-4f1c9a"  # stands for a Turso auth token: must never be shown
REMOTE = os.environ.get("TEST_LIBSQL_URL", "")


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("sqlite+libsql://", "names no libSQL file or server"),
        ("sqlite+libsql:///:memory:", "names no libSQL file or server"),
        ("sqlite+libsql:////data/x.db?journal=wal", "journal that are not supported"),
        ("sqlite+aiolibsql:////data/x.db", "async driver"),
        ("sqlite+libsql://db.example?sync_url=libsql://db.example", "both a libSQL server"),
        ("sqlite+libsql:////data/x.db?sync_interval=soon", "sync_interval must be a number"),
    ],
)
def test_a_bad_libsql_url_is_refused_in_one_line(url: str, says: str) -> None:
    with pytest.raises(DatabaseSetupError) as refused:
        make_engine(url, create_folder=False)
    assert says in str(refused.value) and "\n" not in str(refused.value)
    assert "sqlite+libsql:////" in str(refused.value), "an example of the right form"


def test_a_libsql_url_without_its_driver_says_so_in_one_line(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setitem(sys.modules, "libsql_experimental", None)  # as where it has no wheel
    with pytest.raises(DatabaseSetupError, match="libsql-experimental\\) is not installed"):
        make_engine(f"sqlite+libsql:///{tmp_path / 'x.db'}")


def test_libsql_errors_are_sqlalchemy_errors(tmp_path: Path) -> None:
    engine = open_database(f"sqlite+libsql:///{tmp_path / 'data' / 'x.db'}")
    try:
        with pytest.raises(OperationalError), engine.connect() as conn:
            conn.execute(text("SELECT * FROM no_such_table"))
        with engine.begin() as conn:
            conn.execute(text("CREATE TABLE one_key (k INTEGER PRIMARY KEY)"))
        with pytest.raises(IntegrityError), engine.begin() as conn:
            conn.execute(text("INSERT INTO one_key (k) VALUES (1), (1)"))
    finally:
        engine.dispose()
    missing_file = tmp_path / "no-folder" / "x.db"
    missing = make_engine(f"sqlite+libsql:///{missing_file}", create_folder=False)
    with pytest.raises(OperationalError):
        missing.connect().close()


def test_a_libsql_file_is_a_private_sqlite_file_in_wal_mode(tmp_path: Path) -> None:
    path = tmp_path / "data" / "x.db"
    engine = open_database(f"sqlite+libsql:///{path}")
    try:
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30_000
    finally:
        engine.dispose()
    assert path.stat().st_mode & 0o777 == 0o600 and path.parent.stat().st_mode & 0o777 == 0o700
    assert path.read_bytes().startswith(b"SQLite format 3\0")


def test_an_unreachable_libsql_server_is_one_line_without_its_token(tmp_path: Path) -> None:
    url = f"sqlite+libsql://127.0.0.1:9?authToken={TOKEN}"  # port 9: nothing listens
    done = run_cli(["status"], {"DATABASE_URL": url}, tmp_path)
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith("error: database error on sqlite+libsql://127.0.0.1:9?")
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert "Traceback" not in done.stderr
    assert TOKEN not in done.stdout + done.stderr and "authToken=***" in done.stderr


def test_a_libsql_url_is_read_from_database_url_file(tmp_path: Path) -> None:
    secret = tmp_path / "database-url"
    secret.write_text(f"sqlite+libsql:///{tmp_path / 'data' / 'x.db'}\n")
    done = run_cli(["status"], {"DATABASE_URL_FILE": str(secret)}, tmp_path)
    assert done.returncode == 0, done.stderr
    assert "search logs      0" in done.stdout
    assert (tmp_path / "data" / "x.db").is_file()


# --- a libSQL server, opt-in ------------------------------------------------------------

remote = pytest.mark.skipif(not REMOTE, reason="no libSQL server: set TEST_LIBSQL_URL")


@remote
def test_a_remote_libsql_database_stores_and_answers_per_tenant() -> None:
    engine = open_database(REMOTE)
    try:
        shared = "shared.user@example.com"
        suffix = os.urandom(4).hex()  # the server's database outlives the test
        mine, theirs = f"remote-a-{suffix}", f"remote-b-{suffix}"
        store_records(engine, [record("2026-03-28T10:00:00", shared, searchText="a")], mine)
        store_records(engine, [record("2026-03-28T11:00:00", shared, searchText="b")], theirs)
        one = TenantScope.one(mine)
        assert list(queries.filter_options(engine, one).users) == [shared]
        days = queries.SearchFilters(scope=one, start=date(2026, 3, 28), end=date(2026, 3, 28))
        assert queries.count_searches(engine, days, "UTC") == 1
    finally:
        engine.dispose()


@remote
def test_a_remote_libsql_token_is_hidden_from_status(tmp_path: Path) -> None:
    done = run_cli(["status"], {"DATABASE_URL": REMOTE}, tmp_path)
    token = dict(part.split("=", 1) for part in REMOTE.split("?", 1)[-1].split("&")).get(
        "authToken", ""
    )
    assert not token or token not in done.stdout + done.stderr
