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

    .venv/bin/python bench/dashboard.py --url sqlite:////tmp/bench1m.db [--json out.json]
    .venv/bin/python bench/dashboard.py --combine a.json b.json   # one table, all sizes

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
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, replace
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

PROJECT_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_ROOT))

import pandas as pd  # noqa: E402
import streamlit  # noqa: E402, F401
from sqlalchemy import Engine, event  # noqa: E402

# Outside a server each cached function warns once that it keeps its cache in memory,
# which is what it does inside one too.
logging.getLogger("streamlit.runtime.caching.cache_data_api").setLevel(logging.ERROR)

from dashboard import cached  # noqa: E402
from db import queries  # noqa: E402
from db.engine import make_engine, open_database, sqlite_path  # noqa: E402
from db.queries import SearchFilters  # noqa: E402
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
    """Every page's calls, as the pages make them (see pages/*.py and dashboard/chrome.py)."""
    tz = probe.tz
    today = date.fromisoformat(probe.today)
    whole = SearchFilters(date.fromisoformat(probe.first_day), today)
    last30 = SearchFilters(today - timedelta(days=29), today)
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
        Case(CHROME, "filter_options", queries.filter_options, cached.filter_options),
        Case(CHROME, "ingest_health", queries.ingest_health, cached.ingest_health),
        *per_filters("summary, last 30 days", last30, summary_calls),
        *per_filters("summary, all time", whole, summary_calls),
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
            SearchFilters(month, next_month - timedelta(days=1)),
            ("searches_per_day",),
        ),
        *per_filters(
            "calendar: year",
            SearchFilters(date(today.year, 1, 1), date(today.year, 12, 31)),
            ("searches_per_day",),
        ),
        *per_filters(
            "day: busiest",
            SearchFilters(busy, busy),
            ("user_counts", "hour_weekday_counts", "searches_by_user"),
        ),
        Case(
            "status",
            "collect_status",
            lambda e: collect_status(e, runs=STATUS_RUNS, rejects=STATUS_REJECTS),
            cached.ingest_status,
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


def probe_database(url: str, tz: str) -> Probe:
    """Heaviest and median user, busiest day, span and size (also warms the OS cache)."""
    engine = open_database(url)
    try:
        today = datetime.now(ZoneInfo(tz)).date()
        totals = collect_status(engine, runs=1, rejects=1)["totals"]
        if not totals["search_logs"]:
            raise SystemExit(f"{url} holds no searches: run bench/generate.py first")
        first = datetime.fromisoformat(totals["first_event"]).astimezone(ZoneInfo(tz)).date()
        whole = SearchFilters(first, today)
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


def _prime(cases: list[Case]) -> None:
    """Run every code path once on a small database of its own (lazy imports, pandas' and
    zoneinfo's first-use costs), as a running server has done long before a poll; the
    measured database's caches stay as cold as they were."""
    from bench.generate import generate

    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{Path(folder) / 'prime.db'}"
        generate(url, 3_000, users=40, years=3, seed=1, append=False)
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


def cold_worker(probe: Probe) -> dict[str, Any]:
    cases = build_cases(probe)
    _prime(cases)
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
    for naive in build_naive(probe, dialect):
        started = time.perf_counter()
        rows = _fetch_naive(probe.url, naive)
        timings[f"naive · {naive.name}"] = {
            "ms": (time.perf_counter() - started) * 1000,
            "rows": rows,
        }
    return timings


def warm_worker(probe: Probe) -> dict[str, Any]:
    version = cached.data_version(probe.url)
    timings: dict[str, Any] = {}
    for case in build_cases(probe):
        case.cached(probe.url, version)  # fills the cache (and opens the cached engine)
        samples = []
        for _ in range(WARM_CALLS):
            started = time.perf_counter()
            case.cached(probe.url, version)
            samples.append((time.perf_counter() - started) * 1000)
        timings[case.key] = {"ms": statistics.median(samples)}
    return timings


def run_worker(kind: str, probe: Probe) -> dict[str, Any]:
    """`kind` ('cold' or 'warm') in a fresh Python process; its timings as a dict."""
    child = subprocess.run(
        [sys.executable, __file__, "--worker", kind, "--probe", json.dumps(asdict(probe))],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=3600,
    )
    if child.returncode != 0:
        raise SystemExit(f"the {kind} worker failed:\n{child.stderr[-3000:]}")
    return json.loads(child.stdout)


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
    warm_os_cache(url)
    probe = probe_database(url, tz)
    cold_runs = [run_worker("cold", probe) for _ in range(repeats)]
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


# --- reporting --------------------------------------------------------------------------


def size_label(events: int) -> str:
    if events >= 1_000_000 and events % 100_000 == 0:
        return f"{events / 1_000_000:g}M"
    if events >= 1_000:
        return f"{events / 1_000:.0f}k"
    return str(events)


def _ms(value: float | None) -> str:
    if value is None:
        return ""
    return f"{value:,.0f}" if value >= 10 else f"{value:.1f}"


def _ratio(naive: float | None, cold: float | None) -> str:
    if naive is None or not cold:
        return ""
    return f"{naive / cold:.2f}"


def table_rows(result: dict[str, Any]) -> list[tuple[str, str, float, float | None, float | None]]:
    """(page, function, cold ms, warm ms, naive ms), with a total row after each page."""
    cold, warm = result["cold"], result["warm"]
    naive_for: dict[str, float] = {}  # several naive queries may stand for one call
    for value in result["naive"]:
        ms = cold[f"naive · {value['name']}"]["ms"]
        naive_for[value["compare_with"]] = naive_for.get(value["compare_with"], 0.0) + ms
    out: list[tuple[str, str, float, float | None, float | None]] = []
    pages: dict[str, list[str]] = {}
    for key in cold:
        if not key.startswith("naive"):
            pages.setdefault(key.split(" · ")[0], []).append(key)
    for page, keys in pages.items():
        for key in keys:
            out.append(
                (page, key.split(" · ", 1)[1], cold[key]["ms"], warm.get(key), naive_for.get(key))
            )
        if len(keys) > 1:
            # A page compared as a whole, else the sum of its functions' naive queries.
            naive = naive_for.get(page)
            if naive is None and any(key in naive_for for key in keys):
                naive = sum(naive_for.get(key, 0.0) for key in keys)
            out.append(
                (
                    page,
                    "**page total**",
                    sum(cold[key]["ms"] for key in keys),
                    sum(warm.get(key, 0.0) for key in keys),
                    naive,
                )
            )
    return out


def markdown(result: dict[str, Any]) -> str:
    probe = result["probe"]
    size = size_label(probe["events"])
    lines = [
        "| page | function | size | cold ms | warm ms | naive ms | naive/cold |",
        "|---|---|---|---:|---:|---:|---:|",
    ]
    for page, function, cold, warm, naive in table_rows(result):
        lines.append(
            f"| {page} | {function} | {size} | {_ms(cold)} | {_ms(warm)} | {_ms(naive)} "
            f"| {_ratio(naive, cold)} |"
        )
    return "\n".join(lines)


def describe(result: dict[str, Any]) -> str:
    probe = result["probe"]
    load = result["load_average"]
    return "\n".join(
        [
            f"{result['dialect']}, {probe['events']:,} events, "
            f"{probe['database_bytes'] / probe['events']:.0f} database bytes per event "
            f"({probe['database_bytes'] / 1024**2:,.0f} MB)",
            f"heaviest user {probe['heavy']} ({probe['heavy_searches']:,} searches), typical "
            f"{probe['typical']} ({probe['typical_searches']:,}), busiest day "
            f"{probe['busy_day']} ({probe['busy_searches']:,}), data {probe['first_day']} "
            f"to {probe['today']}, DISPLAY_TZ {probe['tz']}",
            f"cold: median of {result['repeats']} fresh processes; warm: median of "
            f"{WARM_CALLS} cache hits; {result['machine']}; load average "
            f"{load['before'][0]:.1f} before, {load['after'][0]:.1f} after; "
            f"{result['seconds']:.0f} s in all",
        ]
    )


def describe_plans(result: dict[str, Any]) -> str:
    lines = []
    for key, statements in result["plans"].items():
        cold = result["cold"][key]["ms"]
        sql_ms = sum(s["sql_ms"] for s in statements)
        lines.append(
            f"\n### {key}: {cold:,.0f} ms cold, of which SQL alone {sql_ms:,.0f} ms "
            f"in {len(statements)} statement(s)"
        )
        for statement in statements:
            lines.append(f"\n{statement['sql_ms']:,.0f} ms, {statement['rows']:,} rows:")
            lines.append("```sql\n" + " ".join(statement["sql"].split()) + "\n```")
            lines.append("```\n" + "\n".join(statement["plan"]) + "\n```")
    return "\n".join(lines)


def combined(results: list[dict[str, Any]]) -> str:
    """One table over several runs: cold (warm) ms per size, naive and ratio per size."""
    labels = [f"{size_label(r['probe']['events'])} {r['dialect']}" for r in results]
    head = "| page | function | " + " | ".join(f"{label} cold / warm / naive" for label in labels)
    lines = [head + " |", "|---|---|" + "---:|" * len(labels)]
    per_run = [{(p, f): (c, w, n) for p, f, c, w, n in table_rows(r)} for r in results]
    for page, function, *_ in table_rows(results[0]):
        cells = []
        for run in per_run:
            cold, warm, naive = run.get((page, function), (None, None, None))
            cell = f"{_ms(cold)} / {_ms(warm)}"
            if naive is not None:
                cell += f" / {_ms(naive)} ({_ratio(naive, cold)}×)"
            cells.append(cell)
        lines.append(f"| {page} | {function} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="SQLAlchemy URL of a database made by bench/generate.py")
    parser.add_argument("--tz", default="UTC", help="DISPLAY_TZ to bucket days in")
    parser.add_argument("--repeats", type=int, default=3, help="cold runs (fresh processes)")
    parser.add_argument("--explain", type=int, default=3, help="explain the N slowest")
    parser.add_argument("--json", type=Path, help="also write the full result here")
    parser.add_argument("--combine", type=Path, nargs="+", help="tabulate saved results")
    parser.add_argument("--worker", choices=("cold", "warm"), help=argparse.SUPPRESS)
    parser.add_argument("--probe", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        probe = Probe(**json.loads(args.probe))
        work = cold_worker if args.worker == "cold" else warm_worker
        print(json.dumps(work(probe), default=str))
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
