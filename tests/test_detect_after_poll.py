"""The detections after a cycle score only the tenants whose poll in it succeeded: a tenant
refused by Mimecast, or left out with `--tenant`, has nothing new to score, and scoring it
anyway holds the write gate for nothing on every cycle.

Real HTTP to a simulator serving two accounts (one address searching in both), the CLI
run from RUNTIME_PYTHON, the scheduled loop stopped with SIGTERM once each tenant's polls
are recorded.
"""

from __future__ import annotations

import signal
import subprocess
from pathlib import Path

from sqlalchemy.exc import SQLAlchemyError

from tests.support.harness import run_cli
from tests.support.runtime import runtime_python, subprocess_env
from tests.support.truth import runs, wait_until
from tests.test_ingest_tenants import tenants_env, two_accounts  # noqa: F401  (a fixture)


def detect_lines(stderr: str, tenant: str) -> list[str]:
    return [line for line in stderr.splitlines() if f"detect {tenant}:" in line]


def test_run_once_scores_only_the_tenants_whose_poll_succeeded(two_accounts, tmp_path):  # noqa: F811
    db_url = f"sqlite:///{tmp_path / 'data' / 'searchlogs.db'}"
    env = tenants_env(two_accounts, tmp_path, db_url)

    only_globex = run_cli(["run", "--once", "--tenant", "globex"], env, tmp_path)
    assert only_globex.returncode == 0, only_globex.stderr
    assert detect_lines(only_globex.stderr, "globex") and not detect_lines(
        only_globex.stderr, "acme"
    )

    two_accounts.reject_credentials(account=1)
    refused = run_cli(["run", "--once"], env, tmp_path)
    assert refused.returncode == 2, refused.stderr
    assert "error: tenant 'acme': " in refused.stderr
    assert detect_lines(refused.stderr, "globex"), refused.stderr
    assert detect_lines(refused.stderr, "acme") == [], refused.stderr


def test_the_scheduled_loop_scores_only_the_tenants_polled_in_each_cycle(
    two_accounts,  # noqa: F811
    tmp_path: Path,
):
    two_accounts.reject_credentials(account=1)
    db_url = f"sqlite:///{tmp_path / 'data' / 'searchlogs.db'}"
    env = {**tenants_env(two_accounts, tmp_path, db_url), "POLL_SECONDS": "1"}
    process = subprocess.Popen(
        [runtime_python(), "-m", "ingest", "run"],
        env=subprocess_env(env),
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )

    def ran(tenant: str, status: str) -> int:
        try:
            return sum(r.tenant == tenant and r.status == status for r in runs(db_url))
        except SQLAlchemyError:
            return 0

    try:
        polled = wait_until(lambda: ran("globex", "ok") >= 3 and ran("acme", "failed") >= 2, 120)
    finally:
        process.send_signal(signal.SIGTERM)
        _out, err = process.communicate(timeout=60)
    assert polled, err
    assert process.returncode == 0, err
    assert len(detect_lines(err, "globex")) >= 2, err  # after each of its cycles
    assert detect_lines(err, "acme") == [], err
