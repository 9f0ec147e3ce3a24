"""Benchmark: one ingest cycle over 50 tenants, against a simulator serving 50 accounts.

Issue 16: "50 tenants × 100 users × 90 days on PostgreSQL: one cycle's wall time and
requests". `python -m ingest run --once` runs in its own process with a tenants file of
`--tenants` accounts (each its own credentials, from the environment), twice:

- the **backfill** cycle: every tenant's `--days` days from nothing;
- a **delta** cycle: the simulator's clock moved on by POLL_SECONDS, as the scheduled
  loop's next cycle finds it (each tenant re-reads its LOOKBACK_SECONDS overlap).

Each cycle reports its wall time and the API requests the simulator served (token and
search requests, summed over the accounts, and the most any one account took). After each
cycle every tenant's stored searches are compared with its account's ground truth for the
cycle's window: a tenant with a search missing, doubled or stored under another tenant, or
a cycle that exits non-zero, stops the run with one line, and no figure is printed.

    .venv/bin/python -m bench.tenants_cycle --url postgresql+psycopg://postgres@127.0.0.1:54356/postgres
    .venv/bin/python -m bench.tenants_cycle --tenants 3 --days 2 --events-per-day 50   # SQLite

Users per tenant are the simulator's own (`ingest/simulator/activity.py`); `--events-per-day`
sets each account's volume (220 ≈ 2.2 searches per user and day for 100 users).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, func, select

from bench.checks import expect, fail, product_settings
from bench.ingest_backfill import fresh_database
from config.settings import ConfigError
from config.tenants import load_tenants
from db.models import IngestRun, SearchLog
from ingest.simulator import SimConfig, Simulator
from ingest.simulator.activity import USUAL_DELAY_SECONDS
from tests.support.scenarios import child_env
from tests.support.truth import canonical, expected_records

POLL_SECONDS = 3_600
"""The product's default interval: how far the clock moves before the delta cycle."""

LOOKBACK_SECONDS = 7_200
"""The product's default overlap: each tenant's delta cycle re-reads from its backfill's end
(the ingest's own clock) less this."""


class Clock:
    """The simulator's clock, frozen, moved on only by the benchmark.

    It starts POLL_SECONDS behind the ingest's (real) clock, so after the move the simulator
    is at the real time the run began, never ahead of the delta cycle's window end. It must
    not lag further: a tenant's delta cycle re-reads from its backfill's end on the ingest's
    clock less LOOKBACK_SECONDS, and a search the simulator had not yet made visible at the
    backfill (up to USUAL_DELAY_SECONDS after its createTime) and older than that start is
    one that reached the API later than LOOKBACK_SECONDS: no delta cycle fetches it, by
    design (the reconcile sweep does). `check_clocks` holds every tenant to that.
    """

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def names(count: int) -> list[str]:
    return [f"tenant-{number:02d}" for number in range(1, count + 1)]


def tenants_file(sim: Simulator, count: int, folder: Path) -> tuple[Path, dict[str, str]]:
    """A tenants file naming account k as tenant-k; the secrets in environment variables."""
    lines, secrets = [], {}
    for number, name in enumerate(names(count), 1):
        client_id, secret = sim.credentials(number)
        variable = f"BENCH_SECRET_{number}"
        secrets[variable] = secret
        lines += [
            "[[tenant]]",
            f'name = "{name}"',
            f'base_url = "{sim.base_url}"',
            f'client_id = "{client_id}"',
            f'client_secret_env = "{variable}"',
            "",
        ]
    path = folder / "tenants.toml"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path, secrets


def requests_served(sim: Simulator, count: int) -> list[tuple[int, int]]:
    """(token requests, search requests) served so far, per account."""
    out = []
    for number in range(1, count + 1):
        stats = sim.stats(number)
        out.append((int(stats["token_requests"]), int(stats["search_requests"])))
    return out


def stored(url: str, tenant: str, start: datetime, end: datetime) -> Counter[str]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            raws = conn.execute(
                select(SearchLog.raw_json).where(
                    SearchLog.tenant == tenant,
                    SearchLog.create_time >= start,
                    SearchLog.create_time <= end,
                )
            ).scalars()
            return Counter(canonical(json.loads(raw)) for raw in raws)
    finally:
        engine.dispose()


