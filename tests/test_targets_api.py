"""`GET /api/v1/mailboxes` and `GET /api/v1/mailboxes/{addr}/searches` over real HTTP
against the dashboard's server, two tenants, on SQLite and PostgreSQL: the answers are
the Mailboxes page's data functions' (`db.targets`), per tenant; each call is audited."""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date

import pytest
import requests
from sqlalchemy import Engine, select

from api.calls import records
from db import targets
from db.engine import open_database
from db.filters import SearchFilters
from db.models import AuditEvent
from db.scope import TenantScope
from tests.support.backends import ALL_BACKENDS, fresh_postgres_database
from tests.support.browser import serve_dashboard, stop_dashboard
from tests.support.targets import RANGE, SEARCHER, SHARED_BOX, store_two_tenants
from tests.support.tenancy import write_tenants_file
from tests.support.tenant_api import make_token

NOVEMBER = SearchFilters(TenantScope.one("acme"), date(2026, 11, 1), date(2026, 11, 5))


@dataclass
class Served:
    base: str
    engine: Engine
    tokens: dict[str, str]

    def get(self, path: str, tenant: str, **params: object) -> requests.Response:
        headers = {"Authorization": f"Bearer {self.tokens[tenant]}"}
        headers |= {"Accept": str(params.pop("accept"))} if "accept" in params else {}
        return requests.get(self.base + path, headers=headers, params=params, timeout=60)


@pytest.fixture(scope="module", params=ALL_BACKENDS)
def served(request: pytest.FixtureRequest, tmp_path_factory) -> Iterator[Served]:
    folder = tmp_path_factory.mktemp(f"targets-api-{request.param}")
    env = {
        "DB_PATH": str(folder / "data" / "searchlogs.db"),
        "TENANTS_FILE": str(write_tenants_file(folder, {"acme": "Acme", "globex": "Globex"})),
        "DISPLAY_TZ": "UTC",
        "API_RATE_LIMIT": "600",
    }
    if request.param == "postgresql":
        server = os.environ.get("TEST_DATABASE_URL")
        if not server:
            pytest.skip("no PostgreSQL server: set TEST_DATABASE_URL")
        env["DATABASE_URL"] = fresh_postgres_database(server, "t_targets_api")
    engine = open_database(env.get("DATABASE_URL") or f"sqlite:///{env['DB_PATH']}")
    store_two_tenants(engine)
    tokens = {
        tenant: make_token(env, folder, f"{tenant}-reader", "--role", "viewer", "--tenant", tenant)
        for tenant in ("acme", "globex")
    }
    base, process = serve_dashboard(env, folder / "server.log")
    try:
        yield Served(base, engine, tokens)
    finally:
        stop_dashboard(process)
        engine.dispose()


def _audit(engine: Engine, actor: str) -> list[tuple[object, ...]]:
    table = AuditEvent.__table__.c
    with engine.connect() as conn:
        return [
            tuple(row)
            for row in conn.execute(
                select(table.tenant, table.action, table.target, table.rows)
                .where(table.actor == actor)
                .order_by(table.id)
            )
        ]


def test_mailboxes_answer_what_the_page_shows_per_tenant(served: Served) -> None:
    for tenant in ("acme", "globex"):
        scope = TenantScope.one(tenant)
        for by in ("searches", "searchers"):
            expected = targets.top_mailboxes(
                served.engine, SearchFilters(scope, NOVEMBER.start, NOVEMBER.end), "UTC", by=by
            )
            reply = served.get("/api/v1/mailboxes", tenant, by=by, **RANGE)
            assert reply.status_code == 200, reply.text
            assert reply.json()["mailboxes"] == records(expected)
    listed = [
        m["mailbox"] for m in served.get("/api/v1/mailboxes", "globex", **RANGE).json()["mailboxes"]
    ]
    assert SHARED_BOX in listed and "pat@example.com" not in listed
    actions = [row[:3] for row in _audit(served.engine, "globex-reader")]
    assert ("globex", "api_mailboxes", "mailboxes") in actions


def test_one_mailboxs_searches_page_by_page_equal_the_data_function(served: Served) -> None:
    expected = records(targets.mailbox_searches(served.engine, NOVEMBER, "UTC", SHARED_BOX))
    got, cursor = [], None
    while True:
        params = {**RANGE, "limit": 1, **({"cursor": cursor} if cursor else {})}
        reply = served.get(f"/api/v1/mailboxes/{SHARED_BOX.upper()}/searches", "acme", **params)
        assert reply.status_code == 200, reply.text
        got += reply.json()["searches"]
        cursor = reply.json()["next_cursor"]
        if cursor is None:
            break
    assert got == expected and [row["searcher"] for row in got] == ["eve@example.com", SEARCHER]
    rows = _audit(served.engine, "acme-reader")
    assert ("acme", "api_mailbox_searches", SHARED_BOX, 1) in rows


def test_one_mailboxs_searches_as_csv_and_ndjson(served: Served) -> None:
    path = f"/api/v1/mailboxes/{SHARED_BOX}/searches"
    as_csv = served.get(path, "globex", accept="text/csv", **RANGE)
    assert as_csv.status_code == 200
    table = list(csv.DictReader(io.StringIO(as_csv.text)))
    assert [(r["tenant"], r["searcher"], r["reason_on_record"]) for r in table] == [
        ("globex", SEARCHER, "no")
    ]
    ndjson = served.get(path, "globex", accept="application/x-ndjson", **RANGE)
    assert ndjson.status_code == 200 and len(ndjson.text.splitlines()) == 1


def test_a_mailbox_searched_only_in_another_tenant_is_not_found(served: Served) -> None:
    reply = served.get("/api/v1/mailboxes/kim@globex.example/searches", "acme", **RANGE)
    assert reply.status_code == 404
    assert "no such mailbox" in reply.json()["detail"]
    assert served.get("/api/v1/mailboxes/kim@globex.example/searches", "globex").status_code == 200
