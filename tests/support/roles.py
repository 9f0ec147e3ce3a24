"""The dashboard through AppTest as someone: sign-in configured, roles set, a known
database (`dashboard_db`), and the audit trail's rows."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
import streamlit as st
from sqlalchemy import Engine, text
from streamlit.testing.v1 import AppTest

from config.settings import SETTINGS
from db.engine import open_database
from ingest.store import Store
from tests.support.apptest import APP
from tests.support.builders import KNOWN, store_records
from tests.support.tenancy import TENANT

ROLES = {"ADMIN_EMAILS": "boss@example.com", "VIEWER_EMAILS": "@example.com, guest@partner.example"}
AUTH_SECRETS = {
    "auth": {
        "redirect_uri": "http://localhost:8501/oauth2callback",
        "cookie_secret": "not-a-real-cookie-secret",
        "client_id": "dashboard",
        "client_secret": "not-a-real-client-secret",
        "server_metadata_url": "http://localhost:9/.well-known/openid-configuration",
    }
}


@pytest.fixture
def dashboard_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """The app's settings point at a database with known searches; roles are set."""
    monkeypatch.chdir(tmp_path)  # no stray .env, no .streamlit/secrets.toml
    for spec in SETTINGS:
        monkeypatch.delenv(spec.name, raising=False)
    path = tmp_path / "dashboard.db"
    monkeypatch.setenv("DB_PATH", str(path))
    monkeypatch.setenv("DISPLAY_TZ", "Europe/Berlin")
    for name, value in ROLES.items():
        monkeypatch.setenv(name, value)
    st.cache_data.clear()
    st.cache_resource.clear()
    engine = open_database(f"sqlite:///{path}")
    store_records(engine, KNOWN)
    Store(engine, TENANT).advance_cursor(datetime(2026, 4, 1, tzinfo=UTC), backfill_done=True)
    yield engine
    engine.dispose()


def app_as(user: dict | None, *, sign_in: bool = True) -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=30)
    if sign_in:
        at.secrets = AUTH_SECRETS
    at.user = {} if user is None else {"is_logged_in": True, **user}
    return at


def open_as(
    user: dict | None, page: str | None = None, *, sign_in: bool = True, **params: str
) -> AppTest:
    at = app_as(user, sign_in=sign_in)
    if page is not None:
        at.run()
        at.switch_page(page)
    at.query_params.clear()
    at.query_params.update({"from": "2026-03-28", "to": "2026-03-31", **params})
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def events(engine: Engine) -> list[tuple]:
    with engine.connect() as conn:
        return [
            tuple(row)
            for row in conn.execute(
                text("SELECT actor, role, action, target, rows FROM audit_events ORDER BY id")
            )
        ]
