"""Active days per user in a whole-hour zone, from a row per user and UTC day.

A user's local days with a search were counted from their hourly rollup rows, shifted by
the zone's offset, with a DISTINCT: over a year, a row per user and hour, sorted.
`rollup_user_day_hours` keeps per user and UTC day the mask of the hours with a search. The
range's hours of UTC day d fall on at most two local days, d + shift ("early" hours) and
d + shift + 1 ("late"), with `shift` the same for every day of the range in every zone whose
offset stays on one side of UTC; which hours are early or late is a mask per day (the
same for every day of one offset; its own for the range's partial first and last day and
for a day whose offset changes). So a user's active days are the rows with an early hour,
plus the rows with a late hour, minus the days counted twice: a late hour on day d and an
early hour on day d + 1 (the same local day), found by joining the few rows with a late
hour to the next day's row. One tenant at a time: the same address in two tenants is one
user of the answer, and its days would be counted once per tenant.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, case, func, literal, select
from sqlalchemy.sql.elements import ColumnClause

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
    None when no one shift fits every day (an offset that crosses UTC, as the Azores')."""
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
            days.append((day, whole.setdefault(offset(start), hours(day))))
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


def _mask(bucket: ColumnClause[Any], spans: list[DayMasks], part: str) -> ColumnElement[Any]:
    """`part` ("early" or "late") of the day in `bucket`: a literal, or a CASE on the day."""
    values = [getattr(span, part) for span in spans]
    if len(set(values)) == 1:
        return literal(values[0])
    whens = [(bucket < span.end, literal(value)) for span, value in zip(spans, values, strict=True)]
    return case(*whens[:-1], else_=whens[-1][1])


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
    first, end = spans[0].first, spans[-1].end
    dims = dimensions(filters)
    table = ROLLUP_USER_DAY_HOURS

    def has(alias: Any, part: str) -> ColumnElement[bool]:
        return alias.c.hours.op("&")(_mask(alias.c.bucket, spans, part)) != 0

    def rows(alias: Any, last: int) -> list[ColumnElement[bool]]:
        return [alias.c.bucket >= first, alias.c.bucket < last]

    def one(condition: ColumnElement[bool]) -> ColumnElement[Any]:
        return case((condition, 1), else_=0)

    counted = (
        select(table.c.email_addr, func.sum(one(has(table, "early")) + one(has(table, "late"))))
        .where(*rows(table, end), *rollups.dimension_conditions(table, dims))
        .group_by(table.c.email_addr)
        .subquery("counted")
    )
    day, following = table.alias("day"), table.alias("following")
    twice = (
        select(day.c.email_addr, func.count())
        .select_from(
            day.join(
                following,
                and_(
                    following.c.tenant == day.c.tenant,
                    following.c.email_addr == day.c.email_addr,
                    following.c.bucket == day.c.bucket + 1,
                ),
            )
        )
        .where(
            *rows(day, end - 1),
            has(day, "late"),
            has(following, "early"),
            filters.scope.where(day.c.tenant),  # a user of `counted` is one of its rows
        )
        .group_by(day.c.email_addr)
        .subquery("twice")
    )
    days, overlap = counted.c[1], func.coalesce(twice.c[1], 0)
    return (
        select(counted.c.email_addr, days - overlap)
        .select_from(counted.outerjoin(twice, twice.c.email_addr == counted.c.email_addr))
        .where(days > 0)
    )
