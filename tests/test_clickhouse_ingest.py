"""`python -m ingest` on ClickHouse (chDB): the simulator over real HTTP, the ingest as a
child process writing a chDB folder, every account's searches stored once under its own
tenant, replays storing nothing, the run log and status read back from ClickHouse.

The ClickHouse drivers are the `.[clickhouse]` extra, not the runtime requirements: the
child runs `sys.executable` (the test tools' Python = the runtime set plus that extra),
not RUNTIME_PYTHON. chDB locks its folder to one process, so the test reads the folder
only once the child has ended.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from config.settings import load_settings
from db.clickhouse import runs as ch_runs
from db.clickhouse.store import ClickHouseStore
from db.stores import open_stores
from ingest.clickhouse_store import ClickHouseIngestStore
from ingest.client import MimecastClient
from ingest.poller import Poller
from ingest.simulator import SimConfig, Simulator
from ingest.windows import utc_now_seconds
from tests.support.backends import database_name, fresh_postgres_database, postgres_server
from tests.support.runtime import subprocess_env
from tests.support.truth import canonical, difference, expected_records, wait_until
from tests.test_simulator import record_at

ACCOUNTS = {"acme": 1, "globex": 2}
SHARED = "shared.searcher@both.example.com"
PASSWORD = "ch-pa55word"


@pytest.fixture
def sim() -> Iterator[Simulator]:
    """Two accounts whose data differ, one address searching in both; the simulator's clock
    stands still, so a second run finds nothing new however long the first one took.

    Each account also has a search a minute before that clock: the delta run re-reads
    LOOKBACK_SECONDS before the real time of the first run, so that search lies in its
    window however slow the first run was (random searches alone left it empty on a
    loaded CI machine, and the run then rightly read nothing twice)."""
    frozen = utc_now_seconds() - timedelta(hours=1)
    config = SimConfig(
        seed=7, days=4, events_per_day=120, late_fraction=0.0, accounts=2, clock=lambda: frozen
    )
    with Simulator(config) as simulator:
        for name, account in ACCOUNTS.items():
            moment = frozen - timedelta(hours=3)
            edge = frozen - timedelta(minutes=1)
            simulator.add_events(
                [record_at(moment, who=SHARED, text=name), record_at(edge, text=f"{name} edge")],
                account=account,
            )
        yield simulator


def chdb_url(tmp_path: Path) -> str:
    return f"chdb://{tmp_path / 'clickhouse'}"


def ingest_env(sim: Simulator, tmp_path: Path, url: str) -> dict[str, str]:
    """A TENANTS_FILE naming both accounts, the ClickHouse DATABASE_URL, and DB_PATH for
    the control database."""
    env = {
        "TENANTS_FILE": str(tmp_path / "tenants.toml"),
        "DATABASE_URL": url,
        "DB_PATH": str(tmp_path / "control.db"),
        "INITIAL_BACKFILL_DAYS": "2",
        "RECONCILE_DAYS": "0",
    }
    tables = []
    for name, account in ACCOUNTS.items():
        client_id, secret = sim.credentials(account)
        env[f"{name.upper()}_SECRET"] = secret
        tables.append(
            f'[[tenant]]\nname = "{name}"\nbase_url = "{sim.base_url}"\n'
            f'client_id = "{client_id}"\nclient_secret_env = "{name.upper()}_SECRET"\n'
        )
    Path(env["TENANTS_FILE"]).write_text("\n".join(tables), encoding="utf-8")
    return env


def run_ingest(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess:
    """`python -m ingest ARGS` from the test tools' Python (see the module docstring)."""
    return subprocess.run(
        [sys.executable, "-m", "ingest", *args],
        env=subprocess_env(env),
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
    )


def stored_by_tenant(store: ClickHouseStore) -> dict[str, Counter[str]]:
    rows = store.client.query("SELECT tenant, raw_json FROM search_logs").result_rows
    stored: dict[str, Counter[str]] = {}
    for tenant, raw in rows:  # no FINAL: a row stored twice would show twice here
        stored.setdefault(tenant, Counter())[canonical(json.loads(raw))] += 1
    return stored


def expected_of(sim: Simulator, store: ClickHouseStore, tenant: str) -> Counter[str]:
    """The account's searches in the windows the tenant's successful runs covered."""
    done = ch_runs.recent_runs(store.client, tenant, status="ok", limit=None)
    assert done, f"no successful run of {tenant}"
    start = min(run["window_start"] for run in done)
    end = max(run["window_end"] for run in done)
    valid, _ = sim.truth(start, end, account=ACCOUNTS[tenant])
    return expected_records(valid, start, end)


