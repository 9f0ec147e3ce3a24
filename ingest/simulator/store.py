"""Which records exist, when they become visible, and which fall in a window.

Why a store of its own: pagination must be cheap (a page is a slice of a pre-sorted day found
by bisect, not a scan) and stable (a page token carries the instant "asof" at which the first
page was cut, and every later page filters visibility at that same instant, so records that
arrive during pagination never shift the pages). Generated days are built on first use and
kept in an LRU bounded by event count; records added at run time live beside them for good.
"""

from __future__ import annotations

import copy
from bisect import bisect_left, bisect_right
from collections import OrderedDict
from collections.abc import Iterable, Iterator
from typing import cast

from ingest.simulator.activity import DayGenerator, Entry
from ingest.simulator.config import SimConfig
from ingest.simulator.timefmt import DAY, day_of, parse_api_time

FUTURE_DAYS = 2  # generated ahead of now, so events keep appearing as time passes
_VIEW_CACHE_SIZE = 16


class DayLog:
    """One UTC day's entries, newest first, split into parallel lists for slicing."""

    __slots__ = ("max_visible", "neg_positions", "records", "valid", "visible_at")

    def __init__(self, entries: list[Entry]) -> None:
        self.neg_positions = [-e.position for e in entries]  # ascending, for bisect
        self.visible_at = [e.visible_at for e in entries]
        self.records = [e.record for e in entries]
        self.valid = [e.valid for e in entries]
        self.max_visible = max(self.visible_at, default=0)

    def __len__(self) -> int:
        return len(self.records)

    def bounds(self, start: int, end: int) -> tuple[int, int]:
        """Index range of entries with start <= position <= end (both inclusive)."""
        return bisect_left(self.neg_positions, -end), bisect_right(self.neg_positions, -start)

    def visible_by(self, asof: int) -> DayLog:
        if self.max_visible <= asof:
            return self
        keep = [i for i, at in enumerate(self.visible_at) if at <= asof]
        view = DayLog([])
        view.neg_positions = [self.neg_positions[i] for i in keep]
        view.visible_at = [self.visible_at[i] for i in keep]
        view.records = [self.records[i] for i in keep]
        view.valid = [self.valid[i] for i in keep]
        view.max_visible = max(view.visible_at, default=0)
        return view


