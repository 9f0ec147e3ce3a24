"""Engines for the ingest and the dashboard, and automatic schema upgrades.

SQLite gets WAL and a busy timeout so the dashboard reads while the ingest writes; the
schema is brought to the newest Alembic revision on start, so an upgrade never asks a
user to delete their database.
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from filelock import FileLock, Timeout
from sqlalchemy import Engine, create_engine, event, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DatabaseError, OperationalError

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
SQLITE_BUSY_TIMEOUT_MS = 30_000
SUPPORTED_BACKENDS = ("sqlite", "postgresql")
MIGRATION_LOCK_TIMEOUT_S = 120


class DatabaseSetupError(Exception):
    """The database cannot be opened or upgraded; the message says what to do."""


def _sqlite_pragmas(dbapi_connection: sqlite3.Connection, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA journal_mode = WAL")
    cursor.execute("PRAGMA synchronous = NORMAL")
    cursor.execute("PRAGMA foreign_keys = ON")
    cursor.close()


def sqlite_path(url: str) -> Path | None:
    """The file behind a SQLite URL, or None for other databases and in-memory SQLite."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database)


def make_engine(url: str, *, create_folder: bool = True) -> Engine:
    """An engine for `url`; for SQLite, the file's folder is created and pragmas set."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise DatabaseSetupError(
            "DATABASE_URL is not a valid SQLAlchemy URL: expected e.g. "
            "sqlite:///data/searchlogs.db or postgresql+psycopg://user:password@host/db"
        ) from None
    if parsed.get_backend_name() not in SUPPORTED_BACKENDS:
        raise DatabaseSetupError(
            f"DATABASE_URL uses {parsed.get_backend_name()!r}, which is not supported: use "
            "sqlite:///path/to/file.db or postgresql+psycopg://user:password@host/db"
        )
    path = sqlite_path(url)
    if path is not None and create_folder:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise DatabaseSetupError(
                f"cannot create the database folder {path.parent}: {exc.strerror}; "
                "set DB_PATH to a writable location"
            ) from None
    kwargs: dict[str, Any] = {}
    if parsed.get_backend_name() == "sqlite":
        kwargs["connect_args"] = {"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}
    else:
        kwargs["pool_pre_ping"] = True
    try:
        engine = create_engine(url, **kwargs)
    except (ArgumentError, ImportError) as exc:
        raise DatabaseSetupError(f"cannot use database URL: {exc}") from None
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def alembic_config(engine: Engine) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.attributes["engine"] = engine
    return cfg


def upgrade_schema(engine: Engine) -> None:
    """Apply every pending migration; a no-op (one read) on an up-to-date database.

    Processes that start together on a new database (the ingest and a dashboard, or two
    ingests) take turns under a migration lock: otherwise the second one would try to
    create the tables the first has just made, and fail.
    """
    config = alembic_config(engine)
    try:
        if _at_head(engine, config):
            return
        with _migration_lock(engine):
            command.upgrade(config, "head")  # checks the revision again, under the lock
    except (DatabaseError, OperationalError) as exc:
        raise DatabaseSetupError(describe_database_error(engine, exc)) from None


def _at_head(engine: Engine, config: Config) -> bool:
    heads = set(ScriptDirectory.from_config(config).get_heads())
    with engine.connect() as conn:
        return set(MigrationContext.configure(conn).get_current_heads()) == heads


def advisory_key(database: str, purpose: str) -> int:
    """A PostgreSQL advisory-lock key for one purpose on one database."""
    digest = hashlib.sha256(f"mimecast-search-logs:{purpose}:{database}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


@contextmanager
def _migration_lock(engine: Engine) -> Iterator[None]:
    """Held while migrating: a lock file beside a SQLite database, a session advisory lock
    on PostgreSQL (both released by the OS or the server if the process dies)."""
    path = sqlite_path(engine.url.render_as_string(hide_password=False))
    if engine.dialect.name == "postgresql":
        key = advisory_key(engine.url.database or "", "migrate")
        with engine.connect() as conn:
            conn.execute(text(f"SET lock_timeout = '{MIGRATION_LOCK_TIMEOUT_S}s'"))
            conn.execute(text("SELECT pg_advisory_lock(:key)"), {"key": key})
            conn.commit()
            try:
                yield
            finally:
                conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": key})
                conn.commit()
    elif path is not None:
        lock = FileLock(f"{path}.migrate.lock", timeout=MIGRATION_LOCK_TIMEOUT_S)
        try:
            lock.acquire()
        except Timeout:
            raise DatabaseSetupError(
                f"another process has been upgrading {path} for {MIGRATION_LOCK_TIMEOUT_S} s "
                f"(lock {lock.lock_file}); try again when it has finished"
            ) from None
        except OSError as exc:
            raise DatabaseSetupError(
                f"cannot create the lock file {lock.lock_file}: {exc.strerror}; "
                "the database folder must be writable"
            ) from None
        try:
            yield
        finally:
            lock.release()
    else:
        yield


def describe_database_error(engine: Engine, exc: Exception) -> str:
    """One line for a database that cannot be opened, written to or upgraded."""
    return environment_problem(engine, exc) or (
        f"database error on {engine.url.render_as_string(hide_password=True)}: {_first_line(exc)}"
    )


def environment_problem(engine: Engine, exc: Exception) -> str | None:
    """One line for a database error the user fixes on the machine — a read-only or full
    disk, a file that is not a database or is damaged — or None for any other error."""
    detail = _first_line(exc)
    where = engine.url.render_as_string(hide_password=True)
    setting = "DB_PATH" if engine.dialect.name == "sqlite" else "DATABASE_URL"
    lowered = detail.lower()
    if "file is not a database" in lowered or "file is encrypted" in lowered:
        return f"{where} is not a SQLite database ({detail}); point DB_PATH at another file"
    if "malformed" in lowered and "disk image" in lowered:
        return (
            f"{where} is damaged ({detail}); restore it from a backup, or point DB_PATH at a "
            "new file (the next run backfills again)"
        )
    if "readonly" in lowered or "read-only" in lowered:
        return (
            f"{where} is read-only ({detail}); make the file and its folder writable, "
            f"or point {setting} elsewhere"
        )
    if "disk is full" in lowered or "no space" in lowered:
        return f"the disk holding {where} is full ({detail}); free space, then run again"
    if "disk i/o error" in lowered:
        return (
            f"writing {where} failed ({detail}): the disk may be full or failing; "
            "free space or check the disk, then run again"
        )
    if "unable to open" in lowered:
        return f"cannot open {where} ({detail}); check {setting} and its folder's permissions"
    return None


def _first_line(exc: Exception) -> str:
    lines = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


def open_database(url: str) -> Engine:
    """An engine with its schema at the newest revision: what every entry point calls."""
    engine = make_engine(url)
    upgrade_schema(engine)
    return engine


def has_schema(engine: Engine) -> bool:
    return inspect(engine).has_table("search_logs")
