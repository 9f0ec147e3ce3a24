"""One storage interface per backend: what the ingest writes (a page, ignoring the keys a
tenant holds; the cursor after it) and what the dashboard's main frames read, so SQL that
compiles for one dialect only stays behind its backend (`SqlStore` for SQLite and
PostgreSQL, `db.clickhouse.store.ClickHouseStore` for ClickHouse).

The pages (`dashboard.cached.store`) and the API (`api.calls.Call.store`) read through it;
the ingest still calls the SQL modules directly (docs/clickhouse.md).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

import pandas as pd

from db import raw_reads
from db.aggregates import (
    Activity,
    activity,
    hour_weekday_counts,
    searches_per_day,
    summary_by_user,
)
from db.clickhouse.listing_reads import ClickHouseKeyset  # plain Python: no driver loaded
from db.detect_reads import DetectionRow, SqlSearches
from db.filters import FilterOptions, SearchFilters, filter_options
from db.raw_reads import Keyset
from db.rollup_reads import count_searches, user_counts
from db.scope import TenantScope
from db.state import data_version

if TYPE_CHECKING:  # the records the ingest parses (`ingest.records`); db needs no ingest
    from ingest.records import Rejection, SearchEvent

ListingKeyset = Keyset | ClickHouseKeyset
"""Where a keyset page starts: each backend's own (`Keyset` on SQL, row ids; ClickHouse has
none, `ClickHouseKeyset`)."""


@dataclass(frozen=True)
class Written:
    """What one page write did: new rows, rows already held, rejects stored."""

    inserted: int
    duplicates: int
    rejected: int


class SearchStore(Protocol):
    """A backend: the ingest's writes and the dashboard's main frames, per tenant."""

    def write_page(
        self,
        tenant: str,
        events: Sequence[tuple[str, SearchEvent]],
        rejections: Sequence[tuple[str, Rejection]],
        run_id: int,
        window: tuple[datetime, datetime],
    ) -> Written:
        """Store the page's rows whose keys `tenant` does not hold (a replay stores none)."""
        ...

    def read_cursor(self, tenant: str) -> datetime | None:
        """Everything of `tenant` up to this instant is stored."""
        ...

    def advance_cursor(self, tenant: str, end: datetime, *, backfill_done: bool | None) -> None:
        """Move the cursor; call only after the rows up to `end` are written."""
        ...

    def summary_by_user(self, filters: SearchFilters, tz: str) -> pd.DataFrame:
        """`db.aggregates.summary_by_user`: a row per user, most searches first."""
        ...

    def searches_per_day(self, filters: SearchFilters, tz: str) -> pd.DataFrame:
        """`db.aggregates.searches_per_day`: every day of the range, zeros included."""
        ...

    def hour_weekday_counts(self, filters: SearchFilters, tz: str) -> pd.DataFrame:
        """`db.aggregates.hour_weekday_counts`: the 7 x 24 grid, zeros included."""
        ...

    # --- every other read of the Summary, User, Calendar and Day pages and the API ----
    def activity(self, filters: SearchFilters, tz: str, *, hours: bool = True) -> Activity:
        """`db.aggregates.activity`: the summary and user pages' figures at once."""
        ...

    def user_counts(self, filters: SearchFilters, tz: str) -> pd.DataFrame:
        """`db.rollup_reads.user_counts`: searches per user, most first (the Day page)."""
        ...

    def count_searches(self, filters: SearchFilters, tz: str) -> int:
        """`db.rollup_reads.count_searches`."""
        ...

    def search_page(
        self,
        filters: SearchFilters,
        tz: str,
        *,
        limit: int,
        offset: int = 0,
        total: int | None = None,
    ) -> pd.DataFrame:
        """`db.raw_reads.search_page`: a page of matching searches, newest first."""
        ...

    def searches_by_user(
        self, filters: SearchFilters, tz: str, *, per_user: int = 200
    ) -> pd.DataFrame:
        """`db.raw_reads.searches_by_user`: the newest `per_user` of each user."""
        ...

    def iter_searches(
        self, filters: SearchFilters, tz: str, *, chunk_rows: int = 5_000
    ) -> Iterator[pd.DataFrame]:
        """`db.raw_reads.iter_searches`: every matching search in chunks (CSV downloads)."""
        ...

    def filter_options(self, scope: TenantScope) -> FilterOptions:
        """`db.filters.filter_options`: the sidebar's users, sources and search types."""
        ...

    def data_version(self) -> str:
        """`db.state.data_version`: moves when, and only when, rows were stored."""
        ...

    def known_user(self, scope: TenantScope, email: str) -> bool:
        """`db.raw_reads.known_user`: any search by `email` in `scope`, at any time."""
        ...

    def newest_keyset(self, scope: TenantScope) -> ListingKeyset:
        """The keyset of a listing's first page: the rows of `scope` stored now."""
        ...

    def search_keyset_rows(
        self, filters: SearchFilters, tz: str, keyset: ListingKeyset, *, limit: int
    ) -> tuple[list[tuple[Any, ...]], ListingKeyset | None]:
        """`db.raw_reads.search_keyset_rows`: a keyset page (SEARCH_COLUMNS tuples, times
        aware UTC) and the next page's keyset, None after the last."""
        ...

    # --- what the detections read from the searches (their own tables are in control) --
    def detection_searches(
        self,
        tenant: str,
        lower: datetime,
        upper: datetime,
        *,
        users: Sequence[str] | None = None,
        blank_text: bool = True,
        chunk_rows: int = 50_000,
    ) -> Iterator[list[DetectionRow]]:
        """`db.detect_reads.detection_searches`: `tenant`'s searches in [lower, upper),
        oldest first, in chunks of (time aware UTC, user, text, reason)."""
        ...

    def detection_buckets(
        self, tenant: str, lower: datetime, upper: datetime, seconds: int, *, per_user: bool
    ) -> list[tuple[Any, ...]]:
        """`db.detect_reads.SqlSearches.detection_buckets`: searches per bucket (per user)."""
        ...

    def detection_first_seen(self, tenant: str) -> dict[str, float]:
        """Epoch seconds of each user's first search ever stored."""
        ...

    def detection_first_search(self, tenant: str) -> datetime | None:
        """`tenant`'s first search stored; None for none."""
        ...


