"""Every question the dashboard asks the database, under one name, so the pages and their
caches have one import. Nothing is defined here; each answer lives with its concern:

- `db.filters` — `SearchFilters`, the WHERE clause, the sidebar's options;
- `db.timezones` — local days as UTC ranges, bucket lengths, offset changes;
- `db.sql` — the epoch SQL, the offset CASE, statement → DataFrame;
- `db.rollup_reads` — every aggregate, from the rollups or from raw rows (one choice);
- `db.aggregates` — per day, weekday × hour, per user, all at once (`activity`);
- `db.raw_reads` — lists of searches, streamed chunks, keyset pages;
- `db.state` — the data version and the ingest's health.
"""

from db.aggregates import (
    SUMMARY_COLUMNS,
    WEEKDAYS,
    Activity,
    activity,
    hour_weekday_counts,
    hour_weekday_from_buckets,
    per_day_from_buckets,
    searches_per_day,
    summary_by_user,
)
from db.filters import FilterOptions, SearchFilters, conditions, filter_options, has_reason
from db.raw_reads import (
    SEARCH_COLUMNS,
    Keyset,
    _newest_first,
    iter_searches,
    newest_search_id,
    search_keyset_page,
    search_page,
    searches_by_user,
)
from db.rollup_reads import bucket_counts, count_searches, user_counts
from db.rollups import SYSTEM_SENDER
from db.sql import epoch_bucket
from db.state import IngestHealth, data_version, ingest_health, ingest_version
from db.timezones import bucket_seconds, offset_changes, utc_bounds

__all__ = [
    "SEARCH_COLUMNS",
    "SUMMARY_COLUMNS",
    "SYSTEM_SENDER",
    "WEEKDAYS",
    "Activity",
    "FilterOptions",
    "IngestHealth",
    "Keyset",
    "SearchFilters",
    "_newest_first",
    "activity",
    "bucket_counts",
    "bucket_seconds",
    "conditions",
    "count_searches",
    "data_version",
    "epoch_bucket",
    "filter_options",
    "has_reason",
    "hour_weekday_counts",
    "hour_weekday_from_buckets",
    "ingest_health",
    "ingest_version",
    "iter_searches",
    "newest_search_id",
    "offset_changes",
    "per_day_from_buckets",
    "search_keyset_page",
    "search_page",
    "searches_by_user",
    "searches_per_day",
    "summary_by_user",
    "user_counts",
    "utc_bounds",
]
