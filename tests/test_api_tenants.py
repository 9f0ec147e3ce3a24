"""The machine API with three tenants, over real HTTP against the dashboard's server, on
SQLite and PostgreSQL: a token reads its own tenant only, on every endpoint; another
tenant is answered exactly like one that does not exist; a platform token names the
tenant; cached answers and paging cursors stay inside their tenant.
"""

from __future__ import annotations

import base64
import json
from collections import Counter
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, func, select

from db.models import AuditEvent, SearchLog
from tests.support.tenant_api import (
    BACKENDS,
    RANGE,
    RECORDS,
    SHARED,
    Served,
    answers,
    assert_only,
    texts,
    three_tenants_served,
)


@pytest.fixture(scope="module", params=BACKENDS)
def served(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Served]:
    folder = tmp_path_factory.mktemp(f"t_api_tenants-{request.param}")
    with three_tenants_served(request.param, folder, "t_api_tenants") as served:
        yield served


# --- the rules --------------------------------------------------------------------------


def test_a_scoped_token_reads_only_its_tenant_on_every_endpoint(served: Served) -> None:
    for tenant in ("acme", "globex", "initech"):
        own = answers(served, served.tokens[tenant])
        assert_only(tenant, own)
        assert answers(served, served.tokens[tenant], tenant=tenant) == own
        assert answers(served, served.tokens["platform"], tenant=tenant) == own


OTHER_TENANT_CALLS = [  # (method, path, params) of every endpoint that reads a tenant
    ("GET", "/api/v1/searches-per-day", RANGE),
    ("GET", "/api/v1/users", RANGE),
    ("GET", f"/api/v1/users/{SHARED}/searches", RANGE),
    ("GET", "/api/v1/users/gus@globex.example/searches", RANGE),  # a user of globex only
    ("GET", "/api/v1/days/2026-11-04/searches", {"tz": "UTC"}),
    ("GET", "/api/v1/alerts", {}),
    ("POST", "/api/v1/admin/reset-cursor", {}),
]
SAME_ANYWAY = {"server-timing", "date"}
"""Headers that differ between any two answers (the time taken, the clock)."""


def ask(served: Served, method: str, path: str, token: str, **params: object):
    if method == "POST":
        return served.post(path, token, **params)
    return served.get(path, token, **params)


def test_another_tenant_is_answered_byte_for_byte_like_a_tenant_that_does_not_exist(
    served: Served,
) -> None:
    for method, path, params in OTHER_TENANT_CALLS:
        # globex's token is an admin token, so the reset is refused for the tenant, not the role
        for token, other in ((served.tokens["globex"], "acme"), (served.tokens["acme"], "globex")):
            if method == "POST" and token == served.tokens["acme"]:
                continue
            replies = [
                ask(served, method, path, token, **params, tenant=asked)
                for asked in (other, "no-such-tenant", "*")
            ]
            first = replies[0]
            assert first.status_code == 404, (path, first.text)
            assert "no such tenant" in first.json()["detail"]
            for reply in replies[1:]:
                assert reply.status_code == first.status_code
                assert reply.content == first.content, path
                shown = {k: v for k, v in reply.headers.items() if k.lower() not in SAME_ANYWAY}
                assert shown == {
                    k: v for k, v in first.headers.items() if k.lower() not in SAME_ANYWAY
                }
            assert other not in first.json()["detail"]
    with served.engine.connect() as conn:
        resets = conn.execute(
            select(func.count()).where(AuditEvent.detail == "cursor reset (machine API)")
        ).scalar_one()
    assert resets == 0, "no cursor was reset"


def refusal_rows(engine: Engine, actor: str) -> list[tuple[object, ...]]:
    with engine.connect() as conn:
        rows = conn.execute(
            select(AuditEvent.tenant, AuditEvent.action, AuditEvent.target, AuditEvent.detail)
            .where(AuditEvent.actor == actor, AuditEvent.detail.like("refused: no such tenant%"))
            .order_by(AuditEvent.id)
        ).all()
    return [tuple(row) for row in rows]


def test_refusals_for_another_tenant_are_audited_like_those_for_no_tenant(served: Served) -> None:
    token = served.tokens["initech"]
    for asked in ("acme", "no-such-tenant"):
        reply = served.get("/api/v1/users", token, **RANGE, tenant=asked)
        assert reply.status_code == 404
    first, second = refusal_rows(served.engine, "initech-reader")[-2:]
    assert (
        first
        == second
        == (
            "initech",
            "api_users",
            "GET /api/v1/users",
            "refused: no such tenant: name a tenant this token may read, or leave `tenant` out",
        )
    )


