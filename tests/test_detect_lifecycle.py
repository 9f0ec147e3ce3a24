"""The alerts' lifecycle over two tenants with the same addresses: searches stored late (after
their day was scored) raise their alert on the next `detect`; alerts are upserted — a
second run or a re-score of the same data changes no row, an alert that no longer fires is
withdrawn and comes back, a triaged one keeps its triage; a dismissal as expected quiets
the same person and rule for its days, in its tenant only.

acme is globex minus the searches of one planted incident's person and day, which arrive
late; so once they are stored, acme's alerts must be globex's."""

from __future__ import annotations

import shutil
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select

from db import audit
from db.alerts import TriageError, insert_alerts, triage
from db.audit import AuditAction
from db.engine import open_database
from db.models import Alert, AuditEvent
from db.scope import TenantScope
from ingest.detect.config import DetectionConfig, Feedback
from ingest.detect.runner import detect
from ingest.simulator.incidents import Incident, labelled_tenant
from tests.support.backends import database_name, fresh_postgres_database, postgres_server
from tests.support.detections import load_records, new_alert
from tests.support.harness import run_cli
from tests.support.tenancy import write_tenants_file

END = date(2026, 6, 1)
END_TIME = datetime(2026, 6, 1, tzinfo=UTC)
SHOWN = (
    Alert.rule,
    Alert.email_addr,
    Alert.day,
    Alert.severity,
    Alert.summary,
    Alert.figures,
    Alert.evidence,
    Alert.window_start,
    Alert.window_end,
    Alert.status,
)
"""What an alert says (not its id or tenant): acme's and globex's compare on these."""


def _day_of(record: dict[str, Any]) -> date:
    return date.fromisoformat(str(record["createTime"])[:10])


def _late_incident(incidents: tuple[Incident, ...]) -> Incident:
    """The last planted incident of a count rule, a few days before the end."""
    counted = [i for i in incidents if i.family == "volume_spike" and i.day < END - timedelta(2)]
    return max(counted, key=lambda incident: incident.day)


def rows(engine: Engine, tenant: str, *columns: Any) -> list[tuple[Any, ...]]:
    wanted = columns or (*SHOWN, Alert.id, Alert.note, Alert.triaged_by, Alert.updated_at)
    with engine.connect() as conn:
        found = conn.execute(select(*wanted).where(Alert.tenant == tenant)).all()
    return sorted((tuple(row) for row in found), key=repr)


def recheck(incident: Incident) -> int:
    """RECONCILE_DAYS + 1 that reaches back to the incident's day (cursor at END)."""
    return (END - incident.day).days


@pytest.fixture(scope="module")
def scored(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Incident, list[dict]]:
    """Both tenants stored and scored once; acme without the incident person's day."""
    tenant = labelled_tenant(11, people=40, days=80, end=END, repeats=1, system_rate=0.1)
    incident = _late_incident(tenant.key.incidents)

    def late(record: dict[str, Any]) -> bool:
        return record["emailAddr"] == incident.email and _day_of(record) == incident.day

    path = tmp_path_factory.mktemp("lifecycle") / "searchlogs.db"
    engine = open_database(f"sqlite:///{path}")
    try:
        load_records(engine, tenant.records, END_TIME, tenant="globex")
        load_records(engine, [r for r in tenant.records if not late(r)], END_TIME, tenant="acme")
        for name in ("acme", "globex"):
            detect(engine, name, "UTC", DetectionConfig(), recheck_days=recheck(incident))
    finally:
        engine.dispose()
    return path, incident, [r for r in tenant.records if late(r)]


@pytest.fixture
def engine(scored, tmp_path: Path):
    path = shutil.copy(scored[0], tmp_path / "searchlogs.db")
    engine = open_database(f"sqlite:///{path}")
    yield engine
    engine.dispose()


