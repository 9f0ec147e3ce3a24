"""One storage interface per backend: what the ingest writes (a page, ignoring the keys a
tenant holds; the cursor after it) and what the dashboard's main frames read, so SQL that
compiles for one dialect only stays behind its backend (`SqlStore` for SQLite and
PostgreSQL, `db.clickhouse.store.ClickHouseStore` for ClickHouse).

Today the product's own paths (ingest, pages, API) still call the SQL modules directly;
this interface is what a ClickHouse deployment will run them through (docs/clickhouse.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

import pandas as pd
from sqlalchemy import Engine

from db.aggregates import hour_weekday_counts, searches_per_day, summary_by_user
from db.filters import SearchFilters
from db.state import read_cursor

if TYPE_CHECKING:  # the records the ingest parses (`ingest.records`); db needs no ingest
    from ingest.records import Rejection, SearchEvent


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


class SqlStore:
    """SQLite and PostgreSQL through SQLAlchemy: the ingest's page writer (one transaction
    for rows and rollups) and the dashboard's data functions, unchanged."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

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

    def read_cursor(self, tenant: str) -> datetime | None:
        return read_cursor(self.engine, tenant)

    def advance_cursor(self, tenant: str, end: datetime, *, backfill_done: bool | None) -> None:
        from ingest.store import Store

        Store(self.engine, tenant).advance_cursor(end, backfill_done=backfill_done)

    def summary_by_user(self, filters: SearchFilters, tz: str) -> pd.DataFrame:
        return summary_by_user(self.engine, filters, tz)

    def searches_per_day(self, filters: SearchFilters, tz: str) -> pd.DataFrame:
        return searches_per_day(self.engine, filters, tz)

    def hour_weekday_counts(self, filters: SearchFilters, tz: str) -> pd.DataFrame:
        return hour_weekday_counts(self.engine, filters, tz)
