"""Forwarding to a real syslog daemon: Debian's rsyslogd, started by the test with its own
config, receiving RFC 5424 over TLS (RFC 5425 octet counting) with a test CA. Every CEF
line it wrote is parsed back and checked against the stored searches."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select

from config.settings import Settings
from db.models import SearchLog
from ingest.forward import delivery
from tests.support.cef import parse_cef
from tests.support.forward_receivers import ReceiverCA, Rsyslog, need_rsyslog
from tests.support.forwarding import forward
from tests.support.harness import run_cli
from tests.support.runtime import PROJECT_ROOT

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def rsyslogd() -> None:
    """rsyslogd is installed: a skip without it, a failure under CI (CI=true). Module-wide,
    so it is checked before the searches are stored."""
    need_rsyslog()


def stored_rows(settings: Settings) -> list[SearchLog]:
    engine = create_engine(settings.effective_database_url)
    try:
        with engine.connect() as conn:
            return list(conn.execute(select(SearchLog).order_by(SearchLog.id)))
    finally:
        engine.dispose()


def test_rsyslog_over_tls_writes_every_stored_search_as_cef_once(
    rsyslogd: None, stored: Settings, ca: ReceiverCA, tmp_path: Path
):
    config = tmp_path / "forward.toml"
    with Rsyslog(tmp_path / "rsyslog", ca) as daemon:
        config.write_text(
            f'[[destination]]\nname = "siem"\nurl = "{daemon.url}"\nformat = "cef"\n'
            f'ca_file = "{ca.ca_file}"\nbatch_size = 250\n'
        )
        env = {"DB_PATH": str(stored.db_path), "FORWARD_CONFIG": str(config)}
        done = run_cli(["forward"], env, tmp_path)
        assert done.returncode == 0, done.stderr
        rows = stored_rows(stored)
        lines = daemon.wait_for(len(rows))
        time.sleep(0.3)
        lines = daemon.lines()
    assert len(lines) == len(rows)
    for line, row in zip(lines, rows, strict=True):
        header, ext = parse_cef(line)
        assert header[1:5] == ["Mimecast", "Archive Search Logs", "2.0", "archive-search"]
        assert ext["externalId"] == row.event_key
        assert ext["suser"] == row.email_addr
        assert ext.get("msg", "") == (row.search_text or "")
        assert ext.get("reason", "") == (row.search_reason or "")
        assert ext["rt"] == str(int(row.create_time.timestamp() * 1000))


def test_rsyslog_down_then_restarted_mid_stream_gets_everything_repeats_within_one_batch(
    rsyslogd: None,
    stored: Settings,
    ca: ReceiverCA,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
):
    monkeypatch.setattr(delivery, "BACKOFF_INITIAL", 0.05)
    monkeypatch.setattr(delivery, "BACKOFF_MAX", 0.3)
    daemon = Rsyslog(tmp_path / "rsyslog", ca)
    rows = stored_rows(stored)
    bounced = threading.Event()

    def bounce() -> None:  # stop the daemon once it has a few batches, restart it a second later
        while len(daemon.lines()) < 200:
            time.sleep(0.01)
        daemon.stop()
        time.sleep(1.0)
        daemon.start()
        bounced.set()

    daemon.start()
    watcher = threading.Thread(target=bounce, daemon=True)
    watcher.start()
    try:
        # small batches, so the daemon is stopped while the stream is still going
        (result,) = forward(
            stored,
            {"name": "siem", "url": daemon.url, "format": "cef", "ca_file": str(ca.ca_file),
             "batch_size": 20},
        )  # fmt: skip
        watcher.join(30)
        daemon.wait_for(len(rows))
        time.sleep(0.3)
        lines = daemon.lines()
    finally:
        daemon.stop()
    assert bounced.is_set() and result.error is None
    assert result.retries > 0  # the forwarder did meet the outage
    received = Counter(parse_cef(line)[1]["externalId"] for line in lines)
    assert set(received) == {row.event_key for row in rows}  # nothing lost
    repeats = sum(count - 1 for count in received.values())
    assert repeats <= 20  # at most the one batch in flight when the daemon stopped


def test_a_missing_rsyslogd_fails_the_syslog_tests_under_ci_and_skips_them_elsewhere(
    tmp_path: Path,
):
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    env["RSYSLOGD"] = str(tmp_path / "absent" / "rsyslogd")
    command = [sys.executable, "-m", "pytest", __file__, "-q", "-p", "no:cacheprovider",
               "-k", "rsyslog_over_tls"]  # fmt: skip
    outcomes = {}
    for ci in ("true", None):
        child = env if ci is None else {**env, "CI": ci}
        done = subprocess.run(
            command, env=child, cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=300
        )
        outcomes[ci] = (done.returncode, done.stdout)
    failed, failed_output = outcomes["true"]
    assert failed == 1 and "1 error" in failed_output, failed_output
    assert "rsyslogd is missing" in failed_output
    skipped, skipped_output = outcomes[None]
    assert skipped == 0 and "1 skipped" in skipped_output, skipped_output
