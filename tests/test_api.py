"""The machine API over real HTTP, against `streamlit run streamlit_app.py` (one process
serving the pages and the API), on SQLite and on PostgreSQL.

The data comes in through the real ingest from the simulator, plus a few known hostile
rows; the API's answers are compared with the dashboard's data functions (`db.queries`)
over random filters.
"""

from __future__ import annotations

import json
import os
import random
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import Engine, func, select, update
from starlette.requests import Request

from api import routes
from api.context import ApiContext
from api.problems import ApiProblem
from config.settings import load_settings
from db import queries
from db.engine import open_database
from db.models import Alert, ApiToken, AuditEvent, IngestRun, SearchLog
from db.queries import SEARCH_COLUMNS, SearchFilters
from db.readiness import schema_head
from ingest.simulator import SimConfig, Simulator
from tests.support.backends import ALL_BACKENDS, file_database_url, fresh_postgres_database
from tests.support.browser import serve_dashboard, stop_dashboard
from tests.support.builders import record, store_records
from tests.support.harness import fixed_clock, make_settings, run_cli, run_ingest_once
from tests.support.tenancy import SCOPE, TENANT

TZ = "Europe/Berlin"
METRICS_TOKEN = "metrics-secret-for-tests"
# The simulator and the ingest run at a fixed Wednesday afternoon, and the random filters draw
# their dates back from it: what they select no longer depends on when the tests run (over
# real time the searches compared went from 1,537 on a Monday at 01:00 UTC to 1,905 on a
# Saturday at 05:00; 1,642 at this anchor).
ANCHOR = datetime(2026, 11, 11, 15, 0, tzinfo=UTC)
HOSTILE = [
    record("2026-03-02T09:00:00", "eve@example.com", source="=cmd|' /C calc'!A0", searchText="+1"),
    record("2026-03-02T10:00:00", "eve@example.com", source="archive", searchText="@SUM(1)"),
]


@dataclass
class Served:
    base: str
    db_url: str
    engine: Engine
    env: dict[str, str]
    metrics_token: str | None
    viewer: str
    admin: str
    log: Path

    def get(self, path: str, token: str | None = None, **kwargs) -> requests.Response:
        headers = kwargs.pop("headers", {})
        if token:
            headers["Authorization"] = f"Bearer {token}"
        return requests.get(self.base + path, headers=headers, timeout=60, **kwargs)

    def health(self, path: str) -> requests.Response:
        return self.get(path, self.metrics_token)


def create_token(env: dict[str, str], name: str, role: str, *extra: str) -> str:
    done = run_cli(["token", "create", "--name", name, "--role", role, *extra], env, Path.cwd())
    assert done.returncode == 0, done.stderr
    return done.stdout.strip().splitlines()[-1]


@pytest.fixture(scope="module", params=ALL_BACKENDS)
def served(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Served]:
    """A database filled by the real ingest, and the dashboard's server over it: SQLite with
    the health endpoints open on loopback, PostgreSQL with METRICS_TOKEN set."""
    folder = tmp_path_factory.mktemp(f"api-{request.param}")
    db_path = folder / "data" / "searchlogs.db"
    env = {"DB_PATH": str(db_path), "DISPLAY_TZ": TZ, "API_RATE_LIMIT": "240"}
    token = None
    if request.param == "postgresql":
        server = os.environ.get("TEST_DATABASE_URL")
        if not server:
            pytest.skip("no PostgreSQL server: set TEST_DATABASE_URL")
        env["DATABASE_URL"] = fresh_postgres_database(server, "t_api_http")
        env["METRICS_TOKEN"] = token = METRICS_TOKEN
    elif request.param == "libsql":
        env["DATABASE_URL"] = file_database_url("libsql", db_path)
    config = SimConfig(
        seed=11, days=10, events_per_day=150, late_fraction=0.0, clock=fixed_clock(ANCHOR)
    )
    with Simulator(config) as sim:
        settings = make_settings(
            sim.base_url, db_path, **{k: v for k, v in env.items() if k != "DB_PATH"}
        )
        run_ingest_once(settings, clock=fixed_clock(ANCHOR))
    db_url = settings.effective_database_url
    engine = open_database(db_url)
    store_records(engine, HOSTILE)
    viewer = create_token(env, "viewer-1", "viewer")
    admin = create_token(env, "admin-1", "admin")
    base, process = serve_dashboard(env, folder / "server.log")
    try:
        yield Served(base, db_url, engine, env, token, viewer, admin, folder / "server.log")
    finally:
        stop_dashboard(process)
        engine.dispose()


def audit_rows(engine: Engine, actor: str) -> list[AuditEvent]:
    with engine.connect() as conn:
        return list(
            conn.execute(
                select(AuditEvent).where(AuditEvent.actor == actor).order_by(AuditEvent.id)
            )
        )


