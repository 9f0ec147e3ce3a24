"""Benchmark: a full backfill from the simulator over HTTP, end to end, as a user runs it.

Runs `python -m ingest run --once` in a child process against a simulator in this process,
and reports events/s, API requests per 1,000 events, tokens, and the child's peak memory
(from os.wait4, so the simulator's memory is not counted). Checks the result against the
simulator's ground truth, so a fast but wrong ingest does not get a figure.

    .venv/bin/python bench/ingest_backfill.py --events 100000 [--days 30] [--markdown]
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_ROOT))

from bench.ingest_scenarios import child_env  # noqa: E402
from ingest.simulator import SimConfig, Simulator  # noqa: E402
from tests.helpers import expected_records, runs, stored_records  # noqa: E402


def run(events: int, days: int) -> dict[str, float | int | str]:
    # A simulator clock frozen a little in the past makes the window's truth settled.
    frozen = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=5)
    config = SimConfig(
        seed=2026,
        days=days + 2,
        events_per_day=max(1, events // days),
        late_fraction=0.0,
        clock=lambda: frozen,
    )
    with tempfile.TemporaryDirectory() as folder, Simulator(config) as sim:
        db_path = Path(folder) / "bench.db"
        env = child_env(sim, db_path, days)
        started = time.perf_counter()
        child = subprocess.Popen(
            [sys.executable, "-m", "ingest", "run", "--once"],
            cwd=folder,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        _pid, status, usage = os.wait4(child.pid, 0)
        seconds = time.perf_counter() - started
        stderr = child.stderr.read().decode() if child.stderr else ""
        if os.waitstatus_to_exitcode(status) != 0:
            raise SystemExit(f"the ingest failed:\n{stderr}")
        stats = sim.stats()
        url = f"sqlite:///{db_path}"
        stored = stored_records(url)
        run = runs(url)[-1]
        start, window_end = run.window_start, run.window_end
        valid, _ = sim.truth(start, window_end)
        expected = expected_records(valid, start, window_end)
        exact = stored == expected
        total = sum(stored.values())
        requests = int(stats["token_requests"]) + int(stats["search_requests"])
        return {
            "events": total,
            "exact": "yes" if exact else "NO",
            "seconds": round(seconds, 2),
            "events_per_s": round(total / seconds),
            "requests": requests,
            "tokens": int(stats["token_requests"]),
            "requests_per_1000": round(requests / total * 1000, 2),
            "peak_rss_mb": round(usage.ru_maxrss / 1024, 1),
            "db_bytes_per_event": round(db_path.stat().st_size / total),
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--markdown", action="store_true", help="one Markdown table row")
    args = parser.parse_args()
    result = run(args.events, args.days)
    if args.markdown:
        print(
            f"| {result['events']:,} | {args.days} | {result['exact']} | {result['seconds']} "
            f"| {result['events_per_s']:,} | {result['requests']} ({result['tokens']} token) "
            f"| {result['requests_per_1000']} | {result['peak_rss_mb']} "
            f"| {result['db_bytes_per_event']} |"
        )
    else:
        for key, value in result.items():
            print(f"{key:>20}: {value}")
    print(
        f"# {platform.node()} {os.cpu_count()} cores, Python {platform.python_version()}",
        file=sys.stderr,
    )


if __name__ == "__main__":
    main()
