"""The database's files are its user's alone (issue 15 § 6): they hold what everyone searched
in the archive and the audit trail. The folder a program creates is 0700; the database, its
WAL and SHM and the lock files beside it are 0600 — made by the real ingest and the real
dashboard server, each started from the runtime virtualenv with the usual 022 umask.
"""

from __future__ import annotations

import os
import sqlite3
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import requests

from tests.support.browser import serve_dashboard, stop_dashboard
from tests.support.harness import SIM_ID, SIM_SECRET, run_cli
from tests.support.truth import wait_until


@contextmanager
def usual_umask() -> Iterator[None]:
    """Children inherit 022 (files 0644, folders 0755), as from a login shell: the modes
    below must come from the programs, not from how the test was started."""
    before = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(before)


def modes(folder: Path) -> dict[str, str]:
    """Every entry of `folder` and the folder itself, with its permission bits in octal."""
    found = {path.name: oct(stat.S_IMODE(path.stat().st_mode)) for path in folder.iterdir()}
    return {**found, ".": oct(stat.S_IMODE(folder.stat().st_mode))}


def private(names: set[str]) -> dict[str, str]:
    return {name: "0o600" for name in names} | {".": "0o700"}


def test_the_ingest_creates_its_folder_0700_and_the_database_wal_shm_and_locks_0600(
    sim, sim_url, tmp_path
):
    folder = tmp_path / "new" / "data"
    db_path = folder / "searchlogs.db"
    env = {
        "MIMECAST_CLIENT_ID": SIM_ID,
        "MIMECAST_CLIENT_SECRET": SIM_SECRET,
        "MIMECAST_BASE_URL": sim_url,
        "DB_PATH": str(db_path),
        "INITIAL_BACKFILL_DAYS": "1",
    }
    with usual_umask():
        first = run_cli(["run", "--once"], env, tmp_path)
    assert first.returncode == 0, first.stderr
    assert oct(stat.S_IMODE(folder.parent.stat().st_mode)) == "0o700", "every folder it made"
    files = set(modes(folder)) - {"."}
    assert "searchlogs.db" in files and any(name.endswith(".lock") for name in files), files
    assert modes(folder) == private(files)

    reader = sqlite3.connect(db_path)  # as a running dashboard does: the WAL and SHM stay
    try:
        reader.execute("SELECT count(*) FROM search_logs").fetchall()
        with usual_umask():
            second = run_cli(["run", "--once"], env, tmp_path)
        assert second.returncode == 0, second.stderr
        files = set(modes(folder)) - {"."}
        assert {"searchlogs.db-wal", "searchlogs.db-shm"} <= files
        assert modes(folder) == private(files)
    finally:
        reader.close()


def test_the_dashboard_creates_its_folder_0700_and_the_database_wal_and_shm_0600(tmp_path):
    folder = tmp_path / "new" / "data"
    db_path = folder / "searchlogs.db"
    env = {"DB_PATH": str(db_path), "DISPLAY_TZ": "UTC"}
    with usual_umask():
        base, process = serve_dashboard(env, tmp_path / "server.log")
    try:
        # a call with an unknown token: the API opens (creates) the database to refuse it
        reply = requests.get(
            f"{base}/api/v1/users", headers={"Authorization": "Bearer msl_unknown"}, timeout=30
        )
        assert reply.status_code == 401, reply.text
        wait_until(lambda: (folder / "searchlogs.db-shm").exists(), timeout=30)
        files = set(modes(folder)) - {"."}
        assert {"searchlogs.db", "searchlogs.db-wal", "searchlogs.db-shm"} <= files, files
        assert modes(folder) == private(files)
        assert oct(stat.S_IMODE(folder.parent.stat().st_mode)) == "0o700"
    finally:
        stop_dashboard(process)
