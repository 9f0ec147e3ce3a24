"""Benchmark: every page's data functions at scale — cold, warm, and the naive baseline.

For one database (made by `bench/generate.py`) this times what each dashboard page asks
`db.queries` (and `ingest.status`) for, three ways, medians of several runs:

- **cold**: each measurement in a new engine (a new database connection, an empty
  SQLAlchemy statement cache and SQLite page cache) inside a fresh Python process per
  repeat, with no Streamlit cache; the OS file cache is warm (the probe and earlier
  repeats have read the file). Before measuring, the process runs every call once on a
  small database of its own, so first-use costs of pandas and zoneinfo (paid once when a
  server starts) are not charged to the first call measured. This is what the first
  visitor after an ingest poll waits for: every poll changes `data_version`, which keys
  every cached answer.
- **warm**: the `st.cache_data` wrapper in `dashboard/cached.py` called again with the
  same arguments: hashing the arguments and unpickling the stored answer. Outside a
  Streamlit server the caches use the same in-memory storage as inside one.
  `data_version` is never cached, so its warm figure is simply a second call.
- **naive**: what the original app did, on the same data: raw SQL over `search_logs`
  fetched in full into a DataFrame (per-user counts, per-day counts by `substr` of the
  stored time, one day's rows, the heaviest user's whole history).

    .venv/bin/python -m bench.dashboard --url sqlite:////tmp/bench1m.db [--json out.json]
    .venv/bin/python -m bench.dashboard --combine a.json b.json   # one table, all sizes

It also prints EXPLAIN QUERY PLAN (EXPLAIN ANALYZE on PostgreSQL) and the SQL-only time
of every statement of the slowest functions, so their cost can be split into database
and Python.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import streamlit  # noqa: F401
from sqlalchemy import Engine, event

# Outside a server each cached function warns once that it keeps its cache in memory,
# which is what it does inside one too.
logging.getLogger("streamlit.runtime.caching.cache_data_api").setLevel(logging.ERROR)

from bench.checks import fail, product_settings  # noqa: E402
from bench.dashboard_cases import (  # noqa: E402
    WARM_CALLS,
    Case,
    Naive,
    Probe,
    build_cases,
    build_naive,
    probe_database,
    warm_os_cache,
)
from bench.dashboard_report import combined, describe, describe_plans, markdown  # noqa: E402
from dashboard import cached  # noqa: E402
from db.engine import make_engine, open_database, sqlite_path  # noqa: E402
from tests.support.runtime import PROJECT_ROOT  # noqa: E402

# --- workers (each run in a fresh process) ----------------------------------------------


@contextmanager
def recording(engine: Engine) -> Iterator[list[dict[str, Any]]]:
    """The SQL statements `engine` executes, with their parameters."""
    statements: list[dict[str, Any]] = []

    def before(_conn: Any, _cursor: Any, statement: str, params: Any, *_: Any) -> None:
        statements.append({"sql": statement, "params": params})

    event.listen(engine, "before_cursor_execute", before)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", before)


def _size(result: Any) -> int | None:
    if isinstance(result, pd.DataFrame):
        return len(result)
    if hasattr(result, "users"):  # FilterOptions
        return len(result.users) + len(result.sources) + len(result.descriptions)
    return None


def _prime(cases: list[Case], tenant: str) -> None:
    """Run every code path once on a small database of its own (lazy imports, pandas' and
    zoneinfo's first-use costs), as a running server has done long before a poll; the
    measured database's caches stay as cold as they were."""
    from bench.generate import generate

    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{Path(folder) / 'prime.db'}"
        generate(url, 3_000, users=40, years=3, seed=1, append=False, tenant_name=tenant)
        engine = open_database(url)
        for case in cases:
            case.direct(engine)
        engine.dispose()


def _fetch_naive(url: str, naive: Naive) -> int:
    """One naive query on a new DBAPI connection, fetched in full into a DataFrame."""
    path = sqlite_path(url)
    if path is not None:
        conn: Any = sqlite3.connect(path)
    else:
        import psycopg

        conn = psycopg.connect(
            make_engine(url).url.set(drivername="postgresql").render_as_string(hide_password=False)
        )
        conn.execute("SET TIME ZONE 'UTC'")
    try:
        cursor = conn.execute(naive.sql, naive.params)
        columns = [column[0] for column in cursor.description]
        return len(pd.DataFrame(cursor.fetchall(), columns=columns))
    finally:
        conn.close()


def cold_worker(probe: Probe, naive: bool = True) -> dict[str, Any]:
    cases = build_cases(probe)
    _prime(cases, probe.tenant)
    timings: dict[str, Any] = {}
    for case in cases:
        engine = make_engine(probe.url)
        with recording(engine) as statements:
            started = time.perf_counter()
            result = case.direct(engine)
            ms = (time.perf_counter() - started) * 1000
        engine.dispose()
        timings[case.key] = {"ms": ms, "rows": _size(result), "statements": statements}
    dialect = make_engine(probe.url).dialect.name
    for baseline in build_naive(probe, dialect) if naive else ():
        started = time.perf_counter()
        rows = _fetch_naive(probe.url, baseline)
        timings[f"naive · {baseline.name}"] = {
            "ms": (time.perf_counter() - started) * 1000,
            "rows": rows,
        }
    return timings


def warm_worker(probe: Probe) -> dict[str, Any]:
    version = cached.data_version(probe.url)
    timings: dict[str, Any] = {}
    for case in build_cases(probe):
        filled = case.cached(probe.url, version)  # fills the cache (opens the cached engine)
        check_rows({case.key: {"rows": _size(filled)}})  # the cached answer has rows too
        samples = []
        for _ in range(WARM_CALLS):
            started = time.perf_counter()
            case.cached(probe.url, version)
            samples.append((time.perf_counter() - started) * 1000)
        timings[case.key] = {"ms": statistics.median(samples)}
    return timings


def run_worker(kind: str, probe: Probe) -> dict[str, Any]:
    """`kind` ('cold', 'cold-pages': cold without the naive baseline, or 'warm') in a
    fresh Python process; its timings as a dict."""
    child = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.dashboard",
            "--worker",
            kind,
            "--probe",
            json.dumps(asdict(probe)),
        ],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=3600,
    )
    if child.returncode != 0:
        last = child.stderr.strip().splitlines()[-1:] or ["no output"]
        fail(f"the {kind} worker exited with {child.returncode}: {last[0]}")
    return json.loads(child.stdout)


