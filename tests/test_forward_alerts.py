"""Forwarding the alerts end to end: the simulator over HTTP, the scheduled cycle's ingest
and detections, then forwarding after it, to real HTTPS receivers as Slack, Teams and
signed webhook messages and to files as ECS, CEF and OCSF: exactly one message per alert,
with an absolute link to its evidence, and nothing more on a second pass or after the
days are scored again."""

from __future__ import annotations

import json
import os
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from sqlalchemy import select

from db.alerts import insert_alerts
from db.engine import open_database
from db.models import Alert
from db.state.detection import forget_scored_days
from ingest.forward.messages import AlertSource, HorizonBusy, absolute_link, alert_id
from ingest.forward.notify import slack_message, teams_message, verify
from ingest.simulator import SimConfig, Simulator
from ingest.simulator.incidents import labelled_tenant
from tests.support.backends import fresh_postgres_database
from tests.support.cef import parse_cef
from tests.support.chat_schemas import SLACK_SCHEMA, TEAMS_SCHEMA
from tests.support.detections import backfill_days_to, new_alert
from tests.support.forward_receivers import HttpsReceiver, make_ca
from tests.support.forwarding import alert
from tests.support.harness import SIM_ID, SIM_SECRET, run_cli
from tests.support.tenancy import TENANT

DASHBOARD = "https://searchlogs.example.com/audit"
KEY = "hmac-key-for-tests"
# The planted tenant ends on a fixed day: which searches it holds follows the weekdays, so a
# tenant ending "today" gave 21 to 25 alerts by the weekday the test ran; this one gives 21.
TENANT_END = date(2026, 11, 12)
TENANT_DAYS = 80


def stored_alerts(db_path: Path) -> dict[str, tuple[str, str, str]]:
    """Every stored alert by its stable id: (rule, address, absolute evidence link)."""
    engine = open_database(f"sqlite:///{db_path}")
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                select(Alert.id, Alert.rule, Alert.email_addr, Alert.evidence_url)
            ).all()
    finally:
        engine.dispose()
    return {
        alert_id(row.id): (row.rule, row.email_addr, absolute_link(DASHBOARD, row.evidence_url))
        for row in rows
    }


def _destinations(folder: Path, slack: str, teams: str, hook: str, ca_file: Path) -> str:
    tables = [
        {"name": "slack", "url": slack, "format": "slack"},
        {"name": "teams", "url": teams, "format": "teams"},
        {"name": "hook", "url": hook, "format": "webhook", "secret_env": "HOOK_KEY"},
    ]
    text = "[forward]\nmax_seconds = 120\n"
    for table in tables:
        text += "[[destination]]\n" + "".join(f'{k} = "{v}"\n' for k, v in table.items())
        text += f'source = "alerts"\nca_file = "{ca_file}"\n'
    for fmt in ("ecs", "cef", "ocsf"):
        text += (
            f'[[destination]]\nname = "{fmt}"\nurl = "file://{folder / f"alerts.{fmt}"}"\n'
            f'format = "{fmt}"\nsource = "alerts"\n'
        )
    return text


