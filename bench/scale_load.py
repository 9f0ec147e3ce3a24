"""The scale benchmark's stores, loaded in bulk from one generator (`bench/scale_rows.py`).

Every store gets the same rows for the same shape, seed and anchor: SQLite, libSQL and
PostgreSQL as `generate_tenants.load` writes them (executemany or COPY a day per
transaction, then the runs, cursors, filter values and rollups as the ingest leaves them,
and fresh statistics); chDB into the ClickHouse store's own tables in inserts of at least
BLOCK_ROWS rows, the hourly rollup filled by its materialized view as on the ingest's path.
"""

from __future__ import annotations

import ctypes
import gc
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import func, select

from bench import generate_tenants
from bench.checks import fail
from bench.generate import insert_rows, record_run
from bench.generate_tenants import Shape
from bench.scale_rows import day_chunks
from db import rollups
from db.clickhouse.schema import INSERT_SETTINGS
from db.engine import open_database, redact_url, sqlite_path
from db.models import EVENT_COLUMNS, SearchLog
from db.store import SqlStore
from ingest.page_writer import rebuild_filter_values

BLOCK_ROWS = 200_000
"""Rows per chDB insert: ClickHouse makes a part per insert and month and merges later."""
STORES = ("sqlite", "libsql", "postgresql", "chdb")
USERS = 2_000
"""Users per tenant: the shape of `bench/generate.py`'s tenant (one heavy admin, a tail)."""


@dataclass(frozen=True)
class Anchor:
    """The history ends the day before `fresh_day`; the write-rate phase writes that day,
    so detection's new day is a day no load wrote (all in the past of the wall clock)."""

    fresh_day: date

    @property
    def now(self) -> datetime:
        """The last instant of the history: the end of the day before the fresh day."""
        return datetime.combine(self.fresh_day, dtime(), UTC) - timedelta(seconds=1)


def default_anchor() -> Anchor:
    """Two days before today (UTC): the fresh day and its detection overlap are past."""
    return Anchor(datetime.now(UTC).date() - timedelta(days=2))


def shape_for(tenants: int, per_tenant: int, days: int, anchor: Anchor, seed: int) -> Shape:
    return Shape(tenants, USERS, days, per_tenant, anchor.now, seed)


def open_store(store: str, url: str) -> Any:
    """A `db.store.SearchStore` for `url` (the schema created or migrated)."""
    if store == "chdb":
        from db.clickhouse.store import ClickHouseStore

        return ClickHouseStore.open(url)
    return SqlStore(open_database(url))


def close_store(search_store: Any) -> None:
    if isinstance(search_store, SqlStore):
        search_store.engine.dispose()
    else:
        search_store.close()


def load(
    store: str, url: str, shape: Shape, distinct_keys: bool = True, first_tenant: int = 1
) -> dict[str, Any]:
    """Write every tenant of `shape` into the empty store, or (SQL stores) tenants from
    number `first_tenant` on into a store holding exactly the ones before; rows, seconds."""
    started = time.perf_counter()
    if store == "chdb":
        if first_tenant != 1:
            fail("adding tenants to a loaded store is for the SQL stores")
        rows = _load_chdb(url, shape, distinct_keys)
    else:
        rows = _load_sql(url, shape, distinct_keys, first_tenant)
    return {"rows": rows, "load_seconds": round(time.perf_counter() - started, 1)}


def _load_sql(url: str, shape: Shape, distinct_keys: bool, first_tenant: int = 1) -> int:
    """`generate_tenants.load`'s way (executemany or COPY a day at a time, then the run,
    cursor, filter values and rollups as the ingest leaves them, and fresh statistics).

    With `first_tenant` > 1 the store must hold tenants 1 to `first_tenant` - 1 and no
    other: the new tenants' rows are counted into the rollups after the ones there (a
    store grown from 20 to 50 tenants without loading the first 20 again)."""
    engine = open_database(url)
    try:
        with engine.connect() as conn:
            held = conn.execute(select(func.count()).select_from(SearchLog)).scalar() or 0
            tenants = set(conn.execute(select(SearchLog.tenant).distinct()).scalars())
            last_id = conn.execute(select(func.max(SearchLog.id))).scalar() or 0
        if first_tenant == 1 and held:
            fail(f"{redact_url(url)} already holds {held:,} searches: use a new database")
        if first_tenant > 1 and tenants != set(shape.names()[: first_tenant - 1]):
            fail(f"{redact_url(url)} does not hold exactly tenants 1 to {first_tenant - 1}")
        postgres = engine.dialect.name == "postgresql"
        drawn, chunks = day_chunks(shape, postgres, distinct_keys, first_tenant)
        insert_rows(engine, chunks)
        for one in drawn:
            first = datetime.fromtimestamp(int(one.events.seconds[0]), UTC)
            count = len(one.events.seconds)
            record_run(engine, one.tenant.name, count, first - timedelta(seconds=1), shape.now)
        rebuild_filter_values(engine)
        with engine.begin() as conn:
            if first_tenant == 1:
                rollups.rebuild(conn)
            else:
                rollups.add_rows_after(conn, last_id)
        generate_tenants._analyse(engine)
        return sum(len(one.events.seconds) for one in drawn)
    finally:
        engine.dispose()


