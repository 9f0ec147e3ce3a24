"""Tenant isolation as a property (issue 16): over random data in three tenants — the same
addresses in each, identical searches in two, hostile values — every data function, every
cached page-data function and every CSV export asked for tenant A returns exactly what a
database holding only A's data returns, on SQLite and PostgreSQL.

The reads are enumerated from `db.queries.__all__` and `dashboard.cached`: a new read fails
`test_every_read_is_compared_or_exempt_with_a_reason` until it is compared here or exempt.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import streamlit as st_streamlit
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dashboard import cached
from dashboard.export import csv_from_chunks, per_day_csv, summary_csv
from db import queries
from db.alerts import (
    AlertFilters,
    AlertKeyset,
    alert_figures,
    alert_keyset_page,
    count_alerts,
    list_alerts,
    newest_alert_id,
    open_alert_counts,
    open_alert_days,
)
from db.engine import open_database
from db.queries import SEARCH_COLUMNS, Keyset, SearchFilters
from db.scope import TenantScope
from db.state import read_status
from tests.support.backends import ALL_BACKENDS, fresh_database_url
from tests.support.isolation import (
    ADDRESSES,
    DAYS,
    RULES,
    SOURCES,
    TEXTS,
    TYPES,
    ZONES,
    A,
    Installations,
    assert_same,
    day_range,
    tenant_alerts,
    tenant_data,
    write_tenants,
)

SCOPE = TenantScope.one(A)
RAW_OR_ROLLUPS = (False, True)

COMPARED = {
    "activity", "bucket_counts", "count_searches", "filter_options", "hour_weekday_counts",
    "ingest_health", "iter_searches", "search_keyset_page", "search_page", "searches_by_user",
    "searches_per_day", "summary_by_user", "user_counts",
}  # fmt: skip
EXEMPT = {
    "_newest_first": "builds a statement (its rows are read by search_page and iter_searches)",
    "conditions": "builds the WHERE clause every compared read runs",
    "has_reason": "builds a condition used inside the compared aggregates",
    "data_version": "the installation's cache key (row-id maxima), not a tenant's data",
    "ingest_version": "the installation's key of the ingest's state, not a tenant's data",
    "newest_search_id": "a row id bounding a keyset listing; compared through its pages",
    "bucket_seconds": "pure: a time zone's bucket length, no database",
    "offset_changes": "pure: a time zone's offset changes, no database",
    "utc_bounds": "pure: local days as UTC bounds, no database",
    "per_day_from_buckets": "pure: reshapes bucket_counts' frame (compared via activity)",
    "hour_weekday_from_buckets": "pure: reshapes bucket_counts' frame (compared via activity)",
}
CACHED_EXEMPT = {
    "engine": "a connection pool per URL, no data",
    "store": "the backend's reads over the engine, no data (its reads are compared above)",
    "clickhouse_stores": "the process's ClickHouse and control connections, no data",
    "data_version": "the installation's cache key, not a tenant's data",
    "ingest_version": "the installation's key of the ingest's state, not a tenant's data",
}


@pytest.fixture(scope="module", params=ALL_BACKENDS)
def places(request: pytest.FixtureRequest, tmp_path_factory) -> Iterator[Installations]:
    folder = tmp_path_factory.mktemp(f"isolation-{request.param}")
    urls = [
        fresh_database_url(request.param, folder / name, f"t_isolation_{name}")
        for name in ("every", "only")
    ]
    made = Installations(open_database(urls[0]), open_database(urls[1]))
    yield made
    made.every.dispose()
    made.only.dispose()


def search_filters(scope: TenantScope) -> st.SearchStrategy[SearchFilters]:
    """Each dimension usually unfiltered, so a filter set selects rows more often than not."""
    days = st.one_of(
        st.just(day_range(0, DAYS + 1)),
        st.tuples(st.integers(0, DAYS + 1), st.integers(0, DAYS)).map(lambda d: day_range(*d)),
    )

    def some(values: tuple[str, ...]) -> st.SearchStrategy[tuple[str, ...]]:
        chosen = st.lists(st.sampled_from(values), min_size=1, max_size=2, unique=True)
        return st.one_of(st.just(()), st.just(()), chosen.map(tuple))

    return st.builds(
        lambda span, users, sources, types, text, system: SearchFilters(
            scope, span[0], span[1], users, sources, types, text, system
        ),
        days,
        some((*ADDRESSES, "nobody@corp.example")),
        some(SOURCES),
        some(TYPES),
        st.one_of(st.just(""), st.sampled_from(TEXTS)),
        st.one_of(st.just(True), st.booleans()),
    )


def everything(scope: TenantScope) -> SearchFilters:
    """Every day of the data, nothing else filtered: every stored row of `scope`."""
    return SearchFilters(scope, *day_range(0, DAYS + 1))


def search_reads(f: SearchFilters, tz: str, limit: int) -> dict[str, Callable[[Any], Any]]:
    """Every read of searches, by name, as a function of the engine."""
    reads: dict[str, Callable[[Any], Any]] = {
        "filter_options": lambda e: queries.filter_options(e, f.scope),
        "ingest_health": lambda e: queries.ingest_health(e, f.scope),
        "read_status": lambda e: read_status(e, f.scope, runs=20, rejects=50),
        "search_page": lambda e: queries.search_page(e, f, tz, limit=limit, offset=1),
        "search_page older half": lambda e: queries.search_page(
            e, f, tz, limit=limit, offset=limit, total=queries.count_searches(e, f, tz, raw=True)
        ),
        "searches_by_user": lambda e: queries.searches_by_user(e, f, tz, per_user=limit),
        "iter_searches": lambda e: list(queries.iter_searches(e, f, tz, chunk_rows=limit)),
        "search_keyset_page": lambda e: keyset_pages(e, f, tz, limit),
        "csv export": lambda e: csv_from_chunks(queries.iter_searches(e, f, tz), SEARCH_COLUMNS),
        "per-day csv": lambda e: per_day_csv(queries.searches_per_day(e, f, tz)),
        "summary csv": lambda e: summary_csv(queries.summary_by_user(e, f, tz)),
    }
    for raw in RAW_OR_ROLLUPS:
        for name in (
            "count_searches", "hour_weekday_counts", "searches_per_day", "summary_by_user",
            "user_counts",
        ):  # fmt: skip
            reads[f"{name} raw={raw}"] = lambda e, n=name, r=raw: getattr(queries, n)(
                e, f, tz, raw=r
            )
        for hours in (False, True):
            reads[f"activity raw={raw} hours={hours}"] = lambda e, r=raw, h=hours: queries.activity(
                e, f, tz, hours=h, raw=r
            )
            reads[f"bucket_counts raw={raw} days={hours}"] = lambda e, r=raw, d=hours: (
                queries.bucket_counts(e, f, tz, days_only=d, raw=r)
            )
    return reads


def keyset_pages(engine: Any, f: SearchFilters, tz: str, limit: int) -> list[Any]:
    """Every keyset page of the listing: the frames, and whether another page follows."""
    # every row, not newest_search_id: ids differ by database (and are INTEGER on PostgreSQL)
    keyset: Keyset | None = Keyset(snapshot_id=2**31 - 1)
    pages = []
    while keyset is not None:
        frame, keyset = queries.search_keyset_page(engine, f, tz, keyset, limit=limit)
        pages.append((frame, keyset is None))
    return pages


def alert_reads(f: AlertFilters, limit: int) -> dict[str, Callable[[Any], Any]]:
    def pages(engine: Any) -> list[Any]:
        keyset: AlertKeyset | None = AlertKeyset(newest_alert_id(engine, f.scope))
        found = []
        while keyset is not None:
            frame, keyset = alert_keyset_page(engine, f, keyset, limit=limit)
            found.append((frame, keyset is None))
        return found

    def figures(engine: Any) -> list[str]:
        """Asked for every alert id in the database, other tenants' too: only A's answer."""
        every = list_alerts(engine, AlertFilters(TenantScope.every_tenant()))["id"]
        found = (alert_figures(engine, f.scope, int(i)) for i in sorted(every))
        return [figures for figures in found if figures is not None]

    return {
        "list_alerts": lambda e: list_alerts(e, f),
        "list_alerts limited": lambda e: list_alerts(e, f, limit=limit),
        "count_alerts": lambda e: count_alerts(e, f),
        "open_alert_counts": lambda e: open_alert_counts(e, f),
        "open_alert_days": lambda e: open_alert_days(e, f),
        "alert_keyset_page": pages,
        "alert_figures": figures,
    }


def cached_reads(f: SearchFilters, tz: str, limit: int) -> dict[str, Callable[[str], Any]]:
    """Every cached page-data function, by name, as a function of the database URL."""
    version = "isolation"  # one key per example: the caches are cleared before each
    return {
        "ingest_health": lambda u: cached.ingest_health(u, version, f.scope),
        "filter_options": lambda u: cached.filter_options(u, version, f.scope),
        "activity": lambda u: cached.activity(u, version, f, tz),
        "summary_by_user": lambda u: cached.summary_by_user(u, version, f, tz),
        "searches_per_day": lambda u: cached.searches_per_day(u, version, f, tz),
        "hour_weekday_counts": lambda u: cached.hour_weekday_counts(u, version, f, tz),
        "user_counts": lambda u: cached.user_counts(u, version, f, tz),
        "count_searches": lambda u: cached.count_searches(u, version, f, tz),
        "search_page": lambda u: cached.search_page(u, version, f, tz, limit, 0),
        "searches_by_user": lambda u: cached.searches_by_user(u, version, f, tz, limit),
        "ingest_status": lambda u: cached.ingest_status(u, version, f.scope),
    }


alert_filters = st.builds(
    lambda span, rules, users, statuses: AlertFilters(
        SCOPE, span[0], span[1], rules=rules, users=users, statuses=statuses
    ),
    st.one_of(st.just((None, None)), st.tuples(st.integers(0, DAYS), st.integers(0, 3)).map(
        lambda d: day_range(*d)
    )),
    st.lists(st.sampled_from(RULES), max_size=1).map(tuple),
    st.lists(st.sampled_from(ADDRESSES), max_size=2, unique=True).map(tuple),
    st.sampled_from(((), (), ("new",), ("dismissed",))),
)  # fmt: skip


def check_a_reads_the_same_from_both(places: Installations, data: st.DataObject) -> int:
    """Write one example's tenants, compare every read of A's scope; return A's rows."""
    places.clear()
    st_streamlit.cache_data.clear()
    write_tenants(places, data.draw(tenant_data()), data.draw(tenant_alerts()))
    for filters in (everything(SCOPE), data.draw(search_filters(SCOPE))):
        tz = data.draw(st.sampled_from(ZONES))
        limit = data.draw(st.integers(1, 5))
        for name, read in search_reads(filters, tz, limit).items():
            assert_same(read(places.every), read(places.only), f"{name} {filters} {tz}")
        urls = [e.url.render_as_string(hide_password=False) for e in (places.every, places.only)]
        for name, read in cached_reads(filters, tz, limit).items():
            assert_same(read(urls[0]), read(urls[1]), f"cached.{name} {filters} {tz}")
        st_streamlit.cache_data.clear()
    for alerts in (AlertFilters(SCOPE), data.draw(alert_filters)):
        for name, read in alert_reads(alerts, data.draw(st.integers(1, 4))).items():
            assert_same(read(places.every), read(places.only), f"{name} {alerts}")
    return queries.count_searches(places.only, everything(SCOPE), "UTC")


