"""A write that finds the database locked by another thread of the same process waits for
the lock and succeeds, on every backend: the `forward` pass (a thread per tenant's stream,
each writing its cursor) depends on it. libSQL's driver held the GIL while SQLite waited,
so the lock's holder could never commit and the waiter failed after the busy timeout
(`db.libsql_wait`)."""

from __future__ import annotations

import threading

from sqlalchemy import Engine

from db.state import forwarding

HELD_AT_MOST = 1.0  # seconds the holder keeps its lock while the other writer waits


def test_a_writer_waits_out_another_threads_write_lock_and_both_commit(engine: Engine):
    started, finished = threading.Event(), threading.Event()
    outcome: dict[str, object] = {}

    def second_writer() -> None:
        try:
            started.set()
            with engine.begin() as conn:
                forwarding.create_position(conn, "globex", "siem", "searches", None)
            outcome["globex"] = "stored"
        except Exception as exc:  # the failure under test, reported by the assert below
            outcome["globex"] = f"{type(exc).__name__}: {exc}"
        finally:
            finished.set()

    with engine.begin() as conn:  # holds the write lock (SQLite, libSQL) until it commits
        forwarding.create_position(conn, "acme", "siem", "searches", None)
        writer = threading.Thread(target=second_writer)
        writer.start()
        started.wait()
        finished.wait(HELD_AT_MOST)  # the other writer is waiting for this lock meanwhile
    writer.join()
    assert outcome == {"globex": "stored"}
    with engine.connect() as conn:
        assert forwarding.read_position(conn, "acme", "siem") is not None
        assert forwarding.read_position(conn, "globex", "siem") is not None
