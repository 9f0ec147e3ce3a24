"""Forwarding throughput and memory: searches/s to an NDJSON file and to syslog over TLS
(a real rsyslogd on loopback), the forwarder pinned to one core, catching up a backlog of
synthetic searches (bench/generate.py) from a new destination's cursor at 0.

    .venv/bin/python -m bench.forward --events 1000000 --db /tmp/forward1m.db

Each mode runs in a fresh child process, which samples its own resident memory every
0.2 s: "flat" means the peak stays near the start however large the backlog. A pass that
ends with an error, or delivers other than every stored search (counted in the file or in
what rsyslogd wrote), exits 1 with one line and no figure.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from bench.checks import expect, fail
from db.engine import open_database
from db.models import SearchLog
from ingest.forward.config import ForwardConfig, destination_from
from ingest.forward.runner import forward_pending

PAGE = os.sysconf("SC_PAGE_SIZE")


def rss_mb() -> float:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * PAGE / 1e6


class MemorySampler(threading.Thread):
    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.samples: list[float] = []
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.wait(0.2):
            self.samples.append(rss_mb())


def measure(url: str, table: dict[str, Any]) -> dict[str, Any]:
    """One forwarding pass from position 0 to the end, on one core."""
    os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    engine = open_database(url)
    with engine.connect() as conn:
        conn.execute(select(func.count()).select_from(SearchLog)).scalar()
    config = ForwardConfig((destination_from(table, {}, 1),))
    start_rss = rss_mb()
    sampler = MemorySampler()
    sampler.start()
    started = time.perf_counter()
    (result,) = forward_pending(engine, config, max_seconds=3600)
    seconds = time.perf_counter() - started
    sampler.done.set()
    sampler.join()
    engine.dispose()
    samples = sampler.samples or [rss_mb()]
    quarter = max(1, len(samples) // 4)
    return {
        "delivered": result.delivered,
        "error": result.error,
        "seconds": round(seconds, 1),
        "per_s": round(result.delivered / seconds),
        "rss_start_mb": round(start_rss, 1),
        "rss_quartiles_mb": [
            round(max(samples[i : i + quarter]), 1) for i in range(0, len(samples), quarter)
        ][:4],
        "rss_peak_mb": round(max(samples), 1),
    }


def child(args: argparse.Namespace) -> None:
    table = json.loads(args.table)
    print(json.dumps(measure(args.url, table)))


def run_child(url: str, table: dict[str, Any]) -> dict[str, Any]:
    command = [sys.executable, "-m", "bench.forward", "--child", "--url", url]
    done = subprocess.run([*command, "--table", json.dumps(table)], capture_output=True, text=True)
    if done.returncode != 0:
        last = done.stderr.strip().splitlines()[-1:] or ["no output"]
        fail(f"the forwarder exited with {done.returncode}: {last[0]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def checked(mode: str, result: dict[str, Any], stored: int) -> dict[str, Any]:
    """`result`, if the pass delivered every stored search without an error."""
    expect(result["error"] is None, mode, f"the pass ended with an error: {result['error']}")
    expect(result["delivered"] == stored, mode, f"{result['delivered']:,} of {stored:,} delivered")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--db", default="/tmp/forward-bench.db", help="SQLite file (reused)")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--table", help=argparse.SUPPRESS)
    parser.add_argument("--modes", default="file,syslog-tls")
    args = parser.parse_args()
    if args.child:
        child(args)
        return
    url = f"sqlite:///{args.db}"
    engine = open_database(url)
    with engine.connect() as conn:
        stored = conn.execute(select(func.count()).select_from(SearchLog)).scalar() or 0
    engine.dispose()
    if stored < args.events:
        from bench.generate import generate

        generate(url, args.events - stored, users=2_000, years=1.0, seed=2026, append=bool(stored))
        stored = args.events
    from tests.support.forward_receivers import Rsyslog, make_ca

    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        if "file" in args.modes:
            table = {"name": f"bench-file-{time.time_ns()}", "url": f"file://{work}/out.ndjson",
                     "rotate_bytes": 10**12}  # fmt: skip
            mode = "NDJSON file (ECS)"
            results[mode] = checked(mode, run_child(url, table), stored)
            with (work / "out.ndjson").open("rb") as written:
                lines = sum(1 for _ in written)
            expect(lines == stored, mode, f"{lines:,} lines written for {stored:,} searches")
            (work / "out.ndjson").unlink()
        if "syslog-tls" in args.modes:
            ca = make_ca(work / "ca")
            with Rsyslog(work / "rsyslog", ca) as daemon:
                table = {"name": f"bench-syslog-{time.time_ns()}", "url": daemon.url,
                         "format": "cef", "ca_file": str(ca.ca_file)}  # fmt: skip
                mode = "syslog over TLS (CEF, rsyslogd)"
                results[mode] = checked(mode, run_child(url, table), stored)
                lines = len(daemon.wait_for(stored, timeout=60))
                expect(lines == stored, mode, f"rsyslogd wrote {lines:,} of {stored:,} lines")
                results[mode]["lines_written_by_rsyslogd"] = lines
    print(
        "| mode | searches | seconds | searches/s | RSS start | RSS by quarter of the run | peak |"
    )
    print("|---|---:|---:|---:|---:|---|---:|")
    for mode, r in results.items():
        print(
            f"| {mode} | {r['delivered']:,} | {r['seconds']} | {r['per_s']:,} | "
            f"{r['rss_start_mb']} MB | {' / '.join(str(q) for q in r['rss_quartiles_mb'])} MB | "
            f"{r['rss_peak_mb']} MB |"
        )
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
