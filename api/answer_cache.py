"""The last answers of the aggregate endpoints, keyed on the database's data version."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import pandas as pd

from api.calls import Call
from db.filters import SearchFilters


class AnswerCache:
    """The last answers of the aggregate endpoints, keyed on the database's data version
    (`SearchStore.data_version`, which changes whenever the ingest stores rows) and the
    filters: what the pages' `st.cache_data` does, so a repeated question after a poll
    costs one cheap read instead of the whole aggregation."""

    def __init__(self, entries: int = 256) -> None:
        self.entries = entries
        self._answers: OrderedDict[tuple[Any, ...], Any] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple[Any, ...], compute: Callable[[], Any]) -> Any:
        with self._lock:
            if key in self._answers:
                self._answers.move_to_end(key)
                return self._answers[key]
        answer = compute()
        with self._lock:
            self._answers[key] = answer
            while len(self._answers) > self.entries:
                self._answers.popitem(last=False)
        return answer


ANSWERS = AnswerCache()


def cached_answer(
    call: Call, name: str, filters: SearchFilters, compute: Callable[..., pd.DataFrame]
) -> pd.DataFrame:
    """`compute(store, filters, tz)`, cached on the store's data version."""
    store = call.store
    key = (name, str(call.engine.url), store.data_version(), filters, call.tz)
    return ANSWERS.get(key, lambda: compute(store, filters, call.tz))


def cached_body(
    call: Call,
    name: str,
    filters: SearchFilters,
    compute: Callable[..., pd.DataFrame],
    render: Callable[[pd.DataFrame], tuple[bytes, int]],
) -> tuple[bytes, int]:
    """The rendered body of an answer and its row count, cached like the answer itself
    (and per format): rendering 2,000 users as JSON cost more than reading them."""
    key = (
        "body",
        name,
        str(call.engine.url),
        call.store.data_version(),
        filters,
        call.tz,
        call.media,
    )
    return ANSWERS.get(key, lambda: render(cached_answer(call, name, filters, compute)))
