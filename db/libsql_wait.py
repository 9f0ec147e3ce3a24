"""libSQL's busy timeout, waited out in Python so the other threads of the process run.

libsql-experimental 0.0.55 keeps Python's GIL while SQLite's busy handler sleeps. A thread
waiting for the write lock then stops every other thread of its process, the one holding
the lock included, which cannot commit until the waiter gives up: a `forward` pass (one
thread per stream, each writing its cursor) failed with "database is locked" after 30 s
where sqlite3, which releases the GIL, waits milliseconds. So SQLite's own busy timeout
is kept at 0 on a libSQL file (a busy lock fails at once) and this wrapper retries the
statement, sleeping without the GIL, for the timeout the product set with
`PRAGMA busy_timeout` (`db.engine`'s pragmas), which it reads back as SQLite would.

Retried only as SQLite's busy handler would have waited: a statement begun outside a
transaction (the driver's own BEGIN before a data change included), or an explicit BEGIN.
A statement inside a transaction that was refused the lock has read first, and SQLite
refuses that at once too (waiting could not help: its snapshot is older than the writer's
commit), so it fails at once here as well.
"""

from __future__ import annotations

import itertools
import re
import time
from collections.abc import Callable, Iterator
from typing import Any

BUSY = "database is locked"
# SQLite's own busy handler sleeps 1, 2, 5, … 100 ms between tries (sqliteDefaultBusyCallback).
PAUSES_MS = (1, 2, 5, 10, 15, 20, 25, 25, 25, 50, 50, 100)
_SET = re.compile(r"\s*PRAGMA\s+(?:main\.)?busy_timeout\s*=\s*(\d+)\s*;?\s*", re.IGNORECASE)
_GET = re.compile(r"\s*PRAGMA\s+(?:main\.)?busy_timeout\s*;?\s*", re.IGNORECASE)
_BEGIN = re.compile(r"\s*BEGIN\b", re.IGNORECASE)


def pauses(timeout_ms: int) -> Iterator[float]:
    """The sleeps (seconds) between tries until `timeout_ms` has been spent."""
    spent = 0
    for step in itertools.count():
        pause = min(PAUSES_MS[min(step, len(PAUSES_MS) - 1)], timeout_ms - spent)
        if pause <= 0:
            return
        spent += pause
        yield pause / 1000


class BusyWaitingCursor:
    """The driver's cursor; `execute` and `executemany` wait out a busy lock."""

    def __init__(self, cursor: Any, owner: BusyWaitingConnection) -> None:
        self._cursor = cursor
        self._owner = owner

    def __getattr__(self, name: str) -> Any:
        return getattr(self._cursor, name)

    def execute(self, sql: str, parameters: Any = ()) -> BusyWaitingCursor:
        if (found := _SET.fullmatch(sql)) is not None:
            self._owner.timeout_ms = int(found.group(1))
            sql, parameters = "PRAGMA busy_timeout = 0", ()
        elif _GET.fullmatch(sql):
            sql, parameters = "SELECT ? AS timeout", (self._owner.timeout_ms,)
        self._owner.waiting(sql, lambda: self._cursor.execute(sql, parameters))
        return self

    def executemany(self, sql: str, rows: Any) -> BusyWaitingCursor:
        self._owner.waiting(sql, lambda: self._cursor.executemany(sql, rows))
        return self


class BusyWaitingConnection:
    """The driver's connection with its busy timeout kept in Python (see the module)."""

    def __init__(self, connection: Any) -> None:
        self._connection = connection
        self.timeout_ms = 0  # SQLite's default, until a PRAGMA sets it
        connection.execute("PRAGMA busy_timeout = 0")

    def __getattr__(self, name: str) -> Any:
        return getattr(self._connection, name)

    def __setattr__(self, name: str, value: Any) -> None:
        if name.startswith("_") or name == "timeout_ms":
            object.__setattr__(self, name, value)
        else:  # isolation_level: read-only on this driver, which says so (AttributeError)
            setattr(self._connection, name, value)

    def cursor(self) -> BusyWaitingCursor:
        return BusyWaitingCursor(self._connection.cursor(), self)

    def execute(self, sql: str, parameters: Any = ()) -> BusyWaitingCursor:
        return self.cursor().execute(sql, parameters)

    def executemany(self, sql: str, rows: Any) -> BusyWaitingCursor:
        return self.cursor().executemany(sql, rows)

    def create_function(self, *_args: Any, **_kwargs: Any) -> None:
        """The driver has none; sqlalchemy-libsql skips the call for the driver's own
        connection class (SQLAlchemy's `regexp` and `floor`), and so does this one."""

    def waiting(self, sql: str, run: Callable[[], object]) -> None:
        """`run()`, tried again after a pause while the database is locked, for as long
        as SQLite's busy handler would have waited."""
        may_wait = not self._connection.in_transaction or _BEGIN.match(sql) is not None
        for pause in pauses(self.timeout_ms if may_wait else 0):
            try:
                run()
                return
            except ValueError as exc:
                if str(exc) != BUSY:
                    raise
            time.sleep(pause)  # without the GIL: the lock's holder gets on with it
        run()
