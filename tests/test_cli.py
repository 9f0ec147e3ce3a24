"""`python -m ingest` as a user runs it: exit codes, one-line errors, no secrets."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
from datetime import datetime, timedelta

from db.engine import open_database
from db.locks import single_writer
from ingest.windows import utc_now_seconds
from tests.support.harness import SIM_ID, SIM_SECRET, run_cli
from tests.support.runtime import PROJECT_ROOT, runtime_python, subprocess_env
from tests.support.truth import (
    difference,
    expected_records,
    row_count,
    runs,
    stored_records,
    wait_until,
)


def sim_env(sim_url: str, db_path, **extra: str) -> dict[str, str]:
    return {
        "MIMECAST_CLIENT_ID": SIM_ID,
        "MIMECAST_CLIENT_SECRET": SIM_SECRET,
        "MIMECAST_BASE_URL": sim_url,
        "DB_PATH": str(db_path),
        "INITIAL_BACKFILL_DAYS": "3",
        **extra,
    }


def assert_one_line_error(result, *fragments: str) -> None:
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    assert "Traceback" not in result.stderr + result.stdout
    for fragment in fragments:
        assert fragment in lines[0]


def test_run_once_backfills_and_reports_a_summary(sim, sim_url, db_path, tmp_path):
    result = run_cli(["run", "--once"], sim_env(sim_url, db_path), tmp_path)
    assert result.returncode == 0, result.stderr
    assert "backfill 1/" in result.stderr
    assert "backfill done" in result.stderr
    assert row_count(f"sqlite:///{db_path}") > 100


def test_bad_number_stops_with_exit_2_naming_the_variable(sim_url, db_path, tmp_path):
    result = run_cli(["run", "--once"], sim_env(sim_url, db_path, POLL_SECONDS="hourly"), tmp_path)
    assert result.returncode == 2
    assert_one_line_error(result, "POLL_SECONDS must be a whole number")


def test_negative_backfill_stops_with_exit_2(sim_url, db_path, tmp_path):
    env = sim_env(sim_url, db_path, INITIAL_BACKFILL_DAYS="-1")
    result = run_cli(["run", "--once"], env, tmp_path)
    assert result.returncode == 2
    assert_one_line_error(result, "INITIAL_BACKFILL_DAYS must be at least 1")


def test_missing_credentials_stop_with_exit_2(sim_url, db_path, tmp_path):
    env = sim_env(sim_url, db_path)
    del env["MIMECAST_CLIENT_SECRET"]
    result = run_cli(["run", "--once"], env, tmp_path)
    assert result.returncode == 2
    assert_one_line_error(result, "MIMECAST_CLIENT_SECRET is not set")
    assert not db_path.exists(), "nothing is written before the configuration is valid"


def test_unreachable_host_stops_with_exit_2(db_path, tmp_path):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    env = sim_env(f"http://127.0.0.1:{closed_port}", db_path)
    result = run_cli(["run", "--once"], env, tmp_path)
    assert result.returncode == 2
    assert_one_line_error(result, "MIMECAST_BASE_URL", "cannot be reached")


def test_rejected_secret_stops_with_exit_2_and_is_never_printed(sim_url, db_path, tmp_path):
    secret = "hunter2-not-the-secret"
    env = sim_env(sim_url, db_path, MIMECAST_CLIENT_SECRET=secret)
    result = run_cli(["-v", "run", "--once"], env, tmp_path)
    assert result.returncode == 2
    assert "the client id/secret was rejected" in result.stderr
    assert secret not in result.stderr + result.stdout


def test_secret_and_token_never_appear_in_any_output(sim, sim_url, db_path, tmp_path):
    env = sim_env(sim_url, db_path)
    outputs = []
    for args in (
        ["-v", "run", "--once"],
        ["-v", "run", "--once"],
        ["status"],
        ["status", "--json"],
    ):
        result = run_cli(args, env, tmp_path)
        assert result.returncode == 0, result.stderr
        outputs.append(result.stdout + result.stderr)
    everything = "\n".join(outputs)
    assert SIM_SECRET not in everything
    for token in sim.issued_tokens():
        assert token not in everything
    assert SIM_SECRET not in db_path.read_bytes().decode("latin-1")


def test_second_ingest_exits_at_once_with_a_clear_message(sim_url, db_path, tmp_path):
    engine = open_database(f"sqlite:///{db_path}")
    with single_writer(engine):
        started = time.monotonic()
        result = run_cli(["run", "--once"], sim_env(sim_url, db_path), tmp_path)
        assert time.monotonic() - started < 20
    assert result.returncode == 3
    assert_one_line_error(result, "another ingest is already writing to this database")
    assert row_count(f"sqlite:///{db_path}") == 0


def test_status_json_reports_cursor_runs_and_totals(sim, sim_url, db_path, tmp_path):
    env = sim_env(sim_url, db_path)
    assert run_cli(["run", "--once"], env, tmp_path).returncode == 0
    result = run_cli(["status", "--json"], env, tmp_path)
    assert result.returncode == 0, result.stderr
    status = json.loads(result.stdout)
    assert status["bootstrap_done"] is True
    assert status["cursor"]
    assert status["totals"]["search_logs"] == row_count(f"sqlite:///{db_path}")
    assert status["recent_runs"][0]["status"] == "ok"
    assert status["recent_runs"][0]["inserted"] == status["totals"]["search_logs"]
    human = run_cli(["status"], env, tmp_path)
    assert "backfill done    yes" in human.stdout
    assert "recent runs" in human.stdout


def test_reset_cursor_needs_confirmation_then_backfills_again_without_duplicates(
    sim, sim_url, db_path, tmp_path
):
    env = sim_env(sim_url, db_path)
    assert run_cli(["run", "--once"], env, tmp_path).returncode == 0
    stored = row_count(f"sqlite:///{db_path}")
    refused = run_cli(["reset-cursor"], env, tmp_path, stdin=subprocess.DEVNULL)
    assert refused.returncode == 2
    assert_one_line_error(refused, "--yes")
    answered_no = run_cli(["reset-cursor"], env, tmp_path, input="n\n")
    assert json.loads(run_cli(["status", "--json"], env, tmp_path).stdout)["cursor"]
    assert answered_no.returncode in (0, 2)
    reset = run_cli(["reset-cursor", "--yes"], env, tmp_path)
    assert reset.returncode == 0, reset.stderr
    status = json.loads(run_cli(["status", "--json"], env, tmp_path).stdout)
    assert status["cursor"] is None and status["bootstrap_done"] is False
    again = run_cli(["run", "--once"], env, tmp_path)
    assert "backfill done" in again.stderr
    assert row_count(f"sqlite:///{db_path}") >= stored
    assert runs(f"sqlite:///{db_path}")[-1].inserted == row_count(f"sqlite:///{db_path}") - stored


def _spawn(args, env, cwd):
    return subprocess.Popen(
        [runtime_python(), "-m", "ingest", *args],
        env=subprocess_env(env),
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_scheduled_loop_polls_again_and_sigterm_exits_cleanly(sim, sim_url, db_path, tmp_path):
    env = sim_env(sim_url, db_path, POLL_SECONDS="1")
    process = _spawn(["run"], env, tmp_path)
    try:
        assert wait_until(lambda: len(runs(f"sqlite:///{db_path}")) >= 3, timeout=60)
    finally:
        process.send_signal(signal.SIGTERM)
        _out, err = process.communicate(timeout=30)
    assert process.returncode == 0, err
    assert "Traceback" not in err
    assert "SIGTERM received" in err
    kinds = [run.kind for run in runs(f"sqlite:///{db_path}")]
    assert kinds[0] == "bootstrap" and set(kinds[1:]) == {"delta"}


def test_sigkill_mid_backfill_then_resume_leaves_exactly_the_expected_rows(db_path, tmp_path):
    from ingest.simulator import SimConfig, Simulator

    config = SimConfig(seed=11, days=12, events_per_day=2500, late_fraction=0.0)
    with Simulator(config) as busy:
        env = sim_env(busy.base_url, db_path, INITIAL_BACKFILL_DAYS="10")
        url = f"sqlite:///{db_path}"
        kills = 0
        for threshold in (2000, 9000):
            process = _spawn(["run", "--once"], env, tmp_path)
            wait_until(lambda t=threshold: row_count(url) >= t, timeout=60, step=0.01)
            if process.poll() is None:
                os.kill(process.pid, signal.SIGKILL)
                kills += 1
            process.communicate(timeout=30)
        assert kills >= 1, "the backfill finished before it could be killed"
        assert row_count(url) < 25_000
        finished = run_cli(["run", "--once"], env, tmp_path, timeout=300)
        assert finished.returncode == 0, finished.stderr
        history = runs(url)
        assert [run.status for run in history[:kills]] == ["failed"] * kills
        assert "ended without finishing" in (history[0].error or "")
        start = history[0].window_start
        # events arrive up to a minute late: compare what had surely arrived by the last fetch
        now = history[-1].window_end - timedelta(minutes=2)
        valid, _ = busy.truth(start, now)
        expected = expected_records(valid, start, now)
        actual = stored_records(url, start, now)
        assert actual == expected, difference(expected, actual)
        assert sum(actual.values()) > 20_000
    assert utc_now_seconds() - now < timedelta(minutes=10)
    assert PROJECT_ROOT.exists()


def test_database_that_is_not_sqlite_gives_a_one_line_answer(sim_url, tmp_path):
    not_a_db = tmp_path / "notes.db"
    not_a_db.write_text("these are my notes\n" * 100)
    result = run_cli(["run", "--once"], sim_env(sim_url, not_a_db), tmp_path)
    assert result.returncode == 2
    assert_one_line_error(result, "is not a SQLite database", "DB_PATH")
    assert not_a_db.read_text() == "these are my notes\n" * 100, "nothing was written to it"


def test_unsupported_database_url_names_the_supported_ones(sim_url, db_path, tmp_path):
    env = sim_env(sim_url, db_path, DATABASE_URL="mysql://user@host/db")
    result = run_cli(["status"], env, tmp_path)
    assert result.returncode == 2
    assert_one_line_error(result, "'mysql'", "postgresql+psycopg://")


def test_reset_cursor_works_while_the_scheduled_loop_sleeps(sim, sim_url, db_path, tmp_path):
    env = sim_env(sim_url, db_path, POLL_SECONDS="3600")
    url = f"sqlite:///{db_path}"
    process = _spawn(["run"], env, tmp_path)
    try:
        assert wait_until(lambda: [r.status for r in runs(url)] == ["ok"], timeout=60)
        reset = run_cli(["reset-cursor", "--yes"], env, tmp_path)
        assert reset.returncode == 0, reset.stderr
        second = run_cli(["run", "--once"], env, tmp_path)
        assert second.returncode == 3, "the loop still owns the database"
    finally:
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=30)
    status = json.loads(run_cli(["status", "--json"], env, tmp_path).stdout)
    assert status["cursor"] is None and status["bootstrap_done"] is False


# --- the reconciliation sweep ------------------------------------------------------------


def late_search(days: float, text: str) -> dict[str, str]:
    """A search created `days` ago, added to the simulator now: days late."""
    created = utc_now_seconds() - timedelta(days=days)
    return {
        "createTime": created.strftime("%Y-%m-%dT%H:%M:%S+0000"),
        "emailAddr": "late.comer@example.com",
        "source": "archive",
        "searchText": text,
        "searchReason": "",
        "description": "Message Tracking Search",
    }


def age_runs(db_path, kind: str, hours: float) -> None:
    """Make the runs of `kind` look `hours` older (the sweep is due a day after the last)."""
    from sqlalchemy import text

    engine = open_database(f"sqlite:///{db_path}")
    try:
        with engine.begin() as conn:
            rows = conn.execute(
                text("SELECT id, started_at FROM ingest_runs WHERE kind = :kind"), {"kind": kind}
            ).all()
        for run_id, started in rows:
            older = (datetime.fromisoformat(str(started)) - timedelta(hours=hours)).isoformat(" ")
            with engine.begin() as conn:
                conn.execute(
                    text("UPDATE ingest_runs SET started_at = :at WHERE id = :id"),
                    {"at": older, "id": run_id},
                )
    finally:
        engine.dispose()


def test_reconcile_stores_searches_days_late_and_status_shows_the_sweep(
    sim, sim_url, db_path, tmp_path
):
    env = sim_env(sim_url, db_path)
    assert run_cli(["run", "--once"], env, tmp_path).returncode == 0
    cursor = json.loads(run_cli(["status", "--json"], env, tmp_path).stdout)["cursor"]
    sim.add_events([late_search(2, "two days late"), late_search(1.5, "a day and a half late")])
    result = run_cli(["reconcile"], env, tmp_path)
    assert result.returncode == 0, result.stderr
    assert "reconcile done" in result.stderr and "cursor unchanged" in result.stderr
    assert "stored 2 searches that reached the API later than LOOKBACK_SECONDS" in result.stderr
    status = json.loads(run_cli(["status", "--json"], env, tmp_path).stdout)
    assert status["cursor"] == cursor
    sweep = status["last_reconcile"]
    assert (sweep["kind"], sweep["status"], sweep["inserted"]) == ("reconcile", "ok", 2)
    assert sweep["notes"]["late"] and sweep["notes_text"].startswith("2 searches found late")
    human = run_cli(["status"], env, tmp_path).stdout
    assert f"last sweep       #{sweep['id']} ok" in human
    assert "2 new; 2 searches found late" in human


def test_reconcile_before_the_first_backfill_exits_1_in_one_line(sim_url, db_path, tmp_path):
    result = run_cli(["reconcile"], sim_env(sim_url, db_path), tmp_path)
    assert result.returncode == 1
    assert_one_line_error(result, "nothing to reconcile yet", "run --once")


def test_reconcile_with_the_sweep_turned_off_exits_2(sim_url, db_path, tmp_path):
    result = run_cli(["reconcile"], sim_env(sim_url, db_path, RECONCILE_DAYS="0"), tmp_path)
    assert result.returncode == 2
    assert_one_line_error(result, "RECONCILE_DAYS is 0")


def test_reconcile_days_outside_0_to_90_exits_2(sim_url, db_path, tmp_path):
    result = run_cli(["run", "--once"], sim_env(sim_url, db_path, RECONCILE_DAYS="91"), tmp_path)
    assert result.returncode == 2
    assert_one_line_error(result, "RECONCILE_DAYS must be at most 90 (at least 0), got 91")


def test_reconcile_takes_the_writer_lock(sim_url, db_path, tmp_path):
    engine = open_database(f"sqlite:///{db_path}")
    with single_writer(engine):
        result = run_cli(["reconcile"], sim_env(sim_url, db_path), tmp_path)
    assert result.returncode == 3
    assert_one_line_error(result, "another ingest is already writing to this database")


def test_scheduled_loop_sweeps_once_a_day_between_polls_and_not_again_after_a_restart(
    sim, sim_url, db_path, tmp_path
):
    env = sim_env(sim_url, db_path, POLL_SECONDS="1")
    url = f"sqlite:///{db_path}"
    assert run_cli(["run", "--once"], env, tmp_path).returncode == 0
    age_runs(db_path, "bootstrap", 25)  # the backfill read those days a day ago
    sim.add_events([late_search(2, "found by the loop's sweep")])
    for _start in range(2):
        process = _spawn(["run"], env, tmp_path)
        try:
            known = len(runs(url))
            assert wait_until(lambda k=known: len(runs(url)) >= k + 4, timeout=60)
        finally:
            process.send_signal(signal.SIGTERM)
            process.communicate(timeout=30)
    kinds = [run.kind for run in runs(url)]
    assert kinds.count("reconcile") == 1, kinds
    sweep = next(run for run in runs(url) if run.kind == "reconcile")
    assert sweep.status == "ok" and sweep.inserted == 1
    assert kinds[kinds.index("reconcile") - 1] == "delta", "a sweep follows a poll"