def assert_problem(reply: requests.Response, status: int, words: str) -> dict:
    assert reply.status_code == status, reply.text
    assert reply.headers["content-type"].startswith("application/problem+json")
    body = reply.json()
    assert body["status"] == status and words in body["detail"], body
    assert "Traceback" not in reply.text and "\n" not in body["detail"]
    return body


# --- access -----------------------------------------------------------------------------

API_PATHS = [
    "/api/v1/searches-per-day",
    "/api/v1/users",
    "/api/v1/users/eve@example.com/searches",
    "/api/v1/days/2026-03-02/searches",
    "/api/v1/openapi.json",
]


def test_every_api_call_needs_a_bearer_token_also_on_loopback(served: Served) -> None:
    for path in API_PATHS:
        assert_problem(served.get(path), 401, "no bearer token")
        assert_problem(served.get(path, "msl_not-a-real-token"), 401, "not known")
        assert served.get(path, served.viewer).status_code == 200


def test_a_viewer_token_never_reaches_an_admin_endpoint_and_the_refusal_is_audited(
    served: Served,
) -> None:
    reply = requests.post(
        served.base + "/api/v1/admin/reset-cursor",
        json={"confirm": True},
        headers={"Authorization": f"Bearer {served.viewer}"},
        timeout=30,
    )
    assert_problem(reply, 403, "needs an admin token")
    denied = [row for row in audit_rows(served.engine, "viewer-1") if row.action == "denied"]
    assert denied and "resetCursor needs an admin token" in denied[-1].detail


def test_an_admin_resets_the_cursor_only_with_the_confirmation_field(served: Served) -> None:
    post = lambda body: requests.post(  # noqa: E731
        served.base + "/api/v1/admin/reset-cursor",
        json=body,
        headers={"Authorization": f"Bearer {served.admin}"},
        timeout=30,
    )
    assert_problem(post({}), 400, "missing field 'confirm'")
    assert_problem(post({"confirm": False}), 400, "not confirmed")
    assert_problem(post({"confirm": True, "force": 1}), 400, "unknown field 'force'")
    reply = post({"confirm": True})
    assert reply.status_code == 200 and reply.json()["reset"] is True
    from ingest.store import Store

    assert Store(served.engine, TENANT).cursor() is None
    resets = [row for row in audit_rows(served.engine, "admin-1") if row.action == "reset_cursor"]
    assert [row.detail for row in resets] == ["cursor reset (machine API)"]
    assert resets[0].role == "admin"


def test_token_create_prints_it_once_list_never_shows_it_and_revoke_takes_effect_at_once(
    served: Served,
) -> None:
    token = create_token(served.env, "short-lived", "viewer", "--expires", "2")
    listed = run_cli(["token", "list"], served.env, Path.cwd())
    assert listed.returncode == 0 and "short-lived" in listed.stdout
    assert token not in listed.stdout and served.viewer not in listed.stdout
    with served.engine.connect() as conn:
        stored = conn.execute(
            select(ApiToken.token_hash).where(ApiToken.name == "short-lived")
        ).scalar()
    assert stored and token not in stored
    assert served.get("/api/v1/users", token).status_code == 200
    again = run_cli(
        ["token", "create", "--name", "short-lived", "--role", "viewer"], served.env, Path.cwd()
    )
    assert again.returncode == 2 and "already exists" in again.stderr and "msl_" not in again.stdout
    revoked = run_cli(["token", "revoke", "short-lived"], served.env, Path.cwd())
    assert revoked.returncode == 0, revoked.stderr
    assert_problem(served.get("/api/v1/users", token), 401, "revoked")
    assert audit_rows(served.engine, "short-lived")[-1].detail == "the token was revoked"


def test_an_expired_token_gets_401(served: Served) -> None:
    token = create_token(served.env, "expiring", "viewer", "--expires", "1")
    assert served.get("/api/v1/users", token).status_code == 200
    with served.engine.begin() as conn:
        conn.execute(
            update(ApiToken)
            .where(ApiToken.name == "expiring")
            .values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
        )
    assert_problem(served.get("/api/v1/users", token), 401, "expired")


def test_every_call_is_an_audit_event_with_the_token_name_filters_and_rows(served: Served) -> None:
    token = create_token(served.env, "auditor", "viewer")
    reply = served.get(
        "/api/v1/users",
        token,
        params={"from": "2026-03-01", "to": "2026-03-03", "user": "eve@example.com"},
    )
    assert reply.status_code == 200
    served.get("/api/v1/days/2026-03-02/searches", token, params={"limit": "1"})
    served.get("/api/v1/users", token, params={"from": "yesterday"})
    rows = audit_rows(served.engine, "auditor")
    assert [row.action for row in rows] == ["api_users", "api_day_searches", "api_bad_request"]
    assert json.loads(rows[0].filters) == {
        "from": "2026-03-01",
        "to": "2026-03-03",
        "tz": TZ,
        "user": ["eve@example.com"],
    }
    assert rows[0].rows == 1 and rows[0].role == "viewer"
    assert rows[1].target == "2026-03-02" and rows[1].rows == 1
    assert "bad date" in rows[2].detail


