"""Alert notifications for chat and webhooks: one message per alert, with its one-line
explanation and a link to the evidence. Pure functions over `Alert`.

The summary may quote search text, which is hostile: Slack gets it as `plain_text` (and the
fallback `text` with `mrkdwn: false`, `&<>` escaped), Teams as `TextRun`s, which Adaptive
Cards never read as Markdown. Every message opens with the tenant's display name, so a
channel that several tenants' alerts reach says whose searcher it is.
"""

from __future__ import annotations

import hmac
from typing import Any

import orjson

from ingest.forward.formats import ecs_alert, iso_millis
from ingest.forward.messages import Alert
from ingest.forward.signing import legacy_signature, standard_headers

SLACK_TEXT_LIMIT = 3000  # a section block's text; the header's is 150
SLACK_URL_LIMIT = 3000  # a button's url
SIGNATURE_HEADER = "X-Signature"  # the old headers: kept for one release
TIMESTAMP_HEADER = "X-Signature-Timestamp"
ID_HEADER = "X-Message-Id"


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def slack_escape(text: str) -> str:
    """Slack's three control characters, so `<!channel>` in a search text stays text."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def linkable(url: str, limit: int = SLACK_URL_LIMIT) -> bool:
    """Whether a chat button can carry `url`: absolute http(s) (DASHBOARD_URL set) and
    short enough. Otherwise the message shows the link as text instead of being refused."""
    return url.startswith(("https://", "http://")) and len(url) <= limit


def one_line(text: str) -> str:
    """Control characters (line breaks above all) as spaces: a display name cannot start a
    second line that reads like another alert's headline."""
    return "".join(" " if not char.isprintable() else char for char in text)


def _headline(alert: Alert) -> str:
    tenant = one_line(alert.tenant_display)
    return f"{tenant} · {alert.severity.upper()}: {alert.rule} — {alert.email_addr}"


def slack_message(alert: Alert) -> dict[str, Any]:
    """An incoming-webhook payload: a header, the summary, the window, a button to the evidence."""
    window = f"{iso_millis(alert.window_start)} → {iso_millis(alert.window_end)}"
    context = f"{window} · alert {alert.id}"
    if not linkable(alert.evidence_url):
        context += f" · evidence: {alert.evidence_url}"
    message: dict[str, Any] = {
        "text": slack_escape(f"{_headline(alert)}: {alert.summary}"),
        "mrkdwn": False,
        "blocks": [
            {
                "type": "header",
                "text": {"type": "plain_text", "text": _clip(_headline(alert), 150)},
            },
            {
                "type": "section",
                "text": {"type": "plain_text", "text": _clip(alert.summary, SLACK_TEXT_LIMIT)},
            },
            {
                "type": "context",
                "elements": [{"type": "plain_text", "text": _clip(context, 2000)}],
            },
        ],
    }
    if linkable(alert.evidence_url):
        message["blocks"].append(
            {
                "type": "actions",
                "elements": [
                    {
                        "type": "button",
                        "text": {"type": "plain_text", "text": "Open the evidence"},
                        "url": alert.evidence_url,
                        "action_id": "evidence",
                    }
                ],
            }
        )
    return message


def _runs(text: str, **style: Any) -> dict[str, Any]:
    return {"type": "RichTextBlock", "inlines": [{"type": "TextRun", "text": text, **style}]}


def teams_message(alert: Alert) -> dict[str, Any]:
    """A Teams Workflows ("When a Teams webhook request is received") message carrying one
    Adaptive Card 1.4; Office 365 connector MessageCards are retired."""
    window = f"{iso_millis(alert.window_start)} → {iso_millis(alert.window_end)}"
    context = f"{window} · alert {alert.id}"
    if not linkable(alert.evidence_url, limit=2**31):
        context += f" · evidence: {alert.evidence_url}"
    card: dict[str, Any] = {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.4",
        "body": [
            _runs(_headline(alert), weight="Bolder", size="Medium"),
            _runs(alert.summary),
            _runs(context, isSubtle=True, size="Small"),
        ],
    }
    if linkable(alert.evidence_url, limit=2**31):
        card["actions"] = [
            {"type": "Action.OpenUrl", "title": "Open the evidence", "url": alert.evidence_url}
        ]
    return {
        "type": "message",
        "attachments": [
            {
                "contentType": "application/vnd.microsoft.card.adaptive",
                "contentUrl": None,
                "content": card,
            }
        ],
    }


def webhook_body(alert: Alert) -> bytes:
    """The generic webhook's body: the alert as its ECS document."""
    return orjson.dumps(ecs_alert(alert))


def sign(key: bytes, timestamp: int, body: bytes) -> str:
    """The old `X-Signature` (kept for one release; see `ingest.forward.signing`)."""
    return legacy_signature(key, timestamp, body)


def signed_webhook(
    alert: Alert, key: bytes, timestamp: int, msg_id: str | None = None
) -> tuple[bytes, dict[str, str]]:
    """Body and headers of one generic webhook request: signed as Standard Webhooks with
    `msg_id` (the message's forward id; the alert's id by default), and the old way."""
    body = webhook_body(alert)
    msg_id = alert.id if msg_id is None else msg_id
    return body, {
        "Content-Type": "application/json",
        **standard_headers(key, msg_id, timestamp, body),
        TIMESTAMP_HEADER: str(timestamp),
        SIGNATURE_HEADER: sign(key, timestamp, body),
        ID_HEADER: msg_id,
    }


def verify(
    key: bytes, body: bytes, headers: dict[str, str], now: int, tolerance: int = 300
) -> bool:
    """What a receiver of the old header checks: the signature matches and the timestamp is
    recent."""
    try:
        timestamp = int(headers[TIMESTAMP_HEADER])
    except (KeyError, ValueError):
        return False
    if abs(now - timestamp) > tolerance:
        return False
    return hmac.compare_digest(sign(key, timestamp, body), headers.get(SIGNATURE_HEADER, ""))


CHAT_FORMATS = ("slack", "teams", "webhook")
