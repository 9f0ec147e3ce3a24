"""The machine and the environment: a second ingest, read-only files, full disks, a file
that is not a database, a cursor ahead of the clock."""

from __future__ import annotations

import ctypes
import os
import resource
import shutil
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import create_engine, text

from db.engine import sqlite_path
from ingest.client import format_api_time
from ingest.simulator import SimConfig, Simulator
from ingest.store import Store
from tests.support.scenarios.children import (
    Ingest,
    error_message,
    file_digest,
    integrity_ok,
    one_line_error,
    sqlite_files,
    state,
)
from tests.support.scenarios.counting import recent_events, tally
from tests.support.scenarios.outcome import MB, CannotRun, Outcome
from tests.support.tenancy import TENANT
from tests.support.truth import expected_records, runs, stored_records, wait_until

# --- the machine and the environment ------------------------------------------------------


def scenario_second_ingest(folder: Path, url: str) -> Outcome:
    """While the scheduled loop backfills, a second `run --once` and a second loop exit 3 at
    once, in one line; the first goes on and loses nothing."""
    outcome = Outcome()
    config = SimConfig(seed=707, days=12, events_per_day=3000, late_fraction=0.0)
    with Simulator(config) as sim:
        ingest = Ingest(sim, folder, url, INITIAL_BACKFILL_DAYS="10", POLL_SECONDS="3600")
        first = ingest.spawn("run")
        wait_until(lambda: bool(state(url)[0] and runs(url)), timeout=60)
        for args in (("run", "--once"), ("run",)):
            second = ingest.run(*args)
            outcome.faults += 1
            outcome.rule("a second ingest exits 3", second.returncode == 3)
            # "At once": the first never lets go of the database (its loop sleeps an hour
            # between polls), so a second that waited for it would only come back killed by
            # the run's timeout, not with exit 3 while the first still runs. No clock needed.
            outcome.rule("while the first still runs", first.process.poll() is None)
            outcome.rule(
                "with one line naming the other writer",
                one_line_error(second, "another ingest is already writing"),
            )
        outcome.rule("the first was still running", first.process.poll() is None)
        wait_until(lambda: state(url)[1], timeout=120)
        outcome.rule("the first stops with exit 0 on SIGTERM", first.stop() == 0)
        tally(outcome, sim, url)
    return outcome


def without_root_bypass() -> None:
    """In a child: file permissions apply even to root (drops CAP_DAC_OVERRIDE and
    CAP_DAC_READ_SEARCH from the bounding set before exec); nothing to do for other users."""
    if os.geteuid() != 0:
        return
    libc = ctypes.CDLL(None, use_errno=True)
    pr_capbset_drop, cap_dac_override, cap_dac_read_search = 24, 1, 2
    for capability in (cap_dac_override, cap_dac_read_search):
        if libc.prctl(pr_capbset_drop, capability, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP) failed")


def scenario_read_only(folder: Path, url: str, what: str) -> Outcome:
    """The database file (`what="file"`) or its folder (`"folder"`) is read-only: the ingest
    exits 2 in one line and writes nothing; once writable again, a run loses nothing."""
    outcome = Outcome()
    with Simulator(SimConfig(seed=808, days=4, events_per_day=600, late_fraction=0.0)) as sim:
        ingest = Ingest(sim, folder, url, INITIAL_BACKFILL_DAYS="2")
        outcome.rule("the first run exits 0", ingest.run("run", "--once").returncode == 0)
        sim.add_events(recent_events(datetime.now(UTC), 200, "read-only"))
        path = sqlite_path(url)
        assert path is not None
        target = path if what == "file" else path.parent
        before = file_digest(*sqlite_files(url))
        mode = target.stat().st_mode
        target.chmod(0o444 if what == "file" else 0o555)
        outcome.faults += 1
        try:
            result = ingest.run("run", "--once", preexec=without_root_bypass)
            status = ingest.run("status", preexec=without_root_bypass)
        finally:
            target.chmod(mode)
        outcome.rule("the ingest exits 2", result.returncode == 2)
        outcome.rule("in one line saying it is read-only", one_line_error(result, "read-only"))
        outcome.rule("nothing was written", file_digest(*sqlite_files(url)) == before)
        outcome.rule(
            "status reads it, or says why in one line",
            status.returncode == 0 or (status.returncode == 2 and one_line_error(status)),
        )
        outcome.figures["message"] = error_message(result, folder)
        outcome.rule(
            "a run once it is writable exits 0", ingest.run("run", "--once").returncode == 0
        )
        tally(outcome, sim, url)
    return outcome