def test_a_token_over_its_rate_limit_gets_429_with_retry_after(served: Served) -> None:
    token = create_token(served.env, "hasty", "viewer")
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {token}"
    started = time.monotonic()
    allowed = 0
    while (
        reply := session.get(served.base + "/api/v1/openapi.json", timeout=30)
    ).status_code == 200:
        allowed += 1
        assert allowed < 2000, "the rate limit never refused a call"
    elapsed = time.monotonic() - started
    # A burst of 240, refilled at 4 a second while the calls were made.
    assert 240 <= allowed <= 240 + 4 * elapsed + 1
    assert int(reply.headers["Retry-After"]) >= 1
    assert_problem(reply, 429, "rate limit reached")
    # Another token has its own bucket.
    assert served.get("/api/v1/openapi.json", served.viewer).status_code == 200


# --- errors -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "params", "status", "words"),
    [
        ("/api/v1/users", {"from": "2026-02-30"}, 400, "bad date: from must be a date"),
        ("/api/v1/users", {"colour": "red"}, 400, "unknown parameter 'colour'"),
        ("/api/v1/users", {"from": "2000-01-01", "to": "2026-01-01"}, 400, "range too large"),
        ("/api/v1/users", {"from": "2026-03-05", "to": "2026-03-01"}, 400, "is after to"),
        ("/api/v1/users", {"tz": "Mars/Olympus"}, 400, "unknown time zone"),
        ("/api/v1/users", {"system": "maybe"}, 400, "must be one of include, exclude"),
        ("/api/v1/users/a@x.com/searches", {"limit": "1001"}, 400, "page size too large"),
        ("/api/v1/users/a@x.com/searches", {"cursor": "garbage!"}, 400, "bad cursor"),
        ("/api/v1/days/2026-3-2/searches", {}, 400, "bad date"),
        ("/api/v1/nothing-here", {}, 404, "no endpoint"),
    ],
)
def test_errors_are_problem_details_with_one_clear_sentence(
    served: Served, path: str, params: dict[str, str], status: int, words: str
) -> None:
    assert_problem(served.get(path, served.viewer, params=params), status, words)


def test_a_wrong_method_or_an_unacceptable_format_is_a_problem_too(served: Served) -> None:
    reply = requests.delete(
        served.base + "/api/v1/users",
        headers={"Authorization": f"Bearer {served.viewer}"},
        timeout=30,
    )
    assert_problem(reply, 405, "DELETE is not allowed here")
    assert reply.headers["allow"] == "GET"
    reply = served.get("/api/v1/users", served.viewer, headers={"Accept": "application/xml"})
    assert_problem(reply, 406, "this endpoint answers application/json, text/csv")


# --- answers ----------------------------------------------------------------------------


def random_filters(rng: random.Random, engine: Engine) -> dict[str, object]:
    with engine.connect() as conn:
        emails = sorted(conn.execute(select(SearchLog.email_addr).distinct()).scalars())
        sources = sorted(
            v for v in conn.execute(select(SearchLog.source).distinct()).scalars() if v
        )
        types = sorted(
            v for v in conn.execute(select(SearchLog.description).distinct()).scalars() if v
        )
    start = ANCHOR.date() - timedelta(days=rng.randint(0, 12))
    params: dict[str, object] = {
        "from": start.isoformat(),
        "to": (start + timedelta(days=rng.randint(0, 6))).isoformat(),
    }
    if rng.random() < 0.4:
        params["user"] = rng.sample(emails, k=min(len(emails), rng.randint(1, 3)))
    if rng.random() < 0.3 and sources:
        params["source"] = rng.sample(sources, k=1)
    if rng.random() < 0.3 and types:
        params["type"] = rng.sample(types, k=min(2, len(types)))
    if rng.random() < 0.2:
        params["q"] = rng.choice(["a", "in", "e", "zz"])
    if rng.random() < 0.3:
        params["system"] = "exclude"
    if rng.random() < 0.5:
        params["tz"] = rng.choice(["UTC", "Asia/Kolkata", "America/New_York", TZ])
    return params


