"""Whose mailbox was searched: the reads of `search_targets` (written by the ingest, see
`db.target_parse`) joined to their searches, with the sidebar's filters (`SearchFilters`)
applied to the searches. The Mailboxes page, its CSVs, the privacy report and the API
(`/api/v1/mailboxes…`) all read through these functions, so their answers agree.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import pandas as pd
from sqlalchemy import Engine, Select, and_, case, desc, func, select

from db.filters import SearchFilters, conditions, has_reason
from db.models import SearchLog, SearchTarget
from db.raw_reads import Keyset
from db.scope import TenantScope
from db.sql import rows_frame
from db.timezones import as_local, utc_bounds

MAILBOX = "mailbox"  # db.target_parse.MAILBOX (db does not import the ingest)

TOP_COLUMNS = ("tenant", "mailbox", "searches", "searchers", "without_reason", "last_search")
"""The most-searched mailboxes: searches of each, distinct searchers, searches without a
reason on record, the newest search."""

MAILBOX_SEARCH_COLUMNS = (
    "tenant",
    "time",
    "searcher",
    "reason",
    "reason_on_record",
    "search_type",
    "source",
)
"""One mailbox's searches, as the page, its CSV, the privacy report and the API list them;
`reason_on_record` is "no" for a search made without a reason (blank or absent)."""
_READ_COLUMNS = ("tenant", "time", "searcher", "reason", "search_type", "source")

SEARCHED_BY_COLUMNS = ("mailbox", "searches", "last_search")


def normalise_mailbox(value: str) -> str:
    """A mailbox as stored: addresses are kept in lower case (`[User : DHamilton@…]`)."""
    return value.strip().lower()


def _joined(filters: SearchFilters, tz: str) -> list[Any]:
    """The search's conditions (the sidebar's) and the join to its mailbox targets. The
    period is asked of the targets too (their time is their search's): the few mailbox
    targets of a period are then read from their own index, and their searches by key,
    not every search of the period first."""
    lower, upper = utc_bounds(filters.start, filters.end, tz)
    return [
        *conditions(filters, tz),
        filters.scope.where(SearchTarget.tenant),
        SearchTarget.kind == MAILBOX,
        SearchTarget.create_time >= lower,
        SearchTarget.create_time < upper,
        SearchTarget.tenant == SearchLog.tenant,
        SearchTarget.event_key == SearchLog.event_key,
    ]


def _without_reason() -> Any:
    return func.sum(case((has_reason(), 0), else_=1))


def top_mailboxes(
    engine: Engine, filters: SearchFilters, tz: str, *, limit: int = 100, by: str = "searches"
) -> pd.DataFrame:
    """The `limit` most-searched mailboxes of the period, most first `by` "searches" or
    "searchers" (distinct); ties by the other count, then by address."""
    searches = func.count().label("searches")
    searchers = func.count(func.distinct(SearchLog.email_addr)).label("searchers")
    order = (searches, searchers) if by == "searches" else (searchers, searches)
    statement = (
        select(
            SearchTarget.tenant,
            SearchTarget.value,
            searches,
            searchers,
            _without_reason(),
            func.max(SearchLog.create_time),
        )
        .select_from(SearchTarget, SearchLog)
        .where(*_joined(filters, tz))
        .group_by(SearchTarget.tenant, SearchTarget.value)
        .order_by(*(desc(column) for column in order), SearchTarget.value, SearchTarget.tenant)
        .limit(limit)
    )
    with engine.connect() as conn:
        rows = conn.execute(statement).all()
    frame = rows_frame(rows, TOP_COLUMNS)
    frame["last_search"] = as_local(frame["last_search"], tz)
    return frame


def _mailbox_statement(filters: SearchFilters, tz: str, mailbox: str) -> Select[*tuple[Any, ...]]:
    return (
        select(
            SearchLog.tenant,
            SearchLog.create_time,
            SearchLog.email_addr,
            SearchLog.search_reason,
            SearchLog.description,
            SearchLog.source,
            SearchLog.id,
        )
        .select_from(SearchTarget, SearchLog)
        .where(*_joined(filters, tz), SearchTarget.value == normalise_mailbox(mailbox))
    )


NEWEST_FIRST = (desc(SearchTarget.create_time), desc(SearchLog.id))
"""By the target's time (its search's): ordered by the search's own time, SQLite walks the
tenant's every search of the period by time to skip a sort of a few rows (9.5 s for 300k
searches over three years, against 3 ms)."""


def _frame(rows: Sequence[Any], tz: str) -> pd.DataFrame:
    frame = rows_frame([tuple(row)[:-1] for row in rows], _READ_COLUMNS)
    frame["time"] = as_local(frame["time"], tz)
    given = frame["reason"].fillna("").astype(str).str.strip() != ""
    frame["reason_on_record"] = given.map({True: "yes", False: "no"}).astype(object)
    return frame[list(MAILBOX_SEARCH_COLUMNS)]


def mailbox_searches(
    engine: Engine, filters: SearchFilters, tz: str, mailbox: str, *, limit: int | None = None
) -> pd.DataFrame:
    """The searches that targeted `mailbox`, newest first (the newest `limit`, if given)."""
    statement = _mailbox_statement(filters, tz, mailbox).order_by(*NEWEST_FIRST)
    if limit is not None:
        statement = statement.limit(limit)
    with engine.connect() as conn:
        rows = conn.execute(statement).all()
    return _frame(rows, tz)


def count_mailbox_searches(engine: Engine, filters: SearchFilters, tz: str, mailbox: str) -> int:
    statement = select(func.count()).select_from(
        _mailbox_statement(filters, tz, mailbox).subquery()
    )
    with engine.connect() as conn:
        return int(conn.execute(statement).scalar_one())


def iter_mailbox_searches(
    engine: Engine, filters: SearchFilters, tz: str, mailbox: str, *, chunk_rows: int = 5_000
) -> Iterator[pd.DataFrame]:
    """Every search that targeted `mailbox`, newest first, in chunks (for CSV downloads)."""
    statement = _mailbox_statement(filters, tz, mailbox).order_by(*NEWEST_FIRST)
    with engine.connect() as conn:
        result = conn.execution_options(stream_results=True, yield_per=chunk_rows).execute(
            statement
        )
        for rows in result.partitions(chunk_rows):
            yield _frame(rows, tz)


def mailbox_keyset_rows(
    engine: Engine,
    filters: SearchFilters,
    tz: str,
    mailbox: str,
    keyset: Keyset,
    *,
    limit: int,
) -> tuple[pd.DataFrame, Keyset | None]:
    """Up to `limit` searches of `mailbox` after `keyset`, newest first, among the searches
    stored when the listing began (`id <= snapshot_id`: pages neither repeat nor skip a row
    while the ingest writes), and the keyset of the next page (None after the last)."""
    statement = _mailbox_statement(filters, tz, mailbox).where(SearchLog.id <= keyset.snapshot_id)
    if keyset.time is not None and keyset.row_id is not None:
        statement = statement.where(
            (SearchTarget.create_time < keyset.time)
            | and_(SearchTarget.create_time == keyset.time, SearchLog.id < keyset.row_id)
        )
    statement = statement.order_by(*NEWEST_FIRST).limit(limit + 1)
    with engine.connect() as conn:
        rows = conn.execute(statement).all()
    following = None
    if len(rows) > limit:
        rows = rows[:limit]
        following = Keyset(keyset.snapshot_id, rows[-1].create_time, rows[-1].id)
    return _frame(rows, tz), following


def known_mailbox(engine: Engine, scope: TenantScope, mailbox: str) -> bool:
    """Whether any stored search of `scope` targeted `mailbox` (at any time): "never
    searched" is not "not searched in this range"."""
    statement = select(SearchTarget.event_key).where(
        scope.where(SearchTarget.tenant),
        SearchTarget.kind == MAILBOX,
        SearchTarget.value == normalise_mailbox(mailbox),
    )
    with engine.connect() as conn:
        return conn.execute(statement.limit(1)).first() is not None


def mailboxes_searched_by(
    engine: Engine, filters: SearchFilters, tz: str, user: str, *, limit: int = 50
) -> pd.DataFrame:
    """The mailboxes `user`'s searches targeted in the period, most searched first."""
    searches = func.count().label("searches")
    statement = (
        select(SearchTarget.value, searches, func.max(SearchLog.create_time))
        .select_from(SearchTarget, SearchLog)
        .where(*_joined(filters.for_user(user), tz))
        .group_by(SearchTarget.value)
        .order_by(desc(searches), SearchTarget.value)
        .limit(limit)
    )
    with engine.connect() as conn:
        rows = conn.execute(statement).all()
    frame = rows_frame(rows, SEARCHED_BY_COLUMNS)
    frame["last_search"] = as_local(frame["last_search"], tz)
    return frame
