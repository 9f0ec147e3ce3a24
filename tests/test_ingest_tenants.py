"""`python -m ingest` with a tenants file: every account polled at once and apart, one
account's failure or hang costing the others nothing, `--tenant` limiting each command.

Real HTTP to a simulator serving two accounts (whose data differ, with one searcher's
address in both), a real database on each backend, the CLI run from RUNTIME_PYTHON.
"""

from __future__ import annotations

import json
import signal
import subprocess
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select
from sqlalchemy.exc import SQLAlchemyError

from db.models import SearchLog
from ingest.simulator import SimConfig, Simulator
from ingest.windows import utc_now_seconds
from tests.support.harness import run_cli
from tests.support.holding_proxy import holding_proxy
from tests.support.runtime import runtime_python, subprocess_env
from tests.support.truth import canonical, difference, expected_records, runs, wait_until
from tests.test_simulator import record_at

ACCOUNTS = {"acme": 1, "globex": 2}
SHARED = "shared.searcher@both.example.com"


@pytest.fixture
def two_accounts() -> Iterator[Simulator]:
    """Two accounts with their own credentials and data, and one address searching in both."""
    config = SimConfig(seed=7, days=10, events_per_day=120, late_fraction=0.0, accounts=2)
    with Simulator(config) as sim:
        moment = utc_now_seconds() - timedelta(hours=3)
        for account in ACCOUNTS.values():
            sim.add_events([shared_search(moment, account)], account=account)
        yield sim


def shared_search(moment, account: int) -> dict:
    return record_at(moment, who=SHARED, text=f"account {account}")


def tenants_env(
    sim: Simulator, tmp_path: Path, db_url: str, urls: dict[str, str] | None = None
) -> dict[str, str]:
    """The CLI's environment: a TENANTS_FILE naming both accounts, secrets in variables."""
    env = {"TENANTS_FILE": str(tmp_path / "tenants.toml"), "DATABASE_URL": db_url}
    env["INITIAL_BACKFILL_DAYS"] = "3"
    tables = []
    for name, account in ACCOUNTS.items():
        client_id, secret = sim.credentials(account)
        env[f"{name.upper()}_SECRET"] = secret
        url = (urls or {}).get(name, sim.base_url)
        tables.append(
            f'[[tenant]]\nname = "{name}"\nbase_url = "{url}"\nclient_id = "{client_id}"\n'
            f'client_secret_env = "{name.upper()}_SECRET"\n'
        )
    Path(env["TENANTS_FILE"]).write_text("\n".join(tables), encoding="utf-8")
    return env