def last_windows(url: str) -> dict[str, tuple[datetime, datetime]]:
    """Each tenant's widest window so far: from its first run's start to its last run's end."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                select(
                    IngestRun.tenant,
                    func.min(IngestRun.window_start),
                    func.max(IngestRun.window_end),
                ).group_by(IngestRun.tenant)
            ).all()
    finally:
        engine.dispose()
    return {
        tenant: (start.replace(tzinfo=start.tzinfo or UTC), end.replace(tzinfo=end.tzinfo or UTC))
        for tenant, start, end in rows
    }


def check_clocks(url: str, simulator_at_backfill: datetime, count: int) -> None:
    """Every tenant's backfill ended (ingest's clock) within LOOKBACK_SECONDS less the
    simulator's visibility delay of the simulator's clock, else the delta cycle cannot be
    exact (see `Clock`): the run stops rather than report a loss the setup made."""
    margin = timedelta(seconds=LOOKBACK_SECONDS - USUAL_DELAY_SECONDS)
    windows = last_windows(url)
    for name in names(count):
        expect(name in windows, "the backfill cycle", f"{name} has no ingest run")
        skew = windows[name][1] - simulator_at_backfill
        expect(
            skew <= margin,
            "the benchmark's clocks",
            f"{name}'s backfill ended {skew} after the simulator's clock, more than "
            f"LOOKBACK_SECONDS less {USUAL_DELAY_SECONDS} s: its delta cycle cannot be checked",
        )


def check_tenants(sim: Simulator, url: str, count: int, cycle: str) -> int:
    """Every tenant holds exactly its account's searches of its windows; the total stored."""
    windows = last_windows(url)
    total = 0
    for number, name in enumerate(names(count), 1):
        expect(name in windows, f"the {cycle} cycle", f"{name} has no ingest run")
        start, end = windows[name]
        valid, _ = sim.truth(start, end, account=number)
        expected = expected_records(valid, start, end)
        got = stored(url, name, start, end)
        if got != expected:
            missing, extra = (expected - got).total(), (got - expected).total()
            fail(f"{cycle} cycle: {name}: {missing} searches missing, {extra} extra")
        total += got.total()
    return total


def cycle(sim: Simulator, count: int, env: dict[str, str], folder: str) -> dict[str, Any]:
    """One `ingest run --once`: wall time, exit status checked, requests served."""
    before = requests_served(sim, count)
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "ingest", "run", "--once"],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=3600,
    )
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        last = done.stderr.strip().splitlines()[-1:] or ["no output"]
        fail(f"the ingest cycle exited with {done.returncode}: {last[0]}")
    after = requests_served(sim, count)
    per_account = [(t1 - t0, s1 - s0) for (t0, s0), (t1, s1) in zip(before, after, strict=True)]
    tokens = sum(t for t, _ in per_account)
    searches = sum(s for _, s in per_account)
    expect(
        all(s > 0 for _, s in per_account),
        "the cycle",
        f"{sum(s == 0 for _, s in per_account)} tenant(s) were not polled",
    )
    return {
        "seconds": round(seconds, 2),
        "requests": tokens + searches,
        "token_requests": tokens,
        "search_requests": searches,
        "most_by_one_tenant": max(t + s for t, s in per_account),
    }


def run(count: int, days: int, per_day: int, server_url: str | None) -> dict[str, Any]:
    clock = Clock(datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=POLL_SECONDS))
    config = SimConfig(
        seed=2026,
        days=days + 2,
        events_per_day=per_day,
        late_fraction=0.0,
        clock=clock,
        accounts=count,
    )
    with (
        tempfile.TemporaryDirectory() as folder,
        fresh_database(server_url, folder) as url,
        Simulator(config) as sim,
    ):
        path, secrets = tenants_file(sim, count, Path(folder))
        env = child_env(sim, Path(folder) / "bench.db", days)
        env.update(secrets)
        env.update(
            DATABASE_URL=url,
            TENANTS_FILE=str(path),
            MIMECAST_CLIENT_ID="",
            MIMECAST_CLIENT_SECRET="",
            POLL_SECONDS=str(POLL_SECONDS),
            LOOKBACK_SECONDS=str(LOOKBACK_SECONDS),
        )
        settings = product_settings(
            {
                k: env[k]
                for k in ("DATABASE_URL", "TENANTS_FILE", "POLL_SECONDS", "LOOKBACK_SECONDS")
            }
        )
        try:
            load_tenants(settings, env)  # the product's own reading of the tenants file
        except ConfigError as exc:
            fail(f"the product refuses the benchmark's tenants file: {exc}")
        load = os.getloadavg()[0]
        backfill = cycle(sim, count, env, folder)
        backfill["events"] = check_tenants(sim, url, count, "backfill")
        check_clocks(url, clock.now, count)
        clock.now += timedelta(seconds=POLL_SECONDS)
        delta = cycle(sim, count, env, folder)
        delta["events"] = check_tenants(sim, url, count, "delta") - backfill["events"]
        return {
            "tenants": count,
            "days": days,
            "events_per_day": per_day,
            "database": "postgresql" if server_url else "sqlite",
            "backfill": backfill,
            "delta": delta,
            "load_average": [load, os.getloadavg()[0]],
        }


def markdown(result: dict[str, Any]) -> str:
    lines = [
        "| cycle | tenants | database | new searches | seconds | API requests (token + search) "
        "| most by one tenant | load average |",
        "|---|---:|---|---:|---:|---|---:|---|",
    ]
    for name in ("backfill", "delta"):
        c = result[name]
        lines.append(
            f"| {name} | {result['tenants']} | {result['database']} | {c['events']:,} "
            f"| {c['seconds']} | {c['requests']:,} ({c['token_requests']} + "
            f"{c['search_requests']:,}) | {c['most_by_one_tenant']} "
            f"| {result['load_average'][0]:.1f} → {result['load_average'][1]:.1f} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tenants", type=int, default=50)
    parser.add_argument("--days", type=int, default=90, help="each tenant's backfill")
    parser.add_argument("--events-per-day", type=int, default=220, help="per account")
    parser.add_argument(
        "--url",
        help="a PostgreSQL server URL; a database is created there for the run and dropped "
        "after it (default: a SQLite file)",
    )
    args = parser.parse_args()
    result = run(args.tenants, args.days, args.events_per_day, args.url)
    print(markdown(result))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
