"""The ingest as child processes (`python -m ingest`, run as a user would) and what the
scenarios read of them and of their database files."""

from __future__ import annotations

import hashlib
import signal
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.exc import SQLAlchemyError

from db.engine import sqlite_path
from ingest.simulator import Simulator
from ingest.store import Store
from tests.support.harness import SIM_ID, SIM_SECRET
from tests.support.runtime import runtime_python, subprocess_env
from tests.support.tenancy import TENANT

# --- the ingest as child processes --------------------------------------------------------


def child_env(sim: Simulator, db_path: Path, days: int) -> dict[str, str]:
    """The environment of an ingest child: only our settings, nothing from a stray .env."""
    return subprocess_env(
        {
            "MIMECAST_CLIENT_ID": SIM_ID,
            "MIMECAST_CLIENT_SECRET": SIM_SECRET,
            "MIMECAST_BASE_URL": sim.base_url,
            "DB_PATH": str(db_path),
            "INITIAL_BACKFILL_DAYS": str(days),
        }
    )


class Ingest:
    """`python -m ingest` against one simulator and one database, run as a user would."""

    def __init__(self, sim: Simulator, folder: Path, url: str, **settings: str) -> None:
        self.sim = sim
        self.folder = Path(folder)
        self.url = url
        self.settings = {"INITIAL_BACKFILL_DAYS": "3", **settings}
        self._logs = 0

    def env(self, **overrides: str) -> dict[str, str]:
        path = sqlite_path(self.url)
        env = child_env(self.sim, path or self.folder / "unused.db", 1)
        if path is None:
            env["DATABASE_URL"] = self.url
        env.update(self.settings)
        env.update(overrides)
        return env

    def run(
        self, *args: str, preexec: Callable[[], None] | None = None, **overrides: str
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [runtime_python(), "-m", "ingest", *args],
            env=self.env(**overrides),
            cwd=self.folder,
            capture_output=True,
            text=True,
            timeout=300,
            preexec_fn=preexec,
        )

    def spawn(self, *args: str, **overrides: str) -> Child:
        """A child whose output goes to a file (a pipe nobody reads would block it)."""
        self._logs += 1
        log = self.folder / f"ingest-{self._logs}.log"
        with log.open("w") as out:
            process = subprocess.Popen(
                [runtime_python(), "-m", "ingest", *args],
                env=self.env(**overrides),
                cwd=self.folder,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        child = Child(process, log)
        _CHILDREN.append(child)
        return child


@dataclass
class Child:
    """An ingest process started in the background, its output in `log`."""

    process: subprocess.Popen[bytes]
    log: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    def running_after(self, seconds: float) -> bool:
        try:
            self.process.wait(timeout=seconds)
        except subprocess.TimeoutExpired:
            return True
        return False

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self, timeout: float = 60) -> int:
        """SIGTERM, as a service manager stops it; the exit status."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=timeout)

    def output(self) -> str:
        return self.log.read_text(errors="replace")


_CHILDREN: list[Child] = []


def reap_children() -> None:
    """SIGKILL every background ingest still running (a scenario that raised leaves its
    scheduled loop behind otherwise)."""
    while _CHILDREN:
        child = _CHILDREN.pop()
        if child.process.poll() is None:
            child.kill()


def one_line_error(result: subprocess.CompletedProcess[str], *fragments: str) -> bool:
    """The run ended with one `error: …` line (after any log lines), naming `fragments`,
    and printed no traceback."""
    lines = result.stderr.strip().splitlines()
    errors = [line for line in lines if line.startswith("error: ")]
    return (
        len(errors) == 1
        and lines[-1] == errors[0]
        and "Traceback" not in result.stdout + result.stderr
        and all(fragment in errors[0] for fragment in fragments)
    )


def error_message(result: subprocess.CompletedProcess[str], folder: Path) -> str:
    """The run's last line of stderr, with the scenario's temporary folder left out."""
    lines = result.stderr.strip().splitlines() or [""]
    return f"`{lines[-1].replace(str(folder), '…')}`"


def state(url: str) -> tuple[datetime | None, bool]:
    """(cursor, backfill done), or (None, False) when there is no schema yet."""
    path = sqlite_path(url)
    if path is not None and not path.exists():
        return None, False
    engine = create_engine(url)
    try:
        store = Store(engine, TENANT)
        return store.cursor(), store.backfill_done()
    except SQLAlchemyError:
        return None, False
    finally:
        engine.dispose()


def file_digest(*paths: Path) -> str:
    """A digest of the files' contents; a missing file counts as an empty one (SQLite
    creates an empty -wal beside a database it only reads)."""
    digest = hashlib.sha256()
    for path in paths:
        digest.update(path.read_bytes() if path.exists() else b"")
        digest.update(b"\x00")
    return digest.hexdigest()


def sqlite_files(url: str) -> list[Path]:
    """The database file and its write-ahead log: where SQLite keeps the data."""
    path = sqlite_path(url)
    assert path is not None
    return [path, path.with_name(path.name + "-wal")]


def integrity_ok(url: str) -> bool:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(text("PRAGMA integrity_check")).scalar() == "ok"
    finally:
        engine.dispose()


def rss_bytes(pid: int) -> int | None:
    """Resident memory of a process, from /proc (Linux); None elsewhere."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    for line in status.splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return None