def _chdb_frame(chunk: list[tuple[Any, ...]]) -> pd.DataFrame:
    """A day's rows (SQLite's text times) as the typed columns of `search_logs`."""
    frame = pd.DataFrame.from_records(chunk, columns=list(EVENT_COLUMNS))
    for column in ("create_time", "ingested_at"):
        frame[column] = pd.to_datetime(frame[column], format="%Y-%m-%d %H:%M:%S.%f", utc=True)
    frame["run_id"] = 0
    return frame


def _load_chdb(url: str, shape: Shape, distinct_keys: bool) -> int:
    # The row builder forks before chDB starts its threads: take the first day first.
    drawn, chunks = day_chunks(shape, False, distinct_keys)
    first = next(chunks, [])
    search_store = open_store("chdb", url)
    try:
        held = search_store.client.query("SELECT count() FROM search_logs").result_rows[0][0]
        if held:
            fail(f"{url} already holds {held:,} searches: use a new folder")
        written = 0
        for block in _blocks(_with_first(first, chunks)):
            frame = _chdb_frame(block)
            search_store.client.insert_df("search_logs", frame, settings=INSERT_SETTINGS)
            written += len(frame)
            del frame, block
            _return_freed_memory()
        for one in drawn:
            search_store.advance_cursor(one.tenant.name, shape.now, backfill_done=True)
        return written
    finally:
        close_store(search_store)


def _return_freed_memory() -> None:
    """Free the block's frame now and hand the freed heap back to the system (glibc).

    Loading 50 × 1M into chDB grew the process by ~0.17 GB per million rows, past 18 GB
    at 25M, where ClickHouse itself tracked under 150 MB: the frames wait for the cyclic
    collector, and their hundreds of thousands of short strings leave glibc's heap
    fragmented. Collecting and trimming after each block keeps it near 4 GB.
    """
    gc.collect()
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:  # not glibc: nothing to trim
        return
    libc.malloc_trim(0)


def _blocks(days: Iterator[list[Any]]) -> Iterator[list[Any]]:
    """Days joined into inserts of at least BLOCK_ROWS rows: ClickHouse makes a part per
    insert and month, and merges them later; few large inserts are its bulk path."""
    block: list[Any] = []
    for day in days:
        block.extend(day)
        if len(block) >= BLOCK_ROWS:
            yield block
            block = []
    if block:
        yield block


def _with_first(first: list[Any], rest: Iterator[list[Any]]) -> Iterator[list[Any]]:
    yield first
    yield from rest


def disk_bytes(store: str, url: str) -> int:
    """What the store occupies on disk: the file(s), the folder, or the database."""
    if store == "chdb":
        folder = Path(url.removeprefix("chdb://"))
        return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
    if store == "postgresql":
        from sqlalchemy import text

        engine = open_database(url)
        try:
            with engine.connect() as conn:
                return int(
                    conn.execute(text("SELECT pg_database_size(current_database())")).scalar()
                )
        finally:
            engine.dispose()
    path = sqlite_path(url.replace("sqlite+libsql://", "sqlite://"))
    if path is None:
        fail(f"{url}: not a file URL")
    return sum(
        Path(f"{path}{s}").stat().st_size for s in ("", "-wal") if Path(f"{path}{s}").exists()
    )


def copy_file(url: str, target: str) -> None:
    """A loaded SQLite store's file (its WAL checkpointed by the load) copied to `target`."""
    path = sqlite_path(url)
    if path is None:
        fail(f"--copy-to is for a SQLite file, not {redact_url(url)}")
    for suffix in ("", "-wal"):
        if Path(f"{path}{suffix}").exists():
            shutil.copyfile(f"{path}{suffix}", f"{target}{suffix}")
