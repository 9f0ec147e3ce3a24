"""What each endpoint answers, built from `db.queries` — the functions the pages call —
so the API's numbers are the dashboard's. Every endpoint is one `Endpoint` in `ENDPOINTS`.

`GET /api/v1/alerts` joins here when the alerts table lands: one more `Endpoint` whose
handler reads the alerts (`from`, `to`, `user`, `cursor`, `limit`), action `api_alerts`.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import pandas as pd
from sqlalchemy import Engine

from api import metrics
from api.paging import decode_cursor, encode_cursor
from api.problems import ApiProblem
from api.spec import CSV, JSON, NDJSON, PROMETHEUS, Endpoint, Param, openapi_document
from config.settings import Settings
from db import queries, state
from db.api_tokens import Caller
from db.csv_export import to_csv
from db.locks import AlreadyRunning
from db.queries import SEARCH_COLUMNS, SUMMARY_COLUMNS, Keyset, SearchFilters
from db.readiness import check_readiness

API_VERSION = "1"
MAX_RANGE_DAYS = 3660
"""The longest `from`..`to` a call may ask for: ten years."""
DEFAULT_DAYS = 30
MAX_PAGE = 1000


@dataclass(frozen=True)
class Call:
    values: dict[str, Any]
    media: str
    settings: Settings
    engine_source: Any
    caller: Caller | None = None

    @property
    def engine(self) -> Engine:
        return self.engine_source()

    @property
    def tz(self) -> str:
        return self.values.get("tz") or self.settings.display_tz


@dataclass
class Answer:
    body: bytes
    media: str
    status: int = 200
    rows: int | None = None
    target: str | None = None
    filters: dict[str, Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    detail: str | None = None


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
FILTERS = (P_FROM, P_TO, P_USER, P_SOURCE, P_TYPE, P_TEXT, P_SYSTEM, P_TZ)


def _today(tz: str) -> date:
    return pd.Timestamp.now(tz=tz).date()


def search_filters(
    call: Call, *, start: date | None = None, end: date | None = None
) -> SearchFilters:
    """The dashboard's `SearchFilters` for this call; a 400 problem for a bad range."""
    values = call.values
    last = end or values.get("to") or _today(call.tz)
    first = start or values.get("from") or last - timedelta(days=DEFAULT_DAYS - 1)
    if first > last:
        raise ApiProblem(400, f"bad range: from ({first}) is after to ({last})")
    days = (last - first).days + 1
    if days > MAX_RANGE_DAYS:
        raise ApiProblem(
            400,
            f"range too large: {days:,} days from {first} to {last}; "
            f"ask for at most {MAX_RANGE_DAYS:,}",
        )
    return SearchFilters(
        start=first,
        end=last,
        users=values.get("user") or (),
        sources=values.get("source") or (),
        descriptions=values.get("type") or (),
        text=values.get("q") or "",
        include_system=values.get("system") != "exclude",
    )


def audit_filters(filters: SearchFilters, tz: str, **more: Any) -> dict[str, Any]:
    """What was asked for, as the audit trail stores it (like the pages' query string)."""
    stored: dict[str, Any] = {
        "from": filters.start.isoformat(),
        "to": filters.end.isoformat(),
        "tz": tz,
    }
    for key, value in (
        ("user", filters.users),
        ("source", filters.sources),
        ("type", filters.descriptions),
    ):
        if value:
            stored[key] = list(value)
    if filters.text:
        stored["q"] = filters.text
    if not filters.include_system:
        stored["system"] = "exclude"
    stored.update({k: v for k, v in more.items() if v is not None})
    return stored


# --- rendering ------------------------------------------------------------------------


def _plain(value: Any) -> Any:
    """A cell as JSON: aware times as ISO 8601 with their offset, missing as null."""
    if value is None:
        return None
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    if isinstance(value, float) and pd.isna(value):
        return None
    if value is pd.NA or value is pd.NaT:
        return None
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    return value


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    columns = list(frame.columns)
    return [
        {column: _plain(cell) for column, cell in zip(columns, row, strict=True)}
        for row in frame.itertuples(index=False, name=None)
    ]


def dumps(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


# --- answers cached per data version ---------------------------------------------------


class AnswerCache:
    """The last answers of the aggregate endpoints, keyed on the database's data version
    (`db.queries.data_version`, which changes whenever the ingest stores rows) and the
    filters: what the pages' `st.cache_data` does, so a repeated question after a poll
    costs one cheap read instead of the whole aggregation."""

    def __init__(self, entries: int = 256) -> None:
        self.entries = entries
        self._answers: OrderedDict[tuple[Any, ...], pd.DataFrame] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple[Any, ...], compute: Callable[[], pd.DataFrame]) -> pd.DataFrame:
        with self._lock:
            if key in self._answers:
                self._answers.move_to_end(key)
                return self._answers[key]
        answer = compute()
        with self._lock:
            self._answers[key] = answer
            while len(self._answers) > self.entries:
                self._answers.popitem(last=False)
        return answer


ANSWERS = AnswerCache()


