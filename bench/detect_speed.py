"""How fast `python -m ingest detect` is as the operator runs it: a fresh process (imports
included) scoring one new day of a 1,000-person tenant, and the first run over the whole
stored history, per 1M searches (issue 17's "Faster": ≤ 1 s and ≤ 60 s).

    .venv/bin/python -m bench.detect_speed --people 1000 --days 40 --workdir /tmp/ds

The store is the project's labelled generator (`labelled_tenant`, no incidents) loaded as
the ingest stores it, with the cursor at the start of the last day; the first run scores
every complete day; each new-day run starts from a copy of that scored store with the
cursor moved past the last day, so that exactly one new day is scored. Each run's exit
status and summary line are checked before its time is printed.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import statistics
import subprocess
import time
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from bench.checks import expect
from config.settings import spec
from db.engine import open_database
from db.models import SearchLog
from ingest.simulator.incidents import labelled_tenant
from ingest.store import Store
from tests.support.detections import load_records
from tests.support.runtime import runtime_python, subprocess_env
from tests.support.tenancy import TENANT

END = date(2026, 11, 5)
"""The day after the last generated day (a Thursday: the new day is a working day)."""
OVERLAP = timedelta(seconds=int(spec("LOOKBACK_SECONDS").default))
"""A day is complete once the cursor less the overlap re-read passes its end."""


def build_store(path: Path, people: int, days: int) -> int:
    """The tenant's searches in a new SQLite file, the cursor at the last day's start."""
    tenant = labelled_tenant(99, people=people, days=days, end=END, repeats=0)
    last_start = datetime.combine(END - timedelta(days=1), dtime(), UTC) + OVERLAP
    engine = open_database(f"sqlite:///{path}")
    try:
        stored = load_records(engine, tenant.records, last_start)
    finally:
        engine.dispose()
    return stored


def move_cursor(path: Path, to: datetime) -> None:
    engine = open_database(f"sqlite:///{path}")
    try:
        Store(engine, TENANT).advance_cursor(to)
    finally:
        engine.dispose()


def child_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def detect_env(path: Path) -> dict[str, str]:
    """The child's settings: `path`, the built-in rules (no detections.toml in the work
    folder), and bytecode written, as an installed package has it."""
    env = subprocess_env({"DB_PATH": str(path)})
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def warm_up(path: Path, folder: Path) -> None:
    """One `detect --help` first: the timed runs do not compile the package's bytecode."""
    command = [runtime_python(), "-m", "ingest", "detect", "--help"]
    subprocess.run(command, env=detect_env(path), cwd=folder, capture_output=True, check=True)


def run_detect(path: Path, folder: Path) -> tuple[float, float, str]:
    """Wall-clock and CPU seconds of a fresh `python -m ingest detect`, and its summary line
    (CPU: the steadier figure on a shared machine)."""
    env = detect_env(path)
    cpu, started = child_cpu(), time.perf_counter()
    done = subprocess.run(
        [runtime_python(), "-m", "ingest", "detect"],
        env=env,
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=3600,
    )
    seconds, cpu = time.perf_counter() - started, child_cpu() - cpu
    expect(done.returncode == 0, "detect", f"exit {done.returncode}: {done.stderr.strip()}")
    return seconds, cpu, done.stdout.strip()


def copy_database(source: Path, target: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        if Path(f"{source}{suffix}").exists():
            shutil.copyfile(f"{source}{suffix}", f"{target}{suffix}")


def measure(people: int, days: int, workdir: Path, repeats: int) -> dict[str, Any]:
    workdir.mkdir(parents=True, exist_ok=True)
    base = workdir / "scored.db"
    for old in workdir.glob("*.db*"):
        old.unlink()
    stored = build_store(base, people, days)
    warm_up(base, workdir)
    first_seconds, first_cpu, first_line = run_detect(base, workdir)
    expect("scored" in first_line, "first run", first_line)
    new_day = (END - timedelta(days=1)).isoformat()
    timings, cpus, lines = [], [], []
    for attempt in range(repeats):
        copy = workdir / f"new-day-{attempt}.db"
        copy_database(base, copy)
        move_cursor(copy, datetime.combine(END, dtime(), UTC) + OVERLAP)
        seconds, cpu, line = run_detect(copy, workdir)
        expect(f"scored 1 day ({new_day})" in line, "new day", line)
        timings.append(seconds)
        cpus.append(cpu)
        lines.append(line)
    engine = open_database(f"sqlite:///{base}")
    with engine.connect() as conn:
        searches = int(conn.execute(select(func.count(SearchLog.id))).scalar() or 0)
    engine.dispose()
    expect(searches == stored, "store", f"{searches} rows, {stored} loaded")
    return {
        "people": people,
        "days": days,
        "searches": searches,
        "first_run_seconds": round(first_seconds, 2),
        "first_run_seconds_per_1m": round(first_seconds * 1e6 / searches, 1),
        "first_run_cpu_seconds": round(first_cpu, 2),
        "first_run_line": first_line,
        "new_day_seconds": [round(s, 2) for s in timings],
        "new_day_median": round(statistics.median(timings), 2),
        "new_day_cpu_seconds": [round(s, 2) for s in cpus],
        "new_day_line": lines[-1],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=1000)
    parser.add_argument("--days", type=int, default=40)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/detect-speed"))
    args = parser.parse_args()
    print(json.dumps(measure(args.people, args.days, args.workdir, args.repeats), indent=2))


if __name__ == "__main__":
    main()
