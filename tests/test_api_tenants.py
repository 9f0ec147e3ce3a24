"""The machine API with three tenants, over real HTTP against the dashboard's server, on
SQLite and PostgreSQL: a token reads its own tenant only, on every endpoint; another
tenant is answered exactly like one that does not exist; a platform token names the
tenant; cursors, audit rows, /metrics and /readyz keep tenants apart.

The tenants' data differ, and one address (SHARED) searches in two of them.
"""

from __future__ import annotations

import base64
import json
import os
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import Engine, func, select

from db.alerts import insert_alerts
from db.engine import open_database
from db.models import AuditEvent, SearchLog
from tests.support.backends import fresh_postgres_database
from tests.support.browser import serve_dashboard, stop_dashboard
from tests.support.builders import record, store_records
from tests.support.detections import new_alert
from tests.support.harness import run_cli

METRICS_TOKEN = "metrics-secret-for-tenant-tests"
SHARED = "shared@example.com"
TENANTS_TOML = "".join(
    f'[[tenant]]\nname = "{name}"\nclient_id = "{name}-id"\n'
    f'client_secret_env = "{name.upper()}_SECRET"\n\n'
    for name in ("acme", "globex", "initech")
)
RECORDS = {  # stored in this order: acme's rows have the lowest ids
    "acme": [
        record("2026-11-02T09:00:00", SHARED, source="archive", searchText="acme-1"),
        record("2026-11-03T09:00:00", SHARED, source="archive", searchText="acme-2"),
        record("2026-11-03T10:00:00", SHARED, source="archive", searchText="acme-3"),
        record("2026-11-03T11:00:00", "ann@acme.example", source="archive", searchText="acme-4"),
        record("2026-11-03T12:00:00", "ann@acme.example", source="archive", searchText="acme-5"),
    ],
    "globex": [
        record("2026-11-03T09:30:00", SHARED, source="archive", searchText="globex-1"),
        record("2026-11-03T10:30:00", SHARED, source="archive", searchText="globex-2"),
        record("2026-11-04T09:30:00", SHARED, source="archive", searchText="globex-3"),
        record("2026-11-04T10:30:00", SHARED, source="archive", searchText="globex-4"),
        record("2026-11-04T11:30:00", SHARED, source="archive", searchText="globex-5"),
        record("2026-11-04T12:30:00", "gus@globex.example", source="archive", searchText="g-6"),
    ],
    "initech": [],  # configured, never polled, nothing stored
}
ALERTS = {
    "acme": [("volume_spike", SHARED, date(2026, 11, 3), "high")],
    "globex": [
        ("volume_spike", SHARED, date(2026, 11, 3), "high"),  # the same key, another tenant
        ("unusual_time", "gus@globex.example", date(2026, 11, 4), "low"),
    ],
    "initech": [],
}
RANGE = {"from": "2026-11-01", "to": "2026-11-05", "tz": "UTC"}


@dataclass
class Served:
    base: str
    engine: Engine
    env: dict[str, str]
    folder: Path
    tokens: dict[str, str]
    """acme (viewer), globex (admin), initech (viewer), platform (admin, no tenant)."""

    def get(self, path: str, token: str | None, **params: object) -> requests.Response:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return requests.get(self.base + path, headers=headers, params=params, timeout=60)

    def post(self, path: str, token: str, **params: object) -> requests.Response:
        return requests.post(
            self.base + path,
            headers={"Authorization": f"Bearer {token}"},
            params=params,
            json={"confirm": True},
            timeout=60,
        )


