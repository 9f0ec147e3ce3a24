"""What counts as delivered over HTTPS: only the receiver's own acknowledgement. An SSO
proxy or load balancer in front of a receiver that redirects (301/302/307/308), or answers
with its sign-in page, must never move a cursor: nothing is marked delivered, the error
names only the redirect's host, and the next pass to a working receiver delivers
everything exactly once. Real receivers over TLS on loopback, a real SQLite file."""

from __future__ import annotations

import json
import re
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select

from db.alerts import insert_alerts
from db.engine import open_database
from db.models import Alert, SearchLog
from db.state.forwarding import forwarding_status
from ingest.forward.config import ForwardConfig, destination_from
from ingest.forward.delivery import DeliveryResult
from ingest.forward.messages import alert_id
from ingest.forward.runner import forward_pending
from tests.support.builders import KNOWN, store_records
from tests.support.detections import new_alert
from tests.support.forward_receivers import SIGN_IN_PAGE, HttpsReceiver, ReceiverCA, Reply
from tests.support.harness import run_cli
from tests.support.roles import open_as
from tests.support.tenancy import SCOPE

# destination name → (its settings, the kind of receiver that acknowledges it)
DESTINATIONS: dict[str, tuple[dict[str, Any], str]] = {
    "ndjson": ({}, "collector"),
    "hec": ({"protocol": "hec", "token": "hec-token"}, "collector"),
    "slack": ({"format": "slack", "source": "alerts"}, "slack"),
    "teams": ({"format": "teams", "source": "alerts"}, "teams"),
    "webhook": ({"format": "webhook", "source": "alerts", "secret": "k3y"}, "collector"),
}
HTML = {"Content-Type": "text/html; charset=utf-8"}
ADMIN = {"email": "boss@example.com"}  # an administrator in tests.support.roles.ROLES


@pytest.fixture
def db(tmp_path: Path) -> Engine:
    """A SQLite file with the known searches and three alerts."""
    engine = open_database(f"sqlite:///{tmp_path / 'forward.db'}")
    store_records(engine, KNOWN)
    with engine.begin() as conn:
        insert_alerts(
            conn,
            [new_alert(rule, "a@example.com", date(2026, 3, 29)) for rule in
             ("volume_spike", "unusual_time", "breadth")],
        )  # fmt: skip
    yield engine
    engine.dispose()


def table(name: str, receiver: HttpsReceiver, ca: ReceiverCA) -> dict[str, Any]:
    """The destination `name` at `receiver`, with a secret path as a webhook URL has."""
    settings, _ = DESTINATIONS[name]
    url = f"{receiver.url}/SECRETHOOKPATH"
    return {"name": name, "url": url, "ca_file": str(ca.ca_file), **settings}


def one_pass(engine: Engine, entry: dict[str, Any]) -> DeliveryResult:
    config = ForwardConfig((destination_from(entry, {}, 1),))
    (result,) = forward_pending(engine, config, max_seconds=30)
    return result


def expected_ids(engine: Engine, name: str) -> list[str]:
    """What the destination must receive, in order: search keys, or alert ids."""
    with engine.connect() as conn:
        if DESTINATIONS[name][0].get("source") == "alerts":
            rows = conn.execute(select(Alert.id).order_by(Alert.id)).scalars()
            return [alert_id(row) for row in rows]
        return list(conn.execute(select(SearchLog.event_key).order_by(SearchLog.id)).scalars())


def received_ids(receiver: HttpsReceiver, name: str) -> list[str]:
    """The ids in what the receiver acknowledged, in arrival order."""
    if name == "ndjson":
        return [doc["event"]["id"] for doc in receiver.documents]
    if name == "hec":
        return [doc["event"]["event"]["id"] for doc in receiver.documents]
    found = [set(re.findall(r"alert-\d+", json.dumps(doc))) for doc in receiver.documents]
    assert all(len(ids) == 1 for ids in found), found  # one message per alert
    return [ids.pop() for ids in found]


def cursor(engine: Engine) -> tuple[int, int, int]:
    (row,) = forwarding_status(engine, SCOPE)
    return row["position"], row["delivered"], row["lag_messages"]