def as_filters(params: dict[str, object]) -> tuple[SearchFilters, str]:
    return (
        SearchFilters(
            SCOPE,
            start=date.fromisoformat(str(params["from"])),
            end=date.fromisoformat(str(params["to"])),
            users=tuple(params.get("user", ())),  # type: ignore[arg-type]
            sources=tuple(params.get("source", ())),  # type: ignore[arg-type]
            descriptions=tuple(params.get("type", ())),  # type: ignore[arg-type]
            text=str(params.get("q", "")),
            include_system=params.get("system") != "exclude",
        ),
        str(params.get("tz", TZ)),
    )


def expected_rows(frame: pd.DataFrame) -> list[dict[str, object]]:
    from api.endpoints import records

    return records(frame)


def test_the_apis_numbers_equal_the_dashboards_data_functions_over_random_filters(
    served: Served,
) -> None:
    token = create_token(served.env, "property", "viewer")
    rng = random.Random(20261201)
    compared = 0
    for _ in range(12):
        params = random_filters(rng, served.engine)
        filters, tz = as_filters(params)
        per_day = served.get("/api/v1/searches-per-day", token, params=params).json()
        compared += per_day["total"]
        expected = queries.searches_per_day(served.engine, filters, tz)
        assert [(d["date"], d["searches"]) for d in per_day["days"]] == [
            (day.isoformat(), int(n))
            for day, n in zip(expected["date"], expected["searches"], strict=True)
        ], params
        users = served.get("/api/v1/users", token, params=params).json()["users"]
        assert users == expected_rows(queries.summary_by_user(served.engine, filters, tz)), params
        day = filters.start.isoformat()
        listed = all_pages(
            served,
            f"/api/v1/days/{day}/searches",
            token,
            {**params, "limit": "37"},
            skip=("from", "to"),
        )
        wanted = pd.concat(
            list(
                queries.iter_searches(
                    served.engine, filters.for_days(filters.start, filters.start), tz
                )
            )
            or [pd.DataFrame(columns=list(SEARCH_COLUMNS))]
        )
        assert listed == expected_rows(wanted), params
        if filters.users:
            email = filters.users[0]
            listed = all_pages(
                served,
                f"/api/v1/users/{email}/searches",
                token,
                {**params, "limit": "13"},
                skip=("user", "system"),
            )
            mine = replace(filters, include_system=True).for_user(email)
            wanted = pd.concat(
                list(queries.iter_searches(served.engine, mine, tz))
                or [pd.DataFrame(columns=list(SEARCH_COLUMNS))]
            )
            assert listed == expected_rows(wanted), params
    assert compared > 500, "the random filters must select real data, not only empty days"


def all_pages(
    served: Served, path: str, token: str, params: dict, skip: tuple[str, ...]
) -> list[dict]:
    params = {k: v for k, v in params.items() if k not in skip}
    rows: list[dict] = []
    while True:
        reply = served.get(path, token, params=params)
        assert reply.status_code == 200, reply.text
        body = reply.json()
        rows += body["searches"]
        if not body["next_cursor"]:
            return rows
        params = {**params, "cursor": body["next_cursor"]}


def test_keyset_pages_neither_repeat_nor_skip_while_the_ingest_writes(served: Served) -> None:
    day = "2026-03-02"
    first = served.get(f"/api/v1/days/{day}/searches", served.viewer, params={"limit": "1"}).json()
    assert len(first["searches"]) == 1 and first["next_cursor"]
    # A late search (older than the first page's) and a newer one arrive meanwhile.
    store_records(
        served.engine,
        [
            record("2026-03-02T09:30:00", "late@example.com", source="archive"),
            record("2026-03-02T20:00:00", "new@example.com", source="archive"),
        ],
    )
    rest = served.get(
        f"/api/v1/days/{day}/searches",
        served.viewer,
        params={"limit": "1", "cursor": first["next_cursor"]},
    ).json()
    listed = first["searches"] + rest["searches"]
    assert rest["next_cursor"] is None
    assert [row["email"] for row in listed] == ["eve@example.com", "eve@example.com"]
    assert listed[0]["time"] > listed[1]["time"]


