"""The machine API's tenants around the data: audit rows, /metrics and /readyz per tenant,
the OpenAPI document, and `token create --tenant` (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import select

from db.engine import open_database
from db.models import AuditEvent
from tests.support.harness import run_cli
from tests.support.tenant_api import (
    ALERTS,
    BACKENDS,
    METRICS_TOKEN,
    RANGE,
    RECORDS,
    Served,
    three_tenants_served,
)


@pytest.fixture(scope="module", params=BACKENDS)
def served(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Served]:
    folder = tmp_path_factory.mktemp(f"t_api_tenant_ops-{request.param}")
    with three_tenants_served(request.param, folder, "t_api_tenant_ops") as served:
        yield served


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


def test_a_tenants_newest_row_is_found_however_long_ago_it_was_stored(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A paging cursor's snapshot is the tenant's own newest row id, also for a tenant with
    no row among the newest RECENT_ROWS (the tenant index answers then)."""
    from db import raw_reads
    from db.scope import TenantScope
    from tests.support.builders import record, store_records

    monkeypatch.setattr(raw_reads, "RECENT_ROWS", 3)
    engine = open_database(f"sqlite:///{tmp_path / 'newest.db'}")
    try:
        for tenant, count in (("quiet", 2), ("busy", 5), ("other", 1)):
            rows = [record(f"2026-11-0{n + 1}T09:00:00", f"u{n}@x.example") for n in range(count)]
            store_records(engine, rows, tenant=tenant)
        newest = {
            name: raw_reads.newest_search_id(engine, TenantScope.one(name))
            for name in ("quiet", "busy", "other", "nobody")
        }
        assert newest == {"quiet": 2, "busy": 7, "other": 8, "nobody": 0}
        assert raw_reads.newest_search_id(engine, TenantScope.every_tenant()) == 8
    finally:
        engine.dispose()
