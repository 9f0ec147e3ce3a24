"""The API benchmark's calls, each with the check of its answer: the status it must give
and the shape and size of its body, so no figure is printed for a refusal or an empty
answer (issue 21). The probe finds real users and days of the database, and which of them
have rows, so "rows present" is checked wherever the data has rows."""

from __future__ import annotations

import csv
import io
import json
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import requests
from sqlalchemy import desc, func, select

from bench.synthetic import SCOPE
from db import aggregates
from db.aggregates import SUMMARY_COLUMNS
from db.engine import open_database
from db.filters import SearchFilters
from db.models import SearchLog
from db.raw_reads import SEARCH_COLUMNS
from db.readiness import check_readiness

Draw = Callable[[], tuple[str, dict[str, str], dict[str, str]]]
Check = Callable[[requests.Response, dict[str, str]], str | None]
"""None when the answer is right, else what is wrong with it (one line)."""


@dataclass(frozen=True)
class Probe:
    """What the calls ask for: real users and days of this database, found untimed."""

    last_day: str
    first_day: str
    heaviest: str
    typical: list[str]
    busy_days: list[str]
    invoice_days: list[str]
    ready_status: int


@dataclass(frozen=True)
class Case:
    draw: Draw
    check: Check


def probe(url: str, poll_seconds: int) -> Probe:
    engine = open_database(url)
    try:
        with engine.connect() as conn:
            first, last = conn.execute(
                select(func.min(SearchLog.create_time), func.max(SearchLog.create_time))
            ).one()
            if last is None:
                raise SystemExit(f"benchmark failed: {url} holds no searches")
            since = last - timedelta(days=30)
            top = conn.execute(
                select(SearchLog.email_addr, func.count().label("n"))
                .where(SearchLog.create_time >= since)
                .group_by(SearchLog.email_addr)
                .order_by(desc("n"))
                .limit(40)
            ).all()
            invoices = conn.execute(
                select(SearchLog.create_time)
                .where(SearchLog.create_time >= since, SearchLog.search_text.ilike("%invoice%"))
                .limit(500)
            ).scalars()
            invoice_days = sorted({t.date().isoformat() for t in invoices})
        end = last.date()
        recent = SearchFilters(SCOPE, end - timedelta(days=29), end - timedelta(days=1))
        per_day = aggregates.searches_per_day(engine, recent, "UTC")
        counts = zip(per_day["date"], per_day["searches"], strict=True)
        busy = [day.isoformat() for day, n in counts if n > 0]
        busy = busy or [end.isoformat()]
        ready = check_readiness(engine, SCOPE, poll_seconds).ready
    finally:
        engine.dispose()
    typical = [row[0] for row in top[5:40]] or [top[-1][0]]
    days = [day for day in invoice_days if day != end.isoformat()]
    return Probe(
        end.isoformat(), first.date().isoformat(), top[0][0], typical, busy, days,
        200 if ready else 503,
    )  # fmt: skip


def shift(day: str, days: int) -> str:
    return (date.fromisoformat(day) + timedelta(days=days)).isoformat()


# --- checks -----------------------------------------------------------------------------


def _json(reply: requests.Response) -> tuple[Any, str | None]:
    if reply.status_code != 200:
        return None, f"HTTP {reply.status_code}, expected 200: {reply.text[:200]}"
    try:
        return reply.json(), None
    except ValueError:
        return None, f"not JSON: {reply.text[:120]!r}"


def _days(params: dict[str, str]) -> int:
    return (date.fromisoformat(params["to"]) - date.fromisoformat(params["from"])).days + 1


def per_day_json(reply: requests.Response, params: dict[str, str]) -> str | None:
    body, wrong = _json(reply)
    if wrong:
        return wrong
    days = body.get("days")
    if not isinstance(days, list) or len(days) != _days(params):
        return f"expected {_days(params)} days, got {len(days or [])}"
    if body.get("total") != sum(day["searches"] for day in days) or not body["total"]:
        return f"total {body.get('total')} is not the days' sum, or no searches at all"
    return None


def per_day_csv(reply: requests.Response, params: dict[str, str]) -> str | None:
    if reply.status_code != 200:
        return f"HTTP {reply.status_code}, expected 200: {reply.text[:200]}"
    rows = list(csv.reader(io.StringIO(reply.text)))
    if not rows or rows[0] != ["date", "searches"] or len(rows) != _days(params) + 1:
        return f"expected a header and {_days(params)} day rows, got {len(rows)} rows"
    return None


def users_json(reply: requests.Response, params: dict[str, str]) -> str | None:
    body, wrong = _json(reply)
    if wrong:
        return wrong
    rows = body.get("users")
    if not rows or set(rows[0]) != set(SUMMARY_COLUMNS):
        return f"expected users with {', '.join(SUMMARY_COLUMNS)}, got {str(rows)[:120]}"
    counts = [row["searches"] for row in rows]
    return None if counts == sorted(counts, reverse=True) else "users not most searches first"