def test_ndjson_and_csv_by_accept_with_formula_cells_neutralised(served: Served) -> None:
    reply = served.get(
        "/api/v1/users/eve@example.com/searches",
        served.viewer,
        params={"from": "2026-03-02", "to": "2026-03-02", "tz": "UTC"},
        headers={"Accept": "application/x-ndjson"},
    )
    assert reply.headers["content-type"].startswith("application/x-ndjson")
    lines = [json.loads(line) for line in reply.text.splitlines()]
    assert [line["search_text"] for line in lines] == ["@SUM(1)", "+1"]
    reply = served.get(
        "/api/v1/users",
        served.viewer,
        params={"from": "2026-03-02", "to": "2026-03-02", "tz": "UTC", "user": "eve@example.com"},
        headers={"Accept": "text/csv"},
    )
    assert reply.headers["content-type"].startswith("text/csv")
    assert reply.text == (
        '"email","searches","active_days","first_search","last_search","top_description",'
        '"reason_share"\r\n'
        '"eve@example.com","2","1","2026-03-02T09:00:00+00:00","2026-03-02T10:00:00+00:00",'
        '"","0.0"\r\n'
    )
    reply = served.get(
        "/api/v1/searches-per-day",
        served.viewer,
        params={
            "from": "2026-03-01",
            "to": "2026-03-03",
            "tz": "UTC",
            "source": "=cmd|' /C calc'!A0",
        },
        headers={"Accept": "text/csv"},
    )
    assert reply.text == (
        '"date","searches"\r\n"2026-03-01","0"\r\n"2026-03-02","1"\r\n"2026-03-03","0"\r\n'
    )


def test_openapi_is_generated_from_the_route_definitions(served: Served) -> None:
    from api.endpoints import ENDPOINTS

    document = served.get("/api/v1/openapi.json", served.viewer).json()
    assert document["openapi"].startswith("3.1")
    assert set(document["paths"]) == {endpoint.path for endpoint in ENDPOINTS}
    limit = next(
        p
        for p in document["paths"]["/api/v1/days/{date}/searches"]["get"]["parameters"]
        if p["name"] == "limit"
    )
    assert limit["schema"]["maximum"] == 1000
    reset = document["paths"]["/api/v1/admin/reset-cursor"]["post"]
    assert reset["requestBody"]["content"]["application/json"]["schema"]["required"] == ["confirm"]


# --- health, readiness, metrics ------------------------------------------------------------


def test_healthz_and_readyz_answer_and_a_stale_poll_makes_readyz_503(served: Served) -> None:
    assert served.health("/healthz").json() == {"status": "ok"}
    ready = served.health("/readyz")
    assert ready.status_code == 200 and ready.json()["ready"] is True, ready.text
    check = run_cli(["status", "--check"], served.env, Path.cwd())
    assert check.returncode == 0, check.stderr
    with served.engine.begin() as conn:
        newest = conn.execute(select(func.max(IngestRun.id))).scalar()
        finished = conn.execute(
            select(IngestRun.finished_at).where(IngestRun.id == newest)
        ).scalar()
        stale = datetime.now(UTC) - timedelta(hours=3)
        conn.execute(
            update(IngestRun).values(finished_at=stale).where(IngestRun.finished_at > stale)
        )
    try:
        ready = served.health("/readyz")
        assert ready.status_code == 503
        assert "more than 2 × POLL_SECONDS (7200 s)" in ready.json()["reasons"][0]
        check = run_cli(["status", "--check"], served.env, Path.cwd())
        assert check.returncode == 1 and "more than 2 × POLL_SECONDS" in check.stderr
    finally:
        with served.engine.begin() as conn:
            conn.execute(
                update(IngestRun).values(finished_at=finished).where(IngestRun.id == newest)
            )


def test_health_endpoints_are_open_on_loopback_unless_metrics_token_is_set(
    served: Served,
) -> None:
    for path in ("/healthz", "/readyz", "/metrics"):
        if served.metrics_token is None:  # the SQLite server
            assert served.get(path).status_code == 200
            continue
        assert_problem(served.get(path), 401, "METRICS_TOKEN")
        assert_problem(served.get(path, "wrong"), 401, "METRICS_TOKEN")
        assert served.health(path).status_code == 200


def test_health_endpoints_refuse_other_hosts_while_metrics_token_is_unset() -> None:
    context = ApiContext()
    context._settings = load_settings({})
    request = Request({"type": "http", "client": ("10.1.2.3", 4000), "headers": []})
    with pytest.raises(ApiProblem, match="only on loopback"):
        routes.guard_health(context, request)
    routes.guard_health(context, Request({"type": "http", "client": ("::1", 4000), "headers": []}))


def test_metrics_parse_and_count_what_is_stored(served: Served) -> None:
    reply = served.health("/metrics")
    families = {family.name: family for family in text_string_to_metric_families(reply.text)}
    value = lambda name: families[name].samples[0].value  # noqa: E731
    with served.engine.connect() as conn:
        stored = conn.execute(select(func.count()).select_from(SearchLog)).scalar()
        requests_made = conn.execute(select(func.sum(IngestRun.api_requests))).scalar()
    assert value("searchlogs_searches_stored") == stored
    assert value("searchlogs_mimecast_api_requests") == requests_made
    assert value("searchlogs_poll_failures") == 0
    assert value("searchlogs_rejected_records") == 0
    assert 0 <= value("searchlogs_last_successful_poll_age_seconds") < 3600
    assert "searchlogs_api_calls" in families and "searchlogs_api_rate_limited" in families


