"""Forwarding formats: ECS field for field as Elastic's Mimecast integration, CEF escaping,
OCSF classes, and the alert notifications against their published schemas; every one of
them names the tenant, whatever its display name holds."""

from __future__ import annotations

import json

import jsonschema
import pytest

from ingest.forward.formats import (
    ENCODERS,
    cef_alert,
    cef_search,
    ecs_alert,
    ecs_search,
    ocsf_alert,
    ocsf_search,
)
from ingest.forward.notify import (
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    sign,
    signed_webhook,
    slack_escape,
    slack_message,
    teams_message,
    verify,
    webhook_body,
)
from tests.support.cef import parse_cef
from tests.support.chat_schemas import SLACK_SCHEMA, TEAMS_SCHEMA
from tests.support.forwarding import WHEN, alert, search

HOSTILE = "<!channel> *bold* [click](https://evil.example) =cmd|' /C calc'!A0 \\ a=b|c\nnext"


def test_ecs_search_matches_elastics_archive_search_logs_pipeline_field_for_field():
    assert ecs_search(search()) == {
        "@timestamp": "2024-11-12T16:21:27.000Z",
        "ecs": {"version": "8.11.0"},
        "event": {
            "id": "k" * 64,
            "kind": "event",
            "category": ["api"],
            "type": ["admin"],
            "created": "2024-11-12T16:21:27.000Z",
            "dataset": "mimecast.archive_search_logs",
        },
        "organization": {"id": "acme", "name": "ACME Corp"},
        "user": {
            "email": "dhamilton@mimecast.local",
            "name": "dhamilton",
            "domain": "mimecast.local",
        },
        "related": {"user": ["dhamilton", "dhamilton@mimecast.local"]},
        "mimecast": {
            "search_details": {
                "text": "[User : dhamilton@mimecast.local]",
                "reason": "case 42",
                "description": "Message Tracking Search",
                "source": "archive",
                "path": "/inbox",
            }
        },
    }


def test_ecs_system_sender_has_no_name_or_domain_and_empty_fields_are_left_out():
    """Elastic's sample event: `<>` keeps only `user.email` and `related.user: ["<>"]`;
    an empty reason or a missing path is dropped, not sent as ""."""
    doc = ecs_search(search(email_addr="<>", search_reason="", search_path=None))
    assert doc["user"] == {"email": "<>"}
    assert doc["related"] == {"user": ["<>"]}
    assert set(doc["mimecast"]["search_details"]) == {"text", "description", "source"}
    doc = ecs_search(search(search_text="", search_reason=None, description="", source=None,
                            search_path=""))  # fmt: skip
    assert "mimecast" not in doc


def test_ecs_splits_the_address_at_its_last_at_sign():
    doc = ecs_search(search(email_addr='"a@b"@example.com'))
    assert doc["user"]["name"] == '"a@b"'
    assert doc["user"]["domain"] == "example.com"


def test_ecs_alert_is_an_alert_event_with_the_alert_id():
    doc = ecs_alert(alert())
    assert doc["event"]["kind"] == "alert"
    assert doc["event"]["id"] == "alert-7"
    assert doc["event"]["reference"].startswith("https://dash.example.com/")
    assert doc["user"]["email"] == "ann@example.com"


def test_cef_escapes_pipe_backslash_and_equals_and_parses_back():
    hostile = search(search_text=HOSTILE, search_reason="a=b", email_addr="x|y=z\\w@ex.com")
    line = cef_search(hostile)
    assert "\n" not in line and "\r" not in line
    header, ext = parse_cef(line)
    assert header == ["0", "Mimecast", "Archive Search Logs", "2.0", "archive-search",
                      "Archive search", "3"]  # fmt: skip
    assert ext["msg"] == HOSTILE
    assert ext["reason"] == "a=b"
    assert ext["suser"] == "x|y=z\\w@ex.com"
    assert ext["externalId"] == "k" * 64
    assert ext["rt"] == str(int(WHEN.timestamp() * 1000))
    assert ext["cs2Label"] == "searchPath" and ext["cs2"] == "/inbox"


def test_cef_header_fields_escape_pipe_and_backslash():
    line = cef_alert(alert(rule="a|b\\c"))
    header, ext = parse_cef(line)
    assert header[4] == "alert:a|b\\c"
    assert ext["cs1"] == "a|b\\c"
    assert header[6] == "8"


def test_ocsf_search_is_web_resources_activity_search_and_alert_a_detection_finding():
    doc = ocsf_search(search())
    assert (doc["class_uid"], doc["activity_id"], doc["type_uid"]) == (6001, 5, 600105)
    assert doc["category_uid"] == 6
    assert doc["metadata"]["uid"] == "k" * 64
    assert doc["actor"]["user"]["email_addr"] == "dhamilton@mimecast.local"
    assert doc["time"] == int(WHEN.timestamp() * 1000)
    finding = ocsf_alert(alert())
    assert (finding["class_uid"], finding["activity_id"], finding["type_uid"]) == (2004, 1, 200401)
    assert finding["finding_info"]["uid"] == "alert-7"
    assert finding["severity_id"] == 4


@pytest.mark.parametrize("summary", ["plain summary", HOSTILE, "x" * 5000])
def test_slack_message_validates_and_shows_hostile_text_as_plain_text(summary: str):
    message = slack_message(alert(summary=summary))
    jsonschema.validate(message, SLACK_SCHEMA)
    assert message["mrkdwn"] is False
    assert "<!channel>" not in message["text"]  # escaped, so Slack does not ping anyone
    assert message["blocks"][-1]["elements"][0]["url"] == alert().evidence_url
    json.dumps(message)