def file_size_limit(limit: int) -> Callable[[], None]:
    """In a child: writes past `limit` bytes fail with EFBIG, as on a full disk."""

    def limit_writes() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return limit_writes


@contextmanager
def small_tmpfs(mount_point: Path, size: int) -> Iterator[bool]:
    """A tmpfs of `size` bytes at `mount_point` when root may mount one; yields whether it did."""
    mount_point.mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0 or not shutil.which("mount"):
        yield False
        return
    mounted = (
        subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(mount_point)],
            capture_output=True,
        ).returncode
        == 0
    )
    try:
        yield mounted
    finally:
        if mounted:
            subprocess.run(["umount", "-l", str(mount_point)], capture_output=True)


def scenario_full_disk(folder: Path, url: str, how: str = "file-size limit") -> Outcome:
    """The disk fills up halfway through a backfill (a file-size limit on the child, or a
    tmpfs, each half the size of the whole backfill's database): exit 2 in one line, an
    intact database, no chunk half-committed behind the cursor; with space again, the next
    run resumes and loses nothing."""
    outcome = Outcome()
    config = SimConfig(seed=909, days=5, events_per_day=3000, late_fraction=0.0)
    disk = Path(folder) / "disk"
    with Simulator(config) as sim:
        room = backfill_bytes(sim, Path(folder) / "calibration", days=3) // 2
        with small_tmpfs(disk, room) as mounted:
            if how == "tmpfs":
                if not mounted:
                    raise CannotRun("mounting a tmpfs needs root")
                url = f"sqlite:///{disk / 'searchlogs.db'}"
            ingest = Ingest(sim, folder, url, INITIAL_BACKFILL_DAYS="3")
            preexec = file_size_limit(room) if how == "file-size limit" else None
            result = ingest.run("run", "--once", preexec=preexec)
            outcome.faults += 1
            check_full_disk_left_no_partial_chunk(outcome, sim, url, result, folder)
            if how == "tmpfs":
                subprocess.run(["mount", "-o", "remount,size=256m", str(disk)], check=True)
            again = ingest.run("run", "--once")
            outcome.rule("with space again, the next run exits 0", again.returncode == 0)
            tally(outcome, sim, url)
    outcome.figures["room (MB)"] = round(room / MB, 1)
    return outcome


def backfill_bytes(sim: Simulator, folder: Path, days: int) -> int:
    """The size of a clean backfill's database file: how much room a whole backfill takes."""
    folder.mkdir(parents=True)
    url = f"sqlite:///{folder / 'searchlogs.db'}"
    Ingest(sim, folder, url, INITIAL_BACKFILL_DAYS=str(days)).run("run", "--once")
    path = sqlite_path(url)
    assert path is not None
    return path.stat().st_size


def check_full_disk_left_no_partial_chunk(
    outcome: Outcome,
    sim: Simulator,
    url: str,
    result: subprocess.CompletedProcess[str],
    folder: Path,
) -> None:
    outcome.rule("the ingest exits 2", result.returncode == 2)
    outcome.rule("in one line about the disk", one_line_error(result, "disk"))
    outcome.figures["message"] = error_message(result, folder)
    outcome.rule("the database is intact", integrity_ok(url))
    cursor, done = state(url)
    outcome.rule("the backfill is not marked done", not done)
    first = runs(url)[0].window_start
    committed = cursor is not None and cursor > first
    outcome.figures["days committed before the disk filled"] = (
        round((cursor - first) / timedelta(days=1)) if committed else 0
    )
    if committed:
        valid, _ = sim.truth(first, cursor)
        expected = expected_records(valid, first, cursor)
        outcome.rule(
            "every event behind the cursor is stored",
            not expected - stored_records(url, first, cursor),
        )
    outcome.figures["rows stored before the disk filled"] = sum(stored_records(url).values())


