"""One writer at a time: a second ingest exits at once instead of interleaving writes.

SQLite uses a lock file beside the database (filelock: released by the OS if the process
dies, even by SIGKILL); PostgreSQL uses a session advisory lock, which the server
releases when the connection goes away.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from filelock import FileLock, Timeout
from sqlalchemy import Engine, text

from db.engine import DatabaseSetupError, sqlite_path


class AlreadyRunning(Exception):
    """Another ingest holds the writer lock for this database."""


def _advisory_key(database: str) -> int:
    digest = hashlib.sha256(f"mimecast-search-logs:{database}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


@contextmanager
def single_writer(engine: Engine) -> Iterator[None]:
    """Hold the writer lock for the database behind `engine`, or raise AlreadyRunning."""
    url = engine.url.render_as_string(hide_password=False)
    path = sqlite_path(url)
    if engine.dialect.name == "postgresql":
        with _advisory_lock(engine):
            yield
    elif path is not None:
        with _file_lock(Path(f"{path}.lock")):
            yield
    else:
        yield  # an in-memory database has only one process by definition


@contextmanager
def _file_lock(lock_path: Path) -> Iterator[None]:
    lock = FileLock(str(lock_path), timeout=0)
    try:
        lock.acquire()
    except Timeout:
        raise AlreadyRunning(
            f"another ingest is already writing to this database (lock {lock_path}); "
            "wait for it to finish or stop it first"
        ) from None
    except OSError as exc:
        raise DatabaseSetupError(
            f"cannot create the lock file {lock_path}: {exc.strerror}; "
            "the database folder must be writable"
        ) from None
    try:
        yield
    finally:
        lock.release()


@contextmanager
def _advisory_lock(engine: Engine) -> Iterator[None]:
    key = _advisory_key(engine.url.database or "")
    with engine.connect() as conn:
        got = conn.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": key}).scalar()
        conn.commit()
        if not got:
            raise AlreadyRunning(
                "another ingest is already writing to this database (PostgreSQL advisory "
                "lock held); wait for it to finish or stop it first"
            )
        try:
            yield
        finally:
            conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": key})
            conn.commit()
