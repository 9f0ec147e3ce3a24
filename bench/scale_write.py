"""The scale benchmark's writes: a fresh day of pages through the product's write path, and
`python -m ingest detect` for one tenant (first run over the history, then the new day).

The fresh day is drawn by the same generator, parsed and keyed as the ingest parses
Mimecast's records (`ingest.records`), then written page by page (100 records, Mimecast's
largest page) through `SearchStore.write_page`: on SQL the ingest's `Store.write_page` (rows,
rollups and filter values in one transaction), on chDB `ClickHouseStore.write_page` (known
keys looked up, one block per page, the rollup's view fed). Parsing is not timed: it is the
ingest's reading thread's work. The cursor then moves past the day, so the next detection
run scores exactly one new day.
"""

from __future__ import annotations

import json
import subprocess
import tempfile
import time
from datetime import UTC, datetime, timedelta
from datetime import time as dtime
from pathlib import Path
from typing import Any

import numpy as np

from bench.checks import expect
from bench.generate_tenants import Shape
from bench.scale_load import Anchor, close_store, open_store
from bench.synthetic import build_tenant, draw_events, rows
from config.settings import spec
from ingest.page_writer import PageBatch
from ingest.poller import PAGES_PER_TRANSACTION
from ingest.records import EventKeyer, SearchEvent, parse_record
from ingest.store import Store

PAGE = 100
"""Records per Mimecast page (`pageSize` is at most 100)."""
API_LIMIT_PER_HOUR = 10_000
"""Requests per hour before Mimecast answers 429 (docs: 'Over throttling limit')."""
API_ROWS_PER_S = API_LIMIT_PER_HOUR * PAGE / 3600
OVERLAP = timedelta(seconds=int(spec("LOOKBACK_SECONDS").default))


def fresh_pages(shape: Shape, tenant: str, anchor: Anchor, pages: int) -> list[list[Any]]:
    """`pages` full pages of `tenant`'s searches on the fresh day, parsed and keyed."""
    rng = np.random.default_rng([shape.seed, 99, int(tenant.rsplit("-", 1)[1])])
    people = build_tenant(shape.users, rng, tenant)
    day_end = datetime.combine(anchor.fresh_day, dtime(23, 59, 59), UTC)
    events = draw_events(pages * PAGE, people, day_end, 0, rng, days=1)
    keyer = EventKeyer()
    parsed: list[tuple[str, SearchEvent]] = []
    for row in rows(events, people, 10**9, 0, pages * PAGE, False):
        event = parse_record(json.loads(row[11]))
        assert isinstance(event, SearchEvent), event
        parsed.append((keyer.event_key(event), event))
    return [parsed[i : i + PAGE] for i in range(0, len(parsed), PAGE)]


def write_rate(
    store_name: str,
    url: str,
    shape: Shape,
    anchor: Anchor,
    pages: int,
    tenant: str | None = None,
) -> dict[str, Any]:
    """Rows per second of `pages` pages written one by one through `write_page`; on SQL
    also `pages` more through the ingest's `PageWriter`, PAGES_PER_TRANSACTION per commit (what
    a backfill does); then the cursor past the day. `tenant` (the first by default) must
    not have been written on the fresh day yet."""
    tenant = tenant or shape.names()[0]
    sql = store_name != "chdb"
    batches = fresh_pages(shape, tenant, anchor, pages * (2 if sql else 1))
    start = datetime.combine(anchor.fresh_day, dtime(), UTC)
    window = (start, start + timedelta(days=1))
    store = open_store(store_name, url)
    out: dict[str, Any] = {"pages": pages}
    try:
        run_id = Store(store.engine, tenant).start_run("bench", *window) if sql else 1
        inserted, started = 0, time.perf_counter()
        for page in batches[:pages]:
            inserted += store.write_page(tenant, page, [], run_id, window).inserted
        out.update(_rate(inserted, time.perf_counter() - started, pages))
        replay = store.write_page(tenant, batches[0], [], run_id, window)
        expect(replay.inserted == 0, "write rate", f"a replayed page stored {replay.inserted}")
        if sql:
            out["page_writer"] = _page_writer_rate(store.engine, tenant, run_id, batches[pages:])
        store.advance_cursor(tenant, window[1] + OVERLAP, backfill_done=True)
    finally:
        close_store(store)
    expect(out["rows"] == pages * PAGE, "write rate", f"{out['rows']} of {pages * PAGE} rows new")
    return out


def _rate(rows: int, seconds: float, pages: int) -> dict[str, Any]:
    return {
        "rows": rows,
        "seconds": round(seconds, 2),
        "rows_per_s": round(rows / seconds),
        "ms_per_page": round(seconds * 1000 / pages, 1),
        "times_the_api": round(rows / seconds / API_ROWS_PER_S, 1),
    }


def _page_writer_rate(
    engine: Any, tenant: str, run_id: int, batches: list[list[Any]]
) -> dict[str, Any]:
    """The ingest's own batching: PAGES_PER_TRANSACTION pages per transaction, rollups and
    filter values added once per commit."""
    store, inserted = Store(engine, tenant), 0
    window = (batches[0][0][1].create_time, batches[-1][-1][1].create_time)
    started = time.perf_counter()
    for first in range(0, len(batches), PAGES_PER_TRANSACTION):
        writer = store.page_writer(run_id)
        for page in batches[first : first + PAGES_PER_TRANSACTION]:
            writer.write_page(PageBatch(events=page, rejections=[], fetched=len(page)), window)
        inserted += writer.commit().inserted
    result = _rate(inserted, time.perf_counter() - started, len(batches))
    expect(inserted == len(batches) * PAGE, "page writer", f"{inserted} rows new")
    return result


def move_cursor_to_fresh_day(store_name: str, url: str, tenant: str, anchor: Anchor) -> None:
    """The cursor just past the history's last day and the overlap: detection's first run
    scores every day of the history, and the fresh day is left for the new-day run."""
    store = open_store(store_name, url)
    try:
        start = datetime.combine(anchor.fresh_day, dtime(), UTC)
        store.advance_cursor(tenant, start + OVERLAP, backfill_done=True)
    finally:
        close_store(store)


def detect(url: str, tenant: str, python: str) -> dict[str, Any]:
    """A fresh `python -m ingest detect --tenant` process: seconds and its summary line."""
    from tests.support.runtime import subprocess_env

    with tempfile.TemporaryDirectory() as folder:
        tenants = Path(folder) / "tenants.toml"
        tenants.write_text(
            f'[[tenant]]\nname = "{tenant}"\nclient_id = "bench"\n'
            'client_secret_env = "BENCH_SECRET"\n'
        )
        env = subprocess_env(
            {"DATABASE_URL": url, "TENANTS_FILE": str(tenants), "BENCH_SECRET": "unused"}
        )
        started = time.perf_counter()
        done = subprocess.run(
            [python, "-m", "ingest", "detect", "--tenant", tenant],
            env=env,
            cwd=folder,
            capture_output=True,
            text=True,
            timeout=3600,
        )
        seconds = time.perf_counter() - started
    said = (done.stdout.strip() or done.stderr.strip()).splitlines()[-1:] or [""]
    expect(done.returncode == 0, "detect", f"exit {done.returncode}: {said[0]}")
    return {"seconds": round(seconds, 2), "line": said[0]}
