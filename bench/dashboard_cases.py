"""What the dashboard benchmark measures: the probe of a database, each page's data calls
with the arguments the page uses, and the naive baseline of the original app."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import streamlit  # noqa: F401
from sqlalchemy import Engine

# Outside a server each cached function warns once that it keeps its cache in memory,
# which is what it does inside one too.
logging.getLogger("streamlit.runtime.caching.cache_data_api").setLevel(logging.ERROR)

from bench.synthetic import TENANT  # noqa: E402
from dashboard import cached  # noqa: E402
from db import queries  # noqa: E402
from db.engine import open_database, sqlite_path  # noqa: E402
from db.queries import SearchFilters  # noqa: E402
from db.scope import TenantScope  # noqa: E402
from db.state import database_size_bytes  # noqa: E402
from ingest.status import collect_status  # noqa: E402

PAGE_ROWS = 100  # pages/user.py
PER_USER = 200  # pages/day.py
STATUS_RUNS, STATUS_REJECTS = 20, 50  # dashboard/cached.py ingest_status
WARM_CALLS = 5
CHROME = "every page"


# --- what is measured -------------------------------------------------------------------


@dataclass(frozen=True)
class Probe:
    """Facts about the database that choose the arguments: found once, untimed."""

    url: str
    tz: str
    events: int
    database_bytes: int
    today: str
    first_day: str
    heavy: str
    heavy_searches: int
    typical: str
    typical_searches: int
    busy_day: str
    busy_searches: int
    tenant: str = TENANT
    """Whose pages: every call is made in this tenant's scope."""


@dataclass(frozen=True)
class Case:
    """One call a page makes: directly on an engine, and through its Streamlit cache."""

    page: str
    function: str
    direct: Callable[[Engine], Any]
    cached: Callable[[str, str], Any]

    @property
    def key(self) -> str:
        return f"{self.page} · {self.function}"


@dataclass(frozen=True)
class Naive:
    """The original app's query for the same question, and what it is compared with."""

    name: str
    sql: str
    params: tuple[Any, ...]
    compare_with: str  # a Case key, or a page name for the page's total


def build_cases(probe: Probe) -> list[Case]:
    """Every page's calls, as the pages make them (see pages/*.py and dashboard/context.py)."""
    tz = probe.tz
    scope = TenantScope.one(probe.tenant)
    today = date.fromisoformat(probe.today)
    whole = SearchFilters(scope, date.fromisoformat(probe.first_day), today)
    last30 = SearchFilters(scope, today - timedelta(days=29), today)
    month = today.replace(day=1)
    next_month = (month + timedelta(days=32)).replace(day=1)
    busy = date.fromisoformat(probe.busy_day)
    last_offset = (max(probe.heavy_searches, 1) - 1) // PAGE_ROWS * PAGE_ROWS

    def per_filters(page: str, filters: SearchFilters, names: tuple[str, ...]) -> list[Case]:
        calls: dict[str, tuple[Callable[[Engine], Any], Callable[[str, str], Any]]] = {
            "activity": (
                lambda e: queries.activity(e, filters, tz),
                lambda u, v: cached.activity(u, v, filters, tz),
            ),
            "activity (days only)": (
                lambda e: queries.activity(e, filters, tz, hours=False),
                lambda u, v: cached.activity(u, v, filters, tz, False),
            ),
            "summary_by_user": (
                lambda e: queries.summary_by_user(e, filters, tz),
                lambda u, v: cached.summary_by_user(u, v, filters, tz),
            ),
            "searches_per_day": (
                lambda e: queries.searches_per_day(e, filters, tz),
                lambda u, v: cached.searches_per_day(u, v, filters, tz),
            ),
            "hour_weekday_counts": (
                lambda e: queries.hour_weekday_counts(e, filters, tz),
                lambda u, v: cached.hour_weekday_counts(u, v, filters, tz),
            ),
            "count_searches": (
                lambda e: queries.count_searches(e, filters, tz),
                lambda u, v: cached.count_searches(u, v, filters, tz),
            ),
            "search_page (first)": (
                lambda e: queries.search_page(e, filters, tz, limit=PAGE_ROWS),
                lambda u, v: cached.search_page(u, v, filters, tz, PAGE_ROWS, 0),
            ),
            "search_page (last)": (
                lambda e: queries.search_page(
                    e, filters, tz, limit=PAGE_ROWS, offset=last_offset, total=probe.heavy_searches
                ),
                lambda u, v: cached.search_page(
                    u, v, filters, tz, PAGE_ROWS, last_offset, probe.heavy_searches
                ),
            ),
            "user_counts": (
                lambda e: queries.user_counts(e, filters, tz),
                lambda u, v: cached.user_counts(u, v, filters, tz),
            ),
            "searches_by_user": (
                lambda e: queries.searches_by_user(e, filters, tz, per_user=PER_USER),
                lambda u, v: cached.searches_by_user(u, v, filters, tz, PER_USER),
            ),
        }
        return [Case(page, name, *calls[name]) for name in names]

    user_calls = ("activity", "search_page (first)")
    summary_calls = ("activity (days only)",)
    return [
        Case(CHROME, "data_version", queries.data_version, lambda u, v: cached.data_version(u)),
        Case(
            CHROME,
            "filter_options",
            lambda e: queries.filter_options(e, scope),
            lambda u, v: cached.filter_options(u, v, scope),
        ),
        Case(
            CHROME,
            "ingest_health",
            lambda e: queries.ingest_health(e, scope),
            lambda u, v: cached.ingest_health(u, v, scope),
        ),
        *per_filters("summary, last 30 days", last30, summary_calls),
        *per_filters("summary, all time", whole, summary_calls),
        *per_filters(  # issue 20's figure: the per-user summary over a year, uncached
            "summary, last 365 days",
            SearchFilters(scope, today - timedelta(days=364), today),
            ("summary_by_user",),
        ),
        *per_filters(
            "summary, last 30 days, text contains 'invoice' (raw rows)",
            replace(last30, text="invoice"),
            summary_calls,
        ),
        *per_filters("user: heaviest, last 30 days", last30.for_user(probe.heavy), user_calls),
        *per_filters(
            "user: heaviest, all time",
            whole.for_user(probe.heavy),
            (*user_calls, "search_page (last)"),
        ),
        *per_filters("user: typical, all time", whole.for_user(probe.typical), user_calls),
        *per_filters(
            "calendar: month",
            SearchFilters(scope, month, next_month - timedelta(days=1)),
            ("searches_per_day",),
        ),
        *per_filters(
            "calendar: year",
            SearchFilters(scope, date(today.year, 1, 1), date(today.year, 12, 31)),
            ("searches_per_day",),
        ),
        *per_filters(
            "day: busiest",
            SearchFilters(scope, busy, busy),
            ("user_counts", "hour_weekday_counts", "searches_by_user"),
        ),
        Case(
            "status",
            "collect_status",
            lambda e: collect_status(e, scope, runs=STATUS_RUNS, rejects=STATUS_REJECTS),
            lambda u, v: cached.ingest_status(u, v, scope),
        ),
    ]


