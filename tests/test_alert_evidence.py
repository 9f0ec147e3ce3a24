"""An alert's evidence opens the exact searches that fired it: its user's searches in its
window, narrowed by the evidence's hours (in the zone it was scored in), terms, targets and
days; '{}' means all of them; another tenant's searches (the same address) and alerts never
show."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import Engine, select

from db.alert_evidence import evidence_searches
from db.alerts import insert_alerts
from db.engine import open_database
from db.models import Alert
from db.raw_reads import SEARCH_COLUMNS
from db.scope import TenantScope
from tests.support.detections import load_records, new_alert

DAY = date(2026, 5, 10)
USER = "a@corp.example"
ACME, GLOBEX = TenantScope.one("acme"), TenantScope.one("globex")


def record(at: str, text: str, email: str = USER) -> dict[str, object]:
    return {
        "createTime": f"{at}+0000",
        "emailAddr": email,
        "source": "archive",
        "searchText": text,
        "searchReason": "case 7",
        "description": "Archive Search",
    }


ACME_SEARCHES = [
    record("2026-05-10T01:10:00", "[User : CEO@corp.example] board pack"),
    record("2026-05-10T02:30:00", "Salaries 2026"),
    record("2026-05-10T02:30:00", "salary", email="b@corp.example"),
    record("2026-05-10T02:45:00", "invoice"),
    record("2026-05-10T14:00:00", "salary bands"),
    record("2026-05-11T00:00:00", "salary at midnight"),
]
GLOBEX_SEARCHES = [record("2026-05-10T02:15:00", "salary globex")]


@pytest.fixture
def engine(tmp_path) -> Engine:
    engine = open_database(f"sqlite:///{tmp_path / 'searchlogs.db'}")
    end = datetime(2026, 5, 12, tzinfo=UTC)
    load_records(engine, ACME_SEARCHES, end, tenant="acme")
    load_records(engine, GLOBEX_SEARCHES, end, tenant="globex")
    yield engine
    engine.dispose()


def alert_with(engine: Engine, tenant: str, evidence: dict, zone: str = "UTC", days: int = 1):
    """An alert of USER on DAY (window: `days` UTC days) with `evidence`; returns its id."""
    base = new_alert("sensitive_terms", USER, DAY, tenant=tenant)
    alert = base.__class__(
        **{
            **base.__dict__,
            "window_end": base.window_start + timedelta(days=days),
            "figures": json.dumps({"time_zone": zone}),
            "evidence": json.dumps(evidence),
            "rule": f"rule_{len(json.dumps(evidence))}_{zone}_{days}",  # one alert per call
        }
    )
    with engine.begin() as conn:
        insert_alerts(conn, [alert])
        return conn.execute(
            select(Alert.id).where(Alert.tenant == tenant, Alert.rule == alert.rule)
        ).scalar_one()


def texts(frame) -> list[str]:
    assert tuple(frame.columns) == SEARCH_COLUMNS
    return list(frame["search_text"])


def test_evidence_hours_and_terms_narrow_to_the_searches_that_fired(engine):
    alert = alert_with(engine, "acme", {"hours": [2], "terms": ["salary", "salaries"]})
    assert texts(evidence_searches(engine, ACME, alert)) == ["Salaries 2026"]


def test_empty_evidence_is_every_search_of_the_user_on_the_alerts_day_newest_first(engine):
    alert = alert_with(engine, "acme", {})
    found = evidence_searches(engine, ACME, alert)
    assert texts(found) == [
        "salary bands",
        "invoice",
        "Salaries 2026",
        "[User : CEO@corp.example] board pack",
    ]
    assert set(found["email"]) == {USER}


def test_evidence_targets_match_the_mailbox_in_any_case(engine):
    alert = alert_with(engine, "acme", {"targets": ["ceo@corp.example"]})
    assert texts(evidence_searches(engine, ACME, alert)) == ["[User : CEO@corp.example] board pack"]


def test_evidence_days_pick_the_days_of_a_window_of_several(engine):
    alert = alert_with(engine, "acme", {"days": ["2026-05-11"]}, days=2)
    assert texts(evidence_searches(engine, ACME, alert)) == ["salary at midnight"]


def test_evidence_hours_are_the_hours_of_the_zone_the_alert_was_scored_in(engine):
    alert = alert_with(engine, "acme", {"hours": [4]}, zone="Europe/Berlin")  # 02:xx UTC
    found = evidence_searches(engine, ACME, alert)
    assert texts(found) == ["invoice", "Salaries 2026"]
    assert str(found["time"].iloc[0].tz) == "Europe/Berlin"


def test_evidence_never_shows_another_tenants_searches_or_alerts(engine):
    acme_alert = alert_with(engine, "acme", {"terms": ["salary"]})
    globex_alert = alert_with(engine, "globex", {"terms": ["salary"]})
    assert texts(evidence_searches(engine, GLOBEX, globex_alert)) == ["salary globex"]
    assert texts(evidence_searches(engine, ACME, acme_alert)) == ["salary bands"]
    assert evidence_searches(engine, GLOBEX, acme_alert).empty
    assert evidence_searches(engine, ACME, 10_000).empty