def _cached(
    call: Call, name: str, filters: SearchFilters, compute: Callable[..., pd.DataFrame]
) -> pd.DataFrame:
    engine = call.engine
    key = (name, str(engine.url), queries.data_version(engine), filters, call.tz)
    return ANSWERS.get(key, lambda: compute(engine, filters, call.tz))


# --- handlers ---------------------------------------------------------------------------


def searches_per_day(call: Call) -> Answer:
    filters = search_filters(call)
    per_day = _cached(call, "per_day", filters, queries.searches_per_day)
    frame = pd.DataFrame(
        {"date": [day.isoformat() for day in per_day["date"]], "searches": per_day["searches"]}
    )
    if call.media == CSV:
        body = to_csv(frame).encode("utf-8")
    else:
        body = dumps(
            {
                "from": filters.start.isoformat(),
                "to": filters.end.isoformat(),
                "tz": call.tz,
                "total": int(frame["searches"].sum()),
                "days": records(frame),
            }
        )
    return Answer(body, call.media, rows=len(frame), filters=audit_filters(filters, call.tz))


def users(call: Call) -> Answer:
    filters = search_filters(call)
    summary = _cached(call, "summary", filters, queries.summary_by_user)[list(SUMMARY_COLUMNS)]
    if call.media == CSV:
        body = to_csv(summary).encode("utf-8")
    else:
        body = dumps(
            {
                "from": filters.start.isoformat(),
                "to": filters.end.isoformat(),
                "tz": call.tz,
                "users": records(summary),
            }
        )
    return Answer(body, call.media, rows=len(summary), filters=audit_filters(filters, call.tz))


def _search_listing(call: Call, filters: SearchFilters, target: str) -> Answer:
    cursor = call.values.get("cursor")
    keyset = decode_cursor(cursor) if cursor else Keyset(queries.newest_search_id(call.engine))
    limit = call.values.get("limit") or P_LIMIT.default
    frame, following = queries.search_keyset_page(
        call.engine, filters, call.tz, keyset, limit=limit
    )
    rows = records(frame[list(SEARCH_COLUMNS)])
    next_cursor = encode_cursor(following) if following else None
    headers = {"Next-Cursor": next_cursor} if next_cursor else {}
    if call.media == NDJSON:
        body = b"".join(dumps(row) + b"\n" for row in rows)
    else:
        body = dumps({"searches": rows, "next_cursor": next_cursor})
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
    return _search_listing(call, search_filters(call).for_user(email), email)


def day_searches(call: Call) -> Answer:
    day = call.values["date"]
    return _search_listing(call, search_filters(call, start=day, end=day), day.isoformat())


def reset_cursor(call: Call) -> Answer:
    if call.values.get("confirm") is not True:
        raise ApiProblem(
            400,
            'not confirmed: send {"confirm": true} to reset the cursor (the next ingest run '
            "backfills INITIAL_BACKFILL_DAYS days again)",
        )
    try:
        state.reset_cursor(call.engine)
    except AlreadyRunning as exc:
        raise ApiProblem(409, f"the cursor was not reset: {exc}") from None
    body = dumps({"reset": True, "detail": "the next ingest run backfills again"})
    return Answer(body, JSON, target="cursor", detail="cursor reset (machine API)")


def openapi(call: Call) -> Answer:
    return Answer(dumps(openapi_document(ENDPOINTS, API_VERSION)), JSON)


def healthz(call: Call) -> Answer:
    return Answer(dumps({"status": "ok"}), JSON)


def readyz(call: Call) -> Answer:
    try:
        engine = call.engine
    except ApiProblem as problem:
        return Answer(dumps({"ready": False, "reasons": [problem.detail]}), JSON, status=503)
    readiness = check_readiness(engine, call.settings.poll_seconds)
    return Answer(dumps(readiness.as_json()), JSON, status=200 if readiness.ready else 503)


def prometheus_metrics(call: Call) -> Answer:
    return Answer(metrics.render(call.engine), PROMETHEUS)


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
        "api_searches_per_day",
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
        "api_users",
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
            P_FROM,
            P_TO,
            P_SOURCE,
            P_TYPE,
            P_TEXT,
            P_TZ,
            *PAGED,
        ),
        (JSON, NDJSON),
        "api_user_searches",
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
            P_USER,
            P_SOURCE,
            P_TYPE,
            P_TEXT,
            P_SYSTEM,
            P_TZ,
            *PAGED,
        ),
        (JSON, NDJSON),
        "api_day_searches",
    ),
    Endpoint(
        "POST",
        "/api/v1/admin/reset-cursor",
        "resetCursor",
        "Forget the ingest's cursor so the next run backfills again (admin tokens only)",
        "admin",
        reset_cursor,
        (
            Param(
                "confirm",
                "boolean",
                "must be true: the next ingest run backfills again",
                where="body",
                required=True,
            ),
        ),
        (JSON,),
        "reset_cursor",
        {409: "an ingest cycle is running; try again when it has finished"},
    ),
    Endpoint(
        "GET",
        "/api/v1/openapi.json",
        "openapi",
        "This document",
        "viewer",
        openapi,
        action="api_openapi",
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