def make_token(served_env: dict[str, str], folder: Path, name: str, *extra: str) -> str:
    done = run_cli(["token", "create", "--name", name, *extra], served_env, folder)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip().splitlines()[-1]


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def served(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Served]:
    folder = tmp_path_factory.mktemp(f"api-tenants-{request.param}")
    (folder / "tenants.toml").write_text(TENANTS_TOML)
    env = {
        "DB_PATH": str(folder / "data" / "searchlogs.db"),
        "TENANTS_FILE": str(folder / "tenants.toml"),
        "DISPLAY_TZ": "UTC",
        "API_RATE_LIMIT": "600",
        "POLL_SECONDS": "604800",  # a poll stored at set-up stays fresh however slow the run
        "METRICS_TOKEN": METRICS_TOKEN,
    }
    if request.param == "postgresql":
        server = os.environ.get("TEST_DATABASE_URL")
        if not server:
            pytest.skip("no PostgreSQL server: set TEST_DATABASE_URL")
        env["DATABASE_URL"] = fresh_postgres_database(server, "t_api_tenants")
    engine = open_database(env.get("DATABASE_URL") or f"sqlite:///{env['DB_PATH']}")
    for tenant, records in RECORDS.items():
        if records:
            store_records(engine, records, tenant=tenant)
    with engine.begin() as conn:
        insert_alerts(
            conn,
            [
                new_alert(rule, email, day, severity, tenant=tenant)
                for tenant, alerts in ALERTS.items()
                for rule, email, day, severity in alerts
            ],
        )
    tokens = {
        "acme": make_token(env, folder, "acme-reader", "--role", "viewer", "--tenant", "acme"),
        "globex": make_token(env, folder, "globex-admin", "--role", "admin", "--tenant", "globex"),
        "initech": make_token(
            env, folder, "initech-reader", "--role", "viewer", "--tenant", "initech"
        ),
        "platform": make_token(env, folder, "platform", "--role", "admin"),
    }
    base, process = serve_dashboard(env, folder / "server.log")
    try:
        yield Served(base, engine, env, folder, tokens)
    finally:
        stop_dashboard(process)
        engine.dispose()


# --- what each tenant holds -------------------------------------------------------------


def texts(tenant: str, *, email: str | None = None, day: str | None = None) -> list[str]:
    """The tenant's search texts, newest first, of one user or one day."""
    return [
        r["searchText"]
        for r in sorted(RECORDS[tenant], key=lambda r: str(r["createTime"]), reverse=True)
        if (email is None or r["emailAddr"] == email)
        and (day is None or str(r["createTime"]).startswith(day))
    ]  # type: ignore[misc]


def answers(served: Served, token: str, **asked: str) -> dict[str, object]:
    """Every data endpoint's answer to `token`: JSON parsed, CSV as text, else the status."""
    csv = {"Authorization": f"Bearer {token}", "Accept": "text/csv"}
    got = {
        "per_day": served.get("/api/v1/searches-per-day", token, **RANGE, **asked),
        "users": served.get("/api/v1/users", token, **RANGE, **asked),
        "users_csv": requests.get(
            served.base + "/api/v1/users", headers=csv, params={**RANGE, **asked}, timeout=60
        ),
        "shared": served.get(f"/api/v1/users/{SHARED}/searches", token, **RANGE, **asked),
        "day": served.get("/api/v1/days/2026-11-03/searches", token, tz="UTC", **asked),
        "alerts": served.get("/api/v1/alerts", token, **asked),
    }
    return {
        key: reply.status_code
        if reply.status_code != 200
        else (reply.text if key == "users_csv" else reply.json())
        for key, reply in got.items()
    }


def assert_only(tenant: str, got: dict[str, object]) -> None:
    """`got` (from `answers`) holds exactly `tenant`'s data."""
    records = RECORDS[tenant]
    per_day = got["per_day"]
    assert isinstance(per_day, dict)
    assert per_day["total"] == len(records)
    assert {d["date"]: d["searches"] for d in per_day["days"] if d["searches"]} == Counter(
        str(r["createTime"])[:10] for r in records
    )
    users = got["users"]
    assert isinstance(users, dict)
    assert {u["email"]: u["searches"] for u in users["users"]} == Counter(
        r["emailAddr"] for r in records
    )
    assert str(got["users_csv"]).count("\n") == 1 + len(users["users"])
    shared = texts(tenant, email=SHARED)
    if shared:
        assert [s["search_text"] for s in got["shared"]["searches"]] == shared  # type: ignore[index]
    else:
        assert got["shared"] == 404  # a user of other tenants only is no user of this one
    day = got["day"]
    assert [s["search_text"] for s in day["searches"]] == texts(tenant, day="2026-11-03")  # type: ignore[index]
    listed = {(a["rule"], a["email"], a["day"]) for a in got["alerts"]["alerts"]}  # type: ignore[index]
    assert listed == {(rule, email, d.isoformat()) for rule, email, d, _ in ALERTS[tenant]}


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


def test_audit_rows_carry_the_tenant_read(served: Served) -> None:
    platform = served.tokens["platform"]
    served.get("/api/v1/users", platform, **RANGE, tenant="globex")
    served.get("/api/v1/users", platform, **RANGE)  # refused: several tenants, none named
    served.get("/api/v1/alerts", served.tokens["acme"])
    with served.engine.connect() as conn:
        rows = conn.execute(
            select(AuditEvent.actor, AuditEvent.tenant, AuditEvent.action)
            .where(AuditEvent.actor.in_(("platform", "acme-reader")))
            .order_by(AuditEvent.id.desc())
            .limit(3)
        ).all()
    assert [tuple(row) for row in reversed(rows)] == [
        ("platform", "globex", "api_users"),
        ("platform", None, "api_bad_request"),
        ("acme-reader", "acme", "api_alerts"),
    ]