def assert_stored_exactly(sim: Simulator, store: ClickHouseStore) -> None:
    stored = stored_by_tenant(store)
    assert set(stored) == set(ACCOUNTS)
    for tenant in ACCOUNTS:
        expected = expected_of(sim, store, tenant)
        assert stored[tenant] == expected, difference(expected, stored[tenant])
        assert sum(expected.values()) > 100
        shared = [key for key in stored[tenant] if SHARED in key]
        assert [json.loads(key)["searchText"] for key in shared] == [tenant]


def test_run_once_stores_each_accounts_searches_once_under_its_own_tenant(sim, tmp_path):
    url = chdb_url(tmp_path)
    env = ingest_env(sim, tmp_path, url)
    first = run_ingest(["run", "--once"], env, tmp_path)
    assert first.returncode == 0, first.stderr
    assert "sealing of complete days does not run yet" in first.stderr
    assert [line for line in first.stderr.splitlines() if "detect " in line]  # it scored
    assert PASSWORD not in first.stderr
    with ClickHouseStore.open(url) as store:
        assert_stored_exactly(sim, store)
        version = store.data_version()
        for tenant in ACCOUNTS:
            [run] = ch_runs.recent_runs(store.client, tenant)  # start and end: one run
            stored = sum(stored_by_tenant(store)[tenant].values())
            assert (run["status"], run["inserted"]) == ("ok", stored)
            assert run["fetched"] == run["inserted"] + run["duplicates"]
            assert store.read_backfill_done(tenant)
            assert store.read_cursor(tenant) == run["window_end"]
            assert SHARED in ch_runs.filter_values(store.client, tenant, "user")

    again = run_ingest(["run", "--once"], env, tmp_path)
    assert again.returncode == 0, again.stderr
    with ClickHouseStore.open(url) as store:
        assert_stored_exactly(sim, store)
        assert store.data_version() == version, "a run that stored nothing moved it"
        for tenant in ACCOUNTS:
            delta, _backfill = ch_runs.recent_runs(store.client, tenant)
            assert (delta["kind"], delta["status"], delta["inserted"]) == ("delta", "ok", 0)
            assert delta["duplicates"] > 0, "the lookback window was read again"


class Killed(BaseException):
    """The process dies here: no handler of the poller runs (as with SIGKILL)."""


class DiesBeforeTheCursor(ClickHouseIngestStore):
    """Dies at the first cursor move after a window's rows were written."""

    def advance_cursor(self, end: datetime, *, backfill_done: bool | None = None) -> None:
        if backfill_done is None or backfill_done:  # not the backfill's start
            raise Killed
        super().advance_cursor(end, backfill_done=backfill_done)


def test_a_kill_between_the_rows_and_the_cursor_stores_nothing_twice(sim, tmp_path):
    url = chdb_url(tmp_path)
    env = ingest_env(sim, tmp_path, url)
    settings = load_settings({**env, "MIMECAST_BASE_URL": sim.base_url})
    client_id, secret = sim.credentials(ACCOUNTS["acme"])
    stores = open_stores(settings)
    assert stores.clickhouse is not None
    store = DiesBeforeTheCursor(stores.clickhouse, stores.control, "acme", threading.RLock())
    client = MimecastClient(sim.base_url, client_id, secret)
    try:
        with pytest.raises(Killed):
            Poller(settings, store, client).run_cycle()
        rows = sum(stored_by_tenant(stores.clickhouse).get("acme", Counter()).values())
        cursor = stores.clickhouse.read_cursor("acme")
        [run] = ch_runs.recent_runs(stores.clickhouse.client, "acme")
    finally:
        client.close()
        stores.close()
    assert rows > 0, "the first window's rows were written before the kill"
    assert cursor == run["window_start"], "the cursor stayed before the rows"
    assert run["status"] == "running"

    result = run_ingest(["run", "--once"], env, tmp_path)
    assert result.returncode == 0, result.stderr
    with ClickHouseStore.open(url) as reopened:
        assert_stored_exactly(sim, reopened)
        killed, finished = ch_runs.recent_runs(reopened.client, "acme")[::-1]
        assert (killed["status"], killed["error"]) == ("failed", ch_runs.ABANDONED)
        assert finished["duplicates"] >= rows, "the killed run's rows were found, not doubled"


