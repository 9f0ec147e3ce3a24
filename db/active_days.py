"""Active days per user in a whole-hour zone, from a row per user and UTC day.

A user's local days with a search were counted from their hourly rollup rows shifted by
the zone's offset: over a year, a row per user and hour. `rollup_user_day_hours` keeps per
UTC day the mask of the hours with a search, and under a constant offset the local day of
each hour is known from the mask alone: hours before local midnight belong to one local
day, the rest to the next. So whole UTC days with one offset throughout are read from it
(at most two local days per row), and the hours left over (the range's partial first and
last UTC days, and a day in which the offset changes) from the hourly rollup, as before.
Both give (user, local day) pairs; a user's active days are their distinct pairs.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, func, literal_column, select, union_all

from db import rollups
from db.filters import SearchFilters, dimensions
from db.models import ROLLUP_USER_DAY_HOURS, ROLLUP_USER_HOUR
from db.sql import offset_shift
from db.timezones import offset_changes

DAY, HOUR = 86400, 3600
ALL_HOURS = (1 << 24) - 1


@dataclass(frozen=True)
class DayRun:
    """UTC days [first, end) with one offset (whole hours east of UTC) throughout."""

    first: int
    end: int
    offset_hours: int


def plan(tz: str, lower: datetime, upper: datetime) -> tuple[list[DayRun], list[tuple[int, int]]]:
    """The whole UTC days of [lower, upper) with one offset throughout, and the UTC hours
    [first, end) left for the hourly rollup. `lower` and `upper` are whole UTC hours."""
    low, high = int(lower.timestamp()), int(upper.timestamp())
    changes = offset_changes(tz, lower, upper)
    starts = [low, *(int(moment.timestamp()) for moment, _ in changes[1:])]
    ends = [*starts[1:], high]
    runs = []
    for start, end, (_, offset) in zip(starts, ends, changes, strict=True):
        first, last = -(-start // DAY), end // DAY
        if first < last:
            runs.append(DayRun(first, last, offset // HOUR))
    gaps, hour = [], low // HOUR
    for run in runs:
        gaps.append((hour, run.first * 24))
        hour = run.end * 24
    gaps.append((hour, high // HOUR))
    return runs, [(first, end) for first, end in gaps if first < end]


def local_day_parts(offset_hours: int) -> list[tuple[int, int]]:
    """(local day - UTC day, mask of the UTC hours on that local day) under one offset."""
    before = -1 if offset_hours < 0 else 0  # the local day of UTC hour 0
    split = 24 * (before + 1) - offset_hours  # the UTC hour at which the next local day starts
    early = (1 << split) - 1
    parts = [(before, early), (before + 1, ALL_HOURS ^ early)]
    return [(shift, mask) for shift, mask in parts if mask]


def active_days_statement(
    filters: SearchFilters, tz: str, lower: datetime, upper: datetime
) -> Select[tuple[Any, ...]]:
    """email_addr, active days: the distinct (user, local day) pairs of [lower, upper)."""
    dims = dimensions(filters)
    runs, gaps = plan(tz, lower, upper)
    day_table, hour_table = ROLLUP_USER_DAY_HOURS, ROLLUP_USER_HOUR
    pairs: list[Select[tuple[Any, ...]]] = []
    for run in runs:
        for shift, mask in local_day_parts(run.offset_hours):
            where = [day_table.c.bucket >= run.first, day_table.c.bucket < run.end]
            if mask != ALL_HOURS:
                where.append(day_table.c.hours.op("&")(mask) != 0)
            day: ColumnElement[Any] = day_table.c.bucket + literal_column(str(shift))
            pairs.append(
                select(day_table.c.email_addr, day.label("day")).where(
                    *where, *rollups.dimension_conditions(day_table, dims)
                )
            )
    shift_hours = offset_shift(
        hour_table.c.bucket,
        tz,
        lower,
        upper,
        boundary=lambda moment: int(moment.timestamp()) // HOUR,
        unit=HOUR,
    )
    for first, end in gaps:
        local = (hour_table.c.bucket + shift_hours) // literal_column("24")
        pairs.append(
            select(hour_table.c.email_addr, local.label("day")).where(
                hour_table.c.bucket >= first,
                hour_table.c.bucket < end,
                *rollups.dimension_conditions(hour_table, dims),
            )
        )
    every = (union_all(*pairs) if len(pairs) > 1 else pairs[0]).subquery("pairs")
    distinct = select(every.c.email_addr, every.c.day).distinct().subquery("days")
    return select(distinct.c.email_addr, func.count()).group_by(distinct.c.email_addr)