def test_status_check_fails_on_a_database_that_does_not_exist(tmp_path: Path) -> None:
    done = run_cli(["status", "--check"], {"DB_PATH": str(tmp_path / "none.db")}, tmp_path)
    assert done.returncode == 1 and "does not exist yet" in done.stderr
    assert not (tmp_path / "none.db").exists()


def test_no_token_is_ever_written_to_the_servers_log(served: Served) -> None:
    served.get("/api/v1/users", served.viewer)
    served.get("/api/v1/users", served.viewer + "x")
    log = served.log.read_text()
    assert served.viewer not in log and served.admin not in log and METRICS_TOKEN not in log


def test_a_repeated_question_sees_rows_the_ingest_stored_in_between(served: Served) -> None:
    params = {"from": "2026-03-09", "to": "2026-03-09", "tz": "UTC"}
    before = served.get("/api/v1/searches-per-day", served.viewer, params=params).json()
    store_records(served.engine, [record("2026-03-09T12:00:00", "new@example.com")])
    after = served.get("/api/v1/searches-per-day", served.viewer, params=params).json()
    assert (before["total"], after["total"]) == (0, 1)
    users = served.get("/api/v1/users", served.viewer, params=params).json()["users"]
    assert [user["email"] for user in users] == ["new@example.com"]


def test_status_check_fails_when_the_schema_is_behind_the_code(tmp_path: Path) -> None:
    db_path = tmp_path / "searchlogs.db"
    engine = open_database(f"sqlite:///{db_path}")
    with engine.begin() as conn:
        conn.exec_driver_sql("UPDATE alembic_version SET version_num = '0001'")
    engine.dispose()
    done = run_cli(["status", "--check"], {"DB_PATH": str(db_path)}, tmp_path)
    assert done.returncode == 1
    assert f"schema is at revision 0001, not at {schema_head()}" in done.stderr


# --- alerts (issue 9's detections) --------------------------------------------------------

LONG_ADDRESS = "l" * 5987 + "@corp.example"  # a 6,000-character address, as issue 8 stores
ALERT_USERS = ["ann@example.com", "=cmd|' /C calc'!A0@example.com", LONG_ADDRESS, "bob@x.example"]


def plant_alerts(engine: Engine) -> int:
    """Alerts over a few users, rules, severities and days, some triaged; idempotent."""
    from db.alerts import RULES, SEVERITIES, NewAlert, evidence_url, insert_alerts, triage

    rng = random.Random(9)
    planted = []
    for index in range(70):
        day = date(2026, 2, 20) + timedelta(days=rng.randint(0, 12))
        email = rng.choice(ALERT_USERS)
        start = datetime(day.year, day.month, day.day, tzinfo=UTC)
        planted.append(
            NewAlert(
                rule=rng.choice(RULES),
                email_addr=email,
                day=day,
                window_start=start + timedelta(hours=rng.randint(0, 10)),
                window_end=start + timedelta(hours=rng.randint(11, 23)),
                severity=rng.choice(SEVERITIES),
                summary=f"@SUM({index}) searches against a usual 2",
                figures="{}",
                evidence_url=evidence_url(email, day, day),
                tenant=TENANT,
            )
        )
    with engine.begin() as conn:
        insert_alerts(conn, planted)
    with engine.connect() as conn:
        ids = sorted(conn.execute(select(func.min(Alert.id))).scalars())
    triage(engine, SCOPE, range(ids[0], ids[0] + 9), "dismissed", "lead@example.com", "known job")
    triage(engine, SCOPE, range(ids[0] + 9, ids[0] + 15), "acknowledged", "lead@example.com")
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(Alert)).scalar_one())


def random_alert_filters(rng: random.Random) -> dict[str, object]:
    from db.alerts import RULES, SEVERITIES, STATUSES

    params: dict[str, object] = {"limit": str(rng.choice([1, 4, 9, 25, 1000]))}
    if rng.random() < 0.5:
        first = date(2026, 2, 20) + timedelta(days=rng.randint(0, 10))
        params["from"] = first.isoformat()
        if rng.random() < 0.7:
            params["to"] = (first + timedelta(days=rng.randint(0, 5))).isoformat()
    for name, choices in (("rule", RULES), ("severity", SEVERITIES), ("status", STATUSES)):
        if rng.random() < 0.35:
            params[name] = rng.sample(choices, k=rng.randint(1, 2))
    if rng.random() < 0.35:
        params["user"] = rng.sample(ALERT_USERS, k=rng.randint(1, 2))
    return params


