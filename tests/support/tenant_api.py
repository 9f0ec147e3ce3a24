"""Three tenants behind the machine API (tests/test_api_tenant*.py): their data, which
differ, with one address (SHARED) searching in two of them; a token of each and a
platform token; the dashboard's server over it, on SQLite or PostgreSQL."""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest
import requests
from sqlalchemy import Engine

from db.alerts import insert_alerts
from db.engine import open_database
from tests.support.backends import ALL_BACKENDS, file_database_url, fresh_postgres_database
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


BACKENDS = ALL_BACKENDS


@contextmanager
def three_tenants_served(backend: str, folder: Path, database: str) -> Iterator[Served]:
    """The dashboard's server over a database holding RECORDS and ALERTS, with a token of
    each tenant and a platform token; `backend` is "sqlite", "libsql" (a file) or
    "postgresql" (a fresh database named `database` on TEST_DATABASE_URL's server)."""
    env, engine, tokens = three_tenants_database(backend, folder, database)
    base, process = serve_dashboard(env, folder / "server.log")
    try:
        yield Served(base, engine, env, folder, tokens)
    finally:
        stop_dashboard(process)
        engine.dispose()


def three_tenants_database(
    backend: str, folder: Path, database: str
) -> tuple[dict[str, str], Engine, dict[str, str]]:
    """The dashboard's settings, a database holding RECORDS and ALERTS, and the tokens of
    `three_tenants_served`, for a server started some other way."""
    (folder / "tenants.toml").write_text(TENANTS_TOML)
    env = {
        "DB_PATH": str(folder / "data" / "searchlogs.db"),
        "TENANTS_FILE": str(folder / "tenants.toml"),
        "DISPLAY_TZ": "UTC",
        "API_RATE_LIMIT": "600",
        "POLL_SECONDS": "604800",  # a poll stored at set-up stays fresh however slow the run
        "METRICS_TOKEN": METRICS_TOKEN,
    }
    if backend == "postgresql":
        server = os.environ.get("TEST_DATABASE_URL")
        if not server:
            pytest.skip("no PostgreSQL server: set TEST_DATABASE_URL")
        env["DATABASE_URL"] = fresh_postgres_database(server, database)
    elif backend == "libsql":
        env["DATABASE_URL"] = file_database_url(backend, Path(env["DB_PATH"]))
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
    return env, engine, tokens


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
