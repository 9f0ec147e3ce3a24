"""Lists of matching searches from the raw rows: one page (LIMIT/OFFSET, read from the
nearer end), a stream of chunks for downloads, the newest per user, and keyset pages for
the machine API."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pandas as pd
from sqlalchemy import Engine, Select, desc, func, literal_column, select

from db.filters import SearchFilters, conditions
from db.models import SearchLog, text_in
from db.scope import TenantScope
from db.sql import rows_frame
from db.timezones import as_local

SEARCH_COLUMNS = ("time", "email", "source", "search_text", "search_reason", "description")
"""The columns of a list of searches, in the order pages and CSV exports show them."""

_LIST_COLUMNS = (
    SearchLog.create_time,
    SearchLog.email_addr,
    SearchLog.source,
    SearchLog.search_text,
    SearchLog.search_reason,
    SearchLog.description,
)


def _time_order(dialect: str, filters: SearchFilters) -> Any:
    """The time to sort a listing by. SQLite without statistics takes `tenant = ?` for
    selective, and for several users would read the tenant's whole range through the
    (tenant, time) index just to skip a sort; sorting by `+create_time` (SQLite's "not by
    an index" mark) leaves it the (tenant, user, time) index, which reads only theirs."""
    if dialect == "sqlite" and len(filters.users) > 1:
        return literal_column("+search_logs.create_time")
    return SearchLog.create_time


def _newest_first(dialect: str, filters: SearchFilters, tz: str) -> Select[*tuple[Any, ...]]:
    return (
        select(*_LIST_COLUMNS)
        .where(*conditions(filters, tz))
        .order_by(desc(_time_order(dialect, filters)), desc(SearchLog.id))
    )


def _search_frame(rows: Sequence[Any], tz: str) -> pd.DataFrame:
    frame = rows_frame(rows, SEARCH_COLUMNS)
    frame["time"] = as_local(frame["time"], tz)
    return frame


def search_page(
    engine: Engine,
    filters: SearchFilters,
    tz: str,
    *,
    limit: int,
    offset: int = 0,
    total: int | None = None,
) -> pd.DataFrame:
    """One page of matching searches, newest first (LIMIT/OFFSET in SQL).

    Given the `total` that match, a page in the older half is read from the oldest end and
    turned round, so the last of 2.7M rows costs what the first does, not a 2.7M-row skip.
    """
    if total is not None and offset > total // 2 and offset < total:
        count = min(limit, total - offset)
        oldest_first = (
            select(*_LIST_COLUMNS)
            .where(*conditions(filters, tz))
            .order_by(SearchLog.create_time, SearchLog.id)
            .limit(count)
            .offset(total - offset - count)
        )
        with engine.connect() as conn:
            rows = conn.execute(oldest_first).all()
        return _search_frame(rows[::-1], tz)
    with engine.connect() as conn:
        rows = conn.execute(
            _newest_first(engine.dialect.name, filters, tz).limit(limit).offset(offset)
        ).all()
    return _search_frame(rows, tz)


def iter_searches(
    engine: Engine, filters: SearchFilters, tz: str, *, chunk_rows: int = 5_000
) -> Iterator[pd.DataFrame]:
    """Every matching search, newest first, in chunks streamed from the database."""
    with engine.connect() as conn:
        result = conn.execution_options(stream_results=True, yield_per=chunk_rows).execute(
            _newest_first(engine.dialect.name, filters, tz)
        )
        for rows in result.partitions(chunk_rows):
            yield _search_frame(rows, tz)


def searches_by_user(
    engine: Engine, filters: SearchFilters, tz: str, *, per_user: int = 200
) -> pd.DataFrame:
    """The newest `per_user` searches of each user (a window function, not every row).

    Columns: SEARCH_COLUMNS, ordered by user then newest first.
    """
    rank = (
        func.row_number()
        .over(
            partition_by=SearchLog.email_addr,
            order_by=(SearchLog.create_time.desc(), SearchLog.id.desc()),
        )
        .label("rank")
    )
    ranked = (
        select(*_LIST_COLUMNS, SearchLog.id.label("row_id"), rank)
        .where(*conditions(filters, tz))
        .subquery()
    )
    statement = (
        select(*(ranked.c[column.key] for column in _LIST_COLUMNS))
        .where(ranked.c.rank <= per_user)
        .order_by(ranked.c.email_addr, desc(ranked.c.create_time), desc(ranked.c.row_id))
    )
    with engine.connect() as conn:
        rows = conn.execute(statement).all()
    return _search_frame(rows, tz)


# --- keyset pages (the machine API) ---------------------------------------------------


@dataclass(frozen=True)
class Keyset:
    """Where a keyset page starts: after the search (`time`, `row_id`), among the rows that
    existed when the first page was read (`id <= snapshot_id`)."""

    snapshot_id: int
    time: datetime | None = None
    row_id: int | None = None


def known_user(engine: Engine, scope: TenantScope, email: str) -> bool:
    """Whether any search by `email` is stored in `scope` (at any time): "no such user" is
    not "no searches in this range"."""
    statement = select(SearchLog.id).where(
        scope.where(SearchLog.tenant), text_in(SearchLog.email_addr, (email,))
    )
    with engine.connect() as conn:
        found = conn.execute(statement.limit(1)).first()
    return found is not None


RECENT_ROWS = 10_000
"""How far back (in row ids) `newest_search_id` walks before asking the tenant index."""


def newest_search_id(engine: Engine, scope: TenantScope) -> int:
    """The highest row id of `scope` now: a listing fixed to it ignores rows stored later.
    Of the scope's rows only, as it is handed out in a paging cursor: the highest id of
    every tenant would tell a tenant's token how much the others store.

    `max(id)` over the tenant's index reads every row of the tenant (400 ms for a million
    on SQLite), so the newest rows are walked back by id first, the tenant index left out
    (`|| ''`): a tenant that is polled has a row among them (0.03 ms); only a tenant with
    none among the last RECENT_ROWS reads its index."""
    with engine.connect() as conn:
        newest = int(conn.execute(select(func.coalesce(func.max(SearchLog.id), 0))).scalar_one())
        if scope.is_every_tenant:
            return newest
        found = conn.execute(
            select(SearchLog.id)
            .where(SearchLog.id > newest - RECENT_ROWS, scope.where(SearchLog.tenant + ""))
            .order_by(desc(SearchLog.id))
            .limit(1)
        ).scalar()
        if found is None:
            found = conn.execute(
                select(func.coalesce(func.max(SearchLog.id), 0)).where(
                    scope.where(SearchLog.tenant)
                )
            ).scalar_one()
    return int(found)


def search_keyset_page(
    engine: Engine, filters: SearchFilters, tz: str, keyset: Keyset, *, limit: int
) -> tuple[pd.DataFrame, Keyset | None]:
    """Up to `limit` matching searches newest first, after `keyset`, as a frame in `tz`,
    and the keyset of the next page (None after the last); see `search_keyset_rows`."""
    rows, following = search_keyset_rows(engine, filters, tz, keyset, limit=limit)
    return _search_frame(rows, tz), following


def search_keyset_rows(
    engine: Engine, filters: SearchFilters, tz: str, keyset: Keyset, *, limit: int
) -> tuple[list[tuple[Any, ...]], Keyset | None]:
    """Up to `limit` matching searches newest first, after `keyset`, as tuples of
    SEARCH_COLUMNS (times aware, in UTC), and the keyset of the next page (None after the
    last). The machine API writes these straight to JSON, without a frame.

    Ordered by (time, id) and bounded by the snapshot id, so a page never repeats or skips
    a row while the ingest writes: rows stored after the first page, even with an older
    time (a late search), are not part of the listing.
    """
    where = [*conditions(filters, tz), SearchLog.id <= keyset.snapshot_id]
    if keyset.time is not None and keyset.row_id is not None:
        where.append(
            (SearchLog.create_time < keyset.time)
            | ((SearchLog.create_time == keyset.time) & (SearchLog.id < keyset.row_id))
        )
    statement = (
        select(*_LIST_COLUMNS, SearchLog.id)
        .where(*where)
        .order_by(desc(_time_order(engine.dialect.name, filters)), desc(SearchLog.id))
        .limit(limit + 1)
    )
    with engine.connect() as conn:
        rows = conn.execute(statement).all()
    following = None
    if len(rows) > limit:
        rows = rows[:limit]
        last = rows[-1]
        following = Keyset(keyset.snapshot_id, last.create_time, last.id)
    return [tuple(row)[:-1] for row in rows], following
