"""Engines for the ingest and the dashboard, and automatic schema upgrades.

SQLite gets WAL and a busy timeout so the dashboard reads while the ingest writes (a libSQL
file too: it is SQLite's format and dialect, see `db.libsql`); the schema is brought to the
newest Alembic revision on start, so an upgrade never asks a user to delete their database.
"""

from __future__ import annotations

import hashlib
import os
import re
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any
from urllib.parse import quote

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from filelock import FileLock, Timeout
from sqlalchemy import Engine, create_engine, event, inspect, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DatabaseError, OperationalError

from db import libsql
from db.clickhouse.url import NOT_YET as CLICKHOUSE_NOT_YET
from db.clickhouse.url import is_clickhouse_url

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
SQLITE_BUSY_TIMEOUT_MS = 30_000
SUPPORTED_BACKENDS = ("sqlite", "postgresql")
MIGRATION_LOCK_TIMEOUT_S = 120
# The database holds what everyone searched in the archive and the audit trail: its folder,
# the file, its WAL and SHM and the lock files beside it are the owner's alone.
PRIVATE_FOLDER = 0o700
PRIVATE_FILE = 0o600


REDACTED = "***"
# Query parameters that carry a secret (libpq's `password`, `sslpassword`, a driver's
# `token` or `api_key`, `sslkey` paths): matched anywhere in the name, case-insensitively.
_SECRET_PARAM = re.compile(r"pass|pwd|secret|token|key|auth|credential", re.IGNORECASE)


class DatabaseSetupError(Exception):
    """The database cannot be opened or upgraded; the message says what to do."""


def redact_url(url: str | URL) -> str:
    """`url` fit to show or log: the password and every secret-looking query value hidden.

    `render_as_string(hide_password=True)` hides only `user:password@`; a password can as
    well be passed as `?password=` or `?sslpassword=`. Text that is not a URL is hidden whole.
    """
    try:
        parsed = url if isinstance(url, URL) else make_url(url)
    except ArgumentError:
        return REDACTED
    query = {
        name: (REDACTED if _SECRET_PARAM.search(name) else value)
        for name, value in parsed.query.items()
    }
    shown = parsed.set(query=query).render_as_string(hide_password=True)
    return shown.replace(quote(REDACTED, safe=""), REDACTED)  # rendering escapes the `*`s


def _secret_values(url: str | URL) -> list[str]:
    try:
        parsed = url if isinstance(url, URL) else make_url(url)
    except ArgumentError:
        return [str(url)] if str(url) else []
    values = [parsed.password] if parsed.password else []
    for name, value in parsed.query.items():
        if _SECRET_PARAM.search(name):
            values += [value] if isinstance(value, str) else list(value)
    return [str(value) for value in values if value]


def redact_text(message: str, url: str | URL) -> str:
    """`message` with every secret of `url` (as `redact_url` hides them) replaced by ***,
    for an error a driver wrote with the connection string in it."""
    for secret in sorted(_secret_values(url), key=len, reverse=True):
        message = message.replace(secret, REDACTED)
    return message


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
    if libsql.is_remote(parsed):
        return None
    return Path(parsed.database)


def make_engine(url: str, *, create_folder: bool = True) -> Engine:
    """An engine for `url`; for SQLite, the file's folder is created and pragmas set."""
    if is_clickhouse_url(url):  # recognised, refused in one line until the product runs on it
        raise DatabaseSetupError(CLICKHOUSE_NOT_YET)
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
    if libsql.is_libsql(parsed):
        try:
            libsql.check_url(parsed)
            libsql.connect_arguments(parsed)
        except libsql.LibsqlUrlError as exc:
            raise DatabaseSetupError(str(exc)) from None
    path = sqlite_path(url)
    if path is not None and create_folder:
        try:
            path.parent.mkdir(mode=PRIVATE_FOLDER, parents=True, exist_ok=True)
        except OSError as exc:
            raise DatabaseSetupError(
                f"cannot create the database folder {path.parent}: {exc.strerror}; "
                "set DB_PATH to a writable location"
            ) from None
        _create_private_file(path)
    kwargs: dict[str, Any] = {}
    if libsql.is_libsql(parsed):
        pass  # the driver has no `timeout`: the PRAGMA below sets the same busy timeout
    elif parsed.get_backend_name() == "sqlite":
        kwargs["connect_args"] = {"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}
    else:
        kwargs["pool_pre_ping"] = True
    try:
        engine = create_engine(url, **kwargs)
    except (ArgumentError, ImportError) as exc:
        raise DatabaseSetupError(f"cannot use database URL: {redact_text(str(exc), url)}") from None
    if libsql.is_libsql(parsed):
        event.listen(engine, "do_connect", libsql.connect_hook(parsed))
        event.listen(engine, "handle_error", libsql.translate_error)
    if engine.dialect.name == "sqlite" and not libsql.is_remote(parsed):
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _create_private_file(path: Path) -> None:
    """Create a new SQLite file owner-only before SQLite does: SQLite would make it 0644
    (less the umask), and it gives the WAL and SHM the database file's mode. An empty file
    is an empty database; a file that cannot be made is left for SQLite to report."""
    with suppress(OSError):  # there already (kept as it is), or a folder SQLite will report
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE))


def truncate_wal(engine: Engine) -> bool:
    """Copy a SQLite WAL back into the database and cut the file to nothing; True if done.

    The ingest calls it after each cycle: it checkpoints only every ~100 MB while it writes
    (`ingest.page_writer.SQLITE_WRITER_PRAGMAS`, for speed), and a WAL left at that size would
    sit on disk until the next poll. It does not wait for readers (a dashboard query in
    progress makes it give up for this cycle; the WAL is still bounded after the next
    checkpoint by `journal_size_limit`). A no-op on PostgreSQL.
    """
    if engine.dialect.name != "sqlite" or libsql.is_remote(engine.url):
        return False
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA busy_timeout = 0")
        try:
            busy = conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)").scalar()
        except OperationalError:
            busy = 1
        finally:
            conn.exec_driver_sql(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
    return busy == 0


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
        lock = FileLock(f"{path}.migrate.lock", timeout=MIGRATION_LOCK_TIMEOUT_S, mode=PRIVATE_FILE)
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
        f"database error on {redact_url(engine.url)}: {redact_text(_first_line(exc), engine.url)}"
    )


def environment_problem(engine: Engine, exc: Exception) -> str | None:
    """One line for a database error the user fixes on the machine — a read-only or full
    disk, a file that is not a database or is damaged — or None for any other error."""
    detail = redact_text(_first_line(exc), engine.url)
    where = redact_url(engine.url)
    plain_sqlite = engine.dialect.name == "sqlite" and not libsql.is_libsql(engine.url)
    setting = "DB_PATH" if plain_sqlite else "DATABASE_URL"
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
