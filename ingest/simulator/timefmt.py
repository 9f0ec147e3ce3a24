"""Mimecast's timestamp format and the simulator's clock arithmetic, in one place.

The API writes `2026-11-12T16:22:16+0000` (no colon in the offset) and accepts `…Z` as well.
Anything else (ISO 8601 with `+00:00`, fractions of a second, a bare date) is refused with a
400, so a client that formats dates loosely finds out against the simulator, not in production.
Internally every instant is an integer count of epoch seconds: events have whole-second
timestamps, and integer comparisons keep window bounds exact.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, date, datetime, timedelta

DAY = 86_400
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
_API_TIME = re.compile(r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(Z|[+-]\d{4})\Z")


def parse_api_time(text: object) -> int | None:
    """Epoch seconds for an API timestamp, or None when it is not one."""
    if not isinstance(text, str):
        return None
    match = _API_TIME.match(text)
    if match is None:
        return None
    year, month, day, hour, minute, second = (int(part) for part in match.groups()[:6])
    offset = match.group(7)
    try:
        moment = datetime(year, month, day, hour, minute, second, tzinfo=UTC)
    except ValueError:
        return None
    if offset != "Z":
        sign = -1 if offset[0] == "-" else 1
        hours, minutes = int(offset[1:3]), int(offset[3:5])
        if hours > 23 or minutes > 59:
            return None
        try:
            moment -= sign * timedelta(hours=hours, minutes=minutes)
        except OverflowError:  # e.g. 0001-01-01T00:30:00+0100: before year 1 in UTC
            return None
    return int(moment.timestamp())


def format_api_time(epoch: int) -> str:
    """The API's own spelling of an instant: `2026-11-12T16:22:16+0000`."""
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%S+0000")


def to_epoch(moment: datetime | str | int) -> int:
    """Epoch seconds from an aware datetime, an API timestamp or epoch seconds."""
    if isinstance(moment, int):
        return moment
    if isinstance(moment, str):
        parsed = parse_api_time(moment)
        if parsed is None:
            raise ValueError(f"not an API timestamp: {moment!r}")
        return parsed
    if moment.tzinfo is None:
        raise ValueError("naive datetime: give a timezone-aware UTC datetime")
    return math.floor(moment.timestamp())


def day_of(epoch: int) -> int:
    """The UTC day (days since 1970-01-01) an instant falls in."""
    return epoch // DAY


def date_of_day(day: int) -> date:
    return date.fromordinal(day + _EPOCH_ORDINAL)


def utc_now() -> datetime:
    return datetime.now(UTC)
