"""One writer at a time: a second ingest exits at once instead of interleaving writes.

Three locks. `single_writer` is held by an ingest process for its whole life, so a second
ingest exits at once. `cycle_lock` is one tenant's, held only while that tenant's cycle
writes, and by a reset of its cursor: a reset (from the CLI or the status page) then
succeeds while the tenant's poll sleeps, never lands in the middle of a cycle that would
overwrite it, and never waits for another tenant's poll (a hanging account must not hold
the others' resets). `write_gate` serialises the write transactions of the tenants one
ingest process polls at once (see its docstring).

SQLite uses lock files beside the database (filelock: released by the OS if the process
dies, even by SIGKILL); PostgreSQL uses session advisory locks, which the server releases
when the connection goes away.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from filelock import FileLock, Timeout
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.pool import NullPool

from db.engine import PRIVATE_FILE, DatabaseSetupError, advisory_key, sqlite_path


class AlreadyRunning(Exception):
    """Another ingest holds the writer lock for this database."""


ALREADY_RUNNING = (
    "another ingest is already writing to this database ({where}); "
    "wait for it to finish or stop it first"
)
CYCLE_RUNNING = (
    "the ingest is in the middle of a poll of tenant {tenant} ({where}); try again when it "
    "has finished "
    "(python -m ingest status shows the running poll)"
)


@contextmanager
def single_writer(engine: Engine) -> Iterator[None]:
    """Held by an ingest process for its life; raises AlreadyRunning if another holds it."""
    with _lock(engine, "", ALREADY_RUNNING):
        yield


@contextmanager
def cycle_lock(engine: Engine, tenant: str) -> Iterator[None]:
    """Held while `tenant`'s cycle writes, and by a reset of its cursor; AlreadyRunning if
    busy. Another tenant's cycle does not hold it."""
    message = CYCLE_RUNNING.format(tenant=repr(tenant), where="{where}")
    with _lock(engine, f"cycle-{tenant}", message):
        yield


_gates: dict[str, threading.RLock] = {}
_gates_guard = threading.Lock()


def write_gate(engine: Engine) -> threading.RLock:
    """The lock every write transaction of the ingest's tenant threads holds, one per
    database in this process.

    Why: the tenants of one ingest are polled on threads of their own, and their writes
    must not meet. On SQLite a transaction that read first (the page writer reads the
    largest id) cannot take the write lock once another connection has committed since
    (SQLITE_BUSY, which the busy timeout does not wait out); and the rollups count the rows
    above that id, which must be this transaction's only. Held only for database work: a
    poll commits before it waits for the network, so a slow or hanging account never holds
    it while it waits, and the others' writes queue for milliseconds, not for a timeout."""
    key = engine.url.render_as_string(hide_password=False)
    with _gates_guard:
        return _gates.setdefault(key, threading.RLock())


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
    # A connection of its own, outside the engine's pool: the ingest holds one such lock per
    # tenant for a whole cycle, and fifty tenants must not use up the pool the writes need.
    holder = create_engine(engine.url, poolclass=NullPool)
    try:
        with holder.connect() as conn:
            got = conn.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": key}).scalar()
            conn.commit()
            if not got:
                raise AlreadyRunning(message.format(where="PostgreSQL advisory lock held"))
            try:
                yield
            finally:
                conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": key})
                conn.commit()
    finally:
        holder.dispose()