def test_a_platform_token_names_the_tenant_when_there_are_several(served: Served) -> None:
    platform = served.tokens["platform"]
    reply = served.get("/api/v1/users", platform, **RANGE)
    assert reply.status_code == 400
    assert reply.json()["detail"] == (
        "name the tenant: this installation has 3 tenants, so a platform token adds "
        "?tenant=NAME (one of acme, globex, initech)"
    )
    every = served.get("/api/v1/searches-per-day", platform, **RANGE, tenant="*").json()
    assert every["total"] == sum(len(records) for records in RECORDS.values())
    unknown = served.get("/api/v1/users", platform, **RANGE, tenant="no-such-tenant")
    scoped = served.get("/api/v1/users", served.tokens["acme"], **RANGE, tenant="no-such-tenant")
    assert unknown.status_code == 404 and unknown.content == scoped.content
    refused = served.post("/api/v1/admin/reset-cursor", platform, tenant="*")
    assert refused.status_code == 400 and "name the tenant" in refused.json()["detail"]


def test_answers_cached_for_one_tenant_are_not_given_for_another(served: Served) -> None:
    platform = served.tokens["platform"]
    for tenant in ("acme", "globex", "acme", "initech", "globex"):
        for path in ("/api/v1/users", "/api/v1/searches-per-day"):
            first = served.get(path, platform, **RANGE, tenant=tenant)
            again = served.get(path, served.tokens[tenant], **RANGE)
            assert first.content == again.content
        users = served.get("/api/v1/users", platform, **RANGE, tenant=tenant).json()["users"]
        assert {u["email"]: u["searches"] for u in users} == Counter(
            r["emailAddr"] for r in RECORDS[tenant]
        )


def cursor_payload(cursor: str) -> list[object]:
    return json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))


def walk(served: Served, path: str, token: str, key: str, **params: object) -> list[str]:
    """Every page of a listing, one row a page; the cursors seen."""
    cursors = []
    while True:
        body = served.get(path, token, **params, limit="1").json()
        assert len(body[key]) <= 1
        if not body["next_cursor"]:
            return cursors
        cursors.append(body["next_cursor"])
        params = {**params, "cursor": body["next_cursor"]}


def test_paging_cursors_stay_inside_the_tenant_they_were_made_in(served: Served) -> None:
    acme, globex, platform = (served.tokens[k] for k in ("acme", "globex", "platform"))
    day = "/api/v1/days/2026-11-03/searches"
    cursors = walk(served, day, acme, "searches", tz="UTC")
    assert len(cursors) == len(texts("acme", day="2026-11-03")) - 1
    with served.engine.connect() as conn:
        newest = conn.execute(
            select(func.max(SearchLog.id)).where(SearchLog.tenant == "acme")
        ).scalar_one()
    assert cursor_payload(cursors[0])[:2] == ["acme", newest], "the snapshot is acme's own"
    alert_cursors = walk(served, "/api/v1/alerts", platform, "alerts", tenant="globex")
    assert cursor_payload(alert_cursors[0])[:2] == ["alerts", "globex"]
    forged = base64.urlsafe_b64encode(
        json.dumps(["globex", *cursor_payload(cursors[0])[1:]]).encode()
    ).decode()
    refusals = [
        served.get(day, globex, tz="UTC", cursor=cursors[0]),  # acme's, to globex's token
        served.get(day, platform, tz="UTC", tenant="globex", cursor=cursors[0]),
        served.get(day, acme, tz="UTC", cursor=forged),  # names globex
        served.get(f"/api/v1/users/{SHARED}/searches", globex, cursor=cursors[0]),
        served.get("/api/v1/alerts", platform, tenant="acme", cursor=alert_cursors[0]),
        served.get("/api/v1/alerts", served.tokens["globex"], cursor=alert_cursors[0]),
    ]
    assert [r.status_code for r in refusals] == [400, 400, 400, 400, 400, 200]
    assert {r.json()["detail"] for r in refusals[:-1]} == {
        "bad cursor: pass the next_cursor of the previous page unchanged, or no cursor"
    }