@pytest.mark.parametrize("summary", ["plain summary", HOSTILE])
def test_teams_message_is_an_adaptive_card_whose_text_is_never_markdown(summary: str):
    message = teams_message(alert(summary=summary))
    jsonschema.validate(message, TEAMS_SCHEMA)
    card = message["attachments"][0]["content"]
    texts = [run["text"] for block in card["body"] for run in block["inlines"]]
    assert summary in texts  # verbatim, in a TextRun (which Adaptive Cards never parse)
    assert card["actions"][0]["url"] == alert().evidence_url


def test_generic_webhook_signs_timestamp_and_body_with_hmac_sha256():
    key = b"hmac-key"
    body, headers = signed_webhook(alert(), key, 1_700_000_000)
    assert json.loads(body)["event"]["id"] == "alert-7"
    assert headers[TIMESTAMP_HEADER] == "1700000000"
    assert headers[SIGNATURE_HEADER] == sign(key, 1_700_000_000, body)
    assert verify(key, body, headers, now=1_700_000_010)
    assert not verify(b"other", body, headers, now=1_700_000_010)
    assert not verify(key, body + b" ", headers, now=1_700_000_010)
    assert not verify(key, body, headers, now=1_700_000_000 + 3600)  # a replay, later


# --- the tenant --------------------------------------------------------------------------

HOSTILE_NAME = (
    'Evil" Corp\r\n}{"x":1 | cs4=x cs4Label=y \\ =cmd|\' /C calc\'!A0 <!channel> [a](b)\u2028z'
)


def test_ecs_names_the_tenant_as_organization_id_and_its_display_name_as_organization_name():
    for doc in (ecs_search(search()), ecs_alert(alert())):
        assert doc["organization"] == {"id": "acme", "name": "ACME Corp"}
    doc = ecs_search(search(tenant="default", tenant_display="default"))
    assert doc["organization"] == {"id": "default", "name": "default"}


def test_cef_carries_the_tenant_name_in_a_custom_string_labelled_tenant():
    for line in (cef_search(search()), cef_alert(alert())):
        _, ext = parse_cef(line)
        assert (ext["cs4Label"], ext["cs4"]) == ("tenant", "acme")
    _, ext = parse_cef(cef_search(search(description=None, source=None, search_path=None)))
    assert (ext["cs4Label"], ext["cs4"]) == ("tenant", "acme")  # no other custom string


def test_ocsf_metadata_tenant_uid_is_the_tenant_name():
    assert ocsf_search(search())["metadata"]["tenant_uid"] == "acme"
    assert ocsf_alert(alert())["metadata"]["tenant_uid"] == "acme"


def test_cef_escapes_a_hostile_tenant_and_parses_back_unchanged():
    """A name is checked at start-up, but the formats take what the database holds: CEF's
    separators in it stay data, and the record stays one line."""
    for line in (cef_search(search(tenant=HOSTILE_NAME)), cef_alert(alert(tenant=HOSTILE_NAME))):
        assert "\n" not in line and "\r" not in line
        header, ext = parse_cef(line)
        assert len(header) == 7 and header[1] == "Mimecast"
        assert ext["cs4"] == HOSTILE_NAME and ext["cs4Label"] == "tenant"
        assert "y" not in ext.values()  # the forged `cs4Label=y` did not become a field


@pytest.mark.parametrize("fmt", ["ecs", "ocsf"])
def test_json_formats_carry_a_hostile_tenant_verbatim_as_data(fmt: str):
    item = search(tenant=HOSTILE_NAME, tenant_display=HOSTILE_NAME)
    line = ENCODERS[fmt](item)
    assert b"\n" not in line  # one NDJSON line
    doc = json.loads(line)
    if fmt == "ecs":
        assert doc["organization"] == {"id": HOSTILE_NAME, "name": HOSTILE_NAME}
        alert_doc = json.loads(webhook_body(alert(tenant_display=HOSTILE_NAME)))
        assert alert_doc["organization"]["name"] == HOSTILE_NAME
    else:
        assert doc["metadata"]["tenant_uid"] == HOSTILE_NAME


def test_chat_messages_open_with_the_tenant_display_name():
    slack = slack_message(alert())
    assert slack["blocks"][0]["text"]["text"].startswith("ACME Corp · HIGH: out_of_hours_burst")
    assert slack["text"].startswith("ACME Corp · HIGH:")
    card = teams_message(alert())["attachments"][0]["content"]
    assert card["body"][0]["inlines"][0]["text"].startswith("ACME Corp · HIGH:")


def test_a_hostile_display_name_in_chat_is_one_line_of_plain_text():
    """Line breaks (\\r, \\n, U+2028) become spaces, so the name cannot forge a second
    headline; Slack's control characters are escaped; both messages still validate."""
    hostile = alert(tenant_display=HOSTILE_NAME)
    flat = HOSTILE_NAME.replace("\r", " ").replace("\n", " ").replace("\u2028", " ")
    slack = slack_message(hostile)
    jsonschema.validate(slack, SLACK_SCHEMA)
    assert slack["blocks"][0]["text"]["text"].startswith(flat[:140])
    assert slack["text"].startswith(slack_escape(flat))
    assert "<!channel>" not in slack["text"] and "\n" not in slack["text"]
    teams = teams_message(hostile)
    jsonschema.validate(teams, TEAMS_SCHEMA)
    headline = teams["attachments"][0]["content"]["body"][0]["inlines"][0]["text"]
    assert headline.startswith(flat + " · HIGH:")