@pytest.mark.slow
def test_run_detects_then_forwards_each_alert_once_to_chat_webhooks_and_files(tmp_path: Path):
    tenant = labelled_tenant(
        8, people=30, days=TENANT_DAYS, end=TENANT_END, repeats=1, system_rate=0.1
    )
    config = SimConfig(seed=8, days=90, events_per_day=0, late_fraction=0.0, twin_fraction=0.0)
    db_path = tmp_path / "searchlogs.db"
    ca = make_ca(tmp_path / "ca")
    forward_toml = tmp_path / "forward.toml"
    with (
        Simulator(config) as sim,
        HttpsReceiver(ca, kind="slack") as slack,
        HttpsReceiver(ca, kind="teams") as teams,
        HttpsReceiver(ca) as hook,
    ):
        sim.add_events(tenant.records)
        forward_toml.write_text(_destinations(tmp_path, slack.url, teams.url, hook.url, ca.ca_file))
        env = {
            "MIMECAST_CLIENT_ID": SIM_ID,
            "MIMECAST_CLIENT_SECRET": SIM_SECRET,
            "MIMECAST_BASE_URL": sim.base_url,
            "DB_PATH": str(db_path),
            "INITIAL_BACKFILL_DAYS": backfill_days_to(tenant.key.first_day, TENANT_END),
            "FORWARD_CONFIG": str(forward_toml),
            "DASHBOARD_URL": DASHBOARD,
            "HOOK_KEY": KEY,
        }
        result = run_cli(["run", "--once"], env, tmp_path, timeout=600)
        assert result.returncode == 0, result.stderr
        log = result.stderr
        # the cycle's detections ran first, so this run's alerts went out in this run
        assert log.index("detect default: scored") < log.index("forward default → slack")
        alerts = stored_alerts(db_path)
        assert len(alerts) >= 5
        chat = {"slack": list(slack.requests), "teams": list(teams.requests)}
        signed = list(hook.requests)
        files = {fmt: (tmp_path / f"alerts.{fmt}").read_text() for fmt in ("ecs", "cef", "ocsf")}

        # a second pass, and the days scored again, send nothing more
        again = run_cli(["forward"], env, tmp_path)
        assert again.returncode == 0, again.stderr
        engine = open_database(f"sqlite:///{db_path}")
        with engine.begin() as conn:
            forget_scored_days(conn, TENANT)
        engine.dispose()
        rescored = run_cli(["detect"], env, tmp_path, timeout=300)
        assert rescored.returncode == 0 and ", 0 new," in rescored.stdout, rescored.stdout
        third = run_cli(["forward"], env, tmp_path)
        assert third.returncode == 0, third.stderr
        assert stored_alerts(db_path) == alerts
        assert (len(slack.requests), len(teams.requests), len(hook.requests)) == (
            len(alerts),
            len(alerts),
            len(alerts),
        )
        assert {f: (tmp_path / f"alerts.{f}").read_text() for f in files} == files

    # Slack: one valid message per alert, its button to the absolute evidence link
    slack_ids = []
    for request in chat["slack"]:
        message = json.loads(request["body"])
        jsonschema.validate(message, SLACK_SCHEMA)
        context = message["blocks"][2]["elements"][0]["text"]
        slack_ids.append(context.rsplit(" · alert ", 1)[1])
        (button,) = message["blocks"][3]["elements"]
        assert button["url"] == alerts[slack_ids[-1]][2]
    assert sorted(slack_ids) == sorted(alerts)

    # Teams: one Adaptive Card per alert, opening the same link
    teams_ids = []
    for request in chat["teams"]:
        message = json.loads(request["body"])
        jsonschema.validate(message, TEAMS_SCHEMA)
        card = message["attachments"][0]["content"]
        teams_ids.append(card["body"][2]["inlines"][0]["text"].rsplit(" · alert ", 1)[1])
        assert card["actions"][0]["url"] == alerts[teams_ids[-1]][2]
    assert sorted(teams_ids) == sorted(alerts)

    # the signed webhook: the alert's ECS document, signed, its id in a header too; fresh when
    # it arrived (checked then, as a receiver does, not after the passes that followed it)
    hook_ids = []
    for request in signed:
        assert verify(KEY.encode(), request["body"], request["headers"], request["at"])
        document = json.loads(request["body"])
        assert request["headers"]["X-Message-Id"] == document["event"]["id"]
        hook_ids.append(document["event"]["id"])
    assert sorted(hook_ids) == sorted(alerts)

    # the files: ECS alerts, CEF and OCSF Detection Findings, one line per alert
    ecs = [json.loads(line) for line in files["ecs"].splitlines()]
    assert sorted(doc["event"]["id"] for doc in ecs) == sorted(alerts)
    for doc in ecs:
        rule, email, link = alerts[doc["event"]["id"]]
        assert doc["event"]["kind"] == "alert" and doc["rule"]["name"] == rule
        assert doc["user"]["email"] == email and doc["event"]["reference"] == link
        assert doc["event"]["severity"] in (2, 3, 4)
    cef = [parse_cef(line) for line in files["cef"].splitlines()]
    assert sorted(ext["externalId"] for _, ext in cef) == sorted(alerts)
    assert all(head[4] == f"alert:{alerts[ext['externalId']][0]}" for head, ext in cef)
    ocsf = [json.loads(line) for line in files["ocsf"].splitlines()]
    assert {doc["class_uid"] for doc in ocsf} == {2004}
    assert sorted(doc["finding_info"]["uid"] for doc in ocsf) == sorted(alerts)


