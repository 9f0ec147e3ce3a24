"""Tenants in the data layer (issue 16): the tenant is part of every stored key, and a read
cannot be asked without a scope, nor see past it.

Rows go in through the real write path (`Store`, `PageWriter`, the rollups), for two
tenants that share users and even identical searches; on SQLite, and on PostgreSQL when
TEST_DATABASE_URL points at a server.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime
from typing import Any

import pandas as pd
import pytest
from sqlalchemy import Engine, func, select

from db import alerts, audit, queries, rollups
from db.csv_export import to_csv
from db.models import SearchLog
from db.raw_reads import known_user
from db.scope import TenantScope
from db.state import read_status
from tests.support.builders import KNOWN, record, store_records
from tests.support.detections import new_alert

ACME, GLOBEX = "acme", "globex"
MARCH = date(2026, 3, 28), date(2026, 3, 31)
YEAR = date(2026, 1, 1), date(2026, 12, 31)
# Globex: every one of Acme's searches again (the same records, so the same event keys),
# more searches by Acme's users, and users of its own.
GLOBEX_RECORDS = [
    *KNOWN,
    record("2026-03-28T12:00:00", "a@example.com", source="archive", searchText="globex"),
    record("2026-03-30T09:00:00", "z@globex.example", source="archive", searchText="invoice"),
    record("2026-03-31T15:00:00", "<>", description="Archive Search"),
]


def _filters(scope: TenantScope, **more: Any) -> queries.SearchFilters:
    return queries.SearchFilters(scope, start=MARCH[0], end=MARCH[1], **more)


def _plain(value: Any) -> Any:
    """A read's answer in a form `==` compares exactly (frames, series, dataclasses)."""
    if isinstance(value, pd.DataFrame):
        return value.to_dict("split")
    if isinstance(value, pd.Series):
        return value.to_dict()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            field.name: _plain(getattr(value, field.name)) for field in dataclasses.fields(value)
        }
    return value


def _reads(engine: Engine, scope: TenantScope) -> dict[str, Any]:
    """The main read functions, asked for `scope`: from the rollups and from raw rows."""
    answers: dict[str, Any] = {}
    for raw in (False, True):
        filters = _filters(scope)
        answers |= {
            f"activity raw={raw}": queries.activity(engine, filters, "Europe/Berlin", raw=raw),
            f"summary raw={raw}": queries.summary_by_user(engine, filters, "UTC", raw=raw),
            f"per day raw={raw}": queries.searches_per_day(engine, filters, "UTC", raw=raw),
            f"hours raw={raw}": queries.hour_weekday_counts(engine, filters, "UTC", raw=raw),
            f"users raw={raw}": queries.user_counts(engine, filters, "UTC", raw=raw),
            f"count raw={raw}": queries.count_searches(engine, filters, "UTC", raw=raw),
        }
    text = _filters(scope, text="invoice")
    one_user = _filters(scope).for_user("a@example.com")
    with engine.connect() as conn:
        span = rollups.data_span(conn, scope)
    trail = audit.TrailFilter()
    return answers | {
        "count, text filter": queries.count_searches(engine, text, "UTC"),
        "one user's summary": queries.summary_by_user(engine, one_user, "UTC"),
        "search page": queries.search_page(engine, _filters(scope), "UTC", limit=50),
        "by user": queries.searches_by_user(engine, _filters(scope), "UTC", per_user=5),
        "csv export": [to_csv(chunk) for chunk in queries.iter_searches(engine, text, "UTC")],
        "filter options": queries.filter_options(engine, scope),
        "health": queries.ingest_health(engine, scope),
        "totals": read_status(engine, scope).totals,
        "data span": span,
        "known users": [
            known_user(engine, scope, user) for user in ("a@example.com", "z@globex.example")
        ],
        "alerts": alerts.list_alerts(engine, alerts.AlertFilters(scope)),
        "open alerts": alerts.open_alert_counts(engine, alerts.AlertFilters(scope)),
        "audit trail": audit.read_trail(engine, scope, trail, limit=50)["actor"].tolist(),
    }


def _write_tenant(engine: Engine, tenant: str, records: list[dict[str, object]]) -> None:
    store_records(engine, records, tenant)
    with engine.begin() as conn:
        alerts.insert_alerts(
            conn, [new_alert("volume_spike", "a@example.com", MARCH[0], tenant=tenant)]
        )
    entry = audit.AuditEntry(f"admin@{tenant}.example", "admin", "view_summary", tenant=tenant)
    audit.record(engine, entry, datetime(2026, 3, 30, tzinfo=UTC))


def test_identical_searches_of_two_tenants_are_both_stored(engine: Engine) -> None:
    store_records(engine, KNOWN, ACME)
    store_records(engine, KNOWN, GLOBEX)  # asserts every record was new to Globex
    with engine.connect() as conn:
        stored = conn.execute(
            select(SearchLog.tenant, func.count(), func.count(SearchLog.event_key.distinct()))
            .group_by(SearchLog.tenant)
            .order_by(SearchLog.tenant)
        ).all()
        keys = conn.execute(select(func.count(SearchLog.event_key.distinct()))).scalar()
    assert stored == [(ACME, len(KNOWN), len(KNOWN)), (GLOBEX, len(KNOWN), len(KNOWN))]
    assert keys == len(KNOWN), "the same searches, the same keys: stored once per tenant"
    for tenant in (ACME, GLOBEX):
        filters = queries.SearchFilters(TenantScope.one(tenant), YEAR[0], YEAR[1])
        assert queries.count_searches(engine, filters, "UTC") == len(KNOWN)
        assert queries.count_searches(engine, filters, "UTC", raw=True) == len(KNOWN)


def test_reads_without_a_scope_are_impossible() -> None:
    with pytest.raises(TypeError):
        queries.SearchFilters(start=MARCH[0], end=MARCH[1])  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        rollups.Dimensions(users=("a@example.com",))  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        alerts.AlertFilters()  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        audit.AuditEntry("someone@example.com", "viewer", "view_summary")  # type: ignore[call-arg]


def test_one_tenants_scope_never_returns_anothers_rows(engine: Engine) -> None:
    acme = TenantScope.one(ACME)
    _write_tenant(engine, ACME, KNOWN)
    alone = {name: _plain(answer) for name, answer in _reads(engine, acme).items()}
    _write_tenant(engine, GLOBEX, GLOBEX_RECORDS)
    beside = {name: _plain(answer) for name, answer in _reads(engine, acme).items()}
    for name, answer in alone.items():
        assert beside[name] == answer, f"{name}: Acme's answer changed when Globex's came"
    globex = {
        name: _plain(answer) for name, answer in _reads(engine, TenantScope.one(GLOBEX)).items()
    }
    assert globex["count raw=False"] > alone["count raw=False"]
    assert "z@globex.example" in globex["filter options"]["users"]
    assert "z@globex.example" not in beside["filter options"]["users"]
    assert beside["audit trail"] == ["admin@acme.example"]
    everyone = queries.SearchFilters(TenantScope.every_tenant(), YEAR[0], YEAR[1])
    total = queries.count_searches(engine, everyone, "UTC")
    assert total == len(KNOWN) + len(GLOBEX_RECORDS), "the every-tenant scope sees both"