class SqlStore(SqlSearches):
    """SQLite and PostgreSQL through SQLAlchemy: the ingest's page writer (one transaction
    for rows and rollups) and the dashboard's data functions, unchanged. The detector's reads
    and the cursor are `SqlSearches`' (the detector uses those without this module's imports)."""

    def write_page(
        self,
        tenant: str,
        events: Sequence[tuple[str, SearchEvent]],
        rejections: Sequence[tuple[str, Rejection]],
        run_id: int,
        window: tuple[datetime, datetime],
    ) -> Written:
        from ingest.page_writer import PageBatch  # the SQL write path lives with the ingest
        from ingest.store import Store

        batch = PageBatch(events=list(events), rejections=list(rejections), fetched=len(events))
        counts = Store(self.engine, tenant).write_page(batch, run_id, window)
        return Written(counts.inserted, counts.duplicates, counts.rejected)

    def advance_cursor(self, tenant: str, end: datetime, *, backfill_done: bool | None) -> None:
        from ingest.store import Store

        Store(self.engine, tenant).advance_cursor(end, backfill_done=backfill_done)

    def summary_by_user(self, filters: SearchFilters, tz: str) -> pd.DataFrame:
        return summary_by_user(self.engine, filters, tz)

    def searches_per_day(self, filters: SearchFilters, tz: str) -> pd.DataFrame:
        return searches_per_day(self.engine, filters, tz)

    def hour_weekday_counts(self, filters: SearchFilters, tz: str) -> pd.DataFrame:
        return hour_weekday_counts(self.engine, filters, tz)

    # --- every other read of the pages and the API: the db functions, unchanged --------
    def activity(self, filters: SearchFilters, tz: str, *, hours: bool = True) -> Activity:
        return activity(self.engine, filters, tz, hours=hours)

    def user_counts(self, filters: SearchFilters, tz: str) -> pd.DataFrame:
        return user_counts(self.engine, filters, tz)

    def count_searches(self, filters: SearchFilters, tz: str) -> int:
        return count_searches(self.engine, filters, tz)

    def search_page(
        self,
        filters: SearchFilters,
        tz: str,
        *,
        limit: int,
        offset: int = 0,
        total: int | None = None,
    ) -> pd.DataFrame:
        return raw_reads.search_page(
            self.engine, filters, tz, limit=limit, offset=offset, total=total
        )

    def searches_by_user(
        self, filters: SearchFilters, tz: str, *, per_user: int = 200
    ) -> pd.DataFrame:
        return raw_reads.searches_by_user(self.engine, filters, tz, per_user=per_user)

    def iter_searches(
        self, filters: SearchFilters, tz: str, *, chunk_rows: int = 5_000
    ) -> Iterator[pd.DataFrame]:
        return raw_reads.iter_searches(self.engine, filters, tz, chunk_rows=chunk_rows)

    def filter_options(self, scope: TenantScope) -> FilterOptions:
        return filter_options(self.engine, scope)

    def data_version(self) -> str:
        return data_version(self.engine)

    def known_user(self, scope: TenantScope, email: str) -> bool:
        return raw_reads.known_user(self.engine, scope, email)

    def newest_keyset(self, scope: TenantScope) -> Keyset:
        return Keyset(raw_reads.newest_search_id(self.engine, scope))

    def search_keyset_rows(
        self, filters: SearchFilters, tz: str, keyset: ListingKeyset, *, limit: int
    ) -> tuple[list[tuple[Any, ...]], Keyset | None]:
        if not isinstance(keyset, Keyset):
            raise TypeError(f"a SQL listing pages with a Keyset, not {type(keyset).__name__}")
        return raw_reads.search_keyset_rows(self.engine, filters, tz, keyset, limit=limit)
