"""The version of a local day's data, as the detector compares it: how many searches of the
tenant are stored for that day in its zone, read from the rollups (one small aggregate, a
row per UTC hour). Searches are only ever added, so a changed count means late searches
arrived (a reconciliation sweep) and the day must be scored again."""

from __future__ import annotations

import numpy as np
from sqlalchemy import Engine

from db.filters import SearchFilters
from db.rollup_reads import bucket_counts
from db.scope import TenantScope
from ingest.detect.days import LocalClock, day_date, span_bounds


def day_versions(engine: Engine, tenant: str, tz: str, first: int, last: int) -> dict[int, int]:
    """Searches stored per local day number `first`..`last` of `tenant` (0 for none)."""
    if first > last:
        return {}
    filters = SearchFilters(TenantScope.one(tenant), day_date(first), day_date(last))
    frame, seconds = bucket_counts(engine, filters, tz)
    versions = dict.fromkeys(range(first, last + 1), 0)
    if len(frame):
        lower, upper = span_bounds(first, last, tz)
        starts = frame["bucket"].to_numpy(dtype=np.int64) * seconds
        days, _ = LocalClock(tz, lower, upper).local_day_and_hour(starts)
        for day, searches in zip(days.tolist(), frame["searches"].tolist(), strict=True):
            if first <= day <= last:
                versions[int(day)] += int(searches)
    return versions
