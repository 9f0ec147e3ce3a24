"""The ingest killed at random moments, and a long scheduled loop under a fault mix."""

from __future__ import annotations

import random
import time
from collections import Counter
from collections.abc import Callable
from contextlib import suppress
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.exc import SQLAlchemyError

from ingest.simulator import SimConfig, Simulator
from tests.support.scenarios.children import Child, Ingest, rss_bytes, state
from tests.support.scenarios.counting import EventFeed, tally
from tests.support.scenarios.outcome import MB, Outcome
from tests.support.truth import runs, wait_until

# --- SIGKILL ------------------------------------------------------------------------------


def scenario_kills(folder: Path, url: str, kills: int = 20, seed: int = 20) -> Outcome:
    """SIGKILL `run --once` or the scheduled loop at `kills` random (seeded) moments, half
    in a 10-day backfill and half in the delta polls after it, resuming each time, while
    late events keep arriving. A quarter of the kills land during start-up (imports,
    migrations, locks, the first token); backfill kills otherwise land at random points of
    the data (after a random number of rows is stored, so the machine's speed does not
    matter), delta kills at random moments of a cycle."""
    outcome = Outcome()
    rng = random.Random(seed)
    config = SimConfig(
        seed=202, days=12, events_per_day=2000, late_fraction=0.0, malformed_rate=0.005
    )
    with Simulator(config) as sim:
        ingest = Ingest(sim, folder, url, INITIAL_BACKFILL_DAYS="10", POLL_SECONDS="1")
        now = datetime.now(UTC)
        backfill_rows = len(sim.truth(now - timedelta(days=10), now)[0])
        with Killer(ingest, rng) as killer, EventFeed(sim, seed) as feed:
            targets = sorted(rng.uniform(0.05, 0.9) * backfill_rows for _ in range(kills // 2))
            for target in targets:
                killer.kill(lambda t=target: killer.at_row_count(t))
            outcome.rule("a run after the backfill kills exits 0", finish_backfill(ingest))
            while killer.killed["delta"] < kills - kills // 2 and killer.attempts < kills * 5:
                killer.kill(killer.in_a_cycle)
        # the late events added during the last run are fetched by the poll after it
        finals = [ingest.run("run", "--once") for _ in range(2)]
        outcome.faults += sum(killer.killed.values())
        outcome.rule(f"{kills} SIGKILLs were delivered", sum(killer.killed.values()) == kills)
        outcome.rule(
            "half the kills landed in the backfill, half in delta polls",
            killer.killed["backfill"] == kills // 2,
        )
        outcome.rule("the runs after the kills exit 0", all(r.returncode == 0 for r in finals))
        outcome.rule(
            "no run is left marked running", all(run.status != "running" for run in runs(url))
        )
        tally(outcome, sim, url)
        outcome.figures.update(
            {
                "SIGKILLs in the backfill": killer.killed["backfill"],
                "SIGKILLs in delta polls": killer.killed["delta"],
                "of them during start-up": killer.during_startup,
                "events added while running": feed.added,
            }
        )
    return outcome


class Killer:
    """Starts `run --once` or the scheduled loop (at random) and SIGKILLs it."""

    def __init__(self, ingest: Ingest, rng: random.Random) -> None:
        self.ingest = ingest
        self.rng = rng
        self.killed: Counter[str] = Counter()  # by phase: backfill or delta
        self.during_startup = 0
        self.attempts = 0
        self._engine = create_engine(ingest.url)
        self._child: Child | None = None

    def __enter__(self) -> Killer:
        return self

    def __exit__(self, *_exc: object) -> None:
        self._engine.dispose()

    def kill(self, moment: Callable[[], bool]) -> None:
        """Start a child; a quarter of the time kill it during start-up, otherwise when
        `moment()` says so. Counted only if it was still running."""
        self.attempts += 1
        phase = "delta" if state(self.ingest.url)[1] else "backfill"
        self._child = child = self.ingest.spawn(*self.rng.choice([("run", "--once"), ("run",)]))
        startup = self.rng.random() < 0.25
        alive = child.running_after(self.rng.uniform(0.05, 1.0)) if startup else moment()
        if alive and child.process.poll() is None:
            child.kill()
            self.killed[phase] += 1
            self.during_startup += startup
        else:
            child.process.wait()

    def at_row_count(self, target: float) -> bool:
        """Wait until `target` rows are stored; whether the child was still running."""
        while self._child and self._child.process.poll() is None:
            if self._rows() >= target:
                return True
            time.sleep(0.01)
        return False

    def in_a_cycle(self) -> bool:
        """Wait for the child's next cycle to start, then 0–1.5 s more."""
        known = self._runs()
        child = self._child
        assert child is not None
        wait_until(lambda: self._runs() > known or child.process.poll() is not None)
        return child.running_after(self.rng.uniform(0.0, 1.5))

    def _rows(self) -> int:
        return self._count("SELECT count(*) FROM search_logs")

    def _runs(self) -> int:
        return self._count("SELECT count(*) FROM ingest_runs")

    def _count(self, sql: str) -> int:
        try:
            with self._engine.connect() as conn:
                return int(conn.execute(text(sql)).scalar_one())
        except SQLAlchemyError:
            return 0  # no schema yet


def finish_backfill(ingest: Ingest) -> bool:
    """Run once more unless the backfill is already done; whether that went well."""
    return state(ingest.url)[1] or ingest.run("run", "--once").returncode == 0


# --- faults over a long run of the scheduled loop -----------------------------------------


FAULTS_WANTED = 60  # the loop runs until it has met this many faults (and `cycles` cycles)


def scenario_fault_loop(folder: Path, url: str, cycles: int = 16) -> Outcome:
    """The scheduled loop (POLL_SECONDS=1) through a fault mix, with events added as it runs,
    until it has run `cycles` cycles and met FAULTS_WANTED faults: counted, not timed, as how
    many requests a cycle makes depends on the hour's volume and the machine's speed. The
    ingest's resident memory is sampled after every cycle."""
    outcome = Outcome()
    config = SimConfig(
        seed=101,
        days=3,
        events_per_day=10_000,
        late_fraction=0.0,
        rate_5xx=0.10,
        rate_429=0.05,
        rate_fail200=0.02,
        rate_drop=0.01,
        malformed_rate=0.01,
        token_lifetime=3,
        rate_limit_reset_ms=50,
    )
    with Simulator(config) as sim:
        ingest = Ingest(
            sim, folder, url, INITIAL_BACKFILL_DAYS="1", POLL_SECONDS="1", LOOKBACK_SECONDS="7200"
        )
        with EventFeed(sim, seed=101, interval=1.0, batch=20) as feed:
            child = ingest.spawn("run")
            samples = sample_memory_per_cycle(
                child, url, cycles, lambda: faults_injected(sim) < FAULTS_WANTED
            )
            status = child.stop()
        met = faults_injected(sim)
        sim.clear_faults()
        final = ingest.run("run", "--once")  # with the lookback, it fetches the late arrivals
        tally(outcome, sim, url)
    outcome.rule(f"the loop ran {cycles} cycles", len(samples) >= cycles)
    outcome.rule(f"the loop met {FAULTS_WANTED} faults", met >= FAULTS_WANTED)
    outcome.rule("SIGTERM stops the loop with exit 0", status == 0)
    outcome.rule("no traceback in the loop's output", "Traceback" not in child.output())
    outcome.rule("the final run exits 0", final.returncode == 0)
    deltas = [rss for rss in samples[1:] if rss is not None]  # the first cycle is the backfill
    if len(deltas) >= 4:
        half = deltas[len(deltas) // 2 :]
        growth = max(half) - half[0]
        outcome.rule("memory grows by less than 10 MB over the second half", growth < 10 * MB)
        outcome.figures.update(
            {
                "RSS after the backfill (MB)": round(samples[0] / MB, 1) if samples[0] else "—",
                "RSS growth over the second half (MB)": round(growth / MB, 1),
            }
        )
    outcome.figures.update(
        {
            "cycles": len(samples),
            "faults met by the loop": met,
            "events added while running": feed.added,
        }
    )
    return outcome


def faults_injected(sim: Simulator) -> int:
    return sum(int(count) for count in sim.stats().get("faults_injected", {}).values())


def sample_memory_per_cycle(
    child: Child, url: str, cycles: int, more: Callable[[], bool], timeout: float = 600
) -> list[int | None]:
    """The child's RSS each time it finishes a cycle, until `cycles` cycles and no `more`
    are wanted; the timeout only stops a loop that hangs."""
    engine = create_engine(url)
    samples: list[int | None] = []
    deadline = time.monotonic() + timeout
    try:
        finished = 0
        while (len(samples) < cycles or more()) and time.monotonic() < deadline:
            if child.process.poll() is not None:
                break
            with suppress(SQLAlchemyError), engine.connect() as conn:
                finished = conn.execute(
                    text("SELECT count(*) FROM ingest_runs WHERE finished_at IS NOT NULL")
                ).scalar_one()
            while len(samples) < finished:
                samples.append(rss_bytes(child.pid))
            time.sleep(0.05)
    finally:
        engine.dispose()
    return samples
