"""Benchmark: a full backfill from the simulator over HTTP, end to end, as a user runs it.

Runs `python -m ingest run --once` in a child process against a simulator in this process,
and reports events/s, API requests per 1,000 events, tokens, the child's peak memory (its
VmHWM, polled: os.wait4's ru_maxrss would count the benchmark's own memory, which the child
holds between fork and exec), the child's CPU time (os.wait4), the simulator's CPU time,
and database rows/s (stored rows per second the ingest spent writing, from its summary line).
Checks the result against the simulator's ground truth, so a fast but wrong ingest does not
get a figure: a run that stored anything else, or whose ingest failed, exits 1 with one line.

    .venv/bin/python -m bench.ingest_backfill --events 100000 [--days 30] [--markdown]
    .venv/bin/python -m bench.ingest_backfill --url postgresql+psycopg://user@host/postgres

With `--url` (a PostgreSQL server) the ingest writes into a new database created on that
server for the run and dropped after it; without it, into a new SQLite file.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import resource
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from bench.checks import expect, fail
from ingest.simulator import SimConfig, Simulator
from tests.support.backends import fresh_postgres_database
from tests.support.scenarios import child_env
from tests.support.truth import expected_records, runs, stored_records


@contextmanager
def fresh_database(server_url: str | None, folder: str) -> Iterator[str]:
    """A new, empty database: a SQLite file in `folder`, or one created on the PostgreSQL
    server at `server_url` for this run and dropped afterwards."""
    if server_url is None:
        yield f"sqlite:///{Path(folder) / 'bench.db'}"
        return
    name = f"ingest_bench_{os.getpid()}"
    url = fresh_postgres_database(server_url, name)
    try:
        yield url
    finally:
        admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def database_bytes(url: str) -> int:
    if url.startswith("sqlite:///"):
        path = Path(url.removeprefix("sqlite:///"))
        return sum(p.stat().st_size for p in path.parent.glob(path.name + "*"))
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(text("SELECT pg_database_size(current_database())")).scalar())
    finally:
        engine.dispose()


class PeakMemory:
    """The highest VmHWM (peak resident set) of a process, polled until it exits."""

    def __init__(self, pid: int, every: float = 0.25) -> None:
        self.kib = 0
        self._path = Path(f"/proc/{pid}/status")
        self._every = every
        self._thread = threading.Thread(target=self._poll, daemon=True)
        self._thread.start()

    def _poll(self) -> None:
        while True:
            try:
                status = self._path.read_text()
            except OSError:
                return  # the process is gone
            found = re.search(r"^VmHWM:\s+(\d+) kB", status, re.MULTILINE)
            if found is None:
                return  # a zombie: no memory left to measure
            self.kib = max(self.kib, int(found.group(1)))
            time.sleep(self._every)

    def mib(self) -> float:
        self._thread.join()
        return self.kib / 1024


def _cpu_seconds(usage: resource.struct_rusage) -> float:
    return usage.ru_utime + usage.ru_stime


def run(events: int, days: int, server_url: str | None = None) -> dict[str, float | int | str]:
    # A simulator clock frozen a little in the past makes the window's truth settled.
    frozen = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=5)
    config = SimConfig(
        seed=2026,
        days=days + 2,
        events_per_day=max(1, events // days),
        late_fraction=0.0,
        clock=lambda: frozen,
    )
    with (
        tempfile.TemporaryDirectory() as folder,
        fresh_database(server_url, folder) as url,
        Simulator(config) as sim,
    ):
        env = child_env(sim, Path(folder) / "bench.db", days)
        env["DATABASE_URL"] = url
        simulator_cpu = _cpu_seconds(resource.getrusage(resource.RUSAGE_SELF))
        started = time.perf_counter()
        child = subprocess.Popen(
            [sys.executable, "-m", "ingest", "run", "--once"],
            cwd=folder,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        peak = PeakMemory(child.pid)
        _pid, status, usage = os.wait4(child.pid, 0)
        seconds = time.perf_counter() - started
        simulator_cpu = _cpu_seconds(resource.getrusage(resource.RUSAGE_SELF)) - simulator_cpu
        stderr = child.stderr.read().decode() if child.stderr else ""
        if os.waitstatus_to_exitcode(status) != 0:
            last = stderr.strip().splitlines()[-1:] or ["no output"]
            fail(f"the ingest exited with {os.waitstatus_to_exitcode(status)}: {last[0]}")
        stats = sim.stats()
        stored = stored_records(url)
        run = runs(url)[-1]
        start, window_end = run.window_start, run.window_end
        valid, _ = sim.truth(start, window_end)
        expected = expected_records(valid, start, window_end)
        exact = stored == expected
        total = sum(stored.values())
        expect(bool(expected), "the backfill", "the simulator served no events in the window")
        if not exact:  # a fast but wrong ingest gets no figure
            missing, extra = (expected - stored).total(), (stored - expected).total()
            fail(
                f"the stored searches differ from the simulator's truth: {missing} missing, "
                f"{extra} extra, {total:,} stored of {sum(expected.values()):,}"
            )
        requests = int(stats["token_requests"]) + int(stats["search_requests"])
        writing = re.search(r"\(([\d.]+) s writing\)", stderr)
        expect(
            writing is not None, "the ingest's summary line", f"no 's writing' in {stderr[-200:]!r}"
        )
        write_seconds = float(writing.group(1)) if writing else float("nan")
        return {
            "events": total,
            "exact": "yes" if exact else "NO",
            "seconds": round(seconds, 2),
            "events_per_s": round(total / seconds),
            "requests": requests,
            "tokens": int(stats["token_requests"]),
            "requests_per_1000": round(requests / total * 1000, 2),
            "peak_rss_mb": round(peak.mib(), 1),
            "ingest_cpu_s": round(_cpu_seconds(usage), 1),
            "simulator_cpu_s": round(simulator_cpu, 1),
            "db_rows_per_s": round(run.inserted / write_seconds) if write_seconds else 0,
            "db_bytes_per_event": round(database_bytes(url) / total),
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--markdown", action="store_true", help="one Markdown table row")
    parser.add_argument(
        "--url",
        help="a PostgreSQL server URL (postgresql+psycopg://user@host/db) to benchmark on; "
        "a database is created there for the run and dropped after it (default: SQLite)",
    )
    args = parser.parse_args()
    result = run(args.events, args.days, args.url)
    if args.markdown:
        database = make_url(args.url).get_backend_name() if args.url else "sqlite"
        print(
            f"| {database} | {result['events']:,} | {args.days} | {result['exact']} "
            f"| {result['seconds']} | {result['events_per_s']:,} "
            f"| {result['requests']} ({result['tokens']} token) "
            f"| {result['requests_per_1000']} | {result['peak_rss_mb']} "
            f"| {result['ingest_cpu_s']} | {result['simulator_cpu_s']} "
            f"| {result['db_rows_per_s']:,} | {result['db_bytes_per_event']} |"
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
