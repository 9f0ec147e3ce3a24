"""Readers while the ingest writes, and many first starts racing for a new database."""

from __future__ import annotations

import itertools
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from db import queries
from db.engine import open_database, sqlite_path
from ingest.simulator import SimConfig, Simulator
from ingest.simulator.api import SEARCH_PATHS
from ingest.status import collect_status
from tests.support.backends import fresh_postgres_database
from tests.support.runtime import runtime_python
from tests.support.scenarios.children import Ingest
from tests.support.scenarios.counting import tally
from tests.support.scenarios.outcome import Outcome
from tests.support.tenancy import SCOPE

# --- readers while the ingest writes ------------------------------------------------------


class DashboardReader:
    """Calls the dashboard's query functions at a steady rate from a thread, as a busy
    dashboard would, and remembers every error."""

    def __init__(self, url: str, interval: float = 0.05) -> None:
        self.url = url
        self.interval = interval
        self.calls = 0
        self.errors: list[str] = []
        self.counts: list[int] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="dashboard-reader", daemon=True)

    def __enter__(self) -> DashboardReader:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=60)

    def _queries(self, engine: Any) -> Iterator[Callable[[], object]]:
        today = datetime.now(UTC).date()
        every = queries.SearchFilters(SCOPE, start=today - timedelta(days=12), end=today)
        recent = queries.SearchFilters(
            SCOPE, start=today - timedelta(days=2), end=today, text="user"
        )
        while True:
            users = queries.filter_options(engine, SCOPE).users
            one = every.for_user(users[len(users) // 2]) if users else every
            yield lambda: self.counts.append(queries.count_searches(engine, every, "UTC"))
            yield lambda: queries.summary_by_user(engine, every, "UTC")
            yield lambda: queries.searches_per_day(engine, every, "Europe/London")
            yield lambda: queries.search_page(engine, recent, "UTC", limit=50, offset=50)
            yield lambda: queries.data_version(engine)
            yield lambda f=one: queries.hour_weekday_counts(engine, f, "UTC")
            yield lambda: queries.ingest_health(engine, SCOPE)
            yield lambda f=one: queries.search_page(engine, f, "UTC", limit=100)
            yield lambda: collect_status(engine, SCOPE)

    def _loop(self) -> None:
        engine = None
        try:
            while engine is None and not self._stop.is_set():
                path = sqlite_path(self.url)
                if path is None or path.exists():  # a dashboard opened as the ingest starts
                    engine = open_database(self.url)
                else:
                    time.sleep(0.005)
            if engine is None:
                return
            calls = self._queries(engine)
            while not self._stop.wait(self.interval):
                try:
                    next(calls)()
                    self.calls += 1
                except Exception as exc:
                    self.errors.append(f"{type(exc).__name__}: {str(exc).splitlines()[0]}")
                    calls = self._queries(engine)
        except Exception as exc:
            self.errors.append(f"opening: {type(exc).__name__}: {str(exc).splitlines()[0]}")
        finally:
            if engine is not None:
                engine.dispose()


PAGES_PER_CALL = 10


class PagesPaced:
    """The simulator serves search page n only once the reader has made n // PAGES_PER_CALL
    calls: the backfill cannot end before the dashboard has read during it, however fast or
    slow the machine (timed, 50,000 events once left 37 calls). A reader that stops calling
    for `patience` seconds ends the pacing (and the count rule then says so)."""

    def __init__(self, sim: Simulator, reader: DashboardReader, patience: float = 60) -> None:
        self.reader = reader
        self.patience = patience
        self.gave_up = False
        self._pages = itertools.count(1)
        self._handle = sim.api.handle
        sim.api.handle = self._paced  # type: ignore[method-assign]

    def _paced(self, method: str, target: str, *rest: Any) -> Any:
        if method == "POST" and target.split("?")[0] in SEARCH_PATHS:
            wanted = next(self._pages) // PAGES_PER_CALL
            deadline = time.monotonic() + self.patience
            while not self.gave_up and self.reader.calls < wanted:
                if time.monotonic() > deadline:
                    self.gave_up = True
                time.sleep(0.005)
        return self._handle(method, target, *rest)


def scenario_readers(folder: Path, url: str) -> Outcome:
    """The dashboard's queries, called every 50 ms from the moment the database appears,
    while the ingest writes a 100,000-event backfill (1,000 pages), its pages served in step
    with the dashboard's calls: at least 100 calls while it wrote, counted, not timed."""
    outcome = Outcome()
    config = SimConfig(seed=505, days=22, events_per_day=5000, late_fraction=0.0)
    with Simulator(config) as sim:
        ingest = Ingest(sim, folder, url, INITIAL_BACKFILL_DAYS="20")
        with DashboardReader(url) as reader:
            pacing = PagesPaced(sim, reader)
            child = ingest.spawn("run", "--once")
            status = child.process.wait(timeout=600)
        outcome.rule("the ingest exits 0", status == 0)
        outcome.rule("the pages were served in step with the dashboard", not pacing.gave_up)
        outcome.rule("the dashboard made at least 50 calls while it wrote", reader.calls >= 50)
        outcome.rule("no query failed (no 'database is locked')", not reader.errors)
        outcome.rule(
            "the search count never went down",
            all(a <= b for a, b in zip(reader.counts, reader.counts[1:], strict=False)),
        )
        outcome.figures.update({"dashboard calls": reader.calls, "errors": len(reader.errors)})
        if reader.errors:
            outcome.figures["first errors"] = reader.errors[:3]
        tally(outcome, sim, url)
    return outcome


OPEN_AND_READ = (  # what a dashboard does first, without loading pandas
    "import sys\n"
    "from db.engine import has_schema, open_database\n"
    "sys.exit(0 if has_schema(open_database(sys.argv[1])) else 1)\n"
)


def scenario_first_start(folder: Path, url: str, rounds: int = 2) -> Outcome:
    """Two ingests and three dashboards started at the same moment on a new database (as
    `scripts/start` does on a first run): one ingest writes, the other exits 3 (or, if the
    first has already finished, runs after it), every dashboard opens the database, and
    nothing fails while the schema is being created."""
    outcome = Outcome()
    with Simulator(SimConfig(seed=606, days=3, events_per_day=600, late_fraction=0.0)) as sim:
        for round_number in range(rounds):
            round_url = fresh_database(url, folder, round_number)
            ingest = Ingest(sim, folder, round_url, INITIAL_BACKFILL_DAYS="1")
            ingests = [ingest.spawn("run", "--once") for _ in range(2)]
            dashboards = [
                subprocess.Popen(
                    [runtime_python(), "-c", OPEN_AND_READ, round_url],
                    env=ingest.env(),
                    cwd=folder,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    text=True,
                )
                for _ in range(3)
            ]
            statuses = sorted(child.process.wait(timeout=120) for child in ingests)
            outcome.faults += 1  # a race for a new database
            failures = [d.communicate(timeout=120)[1].strip()[-300:] for d in dashboards]
            failures = [f for d, f in zip(dashboards, failures, strict=True) if d.returncode]
            outcome.rule(
                "one ingest writes, the other exits 3 (or runs after it)",
                statuses in ([0, 3], [0, 0]),
            )
            outcome.rule("every dashboard opens the new database", not failures)
            if failures or statuses not in ([0, 3], [0, 0]):
                outcome.figures[f"round {round_number + 1}"] = {
                    "ingest exits": statuses,
                    "ingest output": [c.output()[-300:] for c in ingests],
                    "dashboard errors": failures[:2],
                }
            if round_number == rounds - 1:
                tally(outcome, sim, round_url)
    outcome.figures["rounds"] = rounds
    return outcome


def fresh_database(url: str, folder: Path, number: int) -> str:
    """A new, empty database like `url`: another SQLite file, or another PostgreSQL database."""
    if sqlite_path(url) is not None:
        return f"sqlite:///{Path(folder) / f'round-{number}' / 'searchlogs.db'}"
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    return fresh_postgres_database(url, f"{parsed.database}_r{number}")