def build_naive(probe: Probe, dialect: str) -> list[Naive]:
    """The original app's SQL, in the DBAPI's parameter style."""
    mark = "?" if dialect == "sqlite" else "%s"
    stored_time = "create_time" if dialect == "sqlite" else "CAST(create_time AS TEXT)"
    # SQLite compares the stored text; PostgreSQL reads these in the session's UTC.
    lower, upper = f"{probe.busy_day} 00:00:00", f"{probe.busy_day} 23:59:59.999999"
    year = probe.today[:4]
    year_bounds: tuple[str, ...] = (f"{year}-01-01 00:00:00", f"{int(year) + 1}-01-01 00:00:00")
    if dialect == "sqlite":
        lower += ".000000"
    return [
        Naive(
            "searches per user (GROUP BY email_addr)",
            "SELECT email_addr, count(*) AS searches FROM search_logs GROUP BY email_addr",
            (),
            "summary, all time · activity (days only)",
        ),
        Naive(
            "searches per day (GROUP BY substr(create_time, 1, 10))",
            f"SELECT substr({stored_time}, 1, 10) AS day, count(*) AS searches "
            "FROM search_logs GROUP BY day",
            (),
            "summary, all time · activity (days only)",
        ),
        Naive(
            "searches per day of this year (GROUP BY substr(create_time, 1, 10))",
            f"SELECT substr({stored_time}, 1, 10) AS day, count(*) AS searches "
            f"FROM search_logs WHERE create_time >= {mark} AND create_time < {mark} GROUP BY day",
            year_bounds,
            "calendar: year · searches_per_day",
        ),
        Naive(
            "one day's rows (WHERE create_time BETWEEN …)",
            f"SELECT * FROM search_logs WHERE create_time BETWEEN {mark} AND {mark}",
            (lower, upper),
            "day: busiest",
        ),
        Naive(
            "heaviest user's full history (ORDER BY create_time DESC)",
            f"SELECT * FROM search_logs WHERE email_addr = {mark} ORDER BY create_time DESC",
            (probe.heavy,),
            "user: heaviest, all time",
        ),
    ]


# --- the probe --------------------------------------------------------------------------


def probe_database(url: str, tz: str, tenant: str = TENANT) -> Probe:
    """Heaviest and median user, busiest day, span and size of `tenant`'s searches."""
    scope = TenantScope.one(tenant)
    engine = open_database(url)
    try:
        today = datetime.now(ZoneInfo(tz)).date()
        totals = collect_status(engine, scope, runs=1, rejects=1)["totals"]
        if not totals["search_logs"]:
            raise SystemExit(f"{url} holds no searches: run bench/generate.py first")
        first = datetime.fromisoformat(totals["first_event"]).astimezone(ZoneInfo(tz)).date()
        whole = SearchFilters(scope, first, today)
        users = queries.user_counts(engine, whole, tz)
        typical = users.iloc[len(users) // 2]
        per_day = queries.searches_per_day(engine, whole, tz)
        busiest = per_day.loc[per_day["searches"].idxmax()]
        return Probe(
            url=url,
            tz=tz,
            events=int(totals["search_logs"]),
            database_bytes=int(database_size_bytes(engine) or 0),
            today=today.isoformat(),
            first_day=first.isoformat(),
            heavy=str(users.iloc[0]["email"]),
            heavy_searches=int(users.iloc[0]["searches"]),
            typical=str(typical["email"]),
            typical_searches=int(typical["searches"]),
            busy_day=busiest["date"].isoformat(),
            busy_searches=int(busiest["searches"]),
            tenant=tenant,
        )
    finally:
        engine.dispose()


def warm_os_cache(url: str) -> None:
    """Read a SQLite file once so every repeat finds it in the OS cache."""
    path = sqlite_path(url)
    if path is None:
        return
    with path.open("rb") as handle:
        while handle.read(1 << 24):
            pass
