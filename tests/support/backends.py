"""The backend matrix: a fresh, empty database on SQLite, on libSQL (a local file through
`sqlite+libsql://`, the SQLite fork's own driver) or on the PostgreSQL server that
TEST_DATABASE_URL names (scripts/test starts one). The one way the tests and the bench get
a PostgreSQL database."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

SKIP_REASON = "no PostgreSQL server: set TEST_DATABASE_URL (scripts/test starts one)"

# Parameters for a fixture that runs on every backend; libSQL and PostgreSQL cases carry
# their marker (`-m "not libsql"` leaves libSQL out).
ALL_BACKENDS = [
    "sqlite",
    pytest.param("libsql", marks=pytest.mark.libsql),
    pytest.param("postgresql", marks=pytest.mark.postgres),
]
# The backends whose database is a file on this machine (SQLite's format).
FILE_BACKENDS = ("sqlite", "libsql")


def postgres_server() -> str:
    """The PostgreSQL server URL from TEST_DATABASE_URL; the test is skipped without one."""
    server = os.environ.get("TEST_DATABASE_URL")
    if not server:
        pytest.skip(SKIP_REASON)
    return server


def fresh_database_url(backend: str, folder: Path, name: str) -> str:
    """A fresh, empty database: a SQLite file in `folder`, or database `name` on the server."""
    if backend in FILE_BACKENDS:
        return file_database_url(backend, folder / "data" / "searchlogs.db")
    return fresh_postgres_database(postgres_server(), name)


def file_database_url(backend: str, path: Path) -> str:
    """The URL of the SQLite-format file `path` through `backend`'s driver: libSQL's takes
    an absolute path after three slashes (four in all), as SQLite's does."""
    driver = "sqlite+libsql" if backend == "libsql" else "sqlite"
    return f"{driver}:///{path.absolute()}"


def database_name(nodeid: str) -> str:
    """A PostgreSQL database name for one test (ids are too long and not identifiers)."""
    return f"t_{abs(hash(nodeid)) % 10**10}"


def fresh_postgres_database(server_url: str, name: str) -> str:
    """A new, empty database `name` on the PostgreSQL server at `server_url` (dropped first
    if it exists); returns its URL."""
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        admin.dispose()
    return make_url(server_url).set(database=name).render_as_string(hide_password=False)
