"""`GET /api/v1/alerts`: the Alerts page's list (`db.alerts`), with its filters, keyset-paged
and stable while the detector writes."""

from __future__ import annotations

from typing import Any

from api.calls import Answer, Call, dumps, records
from api.paging import MAX_PAGE, decode_alert_cursor, encode_alert_cursor
from api.problems import ApiProblem
from api.spec import CSV, NDJSON, Param
from db import alerts
from db.csv_export import to_csv

A_FROM = Param("from", "date", "first day of the alerts (YYYY-MM-DD, DISPLAY_TZ); default: any")
A_TO = Param("to", "date", "last day, included (YYYY-MM-DD, DISPLAY_TZ); default: any")
A_RULE = Param(
    "rule", "enum", "only these rules (repeat for several)", repeatable=True, choices=alerts.RULES
)
A_SEVERITY = Param(
    "severity",
    "enum",
    "only these severities (repeat for several)",
    repeatable=True,
    choices=alerts.SEVERITIES,
)
A_STATUS = Param(
    "status",
    "enum",
    "only these statuses (repeat for several); open alerts are `new` and `acknowledged`",
    repeatable=True,
    choices=alerts.STATUSES,
)
A_USER = Param("user", "string", "only these users' alerts (repeat for several)", repeatable=True)
A_LIMIT = Param("limit", "integer", "alerts per page", minimum=1, maximum=MAX_PAGE, default=100)


def alert_filters(call: Call) -> alerts.AlertFilters:
    """The Alerts page's `AlertFilters` for this call; a 400 problem for a bad range."""
    values = call.values
    first, last = values.get("from"), values.get("to")
    if first is not None and last is not None and first > last:
        raise ApiProblem(400, f"bad range: from ({first}) is after to ({last})")
    return alerts.AlertFilters(
        scope=call.scope,
        start=first,
        end=last,
        rules=values.get("rule") or (),
        severities=values.get("severity") or (),
        statuses=values.get("status") or (),
        users=values.get("user") or (),
    )


def alert_list(call: Call) -> Answer:
    """`GET /api/v1/alerts`: `db.alerts.list_alerts`' rows and order, keyset-paged."""
    filters = alert_filters(call)
    cursor = call.values.get("cursor")
    keyset = (
        decode_alert_cursor(cursor, call.scope)
        if cursor
        else alerts.AlertKeyset(alerts.newest_alert_id(call.engine, call.scope))
    )
    limit = call.values.get("limit") or A_LIMIT.default
    frame, following = alerts.alert_keyset_page(call.engine, filters, keyset, limit=limit)
    frame["day"] = [day.isoformat() for day in frame["day"]]
    next_cursor = encode_alert_cursor(following, call.scope) if following else None
    headers = {"Next-Cursor": next_cursor} if next_cursor else {}
    if call.media == CSV:
        body = to_csv(frame).encode("utf-8")
    elif call.media == NDJSON:
        body = b"".join(dumps(row) + b"\n" for row in records(frame))
    else:
        body = dumps({"alerts": records(frame), "next_cursor": next_cursor})
    asked: dict[str, Any] = {
        "from": filters.start.isoformat() if filters.start else None,
        "to": filters.end.isoformat() if filters.end else None,
        "rule": list(filters.rules) or None,
        "severity": list(filters.severities) or None,
        "status": list(filters.statuses) or None,
        "user": list(filters.users) or None,
        "cursor": cursor,
        "limit": limit,
    }
    return Answer(
        body,
        call.media,
        rows=len(frame),
        target="alerts",
        filters={key: value for key, value in asked.items() if value is not None},
        headers=headers,
    )
