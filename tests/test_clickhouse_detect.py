"""Detections and forwarding with the searches on ClickHouse (chDB): the same records stored
through SQLite's and ClickHouse's write paths give the same alerts (rule, person, day,
severity, strength, summary), scored in-process and by `python -m ingest detect`, in UTC
and in a zone with a half-hour offset (raw rows); the features, alerts and progress go to
the control database; `python -m ingest forward` delivers each alert from it once to a
real HTTPS receiver. Two tenants with different people, one address searching in both.

The child processes run `sys.executable` (the test tools' Python, which has the ClickHouse
extra), and chDB locks its folder to one process: no test holds it while a child runs."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select

from db.clickhouse.store import ClickHouseStore
from db.engine import open_database
from db.models import Alert, PersonDayFeatures
from ingest.detect.config import DetectionConfig
from ingest.detect.runner import detect
from ingest.forward.messages import alert_id
from ingest.forward.notify import verify
from ingest.simulator.incidents import labelled_tenant
from tests.support.clickhouse import keyed
from tests.support.detections import load_records
from tests.support.forward_receivers import HttpsReceiver, make_ca
from tests.support.runtime import subprocess_env

END = date(2026, 6, 1)
END_TIME = datetime(2026, 6, 1, tzinfo=UTC)
TENANTS = ("acme", "globex")
PAGE = 5_000
KEY = "hmac-key-for-tests"

pytestmark = pytest.mark.slow  # two tenants' 80 days stored twice and scored several times


def _records() -> dict[str, list[dict[str, Any]]]:
    """acme and globex, different people and habits; globex's first office worker is given
    acme's, so one address searches in both with different habits."""
    acme = labelled_tenant(11, people=40, days=80, end=END, repeats=1, system_rate=0.1)
    globex = labelled_tenant(12, people=30, days=80, end=END, repeats=1, system_rate=0.1)
    shared, theirs = (
        min(email for email, habit in tenant.habits.items() if habit.kind == "office")
        for tenant in (acme, globex)
    )
    renamed = [
        {**record, "emailAddr": shared} if record["emailAddr"] == theirs else record
        for record in globex.records
    ]
    return {"acme": acme.records, "globex": renamed}


