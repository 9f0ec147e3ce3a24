"""The Alerts page's detail panel: each rule's plain name and description, the figures as
a table, the exact searches of the alert's tenant, `/alerts?alert=<id>` opening it without
touching the sidebar's filters, and the pause-on-dismissal control; over real databases
(both backends for the reads) and through AppTest with two tenants whose data differ."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from streamlit.testing.v1 import AppTest

from dashboard.alert_panel import figure_value, figures_table, parse_alert_id
from dashboard.alerts_view import for_display
from db.alert_detail import alert_detail
from db.alert_evidence import evidence_searches
from db.alerts import RULES, AlertFilters, insert_alerts, list_alerts
from db.models import Alert
from db.rule_text import RULE_TEXT
from db.scope import TenantScope
from tests.support.apptest import plain, texts
from tests.support.detections import new_alert
from tests.support.roles import open_as
from tests.support.tenant_dashboard import (
    SHARED_USER,
    fill_tenants,
    tenants_dashboard,
)

DAY = date(2026, 3, 29)
HOSTILE = "**bold** <b>x</b> [click](http://evil.example)"
FIGURES = {
    "surprise": 4.5,
    "observed": 64,
    "new_targets": ["x@acme.example", "y@acme.example"],
    "baseline": 7.5,
    "threshold": 30,
    "contributing_days": [{"day": "2026-03-27", "points": 1.5}, {"day": "2026-03-28", "points": 2}],
}


def test_every_rule_has_a_plain_name_and_a_one_line_description() -> None:
    assert set(RULE_TEXT) == set(RULES)
    for name, description in RULE_TEXT.values():
        assert name and description.endswith(".") and "\n" not in description
    assert len({name for name, _ in RULE_TEXT.values()}) == len(RULE_TEXT)


def test_figures_show_observed_baseline_threshold_surprise_first_then_the_rules_own() -> None:
    table = figures_table(FIGURES)
    assert list(table["figure"]) == [
        "Observed",
        "Baseline (usual)",
        "Threshold",
        "Surprise",
        "Contributing days",
        "New targets",
    ]
    assert list(table["value"]) == [
        "64",
        "7.5",
        "30",
        "4.5",
        "2026-03-27 (1.5), 2026-03-28 (2)",
        "x@acme.example, y@acme.example",
    ]
    assert figure_value(float("nan")) == "—" and figure_value([]) == "none"


def test_an_alert_link_takes_only_a_positive_number() -> None:
    assert parse_alert_id("12") == 12
    assert [parse_alert_id(raw) for raw in ("0", "-1", "1e3", "x", "", "9" * 30)] == [None] * 6


def _two_tenant_alerts(engine: Engine) -> dict[str, int]:
    """The same person, rule and day alerted in acme and globex; their ids by tenant."""
    with engine.begin() as conn:
        insert_alerts(
            conn,
            [
                new_alert("volume_spike", SHARED_USER, DAY, figures=json.dumps(FIGURES), tenant=t)
                for t in ("acme", "globex")
            ],
        )
    with engine.connect() as conn:
        return dict(conn.execute(select(Alert.tenant, Alert.id)).all())


def test_evidence_lists_the_searches_of_the_alerts_tenant_only(engine: Engine) -> None:
    fill_tenants(engine)
    ids = _two_tenant_alerts(engine)
    acme, globex = TenantScope.one("acme"), TenantScope.one("globex")
    assert sorted(evidence_searches(engine, acme, ids["acme"])["search_text"]) == [
        "acme one",
        "acme two",
    ]
    assert list(evidence_searches(engine, globex, ids["globex"])["search_text"]) == ["globex one"]
    assert evidence_searches(engine, acme, ids["globex"]).empty  # another tenant's alert
    assert alert_detail(engine, acme, ids["globex"]) is None
    detail = alert_detail(engine, globex, ids["globex"])
    assert detail is not None and detail.figures == FIGURES and detail.row["tenant"] == "globex"


def test_the_evidence_link_opens_the_panel_and_keeps_the_analysts_filters(engine: Engine) -> None:
    fill_tenants(engine)
    ids = _two_tenant_alerts(engine)
    frame = list_alerts(engine, AlertFilters(scope=TenantScope.one("acme")))
    shown = for_display(frame, lambda alert_id: f"alerts?alert={alert_id}&from=2026-03-01")
    assert list(shown["evidence_url"]) == [f"alerts?alert={ids['acme']}&from=2026-03-01"]
    assert list(shown["rule_name"]) == ["Volume spike"]


@pytest.fixture
def tenants_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Three tenants (tests/support/tenant_dashboard.py) and the same alert in two."""
    yield from tenants_dashboard(tmp_path, monkeypatch)


def panel_tables(at: AppTest) -> dict[str, object]:
    return {frame.proto.id: frame.value for frame in at.dataframe}


def test_alerts_link_with_an_id_opens_that_alerts_panel_in_its_tenant(tenants_db: Engine) -> None:
    ids = _two_tenant_alerts(tenants_db)
    with tenants_db.begin() as conn:
        conn.execute(Alert.__table__.update().values(summary=HOSTILE))
    at = open_as({"email": "ada@acme.example"}, "pages/alerts.py", alert=str(ids["acme"]))
    shown = "\n".join(texts(at))
    assert f"Alert #{ids['acme']} · Volume spike" in shown
    assert "Far more searches in a day than this person usually makes." in shown
    assert "**Why** · " + HOSTILE in shown  # escaped Markdown: shown as typed
    assert at.query_params["from"] == "2026-03-28" and at.query_params["to"] == "2026-03-31"
    figures, evidence = at.dataframe[0].value, at.dataframe[1].value
    assert list(figures["figure"])[:4] == ["Observed", "Baseline (usual)", "Threshold", "Surprise"]
    assert sorted(evidence["search_text"]) == ["acme one", "acme two"]

    other = open_as({"email": "ada@acme.example"}, "pages/alerts.py", alert=str(ids["globex"]))
    assert f"There is no alert #{ids['globex']} to show here." in "\n".join(texts(other))
    assert not any("globex one" in str(frame.value) for frame in other.dataframe)


def test_a_dismissal_as_expected_pauses_that_person_and_rule_for_the_days_asked(
    tenants_db: Engine,
) -> None:
    ids = _two_tenant_alerts(tenants_db)
    at = open_as({"email": "ada@acme.example"}, "pages/alerts.py")
    at.multiselect(key="triage_ids").select(ids["acme"]).run()
    at.number_input(key="triage_suppress_days").set_value(14).run()
    at.button(key="triage_dismissed").click().run()
    outcome = [plain(e.value) for e in [*at.success, *at.error]]
    with tenants_db.connect() as conn:
        status, until = conn.execute(
            select(Alert.status, Alert.suppressed_until).where(Alert.id == ids["acme"])
        ).one()
    assert outcome == ["1 alert dismissed."]
    assert status == "dismissed" and until == DAY + timedelta(days=14)
