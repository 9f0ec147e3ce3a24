"""Detections end to end: the simulator over HTTP, the ingest's scheduled cycle and its
detect hook, then `python -m ingest detect`; the main detection test on PostgreSQL; and
the data functions the dashboard's Alerts page will call (filters, open counts, triage)."""

from __future__ import annotations

import os
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import Engine, select

from db.alerts import (
    AlertFilters,
    TriageError,
    count_alerts,
    insert_alerts,
    list_alerts,
    open_alert_counts,
    open_alert_days,
    triage,
)
from db.engine import open_database
from db.models import Alert
from ingest.detect.config import DetectionConfig
from ingest.detect.runner import detect
from ingest.simulator import SimConfig, Simulator
from ingest.simulator.incidents import labelled_tenant
from tests.support.backends import fresh_postgres_database
from tests.support.detections import backfill_days_to, load_records, new_alert
from tests.support.harness import SIM_ID, SIM_SECRET, run_cli
from tests.support.tenancy import SCOPE, TENANT

# The tenant of the end-to-end test ends on a fixed day: ending "today", what it held (19 to
# 25 alerts) followed the weekday the test ran on.
TENANT_END = date(2026, 11, 12)


def found(engine: Engine) -> set[tuple[str, str, date]]:
    with engine.connect() as conn:
        return {tuple(row) for row in conn.execute(select(Alert.rule, Alert.email_addr, Alert.day))}


@pytest.mark.slow
def test_simulator_over_http_then_ingest_then_detect_finds_the_planted_incidents(tmp_path):
    tenant = labelled_tenant(8, people=40, days=80, end=TENANT_END, repeats=1, system_rate=0.1)
    config = SimConfig(seed=8, days=90, events_per_day=0, late_fraction=0.0, twin_fraction=0.0)
    db_path = tmp_path / "searchlogs.db"
    with Simulator(config) as sim:
        sim.add_events(tenant.records)
        env = {
            "MIMECAST_CLIENT_ID": SIM_ID,
            "MIMECAST_CLIENT_SECRET": SIM_SECRET,
            "MIMECAST_BASE_URL": sim.base_url,
            "DB_PATH": str(db_path),
            "INITIAL_BACKFILL_DAYS": backfill_days_to(tenant.key.first_day, TENANT_END),
        }
        result = run_cli(["run", "--once"], env, tmp_path, timeout=600)
    assert result.returncode == 0, result.stderr
    assert "detect default: scored" in result.stderr  # the cycle's hook ran the detections
    engine = open_database(f"sqlite:///{db_path}")
    try:
        alerts = found(engine)
    finally:
        engine.dispose()
    missed = [i for i in tenant.key.incidents if not i.detected_by(alerts)]
    assert not missed
    system = set(tenant.key.negatives["system"]) | set(tenant.key.negatives["api"])
    assert not [alert for alert in alerts if alert[1] in system]
    again = run_cli(["detect"], env, tmp_path)
    assert again.returncode == 0, again.stderr
    assert again.stdout.startswith("detect default: nothing to score (no complete day after ")


@pytest.mark.postgres
def test_detection_on_postgresql_finds_the_incidents_and_repeats_as_a_no_op():
    server = os.environ.get("TEST_DATABASE_URL")
    if not server:
        pytest.skip("no PostgreSQL server: set TEST_DATABASE_URL (scripts/test starts one)")
    end = date(2026, 6, 1)
    tenant = labelled_tenant(5, people=40, days=80, end=end, repeats=1, system_rate=0.1)
    engine = open_database(fresh_postgres_database(server, "t_detect_main"))
    try:
        load_records(engine, tenant.records, datetime(2026, 6, 1, tzinfo=UTC))
        first = detect(engine, TENANT, "UTC", DetectionConfig())
        alerts = found(engine)
        again = detect(engine, TENANT, "UTC", DetectionConfig())
    finally:
        engine.dispose()
    assert first.alerts_new == len(alerts) > 0
    assert again.days_scored == 0 and found(engine) == alerts
    missed = [i for i in tenant.key.incidents if not i.detected_by(alerts)]
    assert not missed