@pytest.fixture(scope="module")
def stored(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(a SQLite file, a chDB folder) holding the same searches, each cursor at END_TIME."""
    folder = tmp_path_factory.mktemp("ch-detect")
    sqlite, chdb = folder / "searchlogs.db", folder / "clickhouse"
    engine = open_database(f"sqlite:///{sqlite}")
    with ClickHouseStore.open(f"chdb://{chdb}") as store:
        for tenant, records in _records().items():
            load_records(engine, records, END_TIME, tenant=tenant)
            pairs = keyed(records)  # one window's keys, as load_records keys them
            window = (pairs[0][1].create_time, END_TIME)
            for start in range(0, len(pairs), PAGE):
                store.write_page(tenant, pairs[start : start + PAGE], [], 1, window)
            store.advance_cursor(tenant, END_TIME, backfill_done=True)
    engine.dispose()
    return sqlite, chdb


def alerts(engine: Engine) -> list[tuple[Any, ...]]:
    """Every alert as (tenant, rule, person, day, severity, strength, summary, status)."""
    columns = (Alert.tenant, Alert.rule, Alert.email_addr, Alert.day, Alert.severity)
    with engine.connect() as conn:
        rows = conn.execute(select(*columns, Alert.figures, Alert.summary, Alert.status)).all()
    return sorted((*row[:5], json.loads(row[5])["strength"], row[6], row[7]) for row in rows)


def score(engine: Engine, tz: str, searches: Any = None) -> None:
    """A first run up to four days before the end, then the last days as new days."""
    for tenant in TENANTS:
        config = DetectionConfig()
        detect(engine, tenant, tz, config, through=END - timedelta(days=4), searches=searches)
        detect(engine, tenant, tz, config, recheck_days=3, searches=searches)


@pytest.mark.parametrize("tz", ["UTC", "Asia/Kolkata"])
def test_detections_on_clickhouse_equal_sqlites_alerts(
    stored: tuple[Path, Path], tmp_path: Path, tz: str
) -> None:
    sqlite, chdb = stored
    oracle = open_database(f"sqlite:///{shutil.copy(sqlite, tmp_path / 'oracle.db')}")
    control = open_database(f"sqlite:///{tmp_path / 'control.db'}")
    try:
        score(oracle, tz)
        with ClickHouseStore.open(f"chdb://{chdb}") as store:
            score(control, tz, store)
        expected, actual = alerts(oracle), alerts(control)
        assert actual == expected
        assert {row[0] for row in expected} == set(TENANTS)
        assert len(expected) >= 10
        with control.connect() as conn:  # the features were kept in the control database
            kept = conn.execute(select(PersonDayFeatures.tenant).distinct()).scalars().all()
        assert sorted(kept) == list(TENANTS)
    finally:
        oracle.dispose()
        control.dispose()


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    tenants = tmp_path / "tenants.toml"
    tenants.write_text(
        "".join(
            f'[[tenant]]\nname = "{name}"\nbase_url = "https://127.0.0.1:9"\n'
            f'client_id = "id-{name}"\nclient_secret_env = "{name.upper()}_SECRET"\n'
            for name in TENANTS
        ),
        encoding="utf-8",
    )
    env = {"TENANTS_FILE": str(tenants), "RECONCILE_DAYS": "0", **extra}
    return env | {f"{name.upper()}_SECRET": "unused" for name in TENANTS}


def ingest(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "ingest", *args],
        env=subprocess_env(env),
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=600,
    )


@pytest.fixture
def scored(stored: tuple[Path, Path], tmp_path: Path) -> Iterator[tuple[dict[str, str], Path]]:
    """`python -m ingest detect` on the chDB folder (the control database at DB_PATH), and
    on a copy of the SQLite file: the same alerts. Yields the ClickHouse env and control."""
    sqlite, chdb = stored
    oracle = shutil.copy(sqlite, tmp_path / "oracle.db")
    control = tmp_path / "control.db"
    on_sqlite = ingest(["detect"], _env(tmp_path, DB_PATH=str(oracle)), tmp_path)
    assert on_sqlite.returncode == 0, on_sqlite.stderr
    env = _env(tmp_path, DATABASE_URL=f"chdb://{chdb}", DB_PATH=str(control))
    on_clickhouse = ingest(["detect"], env, tmp_path)
    assert on_clickhouse.returncode == 0, on_clickhouse.stderr
    lines = on_clickhouse.stdout.splitlines()
    assert [line.split(":")[0] for line in lines] == [f"detect {name}" for name in TENANTS]
    assert all(": scored " in line for line in lines), lines
    engines = [open_database(f"sqlite:///{path}") for path in (oracle, control)]
    try:
        expected, actual = (alerts(engine) for engine in engines)
    finally:
        for engine in engines:
            engine.dispose()
    assert actual == expected and len(expected) >= 10
    again = ingest(["detect"], env, tmp_path)  # scored through: nothing more
    assert again.returncode == 0, again.stderr
    assert all("nothing to score" in line for line in again.stdout.splitlines()), again.stdout
    yield env, control


def test_detect_command_on_clickhouse_equals_sqlites_and_forward_sends_each_alert_once(
    scored: tuple[dict[str, str], Path], tmp_path: Path
) -> None:
    env, control = scored
    engine = open_database(f"sqlite:///{control}")
    with engine.connect() as conn:
        ids = sorted(alert_id(i) for i in conn.execute(select(Alert.id)).scalars())
    engine.dispose()
    ca = make_ca(tmp_path / "ca")
    with HttpsReceiver(ca) as hook:
        forward = tmp_path / "forward.toml"
        forward.write_text(
            f'[[destination]]\nname = "hook"\nurl = "{hook.url}"\nformat = "webhook"\n'
            f'source = "alerts"\nsecret_env = "HOOK_KEY"\nca_file = "{ca.ca_file}"\n',
            encoding="utf-8",
        )
        env = env | {"FORWARD_CONFIG": str(forward), "HOOK_KEY": KEY}
        first = ingest(["forward"], env, tmp_path)
        assert first.returncode == 0, first.stderr
        second = ingest(["forward"], env, tmp_path)  # nothing is pending any more
        assert second.returncode == 0, second.stderr
        received = list(hook.requests)
    sent = []
    for request in received:
        assert verify(KEY.encode(), request["body"], request["headers"], request["at"])
        sent.append(json.loads(request["body"])["event"]["id"])
    assert sorted(sent) == ids  # each alert once, both tenants'


def test_forwarding_searches_from_clickhouse_is_refused_in_one_line(tmp_path: Path) -> None:
    forward = tmp_path / "forward.toml"
    forward.write_text(
        f'[[destination]]\nname = "siem"\nurl = "file://{tmp_path / "out.ndjson"}"\n'
        'format = "ecs"\n',
        encoding="utf-8",
    )
    env = _env(
        tmp_path,
        DATABASE_URL=f"chdb://{tmp_path / 'clickhouse'}",
        DB_PATH=str(tmp_path / "control.db"),
        FORWARD_CONFIG=str(forward),
    )
    for command in (["forward"], ["run", "--once"]):
        result = ingest(command, env, tmp_path)
        assert result.returncode == 2, result.stderr
        assert result.stderr.splitlines() == [
            "error: forwarding destination 'siem' sends searches, which are not forwarded "
            'from ClickHouse yet: set its source = "alerts" or forward from a SQL store '
            "(docs/clickhouse.md)"
        ]
    assert not (tmp_path / "out.ndjson").exists()
