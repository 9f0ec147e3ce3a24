"""Benchmark: the machine API over real HTTP, against `streamlit run streamlit_app.py`.

For one database (made by `bench/generate.py`) it starts the server, makes a viewer token
and measures:

- **per endpoint**: `--calls` sequential calls each with varied filters, timed by the
  server itself (the `Server-Timing: app;dur=…` header: from the request reaching the
  route to the body being ready, token check and audit row included), p50 / p95 / max;
- **load**: `--clients` concurrent clients (threads, one HTTP session each) calling a mix
  of the endpoints for `--seconds`, counting every non-200 answer, and the server's
  resident memory (VmRSS) sampled every 5 s.

    .venv/bin/python -m bench.api --url sqlite:////tmp/bench1m.db [--json out.json]

The rate limit is lifted for the run (`API_RATE_LIMIT`), so only the server is measured.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import requests
from sqlalchemy import desc, func, select

from db.api_tokens import create_token
from db.engine import open_database
from db.models import SearchLog
from tests.support.browser import serve_dashboard, stop_dashboard


@dataclass
class Probe:
    """What the calls ask for: real users and days of this database."""

    last_day: str
    first_day: str
    heaviest: str
    typical: list[str]
    busy_days: list[str]


def probe(url: str) -> Probe:
    engine = open_database(url)
    with engine.connect() as conn:
        first, last = conn.execute(
            select(func.min(SearchLog.create_time), func.max(SearchLog.create_time))
        ).one()
        top = conn.execute(
            select(SearchLog.email_addr, func.count().label("n"))
            .where(SearchLog.create_time >= last - timedelta(days=30))
            .group_by(SearchLog.email_addr)
            .order_by(desc("n"))
            .limit(40)
        ).all()
    engine.dispose()
    days = [(last.date() - timedelta(days=n)).isoformat() for n in range(1, 30)]
    return Probe(
        last.date().isoformat(),
        first.date().isoformat(),
        top[0][0],
        [row[0] for row in top[5:40]],
        days,
    )


def shift(day: str, days: int) -> str:
    return (date.fromisoformat(day) + timedelta(days=days)).isoformat()


def cases(p: Probe, rng: random.Random) -> dict[str, Any]:
    """Endpoint name → a function drawing (path, params, headers) for one call."""
    recent = lambda n: {"from": shift(p.last_day, -n), "to": p.last_day}  # noqa: E731

    def anywhere(n: int) -> dict[str, str]:
        """n + 1 days ending on a random day of the last two years: a new question each
        call, so the answer cache cannot help (what the first call after a poll costs)."""
        end = shift(p.last_day, -rng.randint(0, 730))
        return {"from": shift(end, -n), "to": end}

    return {
        "searches-per-day, 30 days, uncached": lambda: (
            "/api/v1/searches-per-day",
            anywhere(29),
            {},
        ),
        "searches-per-day, a year, uncached": lambda: (
            "/api/v1/searches-per-day",
            anywhere(364),
            {},
        ),
        "users, 30 days, uncached": lambda: ("/api/v1/users", anywhere(29), {}),
        "users, a year, uncached": lambda: ("/api/v1/users", anywhere(364), {}),
        "searches-per-day, 30 days": lambda: ("/api/v1/searches-per-day", recent(29), {}),
        "searches-per-day, a year": lambda: ("/api/v1/searches-per-day", recent(364), {}),
        "searches-per-day, all time, CSV": lambda: (
            "/api/v1/searches-per-day",
            {"from": p.first_day, "to": p.last_day},
            {"Accept": "text/csv"},
        ),
        "users, 30 days": lambda: ("/api/v1/users", recent(29), {}),
        "users, 30 days, one source": lambda: (
            "/api/v1/users",
            {**recent(29), "source": "archive"},
            {},
        ),
        "users, all time": lambda: ("/api/v1/users", {"from": p.first_day, "to": p.last_day}, {}),
        "user searches, heaviest, 1,000": lambda: (
            f"/api/v1/users/{p.heaviest}/searches",
            {**recent(29), "limit": "1000"},
            {},
        ),
        "user searches, typical, 100": lambda: (
            f"/api/v1/users/{rng.choice(p.typical)}/searches",
            {"from": p.first_day, "to": p.last_day},
            {"Accept": "application/x-ndjson"},
        ),
        "day searches, 1,000": lambda: (
            f"/api/v1/days/{rng.choice(p.busy_days)}/searches",
            {"limit": "1000"},
            {},
        ),
        "day searches, text filter": lambda: (
            f"/api/v1/days/{rng.choice(p.busy_days)}/searches",
            {"q": "invoice", "limit": "100"},
            {},
        ),
        "openapi.json": lambda: ("/api/v1/openapi.json", {}, {}),
        "readyz": lambda: ("/readyz", {}, {}),
        "metrics": lambda: ("/metrics", {}, {}),
    }


def server_ms(reply: requests.Response) -> float:
    return float(reply.headers["server-timing"].split("dur=")[1])


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def per_endpoint(base: str, token: str, draw: dict[str, Any], calls: int) -> list[dict[str, Any]]:
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {token}"
    results = []
    for name, make in draw.items():
        times = []
        for index in range(calls + 2):
            path, params, headers = make()
            reply = session.get(base + path, params=params, headers=headers, timeout=120)
            if reply.status_code not in (200, 503):
                raise RuntimeError(f"{name}: HTTP {reply.status_code}: {reply.text[:300]}")
            if index >= 2:  # the first two warm the server's caches of plans and pages
                times.append(server_ms(reply))
        results.append(
            {
                "endpoint": name,
                "calls": len(times),
                "p50_ms": statistics.median(times),
                "p95_ms": percentile(times, 0.95),
                "max_ms": max(times),
            }
        )
        print(f"{name:<36} p50 {results[-1]['p50_ms']:8.1f}  p95 {results[-1]['p95_ms']:8.1f}")
    return results


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


@dataclass
class Load:
    ok: int = 0
    errors: dict[str, int] = field(default_factory=dict)
    server: list[float] = field(default_factory=list)
    client: list[float] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


LOAD_MIX = (
    "searches-per-day, 30 days",
    "users, 30 days",
    "user searches, typical, 100",
    "day searches, 1,000",
    "day searches, text filter",
    "searches-per-day, a year",
)


def load(base: str, token: str, p: Probe, clients: int, seconds: float, pid: int) -> dict[str, Any]:
    stop = time.monotonic() + seconds
    result = Load()

    def client(seed: int) -> None:
        rng = random.Random(seed)
        draw = cases(p, rng)
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {token}"
        while time.monotonic() < stop:
            path, params, headers = draw[rng.choice(LOAD_MIX)]()
            started = time.perf_counter()
            try:
                reply = session.get(base + path, params=params, headers=headers, timeout=120)
                status = str(reply.status_code)
            except requests.RequestException as exc:
                reply, status = None, type(exc).__name__
            elapsed = (time.perf_counter() - started) * 1000
            with result.lock:
                if status == "200" and reply is not None:
                    result.ok += 1
                    result.server.append(server_ms(reply))
                    result.client.append(elapsed)
                else:
                    result.errors[status] = result.errors.get(status, 0) + 1

    memory = [rss_kib(pid)]
    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    for thread in threads:
        thread.start()
    while any(thread.is_alive() for thread in threads):
        time.sleep(5)
        memory.append(rss_kib(pid))
    memory.append(rss_kib(pid))
    summary = {
        "clients": clients,
        "seconds": seconds,
        "calls_ok": result.ok,
        "errors": result.errors,
        "calls_per_second": round(result.ok / seconds, 1),
        "server_p50_ms": statistics.median(result.server) if result.server else None,
        "server_p95_ms": percentile(result.server, 0.95) if result.server else None,
        "client_p95_ms": percentile(result.client, 0.95) if result.client else None,
        "rss_mib": [round(kib / 1024) for kib in memory],
    }
    print(json.dumps(summary))
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True, help="SQLAlchemy URL of a generated database")
    parser.add_argument("--calls", type=int, default=40, help="calls per endpoint")
    parser.add_argument("--clients", type=int, default=50, help="0: no load phase")
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--rounds", type=int, default=1, help="load rounds (memory growth)")
    parser.add_argument("--json", type=Path, help="write the results here")
    args = parser.parse_args()
    p = probe(args.url)
    engine = open_database(args.url)
    token = create_token(engine, f"bench-{int(time.time())}", "viewer")
    engine.dispose()
    env = {"DATABASE_URL": args.url, "API_RATE_LIMIT": "100000000", "POLL_SECONDS": "100000000"}
    with tempfile.TemporaryDirectory() as folder:
        base, process = serve_dashboard(env, Path(folder) / "server.log")
        try:
            results: dict[str, Any] = {"url": args.url}
            results["endpoints"] = per_endpoint(base, token, cases(p, random.Random(1)), args.calls)
            results["load"] = [
                load(base, token, p, args.clients, args.seconds, process.pid)
                for _ in range(args.rounds if args.clients else 0)
            ]
        finally:
            stop_dashboard(process)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
