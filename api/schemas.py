"""What each endpoint answers, as JSON Schema (OpenAPI 3.1 components), so tools that import
`docs/openapi.json` see typed answers and the tests can check real answers against them.

Every object lists all its properties as required and allows no others: an answer that
gains, loses or retypes a field fails `tests/test_openapi.py` until its schema says so.
"""

from __future__ import annotations

from typing import Any

from db import alerts

STRING = {"type": "string"}
TEXT = {"type": ["string", "null"]}
INTEGER = {"type": "integer"}
DAY = {"type": "string", "format": "date"}
MOMENT = {"type": "string", "format": "date-time"}
MOMENT_OR_NULL = {"type": ["string", "null"], "format": "date-time"}
CURSOR = {
    "type": ["string", "null"],
    "description": "pass as `cursor` for the next page (also the `Next-Cursor` header and "
    'the `Link: <…>; rel="next"` header); null on the last page',
}


def _object(about: str, /, **properties: Any) -> dict[str, Any]:
    return {
        "type": "object",
        "description": about,
        "properties": properties,
        "required": list(properties),
        "additionalProperties": False,
    }


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _list(name: str) -> dict[str, Any]:
    return {"type": "array", "items": _ref(name)}


RANGE = {"from": DAY, "to": DAY, "tz": STRING}

SCHEMAS: dict[str, dict[str, Any]] = {
    "DayCount": _object("searches on one day", date=DAY, searches=INTEGER),
    "SearchesPerDay": _object(
        "every day of the range, zeros included", **RANGE, total=INTEGER, days=_list("DayCount")
    ),
    "UserSummary": _object(
        "one user's searches in the range (the summary table's row)",
        email=STRING,
        searches=INTEGER,
        active_days=INTEGER,
        first_search=MOMENT,
        last_search=MOMENT,
        top_description=TEXT,
        reason_share={"type": "number", "minimum": 0, "maximum": 1},
    ),
    "Users": _object("one row per user, most searches first", **RANGE, users=_list("UserSummary")),
    "Search": _object(
        "one stored archive search; `time` in the call's `tz`; every text is as Mimecast "
        "sent it (attacker-controlled: never render it as HTML)",
        time=MOMENT,
        email=STRING,
        source=TEXT,
        search_text=TEXT,
        search_reason=TEXT,
        description=TEXT,
    ),
    "SearchPage": _object(
        "one page of searches, newest first", searches=_list("Search"), next_cursor=CURSOR
    ),
    "Alert": _object(
        "one alert of the detections (the Alerts page's row)",
        id=INTEGER,
        day=DAY,
        rule={"type": "string", "enum": list(alerts.RULES)},
        severity={"type": "string", "enum": list(alerts.SEVERITIES)},
        email=STRING,
        summary=STRING,
        status={"type": "string", "enum": list(alerts.STATUSES)},
        window_start=MOMENT,
        window_end=MOMENT,
        evidence_url={**STRING, "description": "the dashboard-relative path of the evidence"},
        note=TEXT,
        triaged_by=TEXT,
        triaged_at=MOMENT_OR_NULL,
        created_at=MOMENT,
        tenant=STRING,
    ),
    "AlertPage": _object(
        "one page of alerts, newest day first, then high severity first",
        alerts=_list("Alert"),
        next_cursor=CURSOR,
    ),
    "Mailbox": _object(
        "one searched mailbox",
        tenant=STRING,
        mailbox=STRING,
        searches=INTEGER,
        searchers=INTEGER,
        without_reason=INTEGER,
        last_search=MOMENT,
    ),
    "Mailboxes": _object(
        "the most-searched mailboxes of the range",
        **RANGE,
        by={"type": "string", "enum": ["searches", "searchers"]},
        mailboxes=_list("Mailbox"),
    ),
    "MailboxSearch": _object(
        "one search that targeted the mailbox",
        tenant=STRING,
        time=MOMENT,
        searcher=STRING,
        reason=TEXT,
        reason_on_record={"type": "string", "enum": ["yes", "no"]},
        search_type=TEXT,
        source=TEXT,
    ),
    "MailboxSearchPage": _object(
        "one page of a mailbox's searches, newest first",
        mailbox=STRING,
        searches=_list("MailboxSearch"),
        next_cursor=CURSOR,
    ),
    "CursorReset": _object("the cursor was reset", reset={"const": True}, detail=STRING),
    "OpenApi": {"type": "object", "description": "this document"},
    "Alive": _object("the process is alive", status={"const": "ok"}),
    "Readiness": {
        "type": "object",
        "description": "ready or not, with the reasons; with several tenants, each tenant's "
        "readiness under `tenants`",
        "properties": {
            "ready": {"type": "boolean"},
            "reasons": {"type": "array", "items": STRING},
            "schema_revision": TEXT,
            "schema_head": TEXT,
            "last_poll_ok_at": MOMENT_OR_NULL,
            "last_poll_age_seconds": {"type": ["integer", "null"]},
            "max_poll_age_seconds": INTEGER,
            "tenants": {"type": "object", "additionalProperties": _ref("Readiness")},
        },
        "required": ["ready", "reasons"],
        "additionalProperties": False,
    },
    "Problem": {
        "type": "object",
        "description": "RFC 9457 problem details: `detail` says what is wrong in one sentence",
        "properties": {
            "type": STRING,
            "title": STRING,
            "status": INTEGER,
            "detail": STRING,
            "instance": STRING,
        },
        "required": ["type", "title", "status", "detail"],
    },
}

ANSWERS: dict[str, tuple[str, str | None]] = {
    "searchesPerDay": ("SearchesPerDay", "DayCount"),
    "users": ("Users", "UserSummary"),
    "userSearches": ("SearchPage", "Search"),
    "daySearches": ("SearchPage", "Search"),
    "alerts": ("AlertPage", "Alert"),
    "mailboxes": ("Mailboxes", "Mailbox"),
    "mailboxSearches": ("MailboxSearchPage", "MailboxSearch"),
    "resetCursor": ("CursorReset", None),
    "openapi": ("OpenApi", None),
    "healthz": ("Alive", None),
    "readyz": ("Readiness", None),
    "metrics": ("", None),
}
"""Each endpoint's JSON answer and the row its CSV and NDJSON answers are made of."""


def columns(row: str) -> list[str]:
    """The fields of a row schema, in order: the header of a CSV answer."""
    return list(SCHEMAS[row]["properties"])
