"""The version of a local day's data, as the detector compares it: how many searches of the
tenant are stored for that day in its zone, read from the rollups (one small aggregate, a
row per UTC hour; 15-minute buckets of the raw rows for a zone not whole hours from UTC).
Searches are only ever added, so a changed count means late searches arrived (a
reconciliation sweep) and the day must be scored again.

Read without pandas: `python -m ingest detect` starts a fresh process for a new day, and
importing pandas alone costs it about a second."""

from __future__ import annotations

from datetime import datetime

import numpy as np
from sqlalchemy import Engine, func, literal_column, select

from db.models import ROLLUP_HOUR, SearchLog
from db.scope import TenantScope
from db.sql import epoch_bucket
from ingest.detect.days import LocalClock, bucket_size, span_bounds


def day_versions(engine: Engine, tenant: str, tz: str, first: int, last: int) -> dict[int, int]:
    """Searches stored per local day number `first`..`last` of `tenant` (0 for none)."""
    if first > last:
        return {}
    lower, upper = span_bounds(first, last, tz)
    seconds = bucket_size(tz, lower, upper)
    buckets, searches = _buckets(engine, tenant, lower, upper, seconds)
    versions = dict.fromkeys(range(first, last + 1), 0)
    if len(buckets):
        days, _ = LocalClock(tz, lower, upper).local_day_and_hour(buckets * seconds)
        for day, count in zip(days.tolist(), searches.tolist(), strict=True):
            if first <= day <= last:
                versions[int(day)] += int(count)
    return versions


def _buckets(
    engine: Engine, tenant: str, lower: datetime, upper: datetime, seconds: int
) -> tuple[np.ndarray, np.ndarray]:
    """(bucket numbers, searches) of `tenant` in [lower, upper), system sender included."""
    scope = TenantScope.one(tenant)
    if seconds == 3600:
        hour = ROLLUP_HOUR.c
        statement = (
            select(hour.bucket, func.sum(hour.searches))
            .where(
                scope.where(hour.tenant),
                hour.bucket >= int(lower.timestamp()) // seconds,
                hour.bucket < int(upper.timestamp()) // seconds,
            )
            .group_by(hour.bucket)
        )
    else:
        bucket = epoch_bucket(SearchLog.create_time, literal_column(str(seconds)))
        statement = (
            select(bucket, func.count())
            .where(
                scope.where(SearchLog.tenant),
                SearchLog.create_time >= lower,
                SearchLog.create_time < upper,
            )
            .group_by(bucket)
        )
    with engine.connect() as conn:
        rows = conn.execute(statement).all()
    buckets = np.array([int(row[0]) for row in rows], dtype=np.int64)
    return buckets, np.array([int(row[1]) for row in rows], dtype=np.int64)