WORKERS = {
    "cold": cold_worker,
    "cold-pages": lambda probe: cold_worker(probe, naive=False),
    "warm": warm_worker,
}


MAY_BE_EMPTY = ("text contains",)
"""Cases whose answer may hold no row on a small database (no search text matches)."""


def check_rows(timings: dict[str, Any]) -> None:
    """Every call answered with rows where the database has them: a page's function that
    returns an empty frame on a generated database is broken, not fast."""
    for key, timing in timings.items():
        if timing["rows"] == 0 and not any(part in key for part in MAY_BE_EMPTY):
            fail(f"{key}: no rows, on a database that has searches for it")


# --- the database's own view of the slowest statements ----------------------------------


def _json_params(params: Any) -> Any:
    def plain(value: Any) -> Any:
        return value.isoformat() if isinstance(value, datetime | date) else value

    if isinstance(params, dict):
        return {key: plain(value) for key, value in params.items()}
    return [plain(value) for value in params or ()]


def explain(url: str, statements: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """For each statement: the plan, and its SQL-only time on a new DBAPI connection."""
    path = sqlite_path(url)
    out = []
    for statement in statements:
        sql, params = statement["sql"], statement["params"]
        if path is not None:
            conn = sqlite3.connect(path)
            plan = [row[3] for row in conn.execute(f"EXPLAIN QUERY PLAN {sql}", params)]
            started = time.perf_counter()
            rows = len(conn.execute(sql, params).fetchall())
            ms = (time.perf_counter() - started) * 1000
            conn.close()
        else:
            engine = make_engine(url)
            raw = engine.raw_connection()
            try:
                cursor = raw.cursor()
                started = time.perf_counter()
                cursor.execute(sql, params)
                rows = len(cursor.fetchall())
                ms = (time.perf_counter() - started) * 1000
                cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}", params)
                plan = [row[0] for row in cursor.fetchall()]
            finally:
                raw.close()
                engine.dispose()
        out.append({"sql": sql, "params": params, "plan": plan, "sql_ms": ms, "rows": rows})
    return out


