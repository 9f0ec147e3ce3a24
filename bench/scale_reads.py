"""The scale benchmark's reads: each page's data for one tenant, and the every-tenant summary.

`store_cases` are the frames every store answers through `db.store.SearchStore` (the same
calls on SQL and on ClickHouse, so their answers can be compared); on SQL stores the
dashboard benchmark's full list (`bench.dashboard_cases.build_cases`) is timed as well.

- **cold**: a new engine per call on SQL (a new connection: empty SQLite page cache and
  SQLAlchemy statement cache); on chDB the call's first run in a fresh process. No answer
  cache anywhere. Each code path is first run once for a tenant the store does not hold,
  so imports and pandas' first-use costs are not charged to the first call measured.
- **warm**: the same call again on the same store, median of WARM_CALLS (the database's
  caches warm, still no answer cache: the Streamlit cache would answer in ~1 ms anywhere).
"""

from __future__ import annotations

import hashlib
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import Any

import pandas as pd

from db.engine import make_engine
from db.filters import SearchFilters
from db.scope import TenantScope
from db.store import SqlStore

WARM_CALLS = 5
TZ = "Europe/Berlin"
"""A zone with a whole-hour offset and daylight saving, read from the hourly rollups."""
HEAVY = "admin@example.com"
"""Every tenant's heaviest user (`bench.synthetic.build_tenant`): in every tenant."""
ABSENT = "bench-no-such-tenant"
EVERY = "all tenants"


@dataclass(frozen=True)
class StoreCase:
    """One frame a page asks the store for, with its filters."""

    page: str
    method: str
    filters: SearchFilters

    @property
    def key(self) -> str:
        return f"{self.page} · {self.method}"

    def call(self, store: Any) -> pd.DataFrame:
        return getattr(store, self.method)(self.filters, TZ)


def store_cases(tenant: str, first: date, last: date) -> list[StoreCase]:
    """The Summary, User, Calendar and Day pages' frames for `tenant` over `first..last`,
    then the every-tenant summary (a platform administrator's first page)."""
    scope = TenantScope.one(tenant)
    whole = SearchFilters(scope, first, last)
    last30 = SearchFilters(scope, last - timedelta(days=29), last)
    month = last.replace(day=1)
    return [
        StoreCase("summary, last 30 days", "summary_by_user", last30),
        StoreCase("summary, all time", "summary_by_user", whole),
        StoreCase(
            "summary, last 30 days, text 'invoice' (raw rows)",
            "summary_by_user",
            replace(last30, text="invoice"),
        ),
        StoreCase("user: heaviest, all time", "summary_by_user", whole.for_user(HEAVY)),
        StoreCase("user: heaviest, all time", "hour_weekday_counts", whole.for_user(HEAVY)),
        StoreCase("calendar: month", "searches_per_day", replace(last30, start=month)),
        StoreCase(
            "calendar: year", "searches_per_day", replace(whole, start=date(last.year, 1, 1))
        ),
        StoreCase("day: last", "hour_weekday_counts", replace(whole, start=last)),
        StoreCase(
            f"{EVERY}: summary, all time",
            "summary_by_user",
            replace(whole, scope=TenantScope.every_tenant()),
        ),
    ]


def digest(frame: pd.DataFrame) -> str:
    """The answer's text, hashed: equal across stores when the frames print the same."""
    return hashlib.sha256(frame.to_csv(index=False).encode()).hexdigest()[:16]


def _timed(call: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    result = call()
    return (time.perf_counter() - started) * 1000, result


def _cold(call: Callable[[], Any]) -> tuple[float, float, Any]:
    """Wall and this process's CPU milliseconds (every thread: chDB's too; not a
    PostgreSQL server's): on a shared machine the CPU figure moves less with the load."""
    cpu = time.process_time()
    wall, result = _timed(call)
    return wall, (time.process_time() - cpu) * 1000, result


def _warm(call: Callable[[], Any]) -> float:
    return statistics.median(_timed(call)[0] for _ in range(WARM_CALLS))


def _rows(result: Any) -> int | None:
    return len(result) if hasattr(result, "__len__") else None


def measure_store_cases(store: Any, url: str, cases: list[StoreCase]) -> dict[str, Any]:
    """Cold and warm milliseconds, rows and answer digest of each case."""
    sql = isinstance(store, SqlStore)
    for case in cases:  # first-use costs, on a tenant the store does not hold
        absent = replace(case.filters, scope=TenantScope.one(ABSENT))
        getattr(store, case.method)(absent, TZ)
    out: dict[str, Any] = {}
    for case in cases:
        target = SqlStore(make_engine(url)) if sql else store
        cold, cpu, frame = _cold(lambda: case.call(target))  # noqa: B023
        warm = _warm(lambda: case.call(target))  # noqa: B023
        if sql:
            target.engine.dispose()
        out[case.key] = {
            "cold_ms": round(cold, 1),
            "cold_cpu_ms": round(cpu, 1),
            "warm_ms": round(warm, 1),
            "rows": len(frame),
            "digest": digest(frame),
        }
    return out


def measure_dashboard_cases(url: str, tenant: str) -> dict[str, Any]:
    """Every call of `bench.dashboard_cases` on a SQL store: new engine cold, then warm."""
    from bench.dashboard_cases import build_cases, probe_database

    probe = probe_database(url, TZ, tenant)
    cases = build_cases(probe)
    primer = make_engine(url)
    for case in build_cases(replace(probe, tenant=ABSENT)):
        case.direct(primer)
    primer.dispose()
    out: dict[str, Any] = {}
    for case in cases:
        engine = make_engine(url)
        cold, cpu, result = _cold(lambda: case.direct(engine))  # noqa: B023
        warm = _warm(lambda: case.direct(engine))  # noqa: B023
        engine.dispose()
        out[case.key] = {
            "cold_ms": round(cold, 1),
            "cold_cpu_ms": round(cpu, 1),
            "warm_ms": round(warm, 1),
            "rows": _rows(result),
        }
    return out


def answers(store: Any, cases: list[StoreCase]) -> dict[str, pd.DataFrame]:
    """Each case's frame, untimed: what the stores must agree on."""
    return {case.key: case.call(store) for case in cases}
