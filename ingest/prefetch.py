"""Read ahead of the database: the next pages are fetched while the current one is written.

Why: a page spends its time first on the network and in parsing, then in the database;
done one after the other, each side waits for the other. A background thread runs the
page generator at most `depth` items ahead, so memory stays flat, and hands items over in
order, errors included, exactly where the generator raised them.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterable, Iterator
from types import TracebackType
from typing import Generic, TypeVar

T = TypeVar("T")

_POLL_SECONDS = 0.1  # how often a blocked producer checks whether it was closed


class _End:
    """The producer's last item: the source is exhausted, or raised `error`."""

    def __init__(self, error: BaseException | None = None) -> None:
        self.error = error


class Prefetched(Generic[T]):
    """Iterate `source` on a background thread, at most `depth` items ahead of the reader.

    Use it as a context manager: leaving the block (early, or on an error) stops the
    producer after the item it is working on and waits for it, so the source (and the HTTP
    session behind it) is never used by two threads at once.
    """

    def __init__(self, source: Iterable[T], depth: int = 2) -> None:
        if depth < 1:
            raise ValueError("depth must be at least 1")
        self._source = source
        self._items: queue.Queue[T | _End] = queue.Queue(maxsize=depth)
        self._closed = threading.Event()
        self._finished = False
        self._thread = threading.Thread(target=self._produce, name="prefetch", daemon=True)
        self._thread.start()

    def _produce(self) -> None:
        try:
            for item in self._source:
                if not self._put(item):
                    return
        except BaseException as error:  # handed to the reader, raised where it reads
            self._put(_End(error))
        else:
            self._put(_End())
        finally:
            close = getattr(self._source, "close", None)
            if close is not None:
                close()  # a generator's finally blocks run on its own thread

    def _put(self, item: T | _End) -> bool:
        while not self._closed.is_set():
            try:
                self._items.put(item, timeout=_POLL_SECONDS)
                return True
            except queue.Full:
                continue
        return False

    def __iter__(self) -> Iterator[T]:
        return self

    def __next__(self) -> T:
        if self._finished:
            raise StopIteration
        item = self._items.get()
        if isinstance(item, _End):
            self._finished = True
            self._thread.join()
            if item.error is not None:
                raise item.error
            raise StopIteration
        return item

    def ready(self) -> bool:
        """Whether the next item (or the end) is already waiting, so reading will not block."""
        return self._finished or not self._items.empty()

    def close(self) -> None:
        """Stop the producer after its current item and wait for it."""
        self._closed.set()
        self._thread.join()

    def __enter__(self) -> Prefetched[T]:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()