def as_alert_filters(params: dict[str, object]):
    from db.alerts import AlertFilters

    def day(name: str) -> date | None:
        return date.fromisoformat(str(params[name])) if name in params else None

    return AlertFilters(
        SCOPE,
        start=day("from"),
        end=day("to"),
        rules=tuple(params.get("rule", ())),  # type: ignore[arg-type]
        severities=tuple(params.get("severity", ())),  # type: ignore[arg-type]
        statuses=tuple(params.get("status", ())),  # type: ignore[arg-type]
        users=tuple(params.get("user", ())),  # type: ignore[arg-type]
    )


def expected_alerts(frame: pd.DataFrame) -> list[dict[str, object]]:
    from api.endpoints import records

    frame = frame.copy()
    frame["day"] = [day.isoformat() for day in frame["day"]]
    return records(frame)


def alert_pages(served: Served, token: str, params: dict[str, object]) -> tuple[list[dict], int]:
    rows: list[dict] = []
    pages = 0
    while True:
        reply = served.get("/api/v1/alerts", token, params=params)
        assert reply.status_code == 200, reply.text
        body = reply.json()
        rows += body["alerts"]
        pages += 1
        if not body["next_cursor"]:
            return rows, pages
        assert reply.headers["Next-Cursor"] == body["next_cursor"]
        params = {**params, "cursor": body["next_cursor"]}


