"""Identical refusals collapsed into one audit row with a count, before anything is written.

A revoked or leaked token hammering the API must not fill the disk or crowd the SQLite
writer, yet an auditor must see every refused call. So the first refusal of a kind (same
actor, role, action, target and detail) is written at once with `count` 1; the identical
ones within the next `window` seconds are only counted here, and written as one row whose
`count` is their number when the window closes (the flusher), when the next identical one
comes after it, or when the server stops. N identical refusals cost O(1) rows per window;
a process killed outright loses at most one window's counts.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace

from db.audit import AuditEntry

log = logging.getLogger("api")

WINDOW_SECONDS = 60.0
"""How long identical refusals are counted in memory before their row is written."""

Key = tuple[str, str | None, str, str | None, str | None]


@dataclass
class _Run:
    opened: float
    entry: AuditEntry
    pending: int = 0


def _key(entry: AuditEntry) -> Key:
    return (entry.actor, entry.role, str(entry.action), entry.target, entry.detail)


class Repeats:
    """Counts identical entries in memory and writes them with `write`, one row a window."""

    def __init__(
        self,
        write: Callable[[AuditEntry], None],
        window: float = WINDOW_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._write = write
        self.window = window
        self._clock = clock
        self._runs: dict[Key, _Run] = {}
        # Held while writing too: a count is never written twice nor lost between threads.
        self._lock = threading.Lock()

    def note(self, entry: AuditEntry) -> None:
        """Record one call: written now if it opens a window, else counted. A failing
        write raises and changes nothing (the caller answers 503)."""
        key = _key(entry)
        with self._lock:
            now = self._clock()
            run = self._runs.get(key)
            if run is not None and now - run.opened < self.window:
                run.pending += 1
                return
            count = 1 + (run.pending if run is not None else 0)
            self._write(replace(entry, count=count))
            self._runs[key] = _Run(now, entry)

    def flush_due(self) -> int:
        """Write the counts of every closed window; the number of rows written."""
        return self._flush(lambda run, now: now - run.opened >= self.window)

    def flush_all(self) -> int:
        """Write every count still held (the server is stopping)."""
        return self._flush(lambda run, now: True)

    def pending(self) -> int:
        with self._lock:
            return sum(run.pending for run in self._runs.values())

    def _flush(self, due: Callable[[_Run, float], bool]) -> int:
        written = 0
        with self._lock:
            now = self._clock()
            for key, run in list(self._runs.items()):
                if not due(run, now):
                    continue
                if run.pending:
                    self._write(replace(run.entry, count=run.pending))
                    written += 1
                del self._runs[key]
        return written


class Flusher:
    """A daemon thread writing closed windows' counts a few times per window."""

    def __init__(self, repeats: Repeats) -> None:
        self._repeats = repeats
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="audit-repeats", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.wait(self._repeats.window / 4):
            try:
                self._repeats.flush_due()
            except Exception:  # the counts stay held and are tried again next time
                log.warning("could not write collapsed audit rows", exc_info=True)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