def test_searches_stored_after_their_day_was_scored_raise_its_alert_on_the_next_detect(
    scored, engine
):
    _, incident, withheld = scored
    key = (incident.family, incident.email, incident.day)
    assert key not in {row[:3] for row in rows(engine, "acme", *SHOWN)}
    assert key in {row[:3] for row in rows(engine, "globex", *SHOWN)}
    globex_before = rows(engine, "globex")
    load_records(engine, withheld, END_TIME, tenant="acme")  # the sweep stores them late
    too_far = detect(engine, "acme", "UTC", DetectionConfig(), recheck_days=recheck(incident) - 1)
    result = detect(engine, "acme", "UTC", DetectionConfig(), recheck_days=recheck(incident))
    assert rows(engine, "acme", *SHOWN) == rows(engine, "globex", *SHOWN)
    assert rows(engine, "globex") == globex_before
    assert too_far.days_scored == 0  # the incident's day is beyond RECONCILE_DAYS + 1
    assert result.days_rescored == (END - incident.day).days
    assert result.first_day == incident.day.isoformat()
    again = detect(engine, "globex", "UTC", DetectionConfig(), recheck_days=recheck(incident))
    assert again.days_scored == 0


def test_a_second_detect_and_a_rescore_of_the_same_data_change_no_row(scored, engine):
    before = {name: rows(engine, name) for name in ("acme", "globex")}
    assert all(before.values())
    incident = scored[1]
    result = detect(engine, "acme", "UTC", DetectionConfig(), recheck_days=recheck(incident))
    assert result.days_scored == 0
    every_day = (END - timedelta(days=60), END)
    redone = detect(engine, "acme", "UTC", DetectionConfig(), rescore=every_day)
    assert redone.days_rescored > 30 and redone.alerts_new == redone.alerts_updated == 0
    assert {name: rows(engine, name) for name in ("acme", "globex")} == before


def _without(rule: str) -> DetectionConfig:
    rules = DetectionConfig().rules
    off = replace(getattr(rules, rule), enabled=False)
    return DetectionConfig(rules=replace(rules, **{rule: off}))


def test_an_alert_that_no_longer_fires_is_withdrawn_and_a_triaged_one_keeps_its_triage(engine):
    found = rows(engine, "acme", Alert.id, Alert.rule, Alert.day)
    rule = "volume_spike"
    ids = sorted(alert_id for alert_id, name, _ in found if name == rule)
    assert len(ids) >= 2
    acme = TenantScope.one("acme")
    triage(engine, acme, ids[:1], "acknowledged", "lead@corp.example", "looked at it")
    globex_before = rows(engine, "globex")
    days = (min(day for *_, day in found), END)
    result = detect(engine, "acme", "UTC", _without(rule), rescore=days)
    assert result.alerts_withdrawn == len(ids) - 1
    statuses = {row[0]: row[1:] for row in rows(engine, "acme", Alert.id, Alert.status, Alert.note)}
    assert statuses[ids[0]] == ("acknowledged", "looked at it")
    assert {statuses[i][0] for i in ids[1:]} == {"withdrawn"}
    assert rows(engine, "globex") == globex_before  # another tenant's alerts are untouched
    back = detect(engine, "acme", "UTC", DetectionConfig(), rescore=days)
    assert back.alerts_updated == len(ids) - 1 and back.alerts_new == 0
    statuses = {row[0]: row[1] for row in rows(engine, "acme", Alert.id, Alert.status)}
    assert {statuses[i] for i in ids[1:]} == {"new"}


