"""What each endpoint answers, built from the functions the pages call (`db.aggregates`,
`db.raw_reads`, `db.alerts`), so the API's numbers are the dashboard's. Every endpoint is
one `Endpoint` in `ENDPOINTS`; a call, its answer and its filters are in `api.calls`.
"""

from __future__ import annotations

import logging

import pandas as pd
from sqlalchemy.exc import SQLAlchemyError

from api.alert_listing import (
    A_FROM,
    A_LIMIT,
    A_RULE,
    A_SEVERITY,
    A_STATUS,
    A_TO,
    A_USER,
    alert_list,
)
from api.answer_cache import cached_body
from api.calls import (
    DEFAULT_DAYS,
    Answer,
    Call,
    audit_filters,
    dumps,
    dumps_plain,
    records,
    search_filters,
    search_records,
)
from api.health import healthz, prometheus_metrics, readyz
from api.mailbox_listing import M_ADDR, M_BY, M_LIMIT, M_TOP, mailbox_searches, mailboxes
from api.openapi_document import openapi_document
from api.paging import MAX_PAGE, decode_listing_cursor, encode_cursor
from api.problems import ApiProblem
from api.spec import CSV, JSON, NDJSON, PROMETHEUS, Endpoint, Param
from api.tenancy import P_TENANT
from db import audit, state
from db.aggregates import SUMMARY_COLUMNS
from db.audit import AuditAction
from db.csv_export import to_csv
from db.engine import DatabaseSetupError
from db.filters import SearchFilters
from db.locks import AlreadyRunning
from db.store import SearchStore

API_VERSION = "1"
log = logging.getLogger("api")


# --- parameters -------------------------------------------------------------------------

P_FROM = Param(
    "from", "date", f"first day (YYYY-MM-DD, in `tz`); default {DEFAULT_DAYS - 1} days before `to`"
)
P_TO = Param("to", "date", "last day, included (YYYY-MM-DD, in `tz`); default today")
P_USER = Param("user", "string", "only these users' searches (repeat for several)", repeatable=True)
P_SOURCE = Param("source", "string", "only these sources (repeat for several)", repeatable=True)
P_TYPE = Param("type", "string", "only these search types (repeat for several)", repeatable=True)
P_TEXT = Param("q", "string", "only searches whose text contains this (any case)")
P_SYSTEM = Param(
    "system",
    "enum",
    "`exclude` leaves out searches made by the system itself",
    choices=("include", "exclude"),
    default="include",
)
P_TZ = Param("tz", "timezone", "IANA time zone the days are taken in; default DISPLAY_TZ")
P_CURSOR = Param("cursor", "string", "`next_cursor` of the previous page; none for the first page")
P_LIMIT = Param("limit", "integer", "searches per page", minimum=1, maximum=MAX_PAGE, default=100)
FILTERS = (P_TENANT, P_FROM, P_TO, P_USER, P_SOURCE, P_TYPE, P_TEXT, P_SYSTEM, P_TZ)


# --- handlers ---------------------------------------------------------------------------


def _per_day(store: SearchStore, filters: SearchFilters, tz: str) -> pd.DataFrame:
    return store.searches_per_day(filters, tz)


def _summary(store: SearchStore, filters: SearchFilters, tz: str) -> pd.DataFrame:
    return store.summary_by_user(filters, tz)


def searches_per_day(call: Call) -> Answer:
    filters = search_filters(call)

    def render(per_day: pd.DataFrame) -> tuple[bytes, int]:
        frame = pd.DataFrame(
            {"date": [day.isoformat() for day in per_day["date"]], "searches": per_day["searches"]}
        )
        if call.media == CSV:
            return to_csv(frame).encode("utf-8"), len(frame)
        return dumps(
            {
                "from": filters.start.isoformat(),
                "to": filters.end.isoformat(),
                "tz": call.tz,
                "total": int(frame["searches"].sum()),
                "days": records(frame),
            }
        ), len(frame)

    body, rows = cached_body(call, "per_day", filters, _per_day, render)
    return Answer(body, call.media, rows=rows, filters=audit_filters(filters, call.tz))