class EventStore:
    """Generated history plus added records, queried by window and snapshot instant.

    Not thread-safe on its own: the API holds one lock around every call.
    """

    def __init__(self, config: SimConfig) -> None:
        self._config = config
        self._generator = DayGenerator(config)
        self._days: OrderedDict[tuple[int, bool], DayLog] = OrderedDict()
        self._cached_events = 0
        self._sizes: dict[tuple[int, bool], tuple[int, int]] = {}  # survives LRU eviction
        self._views: OrderedDict[tuple[int, bool, int], DayLog] = OrderedDict()
        self._added: dict[int, list[Entry]] = {}

    @property
    def generator(self) -> DayGenerator:
        return self._generator

    def page(self, start: int, end: int, asof: int, offset: int, size: int) -> tuple[int, list]:
        """(total visible records in [start, end] at `asof`, the records of this page)."""
        total, records = 0, []
        for key in self._days_in(start, end, asof):
            count = self._quick_count(key, start, end, asof)
            if count is None or (total < offset + size and offset < total + count):
                view = self._view(key, asof)
                lo, hi = view.bounds(start, end)
                count = hi - lo
                first = max(offset, total) - total
                stop = min(offset + size, total + count) - total
                if first < stop:
                    records.extend(view.records[lo + first : lo + stop])
            total += count
        return total, records

    def truth(self, start: int, end: int, asof: int) -> tuple[list[dict], list[object]]:
        """Valid and malformed records visible at `asof` within [start, end], newest first."""
        valid: list[dict] = []
        malformed: list[object] = []
        for key in self._days_in(start, end, asof):
            view = self._view(key, asof)
            lo, hi = view.bounds(start, end)
            for record, ok in zip(view.records[lo:hi], view.valid[lo:hi], strict=True):
                if ok:  # a valid record is a dict
                    valid.append(copy.deepcopy(cast(dict, record)))
                else:
                    malformed.append(copy.deepcopy(record))
        return valid, malformed

    def add(self, records: Iterable[object], now: int, delays: Iterable[int]) -> int:
        """Add raw records (valid or not); returns how many were added."""
        touched: set[int] = set()
        count = 0
        for record, delay in zip(records, delays, strict=True):
            entry = added_entry(record, now, delay)
            self._added.setdefault(day_of(entry.position), []).append(entry)
            touched.add(day_of(entry.position))
            count += 1
        for day in touched:
            self._forget(day)
        return count

    def _days_in(self, start: int, end: int, asof: int) -> Iterator[tuple[int, bool]]:
        """(day, generated?) keys overlapping [start, end], newest first."""
        today = day_of(asof)
        first, last = today - self._config.days, today + FUTURE_DAYS
        if self._added:
            first, last = min(first, *self._added), max(last, *self._added)
        for day in range(min(day_of(end), last), max(day_of(start), first) - 1, -1):
            generated = today - self._config.days <= day <= today + FUTURE_DAYS
            if generated or day in self._added:
                yield day, generated

    def _quick_count(self, key: tuple[int, bool], start: int, end: int, asof: int) -> int | None:
        """The count of a day wholly inside the window and wholly visible, without building it."""
        known = self._sizes.get(key)
        day_start = key[0] * DAY
        if known is None or start > day_start or end < day_start + DAY - 1 or known[1] > asof:
            return None
        return known[0]

    def _view(self, key: tuple[int, bool], asof: int) -> DayLog:
        log = self._day(key)
        if log.max_visible <= asof:
            return log
        view_key = (*key, asof)
        view = self._views.get(view_key)
        if view is None:
            view = self._views[view_key] = log.visible_by(asof)
            if len(self._views) > _VIEW_CACHE_SIZE:
                self._views.popitem(last=False)
        return view

    def _day(self, key: tuple[int, bool]) -> DayLog:
        log = self._days.get(key)
        if log is not None:
            self._days.move_to_end(key)
            return log
        day, generated = key
        entries = self._generator.generate(day) if generated else []
        entries.extend(self._added.get(day, ()))
        entries.sort(key=_newest_first)  # stable: added records follow generated ties
        log = self._days[key] = DayLog(entries)
        self._sizes[key] = (len(log), log.max_visible)
        self._cached_events += len(log)
        while self._cached_events > self._config.cache_events and len(self._days) > 1:
            _, evicted = self._days.popitem(last=False)
            self._cached_events -= len(evicted)
        return log

    def _forget(self, day: int) -> None:
        for key in ((day, True), (day, False)):
            self._sizes.pop(key, None)
            log = self._days.pop(key, None)
            if log is not None:
                self._cached_events -= len(log)
        for view_key in [k for k in self._views if k[0] == day]:
            del self._views[view_key]


def is_valid_record(record: object) -> bool:
    """What the simulator counts as well-formed: an object with an API createTime and a string
    emailAddr. Everything else is reported as malformed by truth()."""
    return (
        isinstance(record, dict)
        and parse_api_time(record.get("createTime")) is not None
        and isinstance(record.get("emailAddr"), str)
    )


def added_entry(record: object, now: int, delay: int) -> Entry:
    """Position a raw record: at its createTime when it has one, else at the moment it was added.
    It becomes visible `delay` seconds after it was added (never before its createTime)."""
    created = parse_api_time(record.get("createTime")) if isinstance(record, dict) else None
    position = created if created is not None else now
    return Entry(position, max(now, position) + delay, record, is_valid_record(record))


def _newest_first(entry: Entry) -> int:
    return -entry.position