# --- the run ----------------------------------------------------------------------------


def measure(url: str, tz: str, repeats: int, explain_top: int) -> dict[str, Any]:
    started = time.perf_counter()
    load_before = os.getloadavg()
    product_settings({"DATABASE_URL": url, "DISPLAY_TZ": tz})  # the product's own checks
    warm_os_cache(url)
    probe = probe_database(url, tz)
    cold_runs = [run_worker("cold", probe) for _ in range(repeats)]
    for run in cold_runs:
        check_rows(run)
    warm = run_worker("warm", probe)
    keys = list(cold_runs[0])
    cold = {
        key: {
            "ms": statistics.median(run[key]["ms"] for run in cold_runs),
            "all_ms": [round(run[key]["ms"], 1) for run in cold_runs],
            "rows": cold_runs[0][key]["rows"],
        }
        for key in keys
    }
    slowest = sorted(
        (key for key in keys if not key.startswith("naive")),
        key=lambda key: cold[key]["ms"],
        reverse=True,
    )[:explain_top]
    plans = {
        key: explain(
            url,
            [{**s, "params": _json_params(s["params"])} for s in cold_runs[0][key]["statements"]],
        )
        for key in slowest
    }
    engine = make_engine(url)
    dialect = engine.dialect.name
    engine.dispose()
    return {
        "probe": asdict(probe),
        "dialect": dialect,
        "repeats": repeats,
        "naive": [asdict(naive) for naive in build_naive(probe, dialect)],
        "cold": cold,
        "warm": {key: value["ms"] for key, value in warm.items()},
        "plans": plans,
        "machine": machine(),
        "load_average": {"before": load_before, "after": os.getloadavg()},
        "seconds": round(time.perf_counter() - started, 1),
    }


def machine() -> str:
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1024**3
    return (
        f"{os.cpu_count()} cores, {memory:.0f} GB, Python {platform.python_version()}, "
        f"SQLite {sqlite3.sqlite_version}, pandas {pd.__version__}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="SQLAlchemy URL of a database made by bench/generate.py")
    parser.add_argument("--tz", default="UTC", help="DISPLAY_TZ to bucket days in")
    parser.add_argument("--repeats", type=int, default=3, help="cold runs (fresh processes)")
    parser.add_argument("--explain", type=int, default=3, help="explain the N slowest")
    parser.add_argument("--json", type=Path, help="also write the full result here")
    parser.add_argument("--combine", type=Path, nargs="+", help="tabulate saved results")
    parser.add_argument("--worker", choices=WORKERS, help=argparse.SUPPRESS)
    parser.add_argument("--probe", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        probe = Probe(**json.loads(args.probe))
        print(json.dumps(WORKERS[args.worker](probe), default=str))
        return
    if args.combine:
        print(combined([json.loads(path.read_text()) for path in args.combine]))
        return
    if not args.url:
        parser.error("--url is required")
    result = measure(args.url, args.tz, args.repeats, args.explain)
    if args.json:
        args.json.write_text(json.dumps(result, indent=1, default=str))
    print(describe(result))
    print()
    print(markdown(result))
    print(describe_plans(result))


if __name__ == "__main__":
    main()