def users(call: Call) -> Answer:
    filters = search_filters(call)

    def render(summary: pd.DataFrame) -> tuple[bytes, int]:
        summary = summary[list(SUMMARY_COLUMNS)]
        if call.media == CSV:
            return to_csv(summary).encode("utf-8"), len(summary)
        return dumps(
            {
                "from": filters.start.isoformat(),
                "to": filters.end.isoformat(),
                "tz": call.tz,
                "users": records(summary),
            }
        ), len(summary)

    body, rows = cached_body(call, "summary", filters, _summary, render)
    return Answer(body, call.media, rows=rows, filters=audit_filters(filters, call.tz))


def _search_listing(call: Call, filters: SearchFilters, target: str) -> Answer:
    cursor = call.values.get("cursor")
    keyset = (
        decode_listing_cursor(cursor, call.scope, clickhouse=call.on_clickhouse)
        if cursor
        else call.store.newest_keyset(call.scope)
    )
    limit = call.values.get("limit") or P_LIMIT.default
    found, following = call.store.search_keyset_rows(filters, call.tz, keyset, limit=limit)
    rows = search_records(found, call.tz)
    next_cursor = encode_cursor(following, call.scope) if following else None
    headers = {"Next-Cursor": next_cursor} if next_cursor else {}
    if call.media == NDJSON:
        body = b"".join(dumps_plain(row) + b"\n" for row in rows)
    else:
        body = dumps_plain({"searches": rows, "next_cursor": next_cursor})
    return Answer(
        body,
        call.media,
        rows=len(rows),
        target=target,
        filters=audit_filters(filters, call.tz, cursor=cursor, limit=limit),
        headers=headers,
    )


def user_searches(call: Call) -> Answer:
    email = call.values["email"]
    filters = search_filters(call).for_user(email)
    if call.values.get("cursor"):
        # a 400, whoever is asked for
        decode_listing_cursor(call.values["cursor"], call.scope, clickhouse=call.on_clickhouse)
    if not call.store.known_user(call.scope, email):
        raise ApiProblem(404, f"no such user: no search by {email[:200]!r} is stored")
    return _search_listing(call, filters, email)


def day_searches(call: Call) -> Answer:
    day = call.values["date"]
    return _search_listing(call, search_filters(call, start=day, end=day), day.isoformat())


NOT_RESET = (
    "the cursor was not reset: the database refused the reset or its audit row, so nothing "
    "was changed; try again, and check the database if it persists"
)


def reset_cursor(call: Call) -> Answer:
    """Forget the cursor with the caller's audit row in the same transaction: no row, no
    reset (503)."""
    if call.values.get("confirm") is not True:
        raise ApiProblem(
            400,
            'not confirmed: send {"confirm": true} to reset the cursor (the next ingest run '
            "backfills INITIAL_BACKFILL_DAYS days again)",
        )
    assert call.caller is not None
    detail = "cursor reset (machine API)"
    entry = audit.AuditEntry(
        call.caller.name,
        call.caller.role,
        AuditAction.RESET_CURSOR,
        "cursor",
        detail=detail,
        tenant=call.tenant,
    )
    try:
        state.reset_cursor(call.engine, call.tenant, audited=entry)
    except AlreadyRunning as exc:
        raise ApiProblem(409, f"the cursor was not reset: {exc}") from None
    except (SQLAlchemyError, DatabaseSetupError) as exc:
        log.warning("cursor reset not done, nothing changed: %s", audit.failure_reason(exc))
        raise ApiProblem(503, NOT_RESET) from None
    body = dumps({"reset": True, "detail": "the next ingest run backfills again"})
    return Answer(body, JSON, target="cursor", detail=detail, recorded=True)


def openapi(call: Call) -> Answer:
    return Answer(dumps(openapi_document(ENDPOINTS, API_VERSION)), JSON)


# --- the routes -------------------------------------------------------------------------

PAGED = (P_CURSOR, P_LIMIT)