def stored_by_tenant(db_url: str) -> dict[str, Counter[str]]:
    engine = create_engine(db_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(select(SearchLog.tenant, SearchLog.raw_json)).all()
    finally:
        engine.dispose()
    stored: dict[str, Counter[str]] = {}
    for tenant, raw in rows:
        stored.setdefault(tenant, Counter())[canonical(json.loads(raw))] += 1
    return stored


def expected_of(sim: Simulator, db_url: str, tenant: str) -> Counter[str]:
    """The account's searches in the windows its successful runs covered."""
    done = [run for run in runs(db_url) if run.tenant == tenant and run.status == "ok"]
    assert done, f"no successful run of {tenant}"
    start, end = min(r.window_start for r in done), max(r.window_end for r in done)
    valid, _ = sim.truth(start, end, account=ACCOUNTS[tenant])
    return expected_records(valid, start, end)


def polled_ok(db_url: str, tenant: str) -> bool:
    """Whether a run of `tenant` has committed "ok" (False before the schema exists)."""
    try:
        return any(run.tenant == tenant and run.status == "ok" for run in runs(db_url))
    except SQLAlchemyError:
        return False


def assert_stored_completely(sim: Simulator, db_url: str, tenant: str) -> None:
    expected, stored = expected_of(sim, db_url, tenant), stored_by_tenant(db_url).get(tenant)
    assert stored == expected, difference(expected, stored or Counter())
    assert sum(expected.values()) > 200


def test_one_run_stores_every_accounts_searches_under_its_own_tenant_only(
    two_accounts, db_url, tmp_path
):
    result = run_cli(["run", "--once"], tenants_env(two_accounts, tmp_path, db_url), tmp_path)

    assert result.returncode == 0, result.stderr
    assert set(stored_by_tenant(db_url)) == set(ACCOUNTS)
    for tenant, account in ACCOUNTS.items():
        assert_stored_completely(two_accounts, db_url, tenant)
        [backfill] = [run for run in runs(db_url) if run.tenant == tenant]
        # a search exactly on the edge of two of the backfill's windows is served by both
        # (the bounds are inclusive): fetched twice, stored once, counted as a duplicate
        assert backfill.inserted == sum(expected_of(two_accounts, db_url, tenant).values())
        assert backfill.fetched == backfill.inserted + backfill.duplicates
        assert backfill.rejected == 0
        shared = [key for key in stored_by_tenant(db_url)[tenant] if SHARED in key]
        assert len(shared) == 1 and f"account {account}" in shared[0], "each its own search"


FAULTS = {
    "rejected credentials": (
        lambda sim: sim.reject_credentials(account=1),
        2,
        "the client id/secret was rejected by Mimecast (HTTP 401)",
    ),
    "429 storm": (lambda sim: sim.set_rates(account=1, rate_429=1.0), 1, "HTTP 429"),
    "outage": (lambda sim: sim.set_rates(account=1, rate_5xx=1.0), 1, "Mimecast answered HTTP 5"),
}


@pytest.mark.parametrize("fault", FAULTS, ids=list(FAULTS))
def test_one_accounts_failure_leaves_the_others_poll_complete_and_is_named(
    two_accounts, tmp_path, fault
):
    inject, status, why = FAULTS[fault]
    inject(two_accounts)
    db_url = f"sqlite:///{tmp_path / 'data' / 'searchlogs.db'}"
    env = tenants_env(two_accounts, tmp_path, db_url)

    result = run_cli(["run", "--once"], env, tmp_path)
    status_out = run_cli(["status"], env, tmp_path)

    assert result.returncode == status, result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and errors[0].startswith("error: tenant 'acme': "), result.stderr
    assert why in errors[0]
    assert "Traceback" not in result.stderr
    assert_stored_completely(two_accounts, db_url, "globex")
    assert "acme" not in stored_by_tenant(db_url)
    assert status_out.returncode == 0, status_out.stderr
    verdicts = status_out.stdout.split("\n\n")[0].splitlines()
    assert verdicts[0] == "tenants"
    assert verdicts[1].split()[:2] == ["acme", "failing:"] and why in verdicts[1]
    assert verdicts[2].split() == ["globex", "ok"]


def test_a_hanging_account_does_not_hold_the_others_commits(two_accounts, db_url, tmp_path):
    with holding_proxy(two_accounts.base_url) as hanging:
        env = tenants_env(two_accounts, tmp_path, db_url, urls={"acme": hanging.url})
        process = subprocess.Popen(
            [runtime_python(), "-m", "ingest", "run", "--once"],
            env=subprocess_env(env),
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            globex_done = wait_until(lambda: polled_ok(db_url, "globex"), timeout=120)
            assert globex_done, "globex's poll did not finish while acme hung"
            assert hanging.held >= 1 and not hanging.release.is_set()
            assert process.poll() is None, "acme is still hanging"
            assert_stored_completely(two_accounts, db_url, "globex")
            assert "acme" not in stored_by_tenant(db_url)
        finally:
            hanging.release.set()
            _out, err = process.communicate(timeout=120)
    assert process.returncode == 0, err
    assert_stored_completely(two_accounts, db_url, "acme")


def test_tenant_option_limits_each_command_to_that_tenant(two_accounts, tmp_path):
    db_url = f"sqlite:///{tmp_path / 'data' / 'searchlogs.db'}"
    env = tenants_env(two_accounts, tmp_path, db_url)

    def cli(*args: str) -> subprocess.CompletedProcess:
        return run_cli(list(args), env, tmp_path)

    assert cli("run", "--once", "--tenant", "globex").returncode == 0
    assert set(stored_by_tenant(db_url)) == {"globex"}
    assert two_accounts.stats(account=1)["token_requests"] == 0, "acme was never asked"
    one = json.loads(cli("status", "--json", "--tenant", "globex").stdout)
    assert (one["tenant"], one["state"]) == ("globex", "ok")
    assert one["totals"]["search_logs"] == sum(stored_by_tenant(db_url)["globex"].values())
    both = json.loads(cli("status", "--json").stdout)["tenants"]
    assert [(s["tenant"], s["totals"]["search_logs"] > 0) for s in both] == [
        ("acme", False),
        ("globex", True),
    ]

    assert cli("reconcile", "--tenant", "globex").returncode == 0
    assert [(r.tenant, r.kind) for r in runs(db_url)] == [
        ("globex", "bootstrap"),
        ("globex", "reconcile"),
    ]
    assert cli("run", "--once").returncode == 0
    refused = cli("reset-cursor", "--yes")
    assert refused.returncode == 2
    assert refused.stderr.strip().startswith("error: 2 tenants are configured: name the one")
    assert cli("reset-cursor", "--yes", "--tenant", "acme").returncode == 0
    statuses = json.loads(cli("status", "--json").stdout)["tenants"]
    cursors = {status["tenant"]: status["cursor"] for status in statuses}
    assert cursors["acme"] is None and cursors["globex"] is not None

    for command in (["run", "--once"], ["status"], ["reset-cursor", "--yes"], ["reconcile"]):
        unknown = cli(*command, "--tenant", "initech")
        assert unknown.returncode == 2, command
        assert unknown.stderr.strip().splitlines() == [
            "error: --tenant: no tenant is named 'initech'; the tenants are acme, globex"
        ]


def test_the_scheduled_loop_keeps_polling_the_others_while_one_is_refused(two_accounts, tmp_path):
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
    assert ran("acme", "ok") == 0 and "acme" not in stored_by_tenant(db_url)
    assert_stored_completely(two_accounts, db_url, "globex")
    assert "tenant 'acme': the client id/secret was rejected" in err
