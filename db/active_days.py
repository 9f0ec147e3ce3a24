"""Active days per user in a whole-hour zone, from a row per user and UTC day.

A user's local days with a search were counted from their hourly rollup rows, shifted by
the zone's offset, with a DISTINCT: over a year, a row per user and hour, sorted.
`rollup_user_day_hours` keeps per user and UTC day the mask of the hours with a search
that day and the day before. The range's hours of UTC day d fall on at most two local
days, d + shift ("early" hours) and d + shift + 1 ("late"), with `shift` the same for
every day of the range; which hours are early or late is a mask per day (the same for every
day of one offset; its own for the range's partial first and last day and for a day whose
offset changes). Local day d + shift is then the early hours of day d and the late hours of
day d - 1: the row of day d alone says whether the user searched on it, and a user's active
days are a count of rows. One tenant at a time: the same address in two tenants is one
user of the answer, whose days would be counted once per tenant.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, case, func, literal, or_, select

from db import rollups
from db.filters import SearchFilters, dimensions
from db.models import ROLLUP_USER_DAY_HOURS
from db.timezones import offset_changes

DAY, HOUR = 86400, 3600


@dataclass(frozen=True)
class DayMasks:
    """UTC days [first, end): the range's hours on local day d + shift (`early`) and on
    d + shift + 1 (`late`), as masks of UTC hours."""

    first: int
    end: int
    early: int
    late: int


def day_masks(tz: str, lower: datetime, upper: datetime) -> tuple[int, list[DayMasks]] | None:
    """The shift and the masks of every UTC day [lower, upper) touches, equal days merged;
    None when no one shift fits every day (a UTC day on three local days: Samoa's 2011 jump
    across the date line)."""
    low, high = int(lower.timestamp()), int(upper.timestamp())
    changes = offset_changes(tz, lower, upper)
    starts = [int(moment.timestamp()) for moment, _ in changes]
    offsets = [seconds for _, seconds in changes]

    def offset(instant: int) -> int:
        return offsets[max(bisect_right(starts, instant) - 1, 0)]

    def hours(day: int) -> dict[int, int]:
        by_local: dict[int, int] = {}
        for hour in range(24):
            instant = day * DAY + hour * HOUR
            if low <= instant < high:
                local = (instant + offset(instant)) // DAY - day
                by_local[local] = by_local.get(local, 0) | 1 << hour
        return by_local

    whole: dict[int, dict[int, int]] = {}  # a whole day of one offset, per offset
    days: list[tuple[int, dict[int, int]]] = []
    for day in range(low // DAY, -(-high // DAY)):
        start, last = day * DAY, day * DAY + DAY - 1
        one_offset = bisect_right(starts, start) == bisect_right(starts, last)
        if low <= start and last < high and one_offset:
            if offset(start) not in whole:
                whole[offset(start)] = hours(day)
            days.append((day, whole[offset(start)]))
        else:
            days.append((day, hours(day)))
    shift = min(min(by_local) for _, by_local in days)
    if any(set(by_local) - {shift, shift + 1} for _, by_local in days):
        return None
    merged: list[DayMasks] = []
    for day, by_local in days:
        early, late = by_local.get(shift, 0), by_local.get(shift + 1, 0)
        if merged and (merged[-1].early, merged[-1].late, merged[-1].end) == (early, late, day):
            merged[-1] = DayMasks(merged[-1].first, day + 1, early, late)
        else:
            merged.append(DayMasks(day, day + 1, early, late))
    return shift, merged


def _mask(bucket: Any, spans: list[DayMasks], part: str, lag: int) -> ColumnElement[Any]:
    """`part` ("early" or "late") of UTC day `bucket` - `lag`; 0 outside the range."""
    whens = [(bucket < spans[0].first + lag, literal(0))]
    whens += [(bucket < span.end + lag, literal(getattr(span, part))) for span in spans]
    return case(*whens, else_=literal(0))


def active_days_statement(
    filters: SearchFilters, tz: str, lower: datetime, upper: datetime
) -> Select[tuple[Any, ...]] | None:
    """email_addr, active local days of [lower, upper) for one tenant and no chosen users,
    sources or types; None where it does not apply (then the hourly rollup answers)."""
    found = day_masks(tz, lower, upper)
    typed = filters.users or filters.sources or filters.descriptions
    if found is None or typed or filters.scope.is_every_tenant:
        return None
    _, spans = found
    table = ROLLUP_USER_DAY_HOURS
    early = table.c.hours.op("&")(_mask(table.c.bucket, spans, "early", 0)) != 0
    late_before = table.c.hours_before.op("&")(_mask(table.c.bucket, spans, "late", 1)) != 0
    return (
        select(table.c.email_addr, func.count())
        .where(
            table.c.bucket >= spans[0].first,
            table.c.bucket <= spans[-1].end,  # the last day's late hours are the next row's
            or_(early, late_before),
            *rollups.dimension_conditions(table, dimensions(filters)),
        )
        .group_by(table.c.email_addr)
    )