ISOLATION_SETTINGS = {
    "deadline": None,
    "database": None,
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large],
}


@settings(max_examples=8, **ISOLATION_SETTINGS)
@given(data=st.data())
def test_every_read_of_a_tenant_equals_a_database_holding_only_that_tenant(places, data):
    check_a_reads_the_same_from_both(places, data)


@pytest.mark.slow
@pytest.mark.timeout(1800)
@settings(max_examples=100, **ISOLATION_SETTINGS)
@given(data=st.data())
def test_many_reads_of_a_tenant_equal_a_database_holding_only_that_tenant(places, data):
    check_a_reads_the_same_from_both(places, data)


def test_every_read_is_compared_or_exempt_with_a_reason() -> None:
    reads = {n for n in queries.__all__ if inspect.isfunction(getattr(queries, n))}
    assert reads - COMPARED - EXEMPT.keys() == set(), "compare each new read above, or exempt it"
    assert (COMPARED | EXEMPT.keys()) - reads == set(), "a read named here is gone"
    run = {
        name.split()[0] for name in search_reads(SearchFilters(SCOPE, *day_range(0, 1)), "UTC", 1)
    }
    assert COMPARED - run == set(), "a read named as compared is not run by search_reads"
    page_data = {
        n for n, v in vars(cached).items() if getattr(v, "__module__", "") == cached.__name__
    }
    listed = set(cached_reads(SearchFilters(SCOPE, *day_range(0, 1)), "UTC", 1))
    assert page_data - listed - CACHED_EXEMPT.keys() == set(), "compare each new cached read"


def test_the_comparison_fails_when_a_read_sees_every_tenant(places) -> None:
    """The harness can fail: the same reads in the every-tenant scope differ from A's."""
    places.clear()
    data = {A: [_search("a@acme.example", "mine")], "beta-2": [_search("a@acme.example", "x")]}
    write_tenants(places, {**data, "gamma_3": []}, [])
    every, alone = everything(TenantScope.every_tenant()), everything(SCOPE)
    assert queries.count_searches(places.every, every, "UTC") == 2
    with pytest.raises(AssertionError):
        assert_same(
            list(queries.iter_searches(places.every, every, "UTC")),
            list(queries.iter_searches(places.only, alone, "UTC")),
            "iter_searches",
        )


def _search(email: str, text: str) -> dict[str, object]:
    return {"createTime": "2026-03-27T10:00:00+0000", "emailAddr": email, "searchText": text}
