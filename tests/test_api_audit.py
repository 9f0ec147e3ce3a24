"""The machine API's audit trail under refused and odd calls (issue 15, item 5), and the
unknown user's 404 (item 8): over real HTTP against the dashboard's server, on SQLite and
on PostgreSQL.

A revoked token's flood is rate-limited and collapsed into a few rows whose counts add up
to every call; every answer given to a known token is a row.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import requests
from sqlalchemy import bindparam, text

from api.ratelimit import REFUSALS_PER_MINUTE
from api.repeats import WINDOW_SECONDS, Repeats
from dashboard.audit import for_display, trail_csv
from db import audit
from db.engine import open_database
from db.models import UtcDateTime
from tests.support.api_server import ApiServer, api_database, close
from tests.support.backends import ALL_BACKENDS
from tests.support.tenancy import EVERY, TENANT

FLOOD = 300


@pytest.fixture(scope="module", params=ALL_BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    if request.param == "postgresql" and not os.environ.get("TEST_DATABASE_URL"):
        pytest.skip("no PostgreSQL server: set TEST_DATABASE_URL")
    return request.param


@pytest.fixture(scope="module")
def api(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiServer]:
    server = api_database(backend, tmp_path_factory.mktemp(f"audit-{backend}"), "t_api_audit")
    server.token("viewer-a")
    server.token("admin-a", "admin")
    try:
        yield server.start()
    finally:
        close(server)


def problem(reply: requests.Response, status: int, words: str) -> dict:
    assert reply.status_code == status, reply.text
    assert reply.headers["content-type"].startswith("application/problem+json")
    body = reply.json()
    assert body["status"] == status and words in body["detail"], body
    return body


def test_a_revoked_tokens_flood_is_rate_limited_and_its_rows_count_every_call(
    backend: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    server = api_database(backend, tmp_path_factory.mktemp(f"flood-{backend}"), "t_api_flood")
    leaked = server.token("leaked")
    server.revoke("leaked")
    server.start()
    started = time.monotonic()
    try:
        session = requests.Session()
        replies = [
            server.call("GET", "/api/v1/users", leaked, session=session) for _ in range(FLOOD)
        ]
        statuses = [reply.status_code for reply in replies]
        # The bucket starts full and only refills (one call every 2 s, so a slow machine
        # sees a few more 401s among the 429s): the first refusals are all 401s.
        assert statuses[:REFUSALS_PER_MINUTE] == [401] * REFUSALS_PER_MINUTE
        assert set(statuses) == {401, 429}
        reply = [reply for reply in replies if reply.status_code == 429][-1]
        body = problem(reply, 429, "too many refused calls")
        assert int(reply.headers["Retry-After"]) >= 1 and leaked not in reply.text
        during = server.audit_rows("leaked")
        # Two kinds (denied, rate-limited): the first of each per window, written at once,
        # and the repeats of each closed window as one row.
        windows = 2 + int((time.monotonic() - started) // WINDOW_SECONDS)
        assert 1 <= len(during) <= 2 * 2 * windows, during
    finally:
        server.stop()  # the shutdown writes the counts still held
    rows = server.audit_rows("leaked")
    server.engine.dispose()
    assert sum(row["count"] for row in rows) == FLOOD, rows
    assert {row["action"] for row in rows} == {"denied", "api_rate_limited"}
    assert len(rows) <= 2 * 2 * windows, rows
    assert all("revoked" in row["detail"] for row in rows)
    assert body["title"] == "Too many requests"


def test_an_unknown_tokens_refusals_are_limited_by_address_and_write_nothing(
    api: ApiServer,
) -> None:
    before = audit_count(api)
    statuses: list[int] = []
    while 429 not in statuses:  # the bucket refills at one every two seconds
        reply = api.call("GET", "/api/v1/users", f"msl_unknown-{len(statuses)}")
        statuses.append(reply.status_code)
        assert len(statuses) < 10 * REFUSALS_PER_MINUTE, "refused calls were never limited"
    assert statuses[:REFUSALS_PER_MINUTE] == [401] * REFUSALS_PER_MINUTE
    assert audit_count(api) == before
    # A valid token from the same address is not refused.
    assert api.call("GET", "/api/v1/users", api.tokens["viewer-a"]).status_code == 200


def audit_count(api: ApiServer) -> int:
    with api.engine.connect() as conn:
        return int(conn.execute(text("SELECT count(*) FROM audit_events")).scalar_one())


def test_every_answer_to_a_known_token_is_a_row(api: ApiServer) -> None:
    token = api.token("odd-caller")
    problem(api.call("GET", "/api/v1/nothing-here", token), 404, "no endpoint")
    problem(api.call("DELETE", "/api/v1/users", token), 405, "DELETE is not allowed")
    admin = api.token("odd-admin", "admin")
    post = api.call("POST", "/api/v1/admin/reset-cursor", admin, data=b"{not json")
    problem(post, 400, "the body must be a JSON object")
    problem(api.call("GET", "/api/v1/users?from=2026-02-30", token), 400, "bad date")
    rows = api.audit_rows("odd-caller")
    assert [(row["action"], row["target"]) for row in rows] == [
        ("api_bad_request", "GET /api/v1/nothing-here"),
        ("api_bad_request", "DELETE /api/v1/users"),
        ("api_bad_request", "GET /api/v1/users"),
    ]
    assert "no endpoint" in rows[0]["detail"] and "not allowed" in rows[1]["detail"]
    [malformed] = api.audit_rows("odd-admin")
    assert malformed["target"] == "POST /api/v1/admin/reset-cursor"
    assert "JSON object" in malformed["detail"] and malformed["count"] == 1


def test_a_tokens_429s_are_rows_collapsed_like_denials(
    backend: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    server = api_database(backend, tmp_path_factory.mktemp(f"hasty-{backend}"), "t_api_hasty")
    token = server.token("hasty")
    server.start(API_RATE_LIMIT="5")
    started = time.monotonic()
    try:
        session = requests.Session()
        statuses = [
            server.call("GET", "/api/v1/openapi.json", token, session=session).status_code
            for _ in range(60)
        ]
        assert statuses[:5] == [200] * 5 and statuses.count(429) >= 40
        windows = 2 + int((time.monotonic() - started) // WINDOW_SECONDS)
    finally:
        server.stop()
    rows = server.audit_rows("hasty")
    server.engine.dispose()
    answered = [row for row in rows if row["action"] == "api_openapi"]
    limited = [row for row in rows if row["action"] == "api_rate_limited"]
    assert len(answered) == statuses.count(200)
    assert sum(row["count"] for row in limited) == statuses.count(429)
    assert len(limited) <= 2 * windows
    assert "at most 5 calls a minute" in limited[0]["detail"]


def test_an_unknown_user_is_a_404_and_a_known_one_without_searches_an_empty_list(
    api: ApiServer,
) -> None:
    token = api.tokens["viewer-a"]
    reply = api.call("GET", "/api/v1/users/nobody@example.com/searches", token)
    problem(reply, 404, "no such user")
    bob = "/api/v1/users/bob@example.com/searches"
    empty = api.call("GET", f"{bob}?from=2026-03-01&to=2026-03-02", token)
    assert empty.status_code == 200 and empty.json() == {"searches": [], "next_cursor": None}
    found = api.call("GET", f"{bob}?from=2026-03-05&to=2026-03-05", token)
    assert [row["search_text"] for row in found.json()["searches"]] == ["plan"]
    document = api.call("GET", "/api/v1/openapi.json", token).json()
    responses = document["paths"]["/api/v1/users/{email}/searches"]["get"]["responses"]
    assert "404" in responses and "refused calls" in responses["429"]["description"]
    rows = api.audit_rows("viewer-a")
    assert any(
        row["action"] == "api_user_searches" and "no such user" in (row["detail"] or "")
        for row in rows
    )


# --- the collapsing itself, with a fixed clock ---------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_identical_refusals_within_a_window_are_one_row_with_their_count(tmp_path) -> None:
    engine = open_database(f"sqlite:///{tmp_path / 'trail.db'}")
    clock = Clock()
    repeats = Repeats(lambda entry: audit.record(engine, entry), window=60, clock=clock)
    denied = audit.AuditEntry(
        "leaked", "viewer", "denied", "GET /x", detail="revoked", tenant=TENANT
    )
    other = audit.AuditEntry(
        "leaked", "viewer", "denied", "GET /y", detail="revoked", tenant=TENANT
    )
    for _ in range(50):
        repeats.note(denied)
    repeats.note(other)
    assert rows(engine) == [("GET /x", 1), ("GET /y", 1)]  # the first of each, at once
    clock.now += 59
    repeats.note(denied)
    assert repeats.flush_due() == 0 and repeats.pending() == 50
    clock.now += 1  # the window of GET /x closes: its 50 repeats become one row
    assert repeats.flush_due() == 1
    assert rows(engine) == [("GET /x", 1), ("GET /y", 1), ("GET /x", 50)]
    repeats.note(denied)  # a new window opens with a row of its own
    repeats.note(denied)
    assert repeats.flush_all() == 1
    assert rows(engine)[3:] == [("GET /x", 1), ("GET /x", 1)]
    assert sum(count for _, count in rows(engine)) == 50 + 1 + 1 + 2


def test_a_failing_write_loses_no_count(tmp_path) -> None:
    engine = open_database(f"sqlite:///{tmp_path / 'trail.db'}")
    clock, failing = Clock(), [True]

    def write(entry: audit.AuditEntry) -> None:
        if failing[0]:
            raise RuntimeError("the database is away")
        audit.record(engine, entry)

    repeats = Repeats(write, window=60, clock=clock)
    denied = audit.AuditEntry("leaked", None, "denied", "GET /x", detail="revoked", tenant=TENANT)
    with pytest.raises(RuntimeError):
        repeats.note(denied)
    failing[0] = False
    repeats.note(denied)
    for _ in range(3):
        repeats.note(denied)
    clock.now += 60
    failing[0] = True
    with pytest.raises(RuntimeError):
        repeats.flush_due()
    failing[0] = False
    assert repeats.flush_due() == 1
    assert rows(engine) == [("GET /x", 1), ("GET /x", 3)]


def rows(engine) -> list[tuple[str, int]]:
    with engine.connect() as conn:
        return [
            tuple(row)
            for row in conn.execute(text("SELECT target, count FROM audit_events ORDER BY id"))
        ]


def test_the_audit_page_and_csv_show_the_count_and_old_rows_count_one(api: ApiServer) -> None:
    at = datetime(2026, 3, 2, 12, tzinfo=UTC)
    with api.engine.begin() as conn:  # a row as written before migration 0010
        old = text("INSERT INTO audit_events (at, actor, action) VALUES (:at, 'old@x', 'denied')")
        conn.execute(old.bindparams(bindparam("at", at, type_=UtcDateTime())))
    audit.record(
        api.engine,
        audit.AuditEntry("flood@x", "viewer", "denied", detail="revoked", count=7, tenant=TENANT),
        at,
    )
    wanted = audit.TrailFilter(actors=("old@x", "flood@x"), start=at, end=at + timedelta(1))
    body, written = trail_csv(api.engine, EVERY, wanted, "UTC")
    assert written == 2
    assert body.decode().splitlines() == [
        # the all-tenants trail names each event's tenant (none: the installation's own)
        '"tenant","at","actor","role","action","target","filters","rows","detail","count"',
        f'"{TENANT}","2026-03-02T12:00:00+00:00","flood@x","viewer","denied","","","","revoked","7"',
        '"","2026-03-02T12:00:00+00:00","old@x","","denied","","","","","1"',
    ]
    shown = for_display(audit.read_trail(api.engine, EVERY, wanted, limit=10), "UTC")
    assert list(shown["count"]) == ["7", "1"]
