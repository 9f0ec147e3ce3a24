"""Time-zone arithmetic: whole local days as UTC ranges, bucket lengths, offset changes.

SQLite has no time zones, so searches are counted per UTC bucket and turned into local days
and hours with zoneinfo, which stays right across DST changes.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

if TYPE_CHECKING:  # pandas is imported where a frame is built: `detect` needs none
    import pandas as pd


def utc_bounds(start: date, end: date, tz: str) -> tuple[datetime, datetime]:
    """[start 00:00, (end + 1) 00:00) in `tz`, as UTC instants: the WHERE clause's range."""
    zone = ZoneInfo(tz)
    lower = datetime.combine(start, time(), zone).astimezone(UTC)
    upper = datetime.combine(end + timedelta(days=1), time(), zone).astimezone(UTC)
    return lower, upper


def bucket_seconds(tz: str, lower: datetime, upper: datetime) -> int:
    """3600 if `tz` is a whole number of hours from UTC throughout [lower, upper], else 900.

    Offsets change only at DST and law changes, never twice a day, so one look a day
    (plus the end) finds any half- or quarter-hour offset (India, Nepal, Lord Howe).
    """
    zone = ZoneInfo(tz)
    moment = lower
    while True:
        offset = moment.astimezone(zone).utcoffset()
        if offset is not None and offset.total_seconds() % 3600:
            return 900
        if moment >= upper:
            return 3600
        moment = min(moment + timedelta(hours=12), upper)


def offset_changes(tz: str, lower: datetime, upper: datetime) -> list[tuple[datetime, int]]:
    """(from this UTC instant, seconds east of UTC) for every offset `tz` has in [lower, upper].

    Found like `bucket_seconds` (offsets never change twice in 12 hours), then to the second.
    """
    zone = ZoneInfo(tz)

    def offset(epoch: int) -> int:
        delta = datetime.fromtimestamp(epoch, UTC).astimezone(zone).utcoffset()
        return int(delta.total_seconds()) if delta is not None else 0

    first, last = int(lower.timestamp()), int(upper.timestamp())
    changes = [(first, offset(first))]
    moment = first
    while moment < last:
        following = min(moment + 12 * 3600, last)
        if offset(following) != changes[-1][1]:
            low, high = moment, following
            while high - low > 1:
                middle = (low + high) // 2
                low, high = (middle, high) if offset(middle) == changes[-1][1] else (low, middle)
            changes.append((high, offset(high)))
        moment = following
    return [(datetime.fromtimestamp(epoch, UTC), seconds) for epoch, seconds in changes]


def utc_throughout(tz: str, lower: datetime, upper: datetime) -> bool:
    """`tz` is UTC itself over [lower, upper): UTC days are local days."""
    return offset_changes(tz, lower, upper) == [(lower, 0)]


def day_range(lower: datetime, upper: datetime) -> tuple[int, int]:
    """UTC day numbers [first, end) of a range on UTC midnights."""
    return int(lower.timestamp()) // 86400, int(upper.timestamp()) // 86400


def local_times(buckets: pd.Series, seconds: int, tz: str) -> pd.Series:
    """Bucket numbers as the local start time of each bucket."""
    import pandas as pd

    utc = pd.to_datetime(buckets.astype("int64") * seconds, unit="s", utc=True)
    return utc.dt.tz_convert(tz)


def as_local(values: pd.Series, tz: str) -> pd.Series:
    """Aware datetimes (or an empty column) as datetime64 in `tz`."""
    import pandas as pd

    return pd.to_datetime(values, utc=True).dt.tz_convert(tz)