ENDPOINTS: tuple[Endpoint, ...] = (
    Endpoint(
        "GET",
        "/api/v1/searches-per-day",
        "searchesPerDay",
        "Searches per day (the calendar's numbers), zeros included",
        "viewer",
        searches_per_day,
        FILTERS,
        (JSON, CSV),
        AuditAction.API_SEARCHES_PER_DAY,
    ),
    Endpoint(
        "GET",
        "/api/v1/users",
        "users",
        "One row per user, most searches first (the summary table)",
        "viewer",
        users,
        FILTERS,
        (JSON, CSV),
        AuditAction.API_USERS,
    ),
    Endpoint(
        "GET",
        "/api/v1/users/{email}/searches",
        "userSearches",
        "One user's searches, newest first, keyset-paged",
        "viewer",
        user_searches,
        (
            Param("email", "string", "the user's address", where="path"),
            P_TENANT,
            P_FROM,
            P_TO,
            P_SOURCE,
            P_TYPE,
            P_TEXT,
            P_TZ,
            *PAGED,
        ),
        (JSON, NDJSON),
        AuditAction.API_USER_SEARCHES,
        {
            404: "no search by this user is stored in the tenant (a known user with none in "
            "the range: 200), or no such tenant, or one this token may not read"
        },
    ),
    Endpoint(
        "GET",
        "/api/v1/days/{date}/searches",
        "daySearches",
        "One day's searches, newest first, keyset-paged",
        "viewer",
        day_searches,
        (
            Param("date", "date", "the day (YYYY-MM-DD, in `tz`)", where="path"),
            P_TENANT,
            P_USER,
            P_SOURCE,
            P_TYPE,
            P_TEXT,
            P_SYSTEM,
            P_TZ,
            *PAGED,
        ),
        (JSON, NDJSON),
        AuditAction.API_DAY_SEARCHES,
    ),
    Endpoint(
        "GET",
        "/api/v1/alerts",
        "alerts",
        "Alerts of the detections (the Alerts page's list): newest day first, then high "
        "severity first, keyset-paged",
        "viewer",
        alert_list,
        (P_TENANT, A_FROM, A_TO, A_RULE, A_SEVERITY, A_STATUS, A_USER, P_CURSOR, A_LIMIT),
        (JSON, NDJSON, CSV),
        AuditAction.API_ALERTS,
    ),
    Endpoint(
        "GET",
        "/api/v1/mailboxes",
        "mailboxes",
        "Whose mailbox was searched: the most-searched mailboxes (the Mailboxes page's table)",
        "viewer",
        mailboxes,
        (*FILTERS, M_BY, M_TOP),
        (JSON, CSV),
        AuditAction.API_MAILBOXES,
    ),
    Endpoint(
        "GET",
        "/api/v1/mailboxes/{addr}/searches",
        "mailboxSearches",
        "Every search that targeted one mailbox, newest first, keyset-paged",
        "viewer",
        mailbox_searches,
        (M_ADDR, *FILTERS, P_CURSOR, M_LIMIT),
        (JSON, NDJSON, CSV),
        AuditAction.API_MAILBOX_SEARCHES,
        {404: "no stored search of the tenant targeted this mailbox"},
    ),
    Endpoint(
        "POST",
        "/api/v1/admin/reset-cursor",
        "resetCursor",
        "Forget the ingest's cursor so the next run backfills again (admin tokens only)",
        "admin",
        reset_cursor,
        (
            P_TENANT,
            Param(
                "confirm",
                "boolean",
                "must be true: the next ingest run backfills again",
                where="body",
                required=True,
            ),
        ),
        (JSON,),
        AuditAction.RESET_CURSOR,
        {409: "an ingest cycle is running; try again when it has finished"},
    ),
    Endpoint(
        "GET",
        "/api/v1/openapi.json",
        "openapi",
        "This document",
        "viewer",
        openapi,
        action=AuditAction.API_OPENAPI,
    ),
    Endpoint("GET", "/healthz", "healthz", "The process is alive", "health", healthz),
    Endpoint(
        "GET",
        "/readyz",
        "readyz",
        "200 when the database answers, its schema is current and the last successful poll "
        "is younger than 2 × POLL_SECONDS; else 503 with the reasons",
        "health",
        readyz,
        responses={503: "not ready; `reasons` says why"},
    ),
    Endpoint(
        "GET",
        "/metrics",
        "metrics",
        "Prometheus metrics",
        "health",
        prometheus_metrics,
        formats=(PROMETHEUS,),
    ),
)
