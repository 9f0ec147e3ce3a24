"""The scale benchmark (`bench/store_scale.py`) loads the same searches into every store and
reads each page's frames through `SearchStore`: at a small scale every store's answers must
be SQLite's, tenant by tenant, and the write phase must store each fresh page once."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pandas as pd
import pytest

from bench.checks import BenchmarkFailed
from bench.generate_tenants import Shape
from bench.scale_load import Anchor, close_store, load, open_store, shape_for
from bench.scale_reads import EVERY, HEAVY, answers, store_cases
from bench.scale_write import write_rate
from tests.support.backends import fresh_database_url

ANCHOR = Anchor(date(2026, 11, 20))
SHAPE = shape_for(2, 1_500, 45, ANCHOR, seed=7)
FIRST, LAST = date(2026, 10, 5), ANCHOR.fresh_day  # in Berlin time, every search


def store_url(backend: str, folder: Path) -> str:
    if backend == "chdb":
        return f"chdb://{folder / 'clickhouse'}"
    return fresh_database_url(backend, folder, "bench_store_scale")


def loaded_answers(
    backend: str, folder: Path, shape: Shape, distinct_keys: bool = True
) -> dict[str, dict[str, pd.DataFrame]]:
    """Every tenant's answers (and the every-tenant summary) from a freshly loaded store."""
    url = store_url(backend, folder)
    loaded = load(backend, url, shape, distinct_keys)
    assert loaded["rows"] == shape.tenants * shape.events_per_tenant
    store = open_store(backend, url)
    try:
        return {name: answers(store, store_cases(name, FIRST, LAST)) for name in shape.names()}
    finally:
        close_store(store)


@pytest.fixture(scope="module")
def sqlite_answers(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, pd.DataFrame]]:
    return loaded_answers("sqlite", tmp_path_factory.mktemp("sqlite"), SHAPE)


@pytest.mark.parametrize(
    "backend",
    [
        pytest.param("libsql", marks=pytest.mark.libsql),
        pytest.param("postgresql", marks=pytest.mark.postgres),
        "chdb",
    ],
)
def test_every_store_answers_each_page_as_sqlite_does(
    backend: str, tmp_path: Path, sqlite_answers: dict[str, dict[str, pd.DataFrame]]
) -> None:
    got = loaded_answers(backend, tmp_path, SHAPE)
    for tenant, frames in sqlite_answers.items():
        for key, expected in frames.items():
            assert len(expected), f"{tenant} {key}: no rows on SQLite"
            pd.testing.assert_frame_equal(
                got[tenant][key], expected, check_dtype=False, obj=f"{backend} {tenant} {key}"
            )


def test_each_tenant_answers_with_its_own_searches(
    sqlite_answers: dict[str, dict[str, pd.DataFrame]],
) -> None:
    key = "summary, all time · summary_by_user"
    every = f"{EVERY}: summary, all time · summary_by_user"

    def heavy(frame: pd.DataFrame) -> int:
        return int(frame.set_index("email").loc[HEAVY, "searches"])

    one, two = (sqlite_answers[name] for name in SHAPE.names())
    assert heavy(one[key]) != heavy(two[key])  # the address both tenants have
    assert heavy(one[every]) == heavy(one[key]) + heavy(two[key])
    assert int(one[key]["searches"].sum()) == SHAPE.events_per_tenant


@pytest.mark.parametrize("backend", ["sqlite", "chdb"])
def test_write_phase_stores_each_fresh_page_once(backend: str, tmp_path: Path) -> None:
    shape = shape_for(1, 300, 10, ANCHOR, seed=7)
    url = store_url(backend, tmp_path)
    load(backend, url, shape)
    result = write_rate(backend, url, shape, ANCHOR, pages=3)  # checks a replay stores none
    assert result["rows"] == 300
    store = open_store(backend, url)
    try:
        whole = store_cases(shape.names()[0], FIRST, ANCHOR.fresh_day + timedelta(days=1))[1]
        # on SQL, as many pages again through the ingest's PageWriter
        fresh = 300 if backend == "chdb" else 600
        assert int(whole.call(store)["searches"].sum()) == 300 + fresh
    finally:
        close_store(store)


def test_every_tenant_summary_counts_a_key_held_by_two_tenants_twice_on_chdb(
    tmp_path: Path, sqlite_answers: dict[str, dict[str, pd.DataFrame]]
) -> None:
    """Content keys can coincide between tenants: the ClickHouse reads must count them per
    tenant, as SQL does (the reads at 4328ad5 merged their uniqExact states: it failed there)."""
    every = f"{EVERY}: summary, all time · summary_by_user"
    got = loaded_answers("chdb", tmp_path, SHAPE, distinct_keys=False)["tenant-01"][every]
    pd.testing.assert_frame_equal(got, sqlite_answers["tenant-01"][every], check_dtype=False)


@pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def test_tenants_added_to_a_loaded_store_answer_as_one_load_does(
    backend: str, tmp_path: Path, sqlite_answers: dict[str, dict[str, pd.DataFrame]]
) -> None:
    """`--first-tenant`: a store grown from 1 to 2 tenants (the new rows counted into the
    rollups after the old) answers every case as the store loaded with both at once."""
    url = store_url(backend, tmp_path)
    first = shape_for(1, SHAPE.events_per_tenant, SHAPE.days, ANCHOR, seed=SHAPE.seed)
    assert load(backend, url, first)["rows"] == SHAPE.events_per_tenant
    assert load(backend, url, SHAPE, first_tenant=2)["rows"] == SHAPE.events_per_tenant
    store = open_store(backend, url)
    try:
        for tenant, frames in sqlite_answers.items():
            got = answers(store, store_cases(tenant, FIRST, LAST))
            for key, expected in frames.items():
                pd.testing.assert_frame_equal(
                    got[key], expected, check_dtype=False, obj=f"{backend} {tenant} {key}"
                )
    finally:
        close_store(store)


def test_adding_tenants_refuses_a_store_that_does_not_hold_exactly_the_ones_before(
    tmp_path: Path,
) -> None:
    url = store_url("sqlite", tmp_path)
    with pytest.raises(BenchmarkFailed, match="does not hold exactly tenants 1 to 1"):
        load("sqlite", url, SHAPE, first_tenant=2)  # empty: tenant-01 is missing


def test_write_phase_writes_the_tenant_it_is_given_and_no_other(tmp_path: Path) -> None:
    """`--write-tenant`: a store grown by `--first-tenant` has its first tenant's fresh day
    written already; the write phase then writes another tenant's."""
    shape = shape_for(2, 300, 10, ANCHOR, seed=7)
    url = store_url("sqlite", tmp_path)
    load("sqlite", url, shape)
    assert write_rate("sqlite", url, shape, ANCHOR, pages=3, tenant="tenant-02")["rows"] == 300
    store = open_store("sqlite", url)
    try:
        for tenant, searches in (("tenant-01", 300), ("tenant-02", 300 + 600)):
            whole = store_cases(tenant, FIRST, ANCHOR.fresh_day + timedelta(days=1))[1]
            assert int(whole.call(store)["searches"].sum()) == searches, tenant
    finally:
        close_store(store)
