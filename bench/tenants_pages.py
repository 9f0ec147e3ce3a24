"""Benchmark: one tenant's dashboard data among 50 tenants, against the same tenant alone.

Issue 16's goal: the page data of one tenant in a database of 50 tenants × 100 users ×
90 days within 10 % of the same data in a single-tenant database. This writes both
databases (`bench/generate_tenants.py`: the shared one interleaved hour by hour as the
ingest writes it; the single one holding only the measured tenant's rows, the very same
rows), then:

- checks the answers: every page's call (`bench/dashboard_cases.py`, in the tenant's
  scope) returns exactly the same on both databases. Tenants share addresses (the heaviest
  user's address is in every tenant), so a scope that leaked another tenant's rows into
  any answer stops the run; nothing is timed before this holds;
- times every call cold, as `bench/dashboard.py` does (a fresh process per repeat, a new
  engine per call, no answer cache), alternating the two databases repeat by repeat so a
  neighbour's load falls on both; reports medians, the spread (min–max) and the ratios.

    .venv/bin/python -m bench.tenants_pages --server postgresql+psycopg://postgres@127.0.0.1:54356/postgres
    .venv/bin/python -m bench.tenants_pages --server URL --reuse     # measure again, no writing
    .venv/bin/python -m bench.tenants_pages --tenants 3 --users 20 --days 10 \
        --events-per-tenant 500 --repeats 1                           # smallest, SQLite

With `--server`, the databases `bench_tenants_all` and `bench_tenants_one` are (re)created
on that PostgreSQL server and kept for `--reuse`; without it, SQLite files in `--folder`
(default: a temporary folder, removed at the end).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, fields, is_dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import func, select

from bench.checks import expect, fail, product_settings
from bench.dashboard import check_rows, machine, run_worker
from bench.dashboard_cases import CHROME, Probe, build_cases, probe_database
from bench.generate_tenants import Shape, cluster_keyed_tables, load
from bench.sql_work import work
from db.engine import make_engine, open_database
from db.models import SearchLog
from tests.support.backends import fresh_postgres_database

DATABASES = ("all", "one")
NOT_COMPARED = {"data_version": "a version of the whole database (its highest ids)"}
PROJECTIONS: dict[str, Callable[[Any], Any]] = {
    # Run times differ (each database recorded its bootstrap run when it was written).
    "ingest_health": lambda health: health.has_searches,
    "collect_status": lambda status: (status["totals"], status["backfill_done"]),
}
GOAL = 1.10
"""The shared database's page data within 10 % of the single-tenant database's."""


def postgres_pair(server: str, reuse: bool) -> dict[str, str]:
    names = {which: f"bench_tenants_{which}" for which in DATABASES}
    if reuse:
        base = make_engine(server).url
        return {
            which: base.set(database=name).render_as_string(hide_password=False)
            for which, name in names.items()
        }
    return {which: fresh_postgres_database(server, name) for which, name in names.items()}


def sqlite_pair(folder: Path) -> dict[str, str]:
    return {which: f"sqlite:///{folder / f'{which}.db'}" for which in DATABASES}


# --- answers ----------------------------------------------------------------------------


def _same(left: Any, right: Any) -> bool:
    """Equal answers: frames cell for cell with their columns; dataclasses, dicts and
    sequences part by part."""
    if type(left) is not type(right):
        return False
    if isinstance(left, pd.DataFrame):
        return list(left.columns) == list(right.columns) and left.equals(right)
    if is_dataclass(left):
        return all(_same(getattr(left, f.name), getattr(right, f.name)) for f in fields(left))
    if isinstance(left, dict):
        return left.keys() == right.keys() and all(_same(left[k], right[k]) for k in left)
    if isinstance(left, list | tuple):
        return len(left) == len(right) and all(map(_same, left, right))
    return bool(left == right)


def check_probes(probes: dict[str, Probe]) -> None:
    """The facts that choose the calls' arguments are the tenant's, whichever database."""
    ignore = {"url": "", "database_bytes": 0}
    expect(
        replace(probes["all"], **ignore) == replace(probes["one"], **ignore),  # type: ignore[arg-type]
        "the probe",
        f"the tenant's facts differ between the databases: {probes['all']} / {probes['one']}",
    )


def check_shared_addresses(url: str, probe: Probe) -> None:
    """The heaviest address is in other tenants too: a leak would change every answer."""
    engine = open_database(url)
    try:
        with engine.connect() as conn:
            tenants = conn.execute(
                select(func.count(func.distinct(SearchLog.tenant))).where(
                    SearchLog.email_addr == probe.heavy
                )
            ).scalar()
    finally:
        engine.dispose()
    expect(
        int(tenants or 0) >= 2,
        "the shared database",
        f"{probe.heavy} searched in {tenants} tenant(s): tenants must share addresses",
    )


def check_answers(probes: dict[str, Probe]) -> int:
    """Every call answers the same on both databases; how many calls were compared."""
    engines = {which: make_engine(probes[which].url) for which in DATABASES}
    compared = 0
    try:
        cases = {which: build_cases(probes[which]) for which in DATABASES}
        for case, twin in zip(cases["all"], cases["one"], strict=True):
            if case.function in NOT_COMPARED:
                continue
            project = PROJECTIONS.get(case.function, lambda answer: answer)
            shared = project(case.direct(engines["all"]))
            alone = project(twin.direct(engines["one"]))
            if not _same(shared, alone):
                fail(
                    f"{case.key}: the tenant's answer among {probes['all'].tenant}'s neighbours "
                    "differs from its answer alone"
                )
            compared += 1
    finally:
        for engine in engines.values():
            engine.dispose()
    return compared


# --- timings ----------------------------------------------------------------------------


def _spread(values: list[float]) -> dict[str, Any]:
    return {
        "median": round(statistics.median(values), 2),
        "min": round(min(values), 2),
        "max": round(max(values), 2),
        "all": [round(value, 1) for value in values],
    }


def time_pages(probes: dict[str, Probe], repeats: int) -> dict[str, Any]:
    """Cold runs of every call, alternating which database goes first; per call, per page
    and in total: medians, spreads and the ratio shared / alone."""
    runs: dict[str, list[dict[str, Any]]] = {which: [] for which in DATABASES}
    for repeat in range(repeats):
        for which in DATABASES if repeat % 2 == 0 else DATABASES[::-1]:
            run = run_worker("cold-pages", probes[which])
            check_rows(run)
            runs[which].append(run)
    keys = list(runs["all"][0])
    pages = list(dict.fromkeys(key.split(" · ")[0] for key in keys))

    def summed(which: str, chosen: list[str]) -> list[float]:
        return [sum(run[key]["ms"] for key in chosen) for run in runs[which]]

    groups = {key: [key] for key in keys}
    groups |= {f"page: {page}": [k for k in keys if k.startswith(page + " · ")] for page in pages}
    groups["every page's data, summed"] = keys
    groups["without the chrome (every page's own calls)"] = [
        k for k in keys if not k.startswith(CHROME + " · ")
    ]
    out = {}
    for name, chosen in groups.items():
        figures = {which: _spread(summed(which, chosen)) for which in DATABASES}
        figures["ratio"] = round(figures["all"]["median"] / max(figures["one"]["median"], 1e-9), 3)
        figures["calls"] = chosen
        out[name] = figures
    return out


def add_sql_work(timings: dict[str, Any], probes: dict[str, Probe]) -> None:
    """Each call's and group's blocks touched and server execution ms, on both databases."""
    done = {which: work(probes[which].url, build_cases(probes[which])) for which in DATABASES}
    for figures in timings.values():
        keys = figures["calls"]
        for which in DATABASES:
            figures[which]["blocks"] = sum(done[which][key]["blocks"] for key in keys)
            figures[which]["sql_ms"] = round(sum(done[which][key]["sql_ms"] for key in keys), 2)


# --- the run ----------------------------------------------------------------------------


def measure(
    urls: dict[str, str], tenants: int, tenant: str, tz: str, repeats: int
) -> dict[str, Any]:
    started = time.perf_counter()
    load_before = os.getloadavg()
    for url in urls.values():
        product_settings({"DATABASE_URL": url, "DISPLAY_TZ": tz})
    probes = {which: probe_database(urls[which], tz, tenant) for which in DATABASES}
    check_probes(probes)
    check_shared_addresses(urls["all"], probes["all"])
    compared = check_answers(probes)
    timings = time_pages(probes, repeats)
    if make_engine(urls["all"]).dialect.name == "postgresql":
        add_sql_work(timings, probes)
    total = timings["every page's data, summed"]
    return {
        "tenants": tenants,
        "tenant": tenant,
        "probe": asdict(replace(probes["all"], url="")),
        "database_bytes": {which: probes[which].database_bytes for which in DATABASES},
        "answers_compared": compared,
        "repeats": repeats,
        "timings": timings,
        "ratio": total["ratio"],
        "goal_met": total["ratio"] <= GOAL,
        "machine": machine(),
        "load_average": {"before": load_before, "after": os.getloadavg()},
        "seconds": round(time.perf_counter() - started, 1),
    }


def markdown(result: dict[str, Any], shape: str) -> str:
    sql = "blocks" in next(iter(result["timings"].values()))["all"]
    head = f"| call | {result['tenants']} tenants: median ms (min–max) | alone | ratio |"
    rule = "|---|---:|---:|---:|"
    if sql:
        head += " blocks touched: shared / alone | server ms: shared / alone |"
        rule += "---:|---:|"
    lines = [
        f"{shape}; tenant {result['tenant']}: {result['probe']['events']:,} searches; "
        f"{result['answers_compared']} answers identical on both databases; cold, "
        f"{result['repeats']} fresh processes per database; load average "
        f"{result['load_average']['before'][0]:.2f} → {result['load_average']['after'][0]:.2f}"
        + ("; rollups and filter values clustered" if result.get("clustered") else ""),
        "",
        head,
        rule,
    ]
    for name, figures in result["timings"].items():
        cells = [
            f"{figures[w]['median']:.1f} ({figures[w]['min']:.1f}–{figures[w]['max']:.1f})"
            for w in DATABASES
        ]
        bold = "**" if not name.count(" · ") else ""
        line = f"| {bold}{name}{bold} | {cells[0]} | {cells[1]} | {figures['ratio']:.2f} |"
        if sql:
            shared, alone = figures["all"], figures["one"]
            line += f" {shared['blocks']:,} / {alone['blocks']:,} |"
            line += f" {shared['sql_ms']:.1f} / {alone['sql_ms']:.1f} |"
        lines.append(line)
    verdict = "met" if result["goal_met"] else "NOT met"
    lines += ["", f"Ratio of the summed medians: {result['ratio']:.3f} (goal ≤ {GOAL}: {verdict})"]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tenants", type=int, default=50)
    parser.add_argument("--users", type=int, default=100, help="per tenant")
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument(
        "--events-per-tenant", type=int, default=20_000,
        help="searches per tenant (default: ~2.2 per user and day, the 5M tenant's rate)",
    )  # fmt: skip
    parser.add_argument("--tenant", default="tenant-01", help="the tenant measured")
    parser.add_argument("--server", help="a PostgreSQL server URL (default: SQLite files)")
    parser.add_argument("--folder", type=Path, help="where the SQLite files go (kept)")
    parser.add_argument("--reuse", action="store_true", help="measure the existing databases")
    parser.add_argument("--repeats", type=int, default=5, help="cold runs per database")
    parser.add_argument(
        "--cluster",
        action="store_true",
        help="first rewrite both databases' rollups and filter values in key order "
        "(PostgreSQL CLUSTER): what a tenant's rows scattered among the others' cost",
    )
    parser.add_argument("--tz", default="UTC", help="DISPLAY_TZ to bucket days in")
    parser.add_argument("--json", type=Path, help="also write the full result here")
    args = parser.parse_args()
    now = datetime.now(UTC).replace(microsecond=0)
    shape = Shape(args.tenants, args.users, args.days, args.events_per_tenant, now)
    if args.tenant not in shape.names():
        parser.error(f"--tenant must be one of tenant-01 … {shape.names()[-1]}")
    with tempfile.TemporaryDirectory() as scratch:
        if args.server:
            urls = postgres_pair(args.server, args.reuse)
        else:
            folder = args.folder or Path(scratch)
            folder.mkdir(parents=True, exist_ok=True)
            urls = sqlite_pair(folder)
        written = {}
        if not args.reuse:
            for which, names in (("all", shape.names()), ("one", [args.tenant])):
                started = time.perf_counter()
                rows = load(urls[which], shape, names)
                written[which] = {"rows": rows, "seconds": round(time.perf_counter() - started)}
        if args.cluster:
            for url in urls.values():
                cluster_keyed_tables(url)
        result = measure(urls, args.tenants, args.tenant, args.tz, args.repeats)
    result["written"] = written
    result["clustered"] = args.cluster
    label = (
        f"{args.tenants} tenants × {args.users} users × {args.days} days, "
        f"{args.events_per_tenant:,} searches per tenant, "
        f"{'PostgreSQL' if args.server else 'SQLite'}"
    )
    if args.json:
        args.json.write_text(json.dumps(result, indent=1, default=str))
    print(markdown(result, label))
    for which, done in written.items():
        print(f"\nwritten ({which}): {done['rows']:,} rows in {done['seconds']} s")


if __name__ == "__main__":
    main()
