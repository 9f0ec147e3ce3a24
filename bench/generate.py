"""Synthetic archive searches at scale, written straight into the database for benchmarks.

The dashboard has to stay fast on years of a large tenant's searches, which the simulator
cannot serve over HTTP in reasonable time. This draws them in bulk with numpy instead:
~2,000 users with a heavy tail (one admin makes about half of all searches, most users a
handful), the `<>` system sender, office hours and quiet weekends, three years ending now
with slow growth, Mimecast's descriptions and sources, search texts (often empty) and a
reason on ~10%. Rows are sorted by time, as the ingest stores them, and carry what the
ingest would store: `event_key` (sha256 of a counter), lower-case `email_addr`, `raw_json`
as Mimecast sends the record, `ingested_at`, and `run_id` NULL.

    .venv/bin/python -m bench.generate --events 1000000 --url sqlite:////tmp/bench1m.db

SQLite is loaded with `executemany` in large transactions, PostgreSQL with COPY, while a
forked process builds the next chunk of rows. The schema comes from `open_database`; a
database that already holds searches is refused unless `--append` is given.
"""

from __future__ import annotations

import argparse
import multiprocessing
import time
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
from sqlalchemy import Engine, func, select

from bench.synthetic import (
    CHUNK_ROWS,
    COLUMNS,
    TENANT,
    Events,
    Tenant,
    build_tenant,
    draw_events,
    rows,
)
from db import rollups
from db.engine import open_database
from db.models import SearchLog
from ingest.page_writer import rebuild_filter_values
from ingest.store import PageCounts, Store


@dataclass(frozen=True)
class _Work:
    events: Events
    tenant: Tenant
    first_key: int
    postgres: bool


_work: _Work | None = None
"""What the forked row builder works on: inherited at fork, never pickled."""


def _build_chunk(bounds: tuple[int, int]) -> list[tuple[Any, ...]]:
    assert _work is not None
    return list(rows(_work.events, _work.tenant, _work.first_key, *bounds, _work.postgres))


def _chunks(work: _Work) -> Iterator[list[tuple[Any, ...]]]:
    """Chunks of rows built in a forked process, so building overlaps the inserts."""
    global _work
    _work = work
    total = len(work.events.seconds)
    bounds = [(start, min(start + CHUNK_ROWS, total)) for start in range(0, total, CHUNK_ROWS)]
    pending: deque[Future[list[tuple[Any, ...]]]] = deque()
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("fork")) as pool:
        for chunk_bounds in bounds:
            pending.append(pool.submit(_build_chunk, chunk_bounds))
            if len(pending) > 2:  # at most three chunks in memory
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()


def insert_rows(engine: Engine, chunks: Iterator[list[tuple[Any, ...]]]) -> None:
    """Write chunks of rows (COLUMNS order) into `search_logs`, each chunk committed."""
    (_insert_postgres if engine.dialect.name == "postgresql" else _insert_sqlite)(engine, chunks)


def _insert_sqlite(engine: Engine, chunks: Iterator[list[tuple[Any, ...]]]) -> None:
    raw = engine.raw_connection()
    try:
        conn = raw.driver_connection
        # A big page cache keeps the random event_key index inserts in memory.
        conn.execute("PRAGMA cache_size = -1048576")
        statement = (
            f"INSERT INTO search_logs ({', '.join(COLUMNS)}) "
            f"VALUES ({', '.join('?' * len(COLUMNS))})"
        )
        for chunk in chunks:
            conn.executemany(statement, chunk)
            conn.commit()
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        raw.close()


def _insert_postgres(engine: Engine, chunks: Iterator[list[tuple[Any, ...]]]) -> None:
    raw = engine.raw_connection()
    try:
        conn = raw.driver_connection
        statement = f"COPY search_logs ({', '.join(COLUMNS)}) FROM STDIN"
        for chunk in chunks:
            with conn.cursor() as cursor, cursor.copy(statement) as copy:
                for row in chunk:
                    copy.write_row(row)
            conn.commit()
        with conn.cursor() as cursor:
            conn.autocommit = True
            cursor.execute("VACUUM ANALYZE search_logs")
    finally:
        raw.close()


def _stored(engine: Engine) -> tuple[int, int]:
    """(rows, highest id) already in search_logs."""
    with engine.connect() as conn:
        count, top = conn.execute(select(func.count(), func.max(SearchLog.id))).one()
    return int(count), int(top or 0)


def record_run(engine: Engine, tenant: str, count: int, start: datetime, end: datetime) -> None:
    """A finished bootstrap run and the cursor, so the pages show no 'never ingested' notice."""
    store = Store(engine, tenant)
    run_id = store.start_run("bootstrap", start, end)
    store.finish_run(run_id, "ok", PageCounts(fetched=count, inserted=count), api_requests=0)
    store.advance_cursor(end, backfill_done=True)


def generate(
    url: str,
    events: int,
    *,
    users: int,
    years: float,
    seed: int,
    append: bool,
    tenant_name: str = TENANT,
) -> dict[str, Any]:
    started = time.perf_counter()
    engine = open_database(url)
    try:
        already, top_id = _stored(engine)
        if already and not append:
            raise SystemExit(
                f"{engine.url.render_as_string(hide_password=True)} already holds {already:,} "
                "searches: use a new database, or --append to add to it"
            )
        now = datetime.now(UTC).replace(microsecond=0)
        rng = np.random.default_rng(seed + top_id)
        tenant = build_tenant(users, rng, tenant_name)
        drawn = draw_events(events, tenant, now, years, rng)
        drawn_at = time.perf_counter()
        postgres = engine.dialect.name == "postgresql"

        work = _Work(drawn, tenant, top_id, postgres)
        insert_rows(engine, _chunks(work))
        first = datetime.fromtimestamp(int(drawn.seconds[0]), UTC) if events else now
        record_run(engine, tenant_name, events, first - timedelta(seconds=1), now)
        rebuild_filter_values(engine)
        loaded_at = time.perf_counter()
        with engine.begin() as conn:  # what the ingest keeps page by page, counted at once
            rollups.rebuild(conn)
        seconds = time.perf_counter() - started
        counts = np.bincount(drawn.user, minlength=len(tenant.emails))
        return {
            "events": events,
            "seconds": round(seconds, 1),
            "draw_seconds": round(drawn_at - started, 1),
            "rollup_seconds": round(seconds - (loaded_at - started), 1),
            "events_per_s": round(events / seconds),
            "users_with_searches": int((counts > 0).sum()),
            "heaviest_user": f"{tenant.emails[0]} ({int(counts[0]):,} searches)",
            "median_searches_per_user": float(np.median(counts[counts > 0])),
            "first_event": str(first),
            "last_event": str(datetime.fromtimestamp(int(drawn.seconds[-1]), UTC)),
        }
    finally:
        engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, required=True, help="searches to write")
    parser.add_argument("--url", required=True, help="SQLAlchemy URL of the database")
    parser.add_argument("--users", type=int, default=2_000)
    parser.add_argument("--years", type=float, default=3.0, help="span ending now")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--append", action="store_true", help="add to a non-empty database")
    args = parser.parse_args()
    result = generate(
        args.url,
        args.events,
        users=args.users,
        years=args.years,
        seed=args.seed,
        append=args.append,
    )
    for key, value in result.items():
        print(f"{key:>25}: {value}")


if __name__ == "__main__":
    main()
