"""Detections on a labelled tenant in a real SQLite file: each rule fires on its planted
incident and stays quiet on the hard negatives, a second run changes nothing, a run of a
few new days finds what one long run finds, and days are cut in DISPLAY_TZ."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, delete, select
from sqlalchemy.orm import Session

from db.engine import open_database
from db.models import Alert
from db.state.detection import forget_scored_days, set_scored_through
from ingest.detect.config import DetectionConfig
from ingest.detect.runner import detect
from ingest.simulator.incidents import labelled_tenant
from ingest.simulator.tenant_people import FAMILIES, LabelledTenant
from tests.support.detections import load_records
from tests.support.tenancy import TENANT

END = date(2026, 6, 1)
END_TIME = datetime(2026, 6, 1, tzinfo=UTC)


def small_tenant(seed: int = 5) -> LabelledTenant:
    """40 people over 80 days, each family planted once per magnitude, quiet system senders."""
    return labelled_tenant(seed, people=40, days=80, end=END, repeats=1, system_rate=0.1)


def alerts(engine: Engine) -> set[tuple[str, str, date]]:
    with engine.connect() as conn:
        return {tuple(row) for row in conn.execute(select(Alert.rule, Alert.email_addr, Alert.day))}


@pytest.fixture(scope="module")
def scored(tmp_path_factory: pytest.TempPathFactory) -> tuple[LabelledTenant, Engine, Path]:
    """The small tenant stored through the ingest's store and scored once."""
    tenant = small_tenant()
    path = tmp_path_factory.mktemp("detect") / "searchlogs.db"
    engine = open_database(f"sqlite:///{path}")
    load_records(engine, tenant.records, END_TIME)
    detect(engine, TENANT, "UTC", DetectionConfig())
    yield tenant, engine, path
    engine.dispose()


@pytest.mark.parametrize("family", FAMILIES)
def test_each_rule_fires_on_its_planted_incidents(scored, family):
    tenant, engine, _ = scored
    found = alerts(engine)
    planted = [i for i in tenant.key.incidents if i.family == family]
    assert planted
    missed = [i for i in planted if (family, i.email, i.day) not in found]
    assert not missed


@pytest.mark.parametrize("kind", ["night", "compliance", "new_hire", "helpdesk", "system", "api"])
def test_hard_negatives_stay_quiet(scored, kind):
    tenant, engine, _ = scored
    members = set(tenant.key.negatives[kind])
    assert members
    quiet = [alert for alert in alerts(engine) if not tenant.key.abnormal(alert[1], alert[2])]
    assert not [alert for alert in quiet if alert[1] in members]


def test_the_tenant_wide_surge_day_raises_no_alert_outside_incidents(scored):
    tenant, engine, _ = scored
    on_surge = [
        alert
        for alert in alerts(engine)
        if alert[2] == tenant.key.surge_day and not tenant.key.abnormal(alert[1], alert[2])
    ]
    assert not on_surge


def test_every_alert_explains_itself_with_numbers_and_links_its_evidence(scored):
    _, engine, _ = scored
    with Session(engine) as session:
        rows = session.scalars(select(Alert)).all()
    assert rows
    for alert in rows:
        assert "\n" not in alert.summary and any(ch.isdigit() for ch in alert.summary)
        day = alert.day.isoformat()
        assert alert.evidence_url.startswith("/user?email=")
        assert alert.evidence_url.endswith(f"&from={day}&to={day}")
        assert alert.window_start < alert.window_end
        assert alert.status == "new" and alert.severity in ("low", "medium", "high")
        assert json.loads(alert.figures)["time_zone"] == "UTC"


def test_slow_incidents_raise_one_accumulated_risk_alert_within_their_days(scored):
    tenant, engine, _ = scored
    slow = [i for i in tenant.key.incidents if i.family == "accumulated_risk"]
    assert len(slow) == 2  # six new mailboxes a weekday, one sensitive search a weekday
    found = alerts(engine)
    for incident in slow:
        assert incident.start is not None
        raised = [a for a in found if a[0] == "accumulated_risk" and incident.covers(a[1], a[2])]
        assert len(raised) == 1, incident


def test_breadth_alerts_name_the_new_mailboxes_and_content_alerts_give_their_figures(scored):
    _, engine, _ = scored
    with Session(engine) as session:
        rows = session.scalars(select(Alert).where(Alert.rule != "volume_spike")).all()
    breadth = [row for row in rows if row.rule == "breadth"]
    assert breadth
    for alert in breadth:
        figures = json.loads(alert.figures)
        assert len(figures["new_targets"]) == figures["observed"] >= figures["threshold"]
        assert figures["new_targets"][0] in alert.summary
    for alert in rows:
        if alert.rule in ("breadth", "sensitive_terms", "accumulated_risk"):
            figures = json.loads(alert.figures)
            assert {"observed", "baseline", "threshold", "surprise"} <= set(figures)


def test_a_second_run_changes_nothing(scored):
    _, engine, path = scored
    before = alerts(engine)
    result = detect(engine, TENANT, "UTC", DetectionConfig())
    assert result.days_scored == 0 and result.alerts_new == 0
    with engine.begin() as conn:  # even scoring every day again adds nothing
        forget_scored_days(conn, TENANT)
    again = detect(engine, TENANT, "UTC", DetectionConfig())
    assert again.days_scored > 0 and again.alerts_new == 0
    assert alerts(engine) == before
    with sqlite3.connect(path) as conn, pytest.raises(sqlite3.IntegrityError):
        conn.execute(
            "INSERT INTO alerts (tenant, rule, email_addr, day, window_start, window_end, "
            "severity, summary, figures, evidence_url, status, created_at) SELECT tenant, "
            "rule, email_addr, day, window_start, window_end, severity, summary, figures, "
            "evidence_url, status, created_at FROM alerts LIMIT 1"
        )


def test_scoring_new_days_a_few_at_a_time_finds_what_one_long_run_found(scored):
    """A run of a few new days reads only candidates' text history; it must agree."""
    _, engine, _ = scored
    everything = alerts(engine)
    last = END - timedelta(days=1)
    start = last - timedelta(days=24)
    assert {alert for alert in everything if alert[2] > start}, "the last days have alerts"
    with engine.begin() as conn:
        conn.execute(delete(Alert).where(Alert.day > start))
        set_scored_through(conn, TENANT, start)
    for step in range(4, 25, 4):
        result = detect(
            engine, TENANT, "UTC", DetectionConfig(), through=start + timedelta(days=step)
        )
        assert result.days_scored == 4
    assert alerts(engine) == everything


def test_days_not_yet_complete_are_not_scored(tmp_path):
    tenant = small_tenant()
    engine = open_database(f"sqlite:///{tmp_path / 'db.sqlite'}")
    try:
        cut = END_TIME - timedelta(days=10, hours=3)  # the cursor: ten days before the end
        records = [r for r in tenant.records if str(r["createTime"]) < cut.isoformat()[:19]]
        load_records(engine, records, cut)
        result = detect(engine, TENANT, "UTC", DetectionConfig(), lookback_seconds=7200)
        assert result.last_day == (cut.date() - timedelta(days=1)).isoformat()
    finally:
        engine.dispose()