@pytest.mark.parametrize("name", list(DESTINATIONS))
def test_a_redirect_is_a_refusal_naming_its_host_and_the_next_pass_delivers_each_once(
    name: str, db: Engine, ca: ReceiverCA
):
    kind = DESTINATIONS[name][1]
    expected = expected_ids(db, name)
    # the redirect's target would take the POST (307/308) and serves a sign-in page to a GET
    with HttpsReceiver(ca, kind=kind) as target, HttpsReceiver(ca, kind=kind) as proxy:
        login = f"https://localhost:{target.port}/login?next=/SECRETNEXT&sig=SECRETSIG"
        answers: list[tuple[Reply, str]] = [
            ((status, {"Location": login}), f"localhost:{target.port}")
            for status in (301, 302, 307, 308)
        ]
        answers.append(((302, {"Location": "/sso/login?SECRETQUERY"}), f"127.0.0.1:{proxy.port}"))
        entry = table(name, proxy, ca)
        for reply, host in answers:
            proxy.script = lambda n, body, reply=reply: reply
            result = one_pass(db, entry)
            assert result.delivered == 0 and result.error is not None
            assert f"HTTP {reply[0]}" in result.error and f"redirect to {host}," in result.error
            assert "SECRET" not in result.error
            assert cursor(db) == (0, 0, len(expected))
            (row,) = forwarding_status(db, SCOPE)
            assert host in row["last_error"] and "SECRET" not in row["last_error"]
        assert target.requests == []  # never followed
        assert proxy.documents == []
        proxy.script = lambda n, body: (200, {})  # the proxy is fixed
        delivered = one_pass(db, entry)
        again = one_pass(db, entry)
    assert delivered.error is None and delivered.delivered == len(expected)
    assert received_ids(proxy, name) == expected  # all, once, in order
    assert again.error is None and again.delivered == 0
    assert cursor(db)[1:] == (len(expected), 0)


NOT_ACKNOWLEDGEMENTS = [
    pytest.param("ndjson", (200, HTML, SIGN_IN_PAGE), id="ndjson-sign-in-page"),
    pytest.param("ndjson", (200, {}, SIGN_IN_PAGE), id="ndjson-html-without-a-type"),
    pytest.param("hec", (200, HTML, SIGN_IN_PAGE), id="hec-sign-in-page"),
    pytest.param("hec", (200, {}, b"OK"), id="hec-not-json"),
    pytest.param(
        "hec",
        (200, {"Content-Type": "application/json"}, b'{"text":"Server is busy","code":9}'),
        id="hec-code-not-0",
    ),
    pytest.param("slack", (200, HTML, SIGN_IN_PAGE), id="slack-sign-in-page"),
    pytest.param("slack", (204, {}, b""), id="slack-no-ok"),
    pytest.param("teams", (200, HTML, SIGN_IN_PAGE), id="teams-sign-in-page"),
    pytest.param("teams", (200, {}, b"1"), id="teams-retired-connector-answer"),
    pytest.param("webhook", (200, HTML, SIGN_IN_PAGE), id="webhook-sign-in-page"),
]


@pytest.mark.parametrize(("name", "reply"), NOT_ACKNOWLEDGEMENTS)
def test_a_2xx_that_is_not_the_receivers_acknowledgement_is_a_refusal(
    name: str, reply: Reply, db: Engine, ca: ReceiverCA
):
    with HttpsReceiver(ca, kind=DESTINATIONS[name][1], script=lambda n, b: reply) as proxy:
        result = one_pass(db, table(name, proxy, ca))
    assert result.delivered == 0 and result.error is not None
    assert f"HTTP {reply[0]} with" in result.error and "nothing was counted" in result.error
    assert "Sign in" not in result.error  # whatever answered is not quoted
    assert cursor(db) == (0, 0, len(expected_ids(db, name)))


def test_a_redirected_forward_exits_1_and_status_and_the_status_page_name_only_its_host(
    dashboard_db: Engine, ca: ReceiverCA, tmp_path: Path
):
    """What an operator sees: the exit status of `forward`, `status` (text and JSON) and
    the forwarding block of `/status`, each naming the host the proxy redirected to."""
    with HttpsReceiver(ca) as target, HttpsReceiver(ca) as proxy:
        host = f"localhost:{target.port}"
        proxy.script = lambda n, b: (302, {"Location": f"https://{host}/adfs/ls?ctx=SECRETCTX"})
        config = tmp_path / "forward.toml"
        config.write_text(
            f'[[destination]]\nname = "siem"\nurl = "{proxy.url}/SECRETHOOKPATH"\n'
            f'ca_file = "{ca.ca_file}"\n'
        )
        env = {"DB_PATH": str(tmp_path / "dashboard.db"), "FORWARD_CONFIG": str(config)}
        done = run_cli(["forward", "--max-seconds", "20"], env, tmp_path)
        text = run_cli(["status"], env, tmp_path)
        as_json = run_cli(["status", "--json"], env, tmp_path)
    assert target.requests == []
    assert done.returncode == 1, done.stderr
    assert f"HTTP 302 Found: a redirect to {host}," in done.stderr
    (line,) = [line for line in text.stdout.splitlines() if line.startswith("forwarding")]
    assert "0 delivered" in line and f"last error: HTTP 302 Found: a redirect to {host}," in line
    (row,) = json.loads(as_json.stdout)["forwarding"]
    assert (row["position"], row["delivered"]) == (0, 0) and host in row["last_error"]
    page = open_as(ADMIN, "pages/status.py")
    table = next(d.value for d in page.dataframe if "destination" in d.value and "lag" in d.value)
    assert f"a redirect to {host}," in table.iloc[0]["last_error"]
    shown = done.stdout + done.stderr + text.stdout + as_json.stdout + repr(table.to_dict())
    assert "SECRET" not in shown
