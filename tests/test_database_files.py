"""The SQLite files on disk: the write-ahead log is shown apart from the database and does
not stay large after a cycle (issue 8 § 9: 105 MB of a "115.9 MB database" was the WAL)."""

from __future__ import annotations

import json
import sqlite3

from tests.support.harness import SIM_ID, SIM_SECRET, run_cli


def _env(sim_url: str, db_path) -> dict[str, str]:
    return {
        "MIMECAST_CLIENT_ID": SIM_ID,
        "MIMECAST_CLIENT_SECRET": SIM_SECRET,
        "MIMECAST_BASE_URL": sim_url,
        "DB_PATH": str(db_path),
        "INITIAL_BACKFILL_DAYS": "3",
    }


def test_the_wal_is_emptied_after_each_cycle_while_a_reader_keeps_it(
    sim, sim_url, db_path, tmp_path
):
    db_path.parent.mkdir(parents=True, exist_ok=True)
    reader = sqlite3.connect(db_path)  # as a running dashboard keeps a connection open
    try:
        reader.execute("PRAGMA journal_mode=WAL").fetchall()
        reader.execute("SELECT count(*) FROM sqlite_master").fetchall()
        result = run_cli(["run", "--once"], _env(sim_url, db_path), tmp_path)
        assert result.returncode == 0, result.stderr
        wal = db_path.with_name(db_path.name + "-wal")
        assert wal.exists(), "the reader keeps the WAL file"
        assert wal.stat().st_size == 0
        assert reader.execute("SELECT count(*) FROM search_logs").fetchone()[0] > 100
    finally:
        reader.close()


def test_ingest_status_shows_the_database_and_its_wal_apart(sim, sim_url, db_path, tmp_path):
    env = _env(sim_url, db_path)
    assert run_cli(["run", "--once"], env, tmp_path).returncode == 0
    reader = sqlite3.connect(db_path)
    try:
        reader.execute("SELECT count(*) FROM sqlite_master").fetchall()
        reader.execute("CREATE TABLE IF NOT EXISTS probe (x)")  # leaves pages in the WAL
        reader.commit()
        wal = db_path.with_name(db_path.name + "-wal")
        as_json = run_cli(["status", "--json"], env, tmp_path)
        status = json.loads(as_json.stdout)
        assert status["database_bytes"] == db_path.stat().st_size
        assert status["wal_bytes"] == wal.stat().st_size > 0
        as_text = run_cli(["status"], env, tmp_path).stdout
        assert f"({db_path.stat().st_size:,} bytes)" in as_text
        assert f"WAL file         {wal.stat().st_size:,} bytes" in as_text
    finally:
        reader.close()
