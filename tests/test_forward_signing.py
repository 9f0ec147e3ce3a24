"""The generic webhook's signatures: Standard Webhooks (`webhook-id`, `webhook-timestamp`,
`webhook-signature: v1,…` over `id.timestamp.body`), checked with the reference verifier
(the `standardwebhooks` package), the signed id being the forward id; and the old
`X-Signature` header, still sent for one release."""

from __future__ import annotations

import base64
import json
import time
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import create_engine
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from config.settings import ConfigError
from db.alerts import insert_alerts
from db.models import Base
from ingest.forward.config import ForwardConfig, destination_from
from ingest.forward.notify import signed_webhook, verify
from ingest.forward.runner import forward_pending
from tests.support.detections import new_alert
from tests.support.forward_receivers import HttpsReceiver, ReceiverCA
from tests.support.forwarding import alert, ca  # noqa: F401  (the `ca` fixture)

KEY = b"0123456789abcdef0123456789abcdef"
SECRET = "whsec_" + base64.b64encode(KEY).decode()
MOMENT = 1_700_000_000


def _at(timestamp: int) -> datetime:
    return datetime.fromtimestamp(timestamp, tz=UTC)


def test_a_whsec_secret_signs_id_timestamp_and_body_as_the_reference_verifier_expects() -> None:
    body, headers = signed_webhook(alert(), SECRET.encode(), MOMENT, "acme:alert-7")
    reference = Webhook(SECRET)
    assert headers["webhook-id"] == "acme:alert-7"
    assert headers["webhook-timestamp"] == str(MOMENT)
    assert headers["webhook-signature"] == reference.sign(
        "acme:alert-7", _at(MOMENT), body.decode()
    )
    now = int(time.time())  # the verifier itself refuses a timestamp 5 minutes from its clock
    body, headers = signed_webhook(alert(), SECRET.encode(), now, "acme:alert-7")
    assert reference.verify(body, headers)["event"]["id"] == "alert-7"
    for forged in (
        {**headers, "webhook-id": "globex:alert-7"},  # the id is signed: another is refused
        {**headers, "webhook-timestamp": str(now - 1)},
    ):
        with pytest.raises(WebhookVerificationError):
            reference.verify(body, forged)
    with pytest.raises(WebhookVerificationError):
        reference.verify(body + b" ", headers)


def test_any_other_secret_is_its_own_key_for_both_signatures() -> None:
    secret = b"a plain shared secret"
    body, headers = signed_webhook(alert(), secret, MOMENT)
    reference = Webhook(base64.b64encode(secret).decode())
    assert headers["webhook-signature"] == reference.sign("alert-7", _at(MOMENT), body.decode())
    assert verify(secret, body, headers, now=MOMENT + 10)  # the old header, one more release
    assert headers["X-Message-Id"] == headers["webhook-id"] == "alert-7"


@pytest.mark.parametrize("secret", ["whsec_not base64!", "whsec_"])
def test_a_whsec_secret_that_is_not_base64_is_one_line_that_never_echoes_it(secret: str) -> None:
    table = {"name": "hook", "url": "https://hooks.example.com/x", "format": "webhook"}
    with pytest.raises(ConfigError) as raised:
        destination_from({**table, "source": "alerts", "secret": secret}, {}, 1)
    text = str(raised.value)
    assert text.startswith("forwarding destination 'hook': secret: a whsec_ secret must be")
    assert "\n" not in text and secret not in text.replace("whsec_ secret", "")


def test_each_tenants_alerts_reach_the_webhook_signed_over_their_forward_ids(
    ca: ReceiverCA,  # noqa: F811
    tmp_path: Path,
) -> None:
    """Two tenants' alerts on the same address, rule and day: one request each, every one
    verified by the reference verifier, its signed `webhook-id` the message's forward id
    (the alert's `event.id`, distinct across tenants) and its document its own tenant's."""
    engine = create_engine(f"sqlite:///{tmp_path / 'alerts.sqlite'}")
    Base.metadata.create_all(engine)
    shared, day = "shared@example.com", date(2026, 11, 3)
    with engine.begin() as conn:
        insert_alerts(
            conn,
            [
                new_alert("volume_spike", shared, day, "high", tenant="acme"),
                new_alert("volume_spike", shared, day, "high", tenant="globex"),
                new_alert("unusual_time", "gus@globex.example", day, "low", tenant="globex"),
            ],
        )
    with HttpsReceiver(ca) as receiver:
        table = {
            "name": "hook", "url": receiver.url, "format": "webhook", "source": "alerts",
            "secret": SECRET, "ca_file": str(ca.ca_file),
        }  # fmt: skip
        config = ForwardConfig((destination_from(table, {}, 1),), tenants=("acme", "globex"))
        results = forward_pending(engine, config, max_seconds=60)
    engine.dispose()
    assert sum(result.delivered for result in results) == 3
    reference = Webhook(SECRET)
    seen = []
    for request in receiver.requests:
        headers, body = request["headers"], request["body"]
        at = int(headers["webhook-timestamp"])
        signature = reference.sign(headers["webhook-id"], _at(at), body.decode())
        assert headers["webhook-signature"] == signature
        document = json.loads(body)
        assert headers["webhook-id"] == document["event"]["id"] == headers["X-Message-Id"]
        assert verify(SECRET.encode(), body, headers, now=at)  # the old header too
        seen.append((document["organization"]["id"], document["user"]["email"]))
    assert sorted(seen) == [
        ("acme", shared),
        ("globex", "gus@globex.example"),
        ("globex", shared),
    ]
    assert len({r["headers"]["webhook-id"] for r in receiver.requests}) == 3
