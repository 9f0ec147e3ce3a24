"""Detections per tenant: each tenant is scored against its own people only, so a tenant's
alerts do not change when another tenant, searching wildly differently with some of the
same addresses, shares the database; `python -m ingest detect` scores every tenant of the
tenants file, `--tenant NAME` one."""

from __future__ import annotations

import random
import shutil
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from db.engine import open_database
from db.models import Alert
from ingest.simulator.incidents import LabelledTenant, labelled_tenant
from tests.support.detections import load_records
from tests.support.harness import run_cli
from tests.support.tenancy import write_tenants_file

END = date(2026, 11, 12)
CURSOR = datetime(2026, 11, 12, 6, tzinfo=UTC)
TENANTS = {"acme": "ACME Corp", "globex": "Globex"}
ALERT_FIELDS = (
    Alert.rule,
    Alert.email_addr,
    Alert.day,
    Alert.severity,
    Alert.summary,
    Alert.figures,
    Alert.window_start,
    Alert.window_end,
    Alert.evidence_url,
)


def tenants_env(folder: Path, db_path: Path) -> dict[str, str]:
    """A TENANTS_FILE naming acme and globex (secrets from variables), and the database."""
    path = write_tenants_file(folder, TENANTS)
    return {
        "TENANTS_FILE": str(path),
        "ACME_SECRET": "acme-secret",
        "GLOBEX_SECRET": "globex-secret",
        "DB_PATH": str(db_path),
    }


def wild_twin(acme: LabelledTenant) -> list[dict[str, object]]:
    """Globex: acme's addresses (the same people, say a shared service desk), searching
    nothing like them: bursts of hundreds at any hour on random days, breadth everywhere,
    never a reason, and a whole-tenant surge every ten days."""
    rng = random.Random("globex")
    people = sorted(acme.habits)
    first = datetime.combine(acme.key.first_day, datetime.min.time(), UTC)
    records: list[dict[str, object]] = []
    for index in range((END - first.date()).days):
        day = first + timedelta(days=index)
        surge = 5 if index % 10 == 3 else 1
        for email in people:
            for _ in range(rng.choice((0, 0, 0, 1, 4, 30, 120)) * surge):
                moment = day + timedelta(seconds=rng.randrange(86400))
                target = f"mbx{rng.randrange(3000):04d}@corp.example"
                records.append(
                    {
                        "createTime": moment.strftime("%Y-%m-%dT%H:%M:%S+0000"),
                        "emailAddr": email,
                        "source": "archive",
                        "searchText": f"[User : {target}] salary",
                        "searchReason": "",
                        "description": "Archive Search",
                    }
                )
    records.sort(key=lambda record: str(record["createTime"]))
    return records


def alerts_of(db_path: Path, tenant: str) -> list[tuple[object, ...]]:
    engine = open_database(f"sqlite:///{db_path}")
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                select(*ALERT_FIELDS).where(Alert.tenant == tenant).order_by(*ALERT_FIELDS[:3])
            ).all()
    finally:
        engine.dispose()
    return [tuple(row) for row in rows]


@pytest.fixture(scope="module")
def databases(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, LabelledTenant]:
    """(acme alone, acme and globex, acme's answer key): acme's searches are the same
    rows in both, stored by the ingest's own store; globex's in the second only."""
    folder = tmp_path_factory.mktemp("detect-tenants")
    acme = labelled_tenant(8, people=40, days=80, end=END, repeats=1, system_rate=0.1)
    alone, both = folder / "alone.db", folder / "both.db"
    engine = open_database(f"sqlite:///{alone}")
    try:
        load_records(engine, acme.records, CURSOR, tenant="acme")
    finally:
        engine.dispose()
    shutil.copy(alone, both)
    engine = open_database(f"sqlite:///{both}")
    try:
        load_records(engine, wild_twin(acme), CURSOR, tenant="globex")
    finally:
        engine.dispose()
    return alone, both, acme


def test_a_tenants_alerts_are_the_same_whether_or_not_another_tenant_is_stored(
    databases, tmp_path: Path
):
    alone, both, acme = databases
    alone, both = shutil.copy(alone, tmp_path / "a.db"), shutil.copy(both, tmp_path / "b.db")
    for db_path in (alone, both):
        done = run_cli(["detect"], tenants_env(tmp_path, Path(db_path)), tmp_path, timeout=600)
        assert done.returncode == 0, done.stderr
        lines = done.stdout.splitlines()
        assert [line.split(":")[0] for line in lines] == ["detect acme", "detect globex"]
        assert lines[0].startswith("detect acme: scored ")
    by_itself, beside_globex = alerts_of(Path(alone), "acme"), alerts_of(Path(both), "acme")
    assert by_itself == beside_globex
    found = {(rule, email, day) for rule, email, day, *_ in by_itself}
    assert [i for i in acme.key.incidents if not i.detected_by(found)] == []
    globex = alerts_of(Path(both), "globex")
    shared = {row[1] for row in globex} & {row[1] for row in by_itself}
    assert globex != by_itself and shared  # globex alerted too, on some of the same people
    assert alerts_of(Path(alone), "globex") == []


def test_detect_tenant_scores_only_that_tenant_and_an_unknown_name_is_exit_2(
    databases, tmp_path: Path
):
    _, both, _ = databases
    db_path = Path(shutil.copy(both, tmp_path / "b.db"))
    env = tenants_env(tmp_path, db_path)
    done = run_cli(["detect", "--tenant", "globex"], env, tmp_path, timeout=600)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("detect globex: scored ") and "acme" not in done.stdout
    assert alerts_of(db_path, "acme") == [] and alerts_of(db_path, "globex")
    refused = run_cli(["detect", "--tenant", "initech"], env, tmp_path)
    assert refused.returncode == 2
    assert refused.stderr.strip().splitlines() == [
        "error: --tenant: no tenant is named 'initech'; the tenants are acme, globex"
    ]
    assert alerts_of(db_path, "acme") == []
