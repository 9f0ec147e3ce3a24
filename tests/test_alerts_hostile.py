"""Alerts for hostile addresses: a search-log address has no length limit (issue 8), so an
alert about it must store on PostgreSQL too, where a `varchar(320)` refused it and a btree
key over the raw address cannot hold 6,000 characters (detection then failed every cycle)."""

from __future__ import annotations

import os
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select

from db.alerts import AlertFilters, list_alerts
from db.engine import open_database
from db.models import Alert
from db.state.detection import forget_scored_days
from ingest.detect.config import DetectionConfig
from ingest.detect.runner import detect
from ingest.simulator.incidents import labelled_tenant
from tests.support.backends import fresh_postgres_database
from tests.support.detections import load_records
from tests.support.tenancy import SCOPE, TENANT

LONG = "a" * 5987 + "@corp.example"  # 6,000 characters


@pytest.mark.postgres
def test_an_incident_by_a_6000_character_address_alerts_on_postgresql_and_repeats_as_a_no_op():
    server = os.environ.get("TEST_DATABASE_URL")
    if not server:
        pytest.skip("no PostgreSQL server: set TEST_DATABASE_URL (scripts/test starts one)")
    assert len(LONG) == 6000
    end = date(2026, 6, 1)
    tenant = labelled_tenant(5, people=40, days=80, end=end, repeats=1, system_rate=0.1)
    incident = next(i for i in tenant.key.incidents if i.family == "volume_spike")
    for record in tenant.records:
        if record["emailAddr"] == incident.email:
            record["emailAddr"] = LONG
    engine = open_database(fresh_postgres_database(server, "t_alerts_long_address"))
    try:
        load_records(engine, tenant.records, datetime(2026, 6, 1, tzinfo=UTC))
        first = detect(engine, TENANT, "UTC", DetectionConfig())
        with engine.connect() as conn:
            stored = set(conn.execute(select(Alert.rule, Alert.email_addr, Alert.day)).all())
        assert ("volume_spike", LONG, incident.day) in stored
        assert first.alerts_new == len(stored)
        again = detect(engine, TENANT, "UTC", DetectionConfig())
        assert again.days_scored == 0
        with engine.begin() as conn:  # score every day again: each alert meets its key
            forget_scored_days(conn, TENANT)
        rescored = detect(engine, TENANT, "UTC", DetectionConfig())
        assert rescored.days_scored > 0 and rescored.alerts_found == len(stored)
        assert rescored.alerts_new == 0
        mine = list_alerts(engine, AlertFilters(SCOPE, users=(LONG,)))
        assert set(mine["email"]) == {LONG} and "volume_spike" in set(mine["rule"])
    finally:
        engine.dispose()