def test_a_dismissal_as_expected_quiets_that_person_and_rule_in_its_tenant_only(scored, engine):
    _, incident, withheld = scored
    load_records(engine, withheld, END_TIME, tenant="acme")  # both tenants: the same data
    detect(engine, "acme", "UTC", DetectionConfig(), recheck_days=recheck(incident))
    rule, email, day = incident.family, incident.email, incident.day
    key = (rule, email, day)
    with engine.begin() as conn:  # a dismissed alert of the day before, in both tenants
        insert_alerts(conn, [new_alert(rule, email, day - timedelta(1), tenant="acme")])
        insert_alerts(conn, [new_alert(rule, email, day - timedelta(1), tenant="globex")])
    with engine.connect() as conn:
        earlier = conn.execute(
            select(Alert.id).where(Alert.tenant == "globex", Alert.day == day - timedelta(1))
        ).scalar_one()
    globex = TenantScope.one("globex")
    entry = audit.AuditEntry(
        "lead@corp.example", "admin", AuditAction.TRIAGE_ALERT, tenant="globex"
    )
    with pytest.raises(TriageError, match="only a dismissal"):
        triage(engine, globex, [earlier], "acknowledged", "lead@corp.example", suppress_days=3)
    changed = triage(
        engine, globex, [earlier], "dismissed", "lead@corp.example", "month-end report",
        audited=replace(entry, detail="dismissed: month-end report"), suppress_days=3,
    )  # fmt: skip
    assert changed == 1
    with engine.connect() as conn:
        detail = conn.execute(select(AuditEvent.detail)).scalars().all()
    assert detail == [
        "dismissed: month-end report; suppresses the same person and rule for 3 days "
        "after each alert's day"
    ]
    days = (day - timedelta(1), END)
    for name in ("acme", "globex"):
        detect(engine, name, "UTC", DetectionConfig(), rescore=days)
    status = {
        row[0]: row[1]
        for row in rows(engine, "globex", Alert.day, Alert.status, Alert.rule, Alert.email_addr)
        if row[2:] == (rule, email)
    }
    assert status[day] == "withdrawn"
    assert key in {row[:3] for row in rows(engine, "acme", *SHOWN) if row[-1] == "new"}
    unlimited = DetectionConfig(feedback=Feedback(max_suppress_days=0))  # the rules file's cap
    detect(engine, "globex", "UTC", unlimited, rescore=days)
    assert key in {row[:3] for row in rows(engine, "globex", *SHOWN) if row[-1] == "new"}


def _cli_env(folder: Path, db_path: Path) -> dict[str, str]:
    return {
        "TENANTS_FILE": str(write_tenants_file(folder, {"acme": "ACME", "globex": "Globex"})),
        "ACME_SECRET": "a",
        "GLOBEX_SECRET": "g",
        "DB_PATH": str(db_path),
    }


def test_detect_rescore_with_a_bad_date_or_range_is_one_line_and_exit_2(tmp_path: Path):
    env = _cli_env(tmp_path, tmp_path / "searchlogs.db")
    for args, said in (
        (["2026-13-01", "2026-05-20"], "--rescore: '2026-13-01' is not a date (YYYY-MM-DD)"),
        (["2026-05-20", "2026-05-01"], "--rescore: FROM 2026-05-20 is after TO 2026-05-01"),
    ):
        done = run_cli(["detect", "--rescore", *args], env, tmp_path)
        assert (done.returncode, done.stdout) == (2, "")
        assert done.stderr.strip().splitlines() == [f"error: {said}"]
    assert not (tmp_path / "searchlogs.db").exists(), "nothing is opened with a bad range"


@pytest.mark.slow
def test_detect_rescore_scores_those_days_of_that_tenant_again(scored, tmp_path: Path):
    path = shutil.copy(scored[0], tmp_path / "searchlogs.db")
    days = ["2026-05-20", "2026-05-21"]
    env = _cli_env(tmp_path, Path(path))
    done = run_cli(["detect", "--tenant", "acme", "--rescore", *days], env, tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("detect acme: scored 2 days (2026-05-20 → 2026-05-21, 2 again)")


@pytest.mark.slow
@pytest.mark.postgres
def test_withdrawal_return_and_a_no_op_rescore_on_postgresql(request: pytest.FixtureRequest):
    tenant = labelled_tenant(11, people=40, days=80, end=END, repeats=1, system_rate=0.1)
    url = fresh_postgres_database(postgres_server(), database_name(request.node.nodeid))
    engine = open_database(url)
    try:
        load_records(engine, tenant.records, END_TIME, tenant="globex")
        detect(engine, "globex", "UTC", DetectionConfig())
        before = rows(engine, "globex")
        days = (END - timedelta(days=60), END)
        off = detect(engine, "globex", "UTC", _without("volume_spike"), rescore=days)
        assert off.alerts_withdrawn == sum(row[0] == "volume_spike" for row in before) > 0
        back = detect(engine, "globex", "UTC", DetectionConfig(), rescore=days)
        assert back.alerts_updated == off.alerts_withdrawn and back.alerts_new == 0
        again = detect(engine, "globex", "UTC", DetectionConfig(), rescore=days)
        assert again.alerts_updated == again.alerts_withdrawn == again.alerts_new == 0
        after = rows(engine, "globex")
        assert [row[:10] for row in after] == [row[:10] for row in before]
    finally:
        engine.dispose()
