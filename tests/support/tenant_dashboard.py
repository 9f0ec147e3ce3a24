"""A dashboard of three tenants whose data differ, for the page tests and the browser test:
the tenants file, who is on which list, and each tenant's searches. One address
(`pat@shared.example`) searched in two tenants, and one person (`sam@both.example`) is a
viewer of two tenants, so a test cannot pass by matching addresses instead of tenants."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import streamlit as st
from sqlalchemy import Engine

from config.settings import SETTINGS
from db.engine import open_database
from ingest.store import Store
from tests.support.builders import record, store_records

TENANTS_TOML = """
[[tenant]]
name = "acme"
display_name = "ACME Corp"
client_id = "acme-id"
client_secret_env = "ACME_SECRET"
admins = ["ada@acme.example"]
viewers = ["@acme.example", "sam@both.example"]

[[tenant]]
name = "globex"
display_name = "Globex"
client_id = "globex-id"
client_secret_env = "GLOBEX_SECRET"
admins = ["gil@globex.example"]
viewers = ["vic@globex.example", "sam@both.example"]

[[tenant]]
name = "initech"
display_name = "Initech"
client_id = "initech-id"
client_secret_env = "INITECH_SECRET"
viewers = ["ivy@initech.example"]
"""
PLATFORM_ADMIN = "boss@example.com"
SHARED_USER = "pat@shared.example"
SEARCHES = {
    "acme": [
        record("2026-03-29T10:00:00", SHARED_USER, searchText="acme one"),
        record("2026-03-29T11:00:00", SHARED_USER, searchText="acme two"),
        record("2026-03-30T09:00:00", "al@acme.example", searchText="acme three"),
    ],
    "globex": [
        record("2026-03-29T10:00:00", SHARED_USER, searchText="globex one"),
        record("2026-03-29T12:00:00", "gus@globex.example", searchText="globex two"),
        record("2026-03-30T12:00:00", "gus@globex.example", searchText="globex three"),
        record("2026-03-30T13:00:00", "gus@globex.example", searchText="globex four"),
        record("2026-03-31T13:00:00", "gus@globex.example", searchText="globex five"),
    ],
    "initech": [record("2026-03-30T08:00:00", "ian@initech.example", searchText="initech")],
}
"""Searches per tenant: 3, 5 and 1, so every total tells the tenants apart."""
CURSORS = {
    "acme": datetime(2026, 4, 1, tzinfo=UTC),
    "globex": datetime(2026, 4, 2, tzinfo=UTC),
    "initech": datetime(2026, 4, 3, tzinfo=UTC),
}


def write_tenants_file(folder: Path) -> Path:
    path = folder / "tenants.toml"
    path.write_text(TENANTS_TOML, encoding="utf-8")
    return path


def fill_tenants(engine: Engine) -> None:
    """Every tenant's searches (each its own finished run) and cursor."""
    for tenant, records in SEARCHES.items():
        store_records(engine, records, tenant)
        Store(engine, tenant).advance_cursor(CURSORS[tenant], backfill_done=True)


def tenants_dashboard(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Engine]:
    """For a fixture to `yield from`: the app's settings name a tenants file of three tenants
    and a database holding each tenant's searches (`fill_tenants`); ADMIN_EMAILS names the
    platform administrator; Streamlit's caches start empty."""
    monkeypatch.chdir(tmp_path)
    for spec in SETTINGS:
        monkeypatch.delenv(spec.name, raising=False)
    path = tmp_path / "dashboard.db"
    monkeypatch.setenv("DB_PATH", str(path))
    monkeypatch.setenv("DISPLAY_TZ", "Europe/Berlin")
    monkeypatch.setenv("TENANTS_FILE", str(write_tenants_file(tmp_path)))
    monkeypatch.setenv("ADMIN_EMAILS", PLATFORM_ADMIN)
    st.cache_data.clear()
    st.cache_resource.clear()
    engine = open_database(f"sqlite:///{path}")
    fill_tenants(engine)
    yield engine
    engine.dispose()
