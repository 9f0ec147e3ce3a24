"""One writer at a time: a second ingest exits at once instead of interleaving writes.

Two locks. `single_writer` is held by an ingest process for its whole life, so a second
ingest exits at once. `cycle_lock` is held only while a cycle writes, and by a cursor
reset: a reset (from the CLI or the status page) then succeeds while the scheduled loop
sleeps between polls, and never lands in the middle of a cycle that would overwrite it.

SQLite uses lock files beside the database (filelock: released by the OS if the process
dies, even by SIGKILL); PostgreSQL uses session advisory locks, which the server releases
when the connection goes away.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from filelock import FileLock, Timeout
from sqlalchemy import Engine, text

from db.engine import PRIVATE_FILE, DatabaseSetupError, advisory_key, sqlite_path


class AlreadyRunning(Exception):
    """Another ingest holds the writer lock for this database."""


ALREADY_RUNNING = (
    "another ingest is already writing to this database ({where}); "
    "wait for it to finish or stop it first"
)
CYCLE_RUNNING = (
    "the ingest is in the middle of a poll ({where}); try again when it has finished "
    "(python -m ingest status shows the running poll)"
)


@contextmanager
def single_writer(engine: Engine) -> Iterator[None]:
    """Held by an ingest process for its life; raises AlreadyRunning if another holds it."""
    with _lock(engine, "", ALREADY_RUNNING):
        yield


@contextmanager
def cycle_lock(engine: Engine) -> Iterator[None]:
    """Held while a cycle writes, and by a cursor reset; AlreadyRunning if busy."""
    with _lock(engine, "cycle", CYCLE_RUNNING):
        yield


FORWARD_RUNNING = (
    "another forwarder is delivering to this destination ({where}); it resumes from the "
    "same cursor, so nothing waits for long"
)


@contextmanager
def forward_lock(engine: Engine, destination: str) -> Iterator[None]:
    """Held while a forwarding pass delivers to one destination, so two forwarders (the
    scheduled loop and `python -m ingest forward`) never send the same batch twice."""
    with _lock(engine, f"forward-{destination}", FORWARD_RUNNING):
        yield


@contextmanager
def _lock(engine: Engine, purpose: str, message: str) -> Iterator[None]:
    url = engine.url.render_as_string(hide_password=False)
    path = sqlite_path(url)
    if engine.dialect.name == "postgresql":
        with _advisory_lock(engine, purpose, message):
            yield
    elif path is not None:
        suffix = f".{purpose}.lock" if purpose else ".lock"
        with _file_lock(Path(f"{path}{suffix}"), message):
            yield
    else:
        yield  # an in-memory database has only one process by definition


@contextmanager
def _file_lock(lock_path: Path, message: str) -> Iterator[None]:
    lock = FileLock(str(lock_path), timeout=0, mode=PRIVATE_FILE)
    try:
        lock.acquire()
    except Timeout:
        raise AlreadyRunning(message.format(where=f"lock {lock_path}")) from None
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
def _advisory_lock(engine: Engine, purpose: str, message: str) -> Iterator[None]:
    key = advisory_key(engine.url.database or "", purpose)
    with engine.connect() as conn:
        got = conn.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": key}).scalar()
        conn.commit()
        if not got:
            raise AlreadyRunning(message.format(where="PostgreSQL advisory lock held"))
        try:
            yield
        finally:
            conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": key})
            conn.commit()