def test_without_dashboard_url_chat_shows_the_relative_path_as_text_not_a_button():
    relative = alert(evidence_url="/user?email=ann%40example.com&from=2024-11-12&to=2024-11-12")
    slack = slack_message(relative)
    jsonschema.validate(slack, SLACK_SCHEMA)
    assert [block["type"] for block in slack["blocks"]] == ["header", "section", "context"]
    assert slack["blocks"][2]["elements"][0]["text"].endswith("evidence: " + relative.evidence_url)
    card = teams_message(relative)["attachments"][0]["content"]
    assert "actions" not in card
    assert card["body"][2]["inlines"][0]["text"].endswith("evidence: " + relative.evidence_url)
    absolute = alert(evidence_url="https://searchlogs.example.com" + relative.evidence_url)
    assert slack_message(absolute)["blocks"][3]["elements"][0]["url"] == absolute.evidence_url


def test_alert_source_reads_in_id_order_with_absolute_links_and_counts_what_waits(
    db_url: str,
) -> None:
    engine = open_database(db_url)
    try:
        with engine.begin() as conn:
            insert_alerts(
                conn,
                [
                    new_alert("breadth", "ann@x.example", date(2026, 5, 2)),
                    new_alert("volume_spike", "bob@x.example", date(2026, 5, 3), "high"),
                ],
            )
        source = AlertSource(TENANT, "https://dash.example/")
        with engine.connect() as conn:
            horizon = source.horizon(conn)
            messages = source.read(conn, 0, horizon, None, 10)
            waiting, oldest = source.pending(conn, messages[0].position, None)
            late = source.read(conn, 0, horizon, datetime(2026, 5, 3, 12, tzinfo=UTC), 10)
    finally:
        engine.dispose()
    assert [m.id for m in messages] == [alert_id(m.position) for m in messages]
    assert [m.item.rule for m in messages] == ["breadth", "volume_spike"]
    first: Any = messages[0].item
    assert first.evidence_url == (
        "https://dash.example/user?email=ann%40x.example&from=2026-05-02&to=2026-05-02"
    )
    assert waiting == 1 and oldest is not None
    assert [m.item.rule for m in late] == ["volume_spike"]  # its window ends after `since`


@pytest.mark.postgres
def test_postgres_alert_horizon_waits_for_a_detection_still_in_flight() -> None:
    server = os.environ.get("TEST_DATABASE_URL")
    if not server:
        pytest.skip("no PostgreSQL server: set TEST_DATABASE_URL")
    engine = open_database(fresh_postgres_database(server, "t_forward_alert_horizon"))
    try:
        with engine.begin() as conn:
            insert_alerts(conn, [new_alert("breadth", "ann@x.example", date(2026, 5, 2))])
        writer = engine.connect()
        pending = writer.begin()
        insert_alerts(writer, [new_alert("breadth", "bob@x.example", date(2026, 5, 2))])
        with engine.connect() as conn, pytest.raises(HorizonBusy):
            AlertSource(TENANT).horizon(conn)
        pending.commit()
        writer.close()
        with engine.connect() as conn:
            assert AlertSource(TENANT).horizon(conn) == 2
    finally:
        engine.dispose()
