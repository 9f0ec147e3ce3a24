"""Local days (in DISPLAY_TZ) cut out of UTC time, as day numbers since 1970-01-01.

The rollups count UTC hours; a zone that is a whole number of hours from UTC turns each
hour into one local day and hour exactly (DST included: the offset is looked up at each
hour). Zones with half- or quarter-hour offsets are counted from 15-minute buckets instead.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import numpy as np

from db.timezones import bucket_seconds, offset_changes, utc_bounds

EPOCH_DAY = date(1970, 1, 1)
DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def day_number(day: date) -> int:
    return (day - EPOCH_DAY).days


def day_date(number: int) -> date:
    return EPOCH_DAY + timedelta(days=int(number))


def weekday(number: int | np.ndarray) -> int | np.ndarray:
    """0 = Monday for a day number (1970-01-01 was a Thursday)."""
    return (number + 3) % 7


def day_bounds(number: int, tz: str) -> tuple[datetime, datetime]:
    """[00:00, next 00:00) of local day `number`, as UTC instants."""
    day = day_date(number)
    return utc_bounds(day, day, tz)


def span_bounds(first: int, last: int, tz: str) -> tuple[datetime, datetime]:
    """[first day 00:00, (last + 1) 00:00) local, as UTC instants."""
    return utc_bounds(day_date(first), day_date(last), tz)


def local_day_of(moment: datetime, tz: str) -> int:
    from zoneinfo import ZoneInfo

    return day_number(moment.astimezone(ZoneInfo(tz)).date())


def bucket_size(tz: str, lower: datetime, upper: datetime) -> int:
    """3600 when `tz` is whole hours from UTC over the range (rollups answer), else 900."""
    return bucket_seconds(tz, lower, upper)


class LocalClock:
    """Maps UTC epoch seconds to local epoch seconds over one range, vectorised."""

    def __init__(self, tz: str, lower: datetime, upper: datetime) -> None:
        changes = offset_changes(tz, lower, upper)
        self._starts = np.array([int(start.timestamp()) for start, _ in changes], dtype=np.int64)
        self._offsets = np.array([offset for _, offset in changes], dtype=np.int64)

    def local_seconds(self, utc_seconds: np.ndarray) -> np.ndarray:
        index = np.searchsorted(self._starts, utc_seconds, side="right") - 1
        return utc_seconds + self._offsets[np.clip(index, 0, len(self._offsets) - 1)]

    def local_day_and_hour(self, utc_seconds: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        local = self.local_seconds(utc_seconds)
        return local // 86400, (local % 86400) // 3600


def utc_from_epoch(seconds: int) -> datetime:
    return datetime.fromtimestamp(int(seconds), UTC)