def test_status_reads_runs_cursor_and_totals_from_clickhouse(sim, tmp_path):
    url = chdb_url(tmp_path)
    env = ingest_env(sim, tmp_path, url)
    assert run_ingest(["run", "--once"], env, tmp_path).returncode == 0
    with ClickHouseStore.open(url) as store:
        searches = {t: sum(c.values()) for t, c in stored_by_tenant(store).items()}
        cursors = {t: store.read_cursor(t) for t in ACCOUNTS}

    text = run_ingest(["status"], env, tmp_path)
    shown = run_ingest(["status", "--json"], env, tmp_path)

    assert text.returncode == 0 and shown.returncode == 0, text.stderr + shown.stderr
    assert "  acme             ok" in text.stdout and "  globex           ok" in text.stdout
    statuses = {each["tenant"]: each for each in json.loads(shown.stdout)["tenants"]}
    for tenant in ACCOUNTS:
        status = statuses[tenant]
        assert status["totals"]["search_logs"] == searches[tenant]
        assert status["cursor"] == cursors[tenant].isoformat()
        assert status["backfill_done"] is True
        assert status["database"] == url
        [run] = status["recent_runs"]
        expected = ("bootstrap", "ok", searches[tenant])
        assert (run["kind"], run["status"], run["inserted"]) == expected
        assert status["forwarding"] == []


@pytest.mark.parametrize(
    "url",
    [
        f"clickhousedb://ingest:{PASSWORD}@127.0.0.1:9/searchlogs",
        f"clickhousedb://ingest@127.0.0.1:9/searchlogs?password={PASSWORD}",
    ],
)
def test_an_unreachable_clickhouse_fails_closed_in_one_line_without_the_password(
    sim, tmp_path, url
):
    result = run_ingest(["run", "--once"], ingest_env(sim, tmp_path, url), tmp_path)
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2, result.stderr
    assert len(lines) == 1 and lines[0].startswith("error: cannot connect to ClickHouse at ")
    assert PASSWORD not in result.stderr + result.stdout
    assert "Traceback" not in result.stderr


def test_a_clickhouse_control_database_is_refused_in_one_line(sim, tmp_path):
    env = {**ingest_env(sim, tmp_path, chdb_url(tmp_path))}
    env["CONTROL_DATABASE_URL"] = f"clickhousedb://x:{PASSWORD}@127.0.0.1:9/control"
    result = run_ingest(["run", "--once"], env, tmp_path)
    assert result.returncode == 2, result.stderr
    assert result.stderr.strip().splitlines() == [
        "error: CONTROL_DATABASE_URL must name a SQL database (sqlite:/// or "
        "postgresql+psycopg://), not ClickHouse: it keeps what needs transactions"
    ]
    assert not (tmp_path / "clickhouse").exists(), "nothing was written"


def test_the_scheduled_loop_polls_each_tenant_again_and_stops_cleanly(sim, tmp_path):
    url = chdb_url(tmp_path)
    env = {**ingest_env(sim, tmp_path, url), "POLL_SECONDS": "1"}
    log = tmp_path / "ingest.log"
    with log.open("w") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "ingest", "run"],
            env=subprocess_env(env),
            cwd=tmp_path,
            stdout=sink,
            stderr=sink,
            text=True,
        )
        try:
            # each tenant's delta poll after its backfill: its summary line, per tenant
            polled_twice = wait_until(
                lambda: all(
                    log.read_text().count(f"tenant {name!r}: delta done") >= 1 for name in ACCOUNTS
                ),
                timeout=240,
            )
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=120)
    said = log.read_text()
    assert polled_twice, said
    assert process.returncode == 0, said
    assert "sealing of complete days does not run yet" in said
    with ClickHouseStore.open(url) as store:
        assert_stored_exactly(sim, store)
        for tenant in ACCOUNTS:
            kinds = [run["kind"] for run in ch_runs.recent_runs(store.client, tenant, limit=None)]
            assert kinds[-2:] == ["delta", "bootstrap"], kinds


def _control_searches(url: str) -> int:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(text("SELECT count(*) FROM search_logs")).scalar() or 0)
    finally:
        engine.dispose()


def test_the_control_database_is_db_paths_sqlite_file_and_holds_no_searches(sim, tmp_path):
    url = chdb_url(tmp_path)
    result = run_ingest(["run", "--once"], ingest_env(sim, tmp_path, url), tmp_path)
    assert result.returncode == 0, result.stderr
    assert _control_searches(f"sqlite:///{tmp_path / 'control.db'}") == 0
    with ClickHouseStore.open(url) as store:
        assert set(stored_by_tenant(store)) == set(ACCOUNTS)


@pytest.mark.postgres
def test_control_database_url_names_the_control_database(sim, tmp_path, request):
    control = fresh_postgres_database(postgres_server(), database_name(request.node.nodeid))
    env = {**ingest_env(sim, tmp_path, chdb_url(tmp_path)), "CONTROL_DATABASE_URL": control}
    result = run_ingest(["run", "--once"], env, tmp_path)
    assert result.returncode == 0, result.stderr
    assert _control_searches(control) == 0, "the searches went to ClickHouse"
    assert not (tmp_path / "control.db").exists(), "DB_PATH is not used"
    with ClickHouseStore.open(chdb_url(tmp_path)) as store:
        assert_stored_exactly(sim, store)
