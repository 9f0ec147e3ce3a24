"""The version of a local day's data, as the detector compares it: how many searches of the
tenant are stored for that day in its zone, read from the rollups (one small aggregate, a
row per UTC hour; 15-minute buckets of the raw rows for a zone not whole hours from UTC).
Searches are only ever added, so a changed count means late searches arrived (a
reconciliation sweep) and the day must be scored again.

Read without pandas: `python -m ingest detect` starts a fresh process for a new day, and
importing pandas alone costs it about a second."""

from __future__ import annotations

import numpy as np

from db.detect_reads import DetectionSearches
from ingest.detect.days import LocalClock, bucket_size, span_bounds


def day_versions(
    searches: DetectionSearches, tenant: str, tz: str, first: int, last: int
) -> dict[int, int]:
    """Searches stored per local day number `first`..`last` of `tenant` (0 for none)."""
    if first > last:
        return {}
    lower, upper = span_bounds(first, last, tz)
    seconds = bucket_size(tz, lower, upper)
    rows = searches.detection_buckets(tenant, lower, upper, seconds, per_user=False)
    versions = dict.fromkeys(range(first, last + 1), 0)
    if rows:
        buckets = np.array([int(row[0]) for row in rows], dtype=np.int64)
        days, _ = LocalClock(tz, lower, upper).local_day_and_hour(buckets * seconds)
        for day, row in zip(days.tolist(), rows, strict=True):
            if first <= day <= last:
                versions[int(day)] += int(row[1])
    return versions
