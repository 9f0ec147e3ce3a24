"""Engines for the ingest and the dashboard, and automatic schema upgrades.

SQLite gets WAL and a busy timeout so the dashboard reads while the ingest writes; the
schema is brought to the newest Alembic revision on start, so an upgrade never asks a
user to delete their database.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event, inspect
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DatabaseError, OperationalError

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
SQLITE_BUSY_TIMEOUT_MS = 30_000
SUPPORTED_BACKENDS = ("sqlite", "postgresql")


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
    """Apply every pending migration; a no-op on an up-to-date database."""
    try:
        command.upgrade(alembic_config(engine), "head")
    except (DatabaseError, OperationalError) as exc:
        raise DatabaseSetupError(describe_database_error(engine, exc)) from None


def describe_database_error(engine: Engine, exc: Exception) -> str:
    """One line for a database that cannot be opened, written to or upgraded."""
    text = str(getattr(exc, "orig", exc)).strip().splitlines()[0]
    where = engine.url.render_as_string(hide_password=True)
    lowered = text.lower()
    if "file is not a database" in lowered or "file is encrypted" in lowered:
        return f"{where} is not a SQLite database ({text}); point DB_PATH at another file"
    if "readonly" in lowered or "read-only" in lowered:
        return f"{where} is read-only ({text}); make it writable or point DB_PATH elsewhere"
    if "disk is full" in lowered or "no space" in lowered:
        return f"the disk holding {where} is full ({text}); free space, then run again"
    if "unable to open" in lowered:
        return f"cannot open {where} ({text}); check DB_PATH and its folder's permissions"
    return f"database error on {where}: {text}"


def open_database(url: str) -> Engine:
    """An engine with its schema at the newest revision: what every entry point calls."""
    engine = make_engine(url)
    upgrade_schema(engine)
    return engine


def has_schema(engine: Engine) -> bool:
    return inspect(engine).has_table("search_logs")
