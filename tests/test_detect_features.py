"""The per-person daily features `detect` keeps (`person_day_features`, migration 0015):
written for the days it reads, read back for the history of later runs, refreshed when a
day's data changes, per tenant; and the alerts are exactly those scored from the searches.

The reference ("from the searches") is the same detector with its text source replaced by
`features.iter_text_days`, which parses the raw searches every time, as before the table.
"""

from __future__ import annotations

import json
import shutil
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select

from db.detect_reads import SqlSearches
from db.engine import open_database
from db.models import Alert, FeatureDay, PersonDayFeatures
from ingest.detect import runner
from ingest.detect.config import DetectionConfig
from ingest.detect.features import iter_text_days
from ingest.detect.runner import detect
from ingest.simulator.incidents import labelled_tenant
from tests.support.detections import load_records

END = date(2026, 6, 1)
END_TIME = datetime(2026, 6, 1, tzinfo=UTC)
TENANTS = ("acme", "globex")
SHOWN = (
    Alert.rule,
    Alert.email_addr,
    Alert.day,
    Alert.severity,
    Alert.summary,
    Alert.figures,
    Alert.evidence,
    Alert.status,
)


def alerts(engine: Engine, tenant: str) -> list[tuple[Any, ...]]:
    with engine.connect() as conn:
        found = conn.execute(select(*SHOWN).where(Alert.tenant == tenant)).all()
    return sorted((tuple(row) for row in found), key=repr)


def features_of(engine: Engine, tenant: str, email: str) -> dict[date, dict[str, Any]]:
    table = PersonDayFeatures
    with engine.connect() as conn:
        found = conn.execute(
            select(table.day, table.features).where(
                table.tenant == tenant, table.email_addr == email
            )
        ).all()
    return {day: json.loads(features) for day, features in found}


def score(engine: Engine, tenant: str) -> None:
    """A first run up to four days before the end, then the last days as new days."""
    detect(engine, tenant, "UTC", DetectionConfig(), through=END - timedelta(days=4))
    detect(engine, tenant, "UTC", DetectionConfig(), recheck_days=3)


@pytest.fixture
def from_searches(monkeypatch: pytest.MonkeyPatch):
    """The detector with every text read parsed from the raw searches (no table)."""

    def raw(engine: Engine, *args: Any, **kwargs: Any):
        searches = args[6] if len(args) > 6 else None
        return iter_text_days(searches or SqlSearches(engine), *args[:6])

    return lambda: monkeypatch.setattr(runner, "text_days", raw)


@pytest.fixture(scope="module")
def stored(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """acme and globex, different people and habits, one address searching in both."""
    acme = labelled_tenant(11, people=40, days=80, end=END, repeats=1, system_rate=0.1)
    globex = labelled_tenant(12, people=30, days=80, end=END, repeats=1, system_rate=0.1)
    shared, theirs = (
        min(email for email, habit in tenant.habits.items() if habit.kind == "office")
        for tenant in (acme, globex)
    )
    globex_records = [
        {**record, "emailAddr": shared} if record["emailAddr"] == theirs else record
        for record in globex.records
    ]
    path = tmp_path_factory.mktemp("features") / "searchlogs.db"
    engine = open_database(f"sqlite:///{path}")
    try:
        load_records(engine, acme.records, END_TIME, tenant="acme")
        load_records(engine, globex_records, END_TIME, tenant="globex")
    finally:
        engine.dispose()
    return path, shared


def test_alerts_read_from_the_features_table_are_those_scored_from_the_searches(
    stored, tmp_path: Path, from_searches
):
    path, shared = stored
    kept, raw = (shutil.copy(path, tmp_path / name) for name in ("kept.db", "raw.db"))
    engine = open_database(f"sqlite:///{kept}")
    try:
        for tenant in TENANTS:
            score(engine, tenant)
        with_table = {tenant: alerts(engine, tenant) for tenant in TENANTS}
        acme, globex = (features_of(engine, tenant, shared) for tenant in TENANTS)
        # each tenant's own features of the address in both
        assert acme and globex and acme != globex
        with engine.connect() as conn:
            marked = conn.execute(select(FeatureDay.tenant, FeatureDay.day)).all()
    finally:
        engine.dispose()
    from_searches()
    engine = open_database(f"sqlite:///{raw}")
    try:
        for tenant in TENANTS:
            score(engine, tenant)
        without = {tenant: alerts(engine, tenant) for tenant in TENANTS}
        with engine.connect() as conn:
            assert conn.execute(select(PersonDayFeatures.tenant)).first() is None
    finally:
        engine.dispose()
    assert with_table == without
    assert with_table["acme"] and with_table["acme"] != with_table["globex"]
    assert {tenant for tenant, _ in marked} == set(TENANTS)
    assert max(day for _, day in marked) == END - timedelta(days=1)


def test_a_late_search_refreshes_its_days_features_and_alerts_as_the_searches_would(
    stored, tmp_path: Path, from_searches
):
    path, shared = stored
    scored = Path(shutil.copy(path, tmp_path / "scored.db"))
    engine = open_database(f"sqlite:///{scored}")
    try:
        for tenant in TENANTS:
            score(engine, tenant)
        globex_before = features_of(engine, "globex", shared)
    finally:
        engine.dispose()
    day = END - timedelta(days=3)
    late = [
        {
            "createTime": f"{day.isoformat()}T10:{minute:02d}:00+0000",
            "emailAddr": shared,
            "source": "archive",
            "searchText": f"[User : mbx29{minute:02d}@corp.example] merger redundancy",
            "searchReason": "",
            "description": "Archive Search",
        }
        for minute in range(12)
    ]
    results = {}
    for name, raw in (("kept", False), ("raw", True)):
        copy = shutil.copy(scored, tmp_path / f"{name}.db")
        if raw:
            from_searches()
        engine = open_database(f"sqlite:///{copy}")
        try:
            load_records(engine, late, END_TIME, tenant="acme")  # a sweep stores them late
            redone = detect(engine, "acme", "UTC", DetectionConfig(), recheck_days=4)
            assert redone.days_rescored == 3
            results[name] = alerts(engine, "acme")
            if not raw:
                refreshed = features_of(engine, "acme", shared)[day]
                assert features_of(engine, "globex", shared) == globex_before
        finally:
            engine.dispose()
    assert "mbx2911@corp.example" in refreshed["targets"]
    assert {"merger", "redundancy"} <= set(refreshed["terms"])
    assert results["kept"] == results["raw"]
    assert any(row[1] == shared and row[2] == day for row in results["kept"])