def test_metrics_are_labelled_by_tenant_name_and_never_name_a_person(served: Served) -> None:
    reply = served.get("/metrics", METRICS_TOKEN)
    assert reply.status_code == 200
    assert "@" not in reply.text
    samples = {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(reply.text)
        for sample in family.samples
    }

    def by_tenant(name: str) -> dict[str, float]:
        return {
            dict(labels)["tenant"]: value for (n, labels), value in samples.items() if n == name
        }

    assert by_tenant("searchlogs_searches_stored") == {
        tenant: len(records) for tenant, records in RECORDS.items()
    }
    assert set(by_tenant("searchlogs_last_successful_poll_age_seconds")) == {"acme", "globex"}
    assert set(by_tenant("searchlogs_last_successful_poll_timestamp_seconds")) == {"acme", "globex"}
    open_alerts = {
        labels: value for (n, labels), value in samples.items() if n == "searchlogs_alerts_open"
    }
    assert open_alerts == {
        (("rule", rule), ("severity", severity), ("tenant", tenant)): 1.0
        for tenant, alerts in ALERTS.items()
        for rule, _, _, severity in alerts
    }


def test_readyz_names_the_tenant_that_has_not_polled(served: Served) -> None:
    reply = served.get("/readyz", METRICS_TOKEN)
    assert reply.status_code == 503
    body = reply.json()
    assert body["ready"] is False
    assert body["reasons"] == [
        "tenant 'initech': the ingest has not finished a poll successfully yet"
    ]
    assert {name: each["ready"] for name, each in body["tenants"].items()} == {
        "acme": True,
        "globex": True,
        "initech": False,
    }


def test_the_openapi_document_describes_the_tenant_parameter(served: Served) -> None:
    document = served.get("/api/v1/openapi.json", served.tokens["acme"]).json()
    for path, methods in document["paths"].items():
        if not path.startswith("/api/v1/") or path.endswith("openapi.json"):
            continue
        for operation in methods.values():
            names = [p["name"] for p in operation["parameters"]]
            assert "tenant" in names, path
            assert "404" in operation["responses"], path
    assert "?tenant=" in document["info"]["description"]


# --- tokens -----------------------------------------------------------------------------


def test_token_create_scopes_a_token_to_a_configured_tenant_only(served: Served) -> None:
    cases = [
        (
            ["--name", "x1", "--role", "viewer", "--tenant", "nowhere"],
            "error: --tenant 'nowhere' is not a configured tenant: use one of acme, globex, "
            "initech",
        ),
        (
            ["--name", "x2", "--role", "viewer"],
            "error: a viewer token reads one tenant: add --tenant NAME (one of acme, globex, "
            "initech)",
        ),
    ]
    for args, message in cases:
        done = run_cli(["token", "create", *args], served.env, served.folder)
        assert (done.returncode, done.stderr.strip(), done.stdout) == (2, message, "")
    listed = run_cli(["token", "list", "--tenant", "acme"], served.env, served.folder)
    assert [line.split()[:3] for line in listed.stdout.splitlines()] == [
        ["acme-reader", "viewer", "acme"]
    ]
    everything = run_cli(["token", "list"], served.env, served.folder).stdout
    assert "platform                 admin   *" in everything
    with served.engine.connect() as conn:
        created = dict(
            conn.execute(
                select(AuditEvent.target, AuditEvent.tenant).where(
                    AuditEvent.action == "token_create"
                )
            ).all()
        )
    assert created == {
        "acme-reader": "acme",
        "globex-admin": "globex",
        "initech-reader": "initech",
        "platform": None,
    }


def test_only_an_admin_token_may_be_a_platform_token(tmp_path: Path) -> None:
    from db.api_tokens import TokenError, create_token

    engine = open_database(f"sqlite:///{tmp_path / 'tokens.db'}")
    try:
        with pytest.raises(TokenError, match="only an admin token may be a platform token"):
            create_token(engine, "everywhere", "viewer", tenant=None)
        assert create_token(engine, "platform", "admin", tenant=None).startswith("msl_")
    finally:
        engine.dispose()
