"""Many tenants' synthetic searches in one database, interleaved as the ingest writes them.

The benchmark of many tenants (`bench/tenants_pages.py`) compares one tenant's pages in a
database shared with 49 others against the same tenant alone. For the comparison to mean
anything the shared database must be laid out as a real one is: the ingest polls every
tenant each cycle, so a tenant's rows are scattered over the table in runs of a few
minutes, not stored together. Rows are written here hour by hour, each hour tenant by
tenant, by the same bulk path as `bench/generate.py` (COPY on PostgreSQL), then the
rollups and filter values are counted and every table analysed.

Each tenant is drawn from its own seed, so a tenant's searches are the same whichever
other tenants are written with it: the single-tenant database holds exactly the shared
one's rows of that tenant (same keys, same order), and every answer must be identical.
"""

from __future__ import annotations

import multiprocessing
from collections import deque
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
from sqlalchemy import Engine, func, select, text

from bench.checks import fail
from bench.generate import insert_rows, record_run
from bench.synthetic import DAY, Events, Tenant, build_tenant, draw_events, rows
from db import rollups
from db.engine import open_database
from db.models import SearchLog
from ingest.page_writer import rebuild_filter_values

HOUR = 3_600


@dataclass(frozen=True)
class Shape:
    """How many tenants, of what size, over how long, ending when."""

    tenants: int
    users: int
    days: int
    events_per_tenant: int
    now: datetime
    seed: int = 2026

    def names(self) -> list[str]:
        return [f"tenant-{number:02d}" for number in range(1, self.tenants + 1)]


@dataclass(frozen=True)
class Drawn:
    """One tenant's users and searches, sorted by time."""

    tenant: Tenant
    events: Events


def draw(shape: Shape, name: str) -> Drawn:
    """Tenant `name`'s users and searches: the same for the same shape and name."""
    rng = np.random.default_rng([shape.seed, int(name.rsplit("-", 1)[1])])
    tenant = build_tenant(shape.users, rng, name)
    events = draw_events(shape.events_per_tenant, tenant, shape.now, 0, rng, days=shape.days)
    return Drawn(tenant, events)


_drawn: Sequence[Drawn] = ()
"""What the forked row builder works on: inherited at fork, never pickled."""


def _day_rows(day: int, postgres: bool) -> list[tuple[Any, ...]]:
    """Day `day`'s rows (unix day number): hour by hour, each hour tenant by tenant."""
    edges = np.arange(day * DAY, (day + 1) * DAY + 1, HOUR)
    bounds = [np.searchsorted(d.events.seconds, edges) for d in _drawn]
    out: list[tuple[Any, ...]] = []
    for hour in range(24):
        for drawn, cut in zip(_drawn, bounds, strict=True):
            start, stop = int(cut[hour]), int(cut[hour + 1])
            if stop > start:
                out.extend(rows(drawn.events, drawn.tenant, 0, start, stop, postgres))
    return out


def _chunks(days: range, postgres: bool) -> Iterator[list[tuple[Any, ...]]]:
    """A day of rows at a time, built in a forked process while the last one is written."""
    pending: deque[Future[list[tuple[Any, ...]]]] = deque()
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("fork")) as pool:
        for day in days:
            pending.append(pool.submit(_day_rows, day, postgres))
            if len(pending) > 2:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()


def load(url: str, shape: Shape, names: Sequence[str]) -> int:
    """Write tenants `names` of `shape` into the empty database at `url`; rows written."""
    global _drawn
    _drawn = [draw(shape, name) for name in names]
    engine = open_database(url)
    try:
        with engine.connect() as conn:
            already = conn.execute(select(func.count()).select_from(SearchLog)).scalar()
        if already:
            shown = engine.url.render_as_string(hide_password=True)
            fail(f"{shown} already holds {already:,} searches: use a new database, or --reuse")
        seconds = np.concatenate([d.events.seconds for d in _drawn])
        first_day, last_day = int(seconds.min()) // DAY, int(seconds.max()) // DAY
        insert_rows(engine, _chunks(range(first_day, last_day + 1), _is_postgres(engine)))
        for drawn in _drawn:
            first = datetime.fromtimestamp(int(drawn.events.seconds[0]), UTC)
            count = len(drawn.events.seconds)
            record_run(engine, drawn.tenant.name, count, first - timedelta(seconds=1), shape.now)
        rebuild_filter_values(engine)
        with engine.begin() as conn:
            rollups.rebuild(conn)
        _analyse(engine)
        return len(seconds)
    finally:
        _drawn = ()
        engine.dispose()


def cluster_keyed_tables(url: str) -> list[str]:
    """Rewrite every rollup table and `filter_values` in key order (PostgreSQL's CLUSTER):
    a tenant's rows then share pages instead of lying among every other tenant's."""
    engine = open_database(url)
    tables = [table.name for table in rollups.ROLLUP_TABLES] + ["filter_values"]
    try:
        if not _is_postgres(engine):
            fail("--cluster is for PostgreSQL: SQLite keeps these tables in key order already")
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            for table in tables:
                conn.execute(text(f"CLUSTER {table} USING ux_{table}_key"))
                conn.execute(text(f"VACUUM ANALYZE {table}"))
    finally:
        engine.dispose()
    return tables


def _is_postgres(engine: Engine) -> bool:
    return engine.dialect.name == "postgresql"


def _analyse(engine: Engine) -> None:
    """Fresh planner statistics on every table, so neither database is judged on stale ones."""
    if _is_postgres(engine):
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))
    else:
        with engine.begin() as conn:
            conn.execute(text("ANALYZE"))