def listing(limit: int, *, field: str | None = None, value: str = "", rows: bool = True) -> Check:
    """A keyset page: at most `limit` searches with the list's columns, each matching
    (`field` starts with or contains `value`), some when the data has some, and a cursor
    only after a full page."""

    def check(reply: requests.Response, params: dict[str, str]) -> str | None:
        body, wrong = _json(reply)
        if wrong:
            return wrong
        found = body.get("searches")
        if not isinstance(found, list) or len(found) > limit or (rows and not found):
            return f"expected 1 to {limit} searches, got {str(found)[:120]}"
        if found and set(found[0]) != set(SEARCH_COLUMNS):
            return f"unexpected columns {sorted(found[0])}"
        if field and any(value not in str(row[field]).lower() for row in found):
            return f"a search whose {field} does not match {value!r}"
        if body.get("next_cursor") and len(found) < limit:
            return "a next_cursor after a page that is not full"
        return None

    return check


def ndjson(limit: int) -> Check:
    def check(reply: requests.Response, _params: dict[str, str]) -> str | None:
        if reply.status_code != 200:
            return f"HTTP {reply.status_code}, expected 200: {reply.text[:200]}"
        try:
            rows = [json.loads(line) for line in reply.text.splitlines()]
        except ValueError:
            return "a line that is not JSON"
        if not 0 < len(rows) <= limit or set(rows[0]) != set(SEARCH_COLUMNS):
            return f"expected 1 to {limit} searches with the list's columns, got {len(rows)}"
        return None

    return check


def openapi(reply: requests.Response, _params: dict[str, str]) -> str | None:
    body, wrong = _json(reply)
    if wrong:
        return wrong
    return None if "/api/v1/users" in body.get("paths", {}) else "no /api/v1/users in paths"


def readyz(expected: int) -> Check:
    def check(reply: requests.Response, _params: dict[str, str]) -> str | None:
        if reply.status_code != expected:
            return f"HTTP {reply.status_code}, expected {expected}: {reply.text[:200]}"
        ready = reply.json().get("ready")
        return None if ready is (expected == 200) else f"ready is {ready!r}"

    return check


def metrics(reply: requests.Response, _params: dict[str, str]) -> str | None:
    if reply.status_code != 200 or "searchlogs_api_calls" not in reply.text:
        return f"HTTP {reply.status_code}, expected 200 with searchlogs_api_calls"
    return None


# --- the calls --------------------------------------------------------------------------


def cases(p: Probe, rng: random.Random) -> dict[str, Case]:
    """Endpoint name → how to draw one call and how to check its answer."""
    recent = lambda n: {"from": shift(p.last_day, -n), "to": p.last_day}  # noqa: E731
    whole = {"from": p.first_day, "to": p.last_day}

    def anywhere(n: int) -> dict[str, str]:
        """n + 1 days ending on a random day of the last two years: a new question each
        call, so the answer cache cannot help (what the first call after a poll costs)."""
        end = shift(p.last_day, -rng.randint(0, max(0, min(730, _days(whole) - n - 1))))
        return {"from": shift(end, -n), "to": end}

    per_day, users = "/api/v1/searches-per-day", "/api/v1/users"
    text_days = p.invoice_days or p.busy_days
    return {
        "searches-per-day, 30 days, uncached": Case(
            lambda: (per_day, anywhere(29), {}), per_day_json
        ),
        "searches-per-day, a year, uncached": Case(
            lambda: (per_day, anywhere(364), {}), per_day_json
        ),
        "users, 30 days, uncached": Case(lambda: (users, anywhere(29), {}), users_json),
        "users, a year, uncached": Case(lambda: (users, anywhere(364), {}), users_json),
        "searches-per-day, 30 days": Case(lambda: (per_day, recent(29), {}), per_day_json),
        "searches-per-day, a year": Case(lambda: (per_day, recent(364), {}), per_day_json),
        "searches-per-day, all time, CSV": Case(
            lambda: (per_day, whole, {"Accept": "text/csv"}), per_day_csv
        ),
        "users, 30 days": Case(lambda: (users, recent(29), {}), users_json),
        "users, 30 days, one source": Case(
            lambda: (users, {**recent(29), "source": "archive"}, {}), users_json
        ),
        "users, all time": Case(lambda: (users, whole, {}), users_json),
        "user searches, heaviest, 1,000": Case(
            lambda: (f"{users}/{p.heaviest}/searches", {**recent(29), "limit": "1000"}, {}),
            listing(1000, field="email", value=p.heaviest),
        ),
        "user searches, typical, 100": Case(
            lambda: (
                f"{users}/{rng.choice(p.typical)}/searches",
                whole,
                {"Accept": "application/x-ndjson"},
            ),
            ndjson(100),
        ),
        "day searches, 1,000": Case(
            lambda: (f"/api/v1/days/{rng.choice(p.busy_days)}/searches", {"limit": "1000"}, {}),
            listing(1000),
        ),
        "day searches, text filter": Case(
            lambda: (
                f"/api/v1/days/{rng.choice(text_days)}/searches",
                {"q": "invoice", "limit": "100"},
                {},
            ),
            listing(100, field="search_text", value="invoice", rows=bool(p.invoice_days)),
        ),
        "openapi.json": Case(lambda: ("/api/v1/openapi.json", {}, {}), openapi),
        "readyz": Case(lambda: ("/readyz", {}, {}), readyz(p.ready_status)),
        "metrics": Case(lambda: ("/metrics", {}, {}), metrics),
    }