def scenario_not_a_database(folder: Path, url: str) -> Outcome:
    """DB_PATH names a file that is not a SQLite database: exit 2 in one line, the file is
    untouched; pointed at a real database, the ingest loses nothing."""
    outcome = Outcome()
    with Simulator(SimConfig(seed=111, days=3, events_per_day=600, late_fraction=0.0)) as sim:
        notes = Path(folder) / "notes.db"
        notes.write_text("these are my notes\n" * 500)
        before = file_digest(notes)
        ingest = Ingest(sim, folder, f"sqlite:///{notes}", INITIAL_BACKFILL_DAYS="2")
        for args in (("run", "--once"), ("status",)):
            result = ingest.run(*args)
            outcome.faults += 1
            outcome.rule("the ingest exits 2", result.returncode == 2)
            outcome.rule(
                "in one line saying it is not a database",
                one_line_error(result, "is not a SQLite database"),
            )
        outcome.rule("the file is untouched", file_digest(notes) == before)
        outcome.rule(
            "no lock or journal file is left beside it",
            sorted(p.name for p in notes.parent.iterdir() if p.name.startswith("notes.db"))
            == ["notes.db"],
        )
        good = Ingest(sim, folder, url, INITIAL_BACKFILL_DAYS="2")
        outcome.rule("a real database then exits 0", good.run("run", "--once").returncode == 0)
        tally(outcome, sim, url)
    return outcome


def scenario_future_cursor(folder: Path, url: str) -> Outcome:
    """The cursor is a day ahead of the clock (written while the clock was wrong): the run
    says so in one line and still fetches everything since the last real poll."""
    outcome = Outcome()
    with Simulator(SimConfig(seed=222, days=3, events_per_day=600, late_fraction=0.0)) as sim:
        ingest = Ingest(sim, folder, url, INITIAL_BACKFILL_DAYS="1", LOOKBACK_SECONDS="2")
        outcome.rule("the backfill exits 0", ingest.run("run", "--once").returncode == 0)
        polled = datetime.now(UTC)
        engine = create_engine(url)
        try:
            Store(engine, TENANT).advance_cursor(polled + timedelta(days=1))
            outcome.faults += 1
        finally:
            engine.dispose()
        time.sleep(6)  # more than LOOKBACK_SECONDS since the last real poll
        # searches made since that poll, all older than the clock's now - LOOKBACK_SECONDS
        sim.add_events(
            {**event, "createTime": format_api_time(polled + timedelta(seconds=0.08 * i))}
            for i, event in enumerate(recent_events(polled, 50, "after the clock jumped"))
        )
        result = ingest.run("run", "--once")
        warnings = [line for line in result.stderr.splitlines() if "ahead of" in line]
        outcome.rule("the run exits 0", result.returncode == 0)
        outcome.rule("one line names the clock", len(warnings) == 1 and "clock" in warnings[0])
        outcome.rule("no traceback", "Traceback" not in result.stderr)
        cursor, _ = state(url)
        outcome.rule("the cursor is back behind the clock", cursor and cursor <= datetime.now(UTC))
        engine = create_engine(url)
        try:
            with engine.connect() as conn:
                since = conn.execute(
                    text("SELECT count(*) FROM search_logs WHERE search_text LIKE :tag"),
                    {"tag": "[after the clock jumped%"},
                ).scalar()
        finally:
            engine.dispose()
        outcome.rule("every search made since the last real poll is stored", since == 50)
        tally(outcome, sim, url)
    return outcome
