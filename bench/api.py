"""Benchmark: the machine API over real HTTP, against `streamlit run streamlit_app.py`.

For one database (made by `bench/generate.py`) it starts the server, makes a viewer token
and measures:

- **per endpoint**: `--calls` sequential calls each with varied filters, timed by the
  server itself (the `Server-Timing: app;dur=…` header: from the request reaching the
  route to the body being ready, token check and audit row included), p50 / p95 / max;
- **load**: `--clients` concurrent clients (threads, one HTTP session each) calling a mix
  of the endpoints for `--seconds`, and the server's resident memory (VmRSS) sampled
  every 5 s.

    .venv/bin/python -m bench.api --url sqlite:////tmp/bench1m.db [--json out.json]

Every answer is checked before it is counted (`bench/api_cases.py`): the status it must
give and the shape and size of its body. The first wrong answer, in either phase, stops
the run with exit status 1 and one line saying what was wrong; so does a setting the
product's own parser refuses, before the server starts. The rate limit is raised to its
maximum for the run (`API_RATE_LIMIT`), so only the server is measured.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

from bench.api_cases import Case, Probe, cases, probe
from bench.checks import fail, product_settings
from bench.synthetic import TENANT
from config.parsers import API_RATE_LIMIT_RANGE, POLL_SECONDS_RANGE
from db.api_tokens import create_token
from db.engine import open_database
from tests.support.browser import serve_dashboard, stop_dashboard

SETTINGS = {
    "API_RATE_LIMIT": str(API_RATE_LIMIT_RANGE[1]),
    "POLL_SECONDS": str(POLL_SECONDS_RANGE[1]),
}
"""The benchmark's settings: the highest each range allows (no rate limit in the way, the
last poll counts as recent for two weeks)."""


def server_ms(reply: requests.Response) -> float:
    timing = reply.headers.get("server-timing", "")
    if "dur=" not in timing:
        fail(f"{reply.url}: no Server-Timing header in the answer")
    return float(timing.split("dur=")[1])


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def call(session: requests.Session, base: str, name: str, case: Case) -> requests.Response:
    """One call, checked: its answer, or the run stops with what was wrong."""
    path, params, headers = case.draw()
    try:
        reply = session.get(base + path, params=params, headers=headers, timeout=120)
    except requests.RequestException as exc:
        fail(f"{name}: {type(exc).__name__} calling {path}")
    wrong = case.check(reply, params)
    if wrong:
        fail(f"{name}: {path} {params}: {wrong}")
    return reply


def per_endpoint(base: str, token: str, draw: dict[str, Case], calls: int) -> list[dict[str, Any]]:
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {token}"
    results = []
    for name, case in draw.items():
        times = []
        for index in range(calls + 2):
            reply = call(session, base, name, case)
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


def cpu_seconds(pid: int) -> float:
    """User and system CPU time a process has used (its /proc stat), in seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass
class Load:
    ok: int = 0
    wrong: str | None = None
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
    """`clients` threads calling the mix for `seconds`; the first wrong answer stops them
    all and fails the run (a load phase with any error has no figure)."""
    stop = time.monotonic() + seconds
    result = Load()

    def client(seed: int) -> None:
        rng = random.Random(seed)
        draw = cases(p, rng)
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {token}"
        while time.monotonic() < stop and result.wrong is None:
            name = rng.choice(LOAD_MIX)
            started = time.perf_counter()
            try:
                reply = call(session, base, name, draw[name])
                timed = server_ms(reply)
            except SystemExit as exc:
                with result.lock:
                    result.wrong = result.wrong or str(exc.code)
                return
            elapsed = (time.perf_counter() - started) * 1000
            with result.lock:
                result.ok += 1
                result.server.append(timed)
                result.client.append(elapsed)

    memory, cpu = [rss_kib(pid)], cpu_seconds(pid)
    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    for thread in threads:
        thread.start()
    while any(thread.is_alive() for thread in threads):
        time.sleep(min(5.0, seconds))
        memory.append(rss_kib(pid))
    cpu = cpu_seconds(pid) - cpu
    if result.wrong:
        raise SystemExit(f"{result.wrong} (in the load phase, after {result.ok} right answers)")
    if not result.server:
        fail("the load phase got no answer at all")
    summary = {
        "clients": clients,
        "seconds": seconds,
        "calls_ok": result.ok,
        "errors": 0,
        "calls_per_second": round(result.ok / seconds, 1),
        "server_p50_ms": statistics.median(result.server),
        "server_p95_ms": percentile(result.server, 0.95),
        "client_p95_ms": round(percentile(result.client, 0.95), 1),
        "server_cpu_ms_per_call": round(cpu * 1000 / result.ok, 2),
        "load_average": os.getloadavg()[0],
        "rss_mib": [round(kib / 1024) for kib in memory],
    }
    print(json.dumps(summary))
    return summary


def settings_env(url: str, extra: list[str]) -> dict[str, str]:
    """The server's settings: the database, SETTINGS, then `--setting NAME=VALUE`s."""
    env = {"DATABASE_URL": url, **SETTINGS}
    for item in extra:
        name, sep, value = item.partition("=")
        if not sep or not name:
            fail(f"--setting {item!r}: expected NAME=VALUE")
        env[name] = value
    return env


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True, help="SQLAlchemy URL of a generated database")
    parser.add_argument("--calls", type=int, default=40, help="calls per endpoint (0: none)")
    parser.add_argument("--clients", type=int, default=50, help="0: no load phase")
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--rounds", type=int, default=1, help="load rounds (memory growth)")
    parser.add_argument("--setting", action="append", default=[], metavar="NAME=VALUE",
                        help="a product setting for the server (repeatable)")  # fmt: skip
    parser.add_argument("--json", type=Path, help="write the results here")
    args = parser.parse_args()
    env = settings_env(args.url, args.setting)
    settings = product_settings(env)  # a value out of range stops here, in the product's words
    p = probe(args.url, settings.poll_seconds)
    engine = open_database(args.url)
    token = create_token(engine, f"bench-{time.time_ns()}", "viewer", tenant=TENANT)
    engine.dispose()
    with tempfile.TemporaryDirectory() as folder:
        base, process = serve_dashboard(env, Path(folder) / "server.log")
        try:
            results: dict[str, Any] = {"url": args.url}
            draw = cases(p, random.Random(1))
            results["endpoints"] = per_endpoint(base, token, draw, args.calls) if args.calls else []
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