def test_alerts_endpoint_equals_the_alerts_pages_list_over_random_filters_and_pages(
    served: Served,
) -> None:
    from db.alerts import list_alerts

    total = plant_alerts(served.engine)
    token = create_token(served.env, "alerts-reader", "viewer")
    everything, _ = alert_pages(served, token, {"limit": "1000"})
    assert len(everything) == total > 50  # 70 drawn, a few on the same user, rule and day
    assert LONG_ADDRESS in {row["email"] for row in everything}
    rng = random.Random(20261202)
    compared = 0
    for _ in range(14):
        params = random_alert_filters(rng)
        listed, pages = alert_pages(served, token, params)
        wanted = expected_alerts(list_alerts(served.engine, as_alert_filters(params)))
        assert listed == wanted, params
        assert pages == max(1, -(-len(wanted) // int(str(params["limit"])))), params
        compared += len(listed)
    assert compared > 60, "the random filters must select real alerts"
    rows = audit_rows(served.engine, "alerts-reader")
    assert {row.action for row in rows} == {"api_alerts"}
    last = rows[-1]
    assert last.rows == len(listed) and json.loads(last.filters)["limit"] == int(
        str(params["limit"])
    )


def test_alerts_as_ndjson_and_csv_and_a_paging_stable_while_the_detector_writes(
    served: Served,
) -> None:
    from db.alerts import NewAlert, evidence_url, insert_alerts

    plant_alerts(served.engine)
    token = create_token(served.env, "alerts-formats", "viewer")
    params = {"user": "=cmd|' /C calc'!A0@example.com", "limit": "3"}
    first = served.get("/api/v1/alerts", token, params=params).json()
    day = date(2026, 3, 31)  # newer than every planted alert: it would lead the listing
    with served.engine.begin() as conn:
        insert_alerts(
            conn,
            [
                NewAlert(
                    TENANT,
                    "breadth", params["user"], day, datetime(2026, 3, 31, tzinfo=UTC),
                    datetime(2026, 3, 31, 5, tzinfo=UTC), "high", "late", "{}",
                    evidence_url(params["user"], day, day),
                )
            ],
        )  # fmt: skip
    rest, _ = alert_pages(served, token, {**params, "cursor": first["next_cursor"]})
    before = [row for row in first["alerts"] + rest]
    assert all(row["day"] != "2026-03-31" for row in before)  # the listing's snapshot
    fresh, _ = alert_pages(served, token, params)
    assert [row["id"] for row in fresh[1:]] == [row["id"] for row in before]
    lines = served.get(
        "/api/v1/alerts", token, params={**params, "limit": "1000"},
        headers={"Accept": "application/x-ndjson"},
    )  # fmt: skip
    assert lines.headers["content-type"].startswith("application/x-ndjson")
    assert [json.loads(line) for line in lines.text.splitlines()] == fresh
    table = served.get(
        "/api/v1/alerts", token, params={**params, "limit": "1000"},
        headers={"Accept": "text/csv"},
    )  # fmt: skip
    assert table.headers["content-type"].startswith("text/csv")
    header, *body = table.text.split("\r\n")[:-1]
    assert header.startswith('"id","day","rule","severity","email","summary","status",')
    assert len(body) == len(fresh)
    assert all(",\"'=cmd|' /C calc'!A0@example.com\"," in line for line in body)
    assert all(",\"'@SUM(" in line for line in body[1:])  # formula cells neutralised


def test_alerts_endpoint_refuses_bad_filters_and_a_searches_cursor(served: Served) -> None:
    token = create_token(served.env, "alerts-refused", "viewer")
    assert_problem(served.get("/api/v1/alerts", token, params={"rule": "nope"}), 400, "bad rule")
    assert_problem(
        served.get("/api/v1/alerts", token, params={"from": "2026-03-02", "to": "2026-03-01"}),
        400,
        "bad range",
    )
    search_cursor = served.get(
        "/api/v1/days/2026-03-02/searches", token, params={"limit": "1"}
    ).json()["next_cursor"]
    assert_problem(
        served.get("/api/v1/alerts", token, params={"cursor": search_cursor}), 400, "bad cursor"
    )
    assert_problem(served.get("/api/v1/alerts", None), 401, "no bearer token")
    document = served.get("/api/v1/openapi.json", token).json()
    parameters = {p["name"]: p for p in document["paths"]["/api/v1/alerts"]["get"]["parameters"]}
    assert parameters["severity"]["schema"]["items"]["enum"] == ["high", "medium", "low"]
    assert set(document["paths"]["/api/v1/alerts"]["get"]["responses"]["200"]["content"]) == {
        "application/json", "application/x-ndjson", "text/csv"
    }  # fmt: skip


def test_metrics_show_each_destinations_lag_and_parked_and_open_alerts_by_rule_and_severity(
    served: Served, tmp_path: Path
) -> None:
    from db.alerts import OPEN_STATUSES, RULES, SEVERITIES, AlertFilters, count_alerts
    from db.state.forwarding import forwarding_status
    from ingest.forward.config import ForwardConfig, destination_from
    from ingest.forward.runner import forward_pending
    from tests.support.forward_receivers import HttpsReceiver, make_ca

    plant_alerts(served.engine)
    ca = make_ca(tmp_path / "ca")
    with served.engine.connect() as conn:
        poison = f"alert-{conn.execute(select(func.max(Alert.id))).scalar_one()}"

    def script(number: int, body: bytes):
        return (400, {}) if poison.encode() in body else (200, {})

    with HttpsReceiver(ca, script=script) as receiver:
        tables = [
            {"name": "siem-file", "url": f"file://{tmp_path / 'searches.ndjson'}"},
            {"name": "alert-hook", "url": receiver.url, "format": "webhook", "secret": "k",
             "source": "alerts", "ca_file": str(ca.ca_file)},
        ]  # fmt: skip
        config = ForwardConfig(tuple(destination_from(t, {}, i) for i, t in enumerate(tables)))
        results = forward_pending(served.engine, config, max_seconds=60)
    assert [(r.error, r.parked) for r in results] == [(None, 0), (None, 1)]
    store_records(  # stored after the pass: the file destination's lag
        served.engine,
        [
            record("2026-03-05T09:00:00", "lag@example.com", source="archive"),
            record("2026-03-05T09:01:00", "lag@example.com", source="archive"),
        ],
    )
    reply = served.health("/metrics")
    assert reply.status_code == 200, reply.text
    families = {family.name: family for family in text_string_to_metric_families(reply.text)}

    def by_destination(name: str) -> dict[str, float]:
        return {s.labels["destination"]: s.value for s in families[name].samples}

    status = {row["destination"]: row for row in forwarding_status(served.engine, SCOPE)}
    lag = by_destination("searchlogs_forward_lag_messages")
    assert lag["siem-file"] == 2 == status["siem-file"]["lag_messages"]
    assert lag["alert-hook"] == 0
    parked = by_destination("searchlogs_forward_parked_messages")
    assert (parked["siem-file"], parked["alert-hook"]) == (0, 1)
    seconds = by_destination("searchlogs_forward_lag_seconds")
    assert 0 <= seconds["siem-file"] < 600 and seconds["alert-hook"] == 0
    delivered = {
        s.labels["destination"]: s.value
        for s in families["searchlogs_forward_delivered"].samples
        if s.name.endswith("_total")
    }
    assert delivered["alert-hook"] == status["alert-hook"]["delivered"] > 0
    assert {s.labels["source"] for s in families["searchlogs_forward_lag_messages"].samples} == {
        "searches", "alerts"
    }  # fmt: skip
    assert "SECRET" not in reply.text and receiver.url not in reply.text
    open_alerts = {
        (s.labels["rule"], s.labels["severity"]): s.value
        for s in families["searchlogs_alerts_open"].samples
    }
    expected = {
        (rule, severity): count_alerts(
            served.engine,
            AlertFilters(SCOPE, rules=(rule,), severities=(severity,), statuses=OPEN_STATUSES),
        )
        for rule in RULES
        for severity in SEVERITIES
    }
    assert open_alerts == {key: n for key, n in expected.items() if n}
    assert sum(open_alerts.values()) < count_alerts(
        served.engine, AlertFilters(SCOPE)
    )  # dismissed ones left out