# --- what the Alerts page will call ------------------------------------------------------


@pytest.fixture
def with_alerts(db_url: str) -> Engine:
    engine = open_database(db_url)
    with engine.begin() as conn:
        inserted = insert_alerts(
            conn,
            [
                new_alert("volume_spike", "ann@x.example", date(2026, 5, 1), "high"),
                new_alert("breadth", "ann@x.example", date(2026, 5, 2), "low"),
                new_alert("unusual_time", "bob+1@x.example", date(2026, 5, 2)),
                new_alert("sensitive_terms", "bob+1@x.example", date(2026, 5, 3), "high"),
            ],
        )
        assert inserted == 4
        assert insert_alerts(conn, [new_alert("breadth", "ann@x.example", date(2026, 5, 2))]) == 0
    yield engine
    engine.dispose()


def test_alerts_are_listed_newest_day_first_then_by_severity_and_filtered(with_alerts):
    frame = list_alerts(with_alerts, AlertFilters(SCOPE))
    assert list(zip(frame["day"].astype(str), frame["rule"], strict=True)) == [
        ("2026-05-03", "sensitive_terms"),
        ("2026-05-02", "unusual_time"),
        ("2026-05-02", "breadth"),
        ("2026-05-01", "volume_spike"),
    ]
    only = list_alerts(
        with_alerts,
        AlertFilters(SCOPE, start=date(2026, 5, 2), end=date(2026, 5, 2), users=("ann@x.example",)),
    )
    assert list(only["rule"]) == ["breadth"]
    assert list(list_alerts(with_alerts, AlertFilters(SCOPE, severities=("high",)))["rule"]) == [
        "sensitive_terms",
        "volume_spike",
    ]
    assert (
        frame["evidence_url"].iloc[0]
        == "/user?email=bob%2B1%40x.example&from=2026-05-03&to=2026-05-03"
    )


def test_triage_records_status_note_who_and_when_and_dismissed_alerts_are_not_open(with_alerts):
    frame = list_alerts(with_alerts, AlertFilters(SCOPE, users=("ann@x.example",)))
    ids = [int(i) for i in frame["id"]]
    assert (
        triage(with_alerts, SCOPE, ids[:1], "dismissed", "lead@x.example", " known backup job ")
        == 1
    )
    assert triage(with_alerts, SCOPE, ids[1:], "acknowledged", "lead@x.example") == 1
    after = list_alerts(with_alerts, AlertFilters(SCOPE, users=("ann@x.example",)))
    by_id = after.set_index("id")
    assert by_id.loc[ids[0], "status"] == "dismissed"
    assert by_id.loc[ids[0], "note"] == "known backup job"
    assert by_id.loc[ids[0], "triaged_by"] == "lead@x.example"
    assert by_id.loc[ids[1], "status"] == "acknowledged"
    counts = open_alert_counts(with_alerts, AlertFilters(SCOPE))
    assert list(zip(counts["email"], counts["open_alerts"], strict=True)) == [
        ("bob+1@x.example", 2),
        ("ann@x.example", 1),
    ]
    assert open_alert_days(with_alerts, AlertFilters(SCOPE, users=("ann@x.example",))) == {
        by_id.loc[ids[1], "day"]: 1
    }
    assert count_alerts(with_alerts, AlertFilters(SCOPE, statuses=("new",))) == 2


def test_triage_refuses_an_unknown_status_or_no_actor(with_alerts):
    with pytest.raises(TriageError, match="acknowledged or dismissed"):
        triage(with_alerts, SCOPE, [1], "deleted", "lead@x.example")
    with pytest.raises(TriageError, match="needs the address"):
        triage(with_alerts, SCOPE, [1], "dismissed", "")
