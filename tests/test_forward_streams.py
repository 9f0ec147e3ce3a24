"""Forwarding per tenant: each tenant's stream to a destination has its own exactly-once
cursor; a destination gets only the tenants it receives, every message naming its tenant;
a receiver failing one tenant's messages does not hold the other tenant's."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from db.alerts import insert_alerts
from db.engine import open_database
from db.models import ForwardCursor, SearchLog
from ingest.forward import delivery
from ingest.forward.config import ForwardConfig, destination_from
from ingest.forward.messages import forward_id
from ingest.forward.runner import forward_pending
from tests.support.detections import load_records, new_alert
from tests.support.forward_receivers import HttpsReceiver, ReceiverCA, make_ca
from tests.support.harness import run_cli
from tests.support.tenancy import write_tenants_file

WHEN = datetime(2026, 5, 4, 9, tzinfo=UTC)
TENANTS = {"globex": "Globex", "acme": "ACME Corp"}  # globex first: its stream starts first


def record(email: str, minute: int, text: str) -> dict[str, object]:
    moment = WHEN + timedelta(minutes=minute)
    return {
        "createTime": moment.strftime("%Y-%m-%dT%H:%M:%S+0000"),
        "emailAddr": email,
        "source": "archive",
        "searchText": text,
        "searchReason": "case 7",
        "description": "Archive Search",
    }


def searches(tenant: str, count: int) -> list[dict[str, object]]:
    """`count` searches by ann and bob (in both tenants), the first five the very same
    records in both tenants (so the same stored key)."""
    people = ("ann@shared.example", "bob@shared.example")
    same = [record(people[n % 2], n, "[User : x]") for n in range(5)]
    own = [record(people[n % 2], 10 + n, f"{tenant} search {n}") for n in range(count - 5)]
    return same + own


@pytest.fixture
def two_tenants(db_url: str) -> str:
    """A database (SQLite, PostgreSQL) with acme's 23 searches and 2 alerts and globex's 17
    and 1, stored by the ingest's own store, interleaved (acme, globex, acme) so ids
    alternate."""
    engine = open_database(db_url)
    end = WHEN + timedelta(days=1)
    try:
        acme = searches("acme", 23)
        load_records(engine, acme[:12], end, tenant="acme")
        load_records(engine, searches("globex", 17), end, tenant="globex")
        load_records(engine, acme[12:], end, tenant="acme")
        day = date(2026, 5, 4)
        with engine.begin() as conn:
            for rule, email, tenant in (
                ("breadth", "ann@shared.example", "acme"),
                ("breadth", "ann@shared.example", "globex"),
                ("unusual_time", "bob@shared.example", "acme"),
            ):
                insert_alerts(conn, [new_alert(rule, email, day, tenant=tenant)])
    finally:
        engine.dispose()
    return db_url


def expected_ids(db_url: str, tenant: str) -> list[str]:
    engine = open_database(db_url)
    try:
        with engine.connect() as conn:
            keys = conn.execute(
                select(SearchLog.event_key).where(SearchLog.tenant == tenant).order_by(SearchLog.id)
            ).scalars()
            return [forward_id(tenant, key) for key in keys]
    finally:
        engine.dispose()


def cursors(db_url: str) -> dict[tuple[str, str], int]:
    engine = open_database(db_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                select(ForwardCursor.destination, ForwardCursor.tenant, ForwardCursor.delivered)
            ).all()
            return {(destination, tenant): delivered for destination, tenant, delivered in rows}
    finally:
        engine.dispose()


def tenants_file(folder: Path) -> Path:
    return write_tenants_file(folder, TENANTS)


def organizations(documents: list[dict[str, Any]]) -> Counter[tuple[str, str]]:
    return Counter((doc["organization"]["id"], doc["organization"]["name"]) for doc in documents)


@pytest.fixture
def ca(tmp_path: Path) -> ReceiverCA:
    return make_ca(tmp_path / "ca")


def test_each_receiver_gets_exactly_the_tenants_it_receives_once_with_their_names(
    two_tenants: str, tmp_path: Path, ca: ReceiverCA
):
    alerts_file = tmp_path / "alerts.cef"
    with HttpsReceiver(ca) as everyone, HttpsReceiver(ca) as acme_only:
        config = tmp_path / "forward.toml"
        config.write_text(
            f'[[destination]]\nname = "everyone"\nurl = "{everyone.url}"\n'
            f'ca_file = "{ca.ca_file}"\nbatch_size = 4\n'
            f'[[destination]]\nname = "acme-siem"\nurl = "{acme_only.url}"\n'
            f'ca_file = "{ca.ca_file}"\ntenants = ["acme"]\n'
            f'[[destination]]\nname = "alerts"\nurl = "file://{alerts_file}"\n'
            'source = "alerts"\nformat = "cef"\n'
        )
        env = {
            "DATABASE_URL": two_tenants,
            "TENANTS_FILE": str(tenants_file(tmp_path)),
            "FORWARD_CONFIG": str(config),
        }
        first = run_cli(["forward"], env, tmp_path)
        again = run_cli(["forward"], env, tmp_path)
    assert first.returncode == 0 and again.returncode == 0, first.stderr + again.stderr
    acme, globex = expected_ids(two_tenants, "acme"), expected_ids(two_tenants, "globex")
    got = [doc["event"]["id"] for doc in everyone.documents]
    assert Counter(got) == Counter(acme + globex)  # each once, the shared five twice apart
    assert [i for i in got if i.startswith("acme:")] == acme  # each stream in its order
    assert organizations(everyone.documents) == {
        ("acme", "ACME Corp"): 23,
        ("globex", "Globex"): 17,
    }
    assert [doc["event"]["id"] for doc in acme_only.documents] == acme
    assert organizations(acme_only.documents) == {("acme", "ACME Corp"): 23}
    cef = alerts_file.read_text().splitlines()
    assert sorted(line.split("cs4=")[1] for line in cef) == ["acme", "acme", "globex"]
    assert cursors(two_tenants) == {
        ("everyone", "acme"): 23,
        ("everyone", "globex"): 17,
        ("acme-siem", "acme"): 23,
        ("alerts", "acme"): 2,
        ("alerts", "globex"): 1,
    }
    assert "forward globex → everyone (https://127.0.0.1:" in first.stderr
    assert "forward acme → acme-siem" in again.stderr and "globex → acme-siem" not in again.stderr
    assert again.stderr.count(": 0 delivered in ") == 5  # the second pass: nothing new


def test_forward_tenant_sends_only_that_tenants_stream_and_an_unknown_one_is_exit_2(
    two_tenants: str, tmp_path: Path, ca: ReceiverCA
):
    with HttpsReceiver(ca) as receiver:
        config = tmp_path / "forward.toml"
        config.write_text(
            f'[[destination]]\nname = "siem"\nurl = "{receiver.url}"\nca_file = "{ca.ca_file}"\n'
            f'[[destination]]\nname = "acme-siem"\nurl = "{receiver.url}"\n'
            f'ca_file = "{ca.ca_file}"\ntenants = ["acme"]\n'
        )
        env = {
            "DATABASE_URL": two_tenants,
            "TENANTS_FILE": str(tenants_file(tmp_path)),
            "FORWARD_CONFIG": str(config),
        }
        done = run_cli(["forward", "--tenant", "globex"], env, tmp_path)
        unknown = run_cli(["forward", "--tenant", "initech"], env, tmp_path)
        not_received = run_cli(
            ["forward", "--tenant", "globex", "--destination", "acme-siem"], env, tmp_path
        )
    assert done.returncode == 0, done.stderr
    got = [doc["event"]["id"] for doc in receiver.documents]
    assert got == expected_ids(two_tenants, "globex")
    assert set(cursors(two_tenants)) == {("siem", "globex")}
    assert unknown.returncode == 2 and unknown.stderr.strip().splitlines() == [
        "error: --tenant: no tenant is named 'initech'; the tenants are globex, acme"
    ]
    assert not_received.returncode == 2
    assert "'acme-siem' does not receive tenant 'globex'" in not_received.stderr


@pytest.fixture
def fast_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(delivery, "BACKOFF_INITIAL", 0.02)
    monkeypatch.setattr(delivery, "BACKOFF_MAX", 0.2)
    monkeypatch.setattr(delivery, "BACKOFF_JITTER", 0.02)


def test_a_receiver_failing_one_tenants_messages_does_not_hold_the_others(
    two_tenants: str, tmp_path: Path, ca: ReceiverCA, fast_backoff: None
):
    """The receiver answers 503 to globex's batches until every acme search has arrived:
    if globex's stream (first in the file) held acme's, neither would ever complete."""
    acme = expected_ids(two_tenants, "acme")
    acme_done = threading.Event()
    receiver = HttpsReceiver(ca)

    def script(number: int, body: bytes):
        if b'"id":"globex"' in body and not acme_done.is_set():
            return (503, {})
        return (200, {})

    def watch() -> None:
        while not acme_done.is_set():
            with receiver.lock:
                if sum(d["organization"]["id"] == "acme" for d in receiver.documents) >= 23:
                    acme_done.set()
            acme_done.wait(0.01)

    receiver.script = script
    table = {"name": "siem", "url": receiver.url, "ca_file": str(ca.ca_file), "batch_size": 5}
    config = ForwardConfig((destination_from(table, {}, 1, tenants=TENANTS),), tenants=(*TENANTS,))
    engine = open_database(two_tenants)
    watcher = threading.Thread(target=watch, daemon=True)
    try:
        with receiver:
            watcher.start()
            results = forward_pending(engine, config, max_seconds=120)
    finally:
        acme_done.set()
        engine.dispose()
    assert [(r.tenant, r.error, r.complete) for r in results] == [
        ("globex", None, True),
        ("acme", None, True),
    ]
    assert results[0].retries > 0  # globex's batches were refused while acme's went through
    got = [doc["event"]["id"] for doc in receiver.documents]
    assert [i for i in got if i.startswith("acme:")] == acme
    assert Counter(got) == Counter(acme + expected_ids(two_tenants, "globex"))


def test_a_quiet_tenants_cursor_moves_past_the_other_tenants_searches(
    two_tenants: str, tmp_path: Path
):
    """Ids are shared: once globex's stream has reached the horizon, the ids below it are
    acme's for good, so globex's cursor moves there and its next pass reads none of them."""
    table = {"name": "siem", "url": f"file://{tmp_path / 'out.ndjson'}"}
    config = ForwardConfig((destination_from(table, {}, 1, tenants=TENANTS),), tenants=(*TENANTS,))
    engine = open_database(two_tenants)
    try:
        forward_pending(engine, config, max_seconds=60)
        load_records(engine, searches("acme-later", 9), WHEN + timedelta(days=2), tenant="acme")
        results = forward_pending(engine, config, max_seconds=60)
        with engine.connect() as conn:
            newest = conn.execute(select(func.max(SearchLog.id))).scalar_one()
            positions = dict(
                conn.execute(select(ForwardCursor.tenant, ForwardCursor.position)).all()
            )
    finally:
        engine.dispose()
    assert [(r.tenant, r.delivered) for r in results] == [("globex", 0), ("acme", 4)]
    assert positions == {"globex": newest, "acme": newest}
