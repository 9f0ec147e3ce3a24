"""Admin actions and their audit rows: each change commits in one transaction with its
row, so when the trail refuses rows (a real trigger on `audit_events`, not a mock) nothing
changes and the caller is told so in one line. Checked in the data layer on both
backends, through the API of a real server, on the dashboard's pages (AppTest) and from
the CLI (whose admin actions are recorded as `cli:<os user>`)."""

from __future__ import annotations

import os
import pwd
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
import requests
from sqlalchemy import Engine, select, text
from sqlalchemy.exc import SQLAlchemyError

from db import state
from db.alerts import insert_alerts, triage
from db.api_tokens import Caller, authenticate, create_token, list_tokens, revoke_token
from db.audit import AuditEntry
from db.engine import open_database
from db.models import Alert
from ingest.store import Store
from tests.support.apptest import assert_clean, plain
from tests.support.audit_refusal import accept_audit_rows, audit_row_count, refuse_audit_rows
from tests.support.browser import serve_dashboard, stop_dashboard
from tests.support.detections import new_alert
from tests.support.harness import run_cli
from tests.support.roles import events, open_as
from tests.support.tenancy import EVERY, SCOPE, TENANT

CURSOR = datetime(2026, 4, 1, tzinfo=UTC)
ADMIN = {"email": "boss@example.com"}
BOSS = AuditEntry("boss@example.com", "admin", "reset_cursor", tenant=TENANT)
CLI_ACTOR = f"cli:{pwd.getpwuid(os.getuid()).pw_name}"
NOTHING_CHANGED = (
    "Nothing was changed: the database refused the change or its audit-trail entry "
    "(the dashboard's log says why)."
)
CLI_NOTHING_CHANGED = (
    "error: nothing was changed: the database refused the change or its audit row "
    "(run with -v to see why)"
)


def alert_status(engine: Engine) -> list[tuple]:
    with engine.connect() as conn:
        return [tuple(row) for row in conn.execute(select(Alert.status, Alert.triaged_by))]


def seed_alert(engine: Engine) -> int:
    with engine.begin() as conn:
        insert_alerts(conn, [new_alert("volume_spike", "a@example.com", date(2026, 3, 30))])
    with engine.connect() as conn:
        return int(conn.execute(select(Alert.id)).scalar_one())


# --- the data layer, on SQLite and PostgreSQL ----------------------------------------------


@dataclass(frozen=True)
class AdminChange:
    """An admin action as the data layer offers it: what to set up, the change with its
    audit entry, and what the data looks like (before the change: `unchanged`)."""

    setup: Callable[[Engine], object]
    change: Callable[[Engine, object], object]
    looks: Callable[[Engine], object]


CHANGES = {
    "reset_cursor": AdminChange(
        lambda e: Store(e, TENANT).advance_cursor(CURSOR, backfill_done=True),
        lambda e, _: state.reset_cursor(e, TENANT, audited=BOSS),
        lambda e: state.read_cursor(e, TENANT),
    ),
    "token_create": AdminChange(
        lambda e: None,
        lambda e, _: create_token(
            e,
            "siem",
            "viewer",
            audited=AuditEntry("boss@x", "admin", "token_create", tenant=TENANT),
            tenant=TENANT,
        ),
        lambda e: [t.name for t in list_tokens(e, EVERY)],
    ),
    "token_revoke": AdminChange(
        lambda e: create_token(e, "old-script", "admin", tenant=None),
        lambda e, _: revoke_token(
            e, "old-script", audited=AuditEntry("boss@x", "admin", "token_revoke", tenant=TENANT)
        ),
        lambda e: [t.revoked_at is None for t in list_tokens(e, EVERY)],
    ),
    "triage_alert": AdminChange(
        seed_alert,
        lambda e, alert_id: triage(
            e,
            SCOPE,
            [alert_id],
            "dismissed",
            "boss@x",
            audited=AuditEntry("boss@x", "admin", "triage_alert", tenant=TENANT),
        ),
        alert_status,
    ),
}


@pytest.mark.parametrize("action", CHANGES)
def test_an_admin_change_and_its_audit_row_commit_together_or_not_at_all(
    engine: Engine, action: str
) -> None:
    change = CHANGES[action]
    made = change.setup(engine)
    before = change.looks(engine)
    refuse_audit_rows(engine)
    with pytest.raises(SQLAlchemyError):
        change.change(engine, made)
    assert change.looks(engine) == before  # the change rolled back with its row
    assert audit_row_count(engine) == 0
    accept_audit_rows(engine)
    change.change(engine, made)
    assert change.looks(engine) != before
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT action, rows FROM audit_events")).all()
    assert [row[0] for row in rows] == [action]
    if action == "triage_alert":
        assert rows[0][1] == 1  # the row counts the alerts the same transaction changed


# --- the machine API on a real server ------------------------------------------------------


@pytest.fixture
def served_reset(db_url: str, tmp_path: Path) -> Iterator[tuple[str, str, Engine]]:
    """A server over a database whose cursor is set, and an admin token for it."""
    env = {"DISPLAY_TZ": "Europe/Berlin"}
    if db_url.startswith("sqlite:"):
        env["DB_PATH"] = db_url.removeprefix("sqlite:///")
    else:
        env["DATABASE_URL"] = db_url
    engine = open_database(db_url)
    Store(engine, TENANT).advance_cursor(CURSOR, backfill_done=True)
    done = run_cli(["token", "create", "--name", "admin-1", "--role", "admin"], env, tmp_path)
    assert done.returncode == 0, done.stderr
    base, process = serve_dashboard(env, tmp_path / "server.log")
    try:
        yield base, done.stdout.strip().splitlines()[-1], engine
    finally:
        stop_dashboard(process)
        engine.dispose()


def test_an_api_reset_whose_audit_row_is_refused_answers_503_and_keeps_the_cursor(
    served_reset: tuple[str, str, Engine],
) -> None:
    base, token, engine = served_reset
    post = lambda: requests.post(  # noqa: E731
        f"{base}/api/v1/admin/reset-cursor",
        json={"confirm": True},
        headers={"Authorization": f"Bearer {token}"},
        timeout=60,
    )
    refuse_audit_rows(engine)
    refused = post()
    assert refused.status_code == 503, refused.text
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert state.read_cursor(engine, TENANT) == CURSOR
    detail = refused.json()["detail"]
    assert "nothing was changed" in detail and "\n" not in detail
    assert "Traceback" not in refused.text
    accept_audit_rows(engine)
    done = post()
    assert done.status_code == 200, done.text
    assert state.read_cursor(engine, TENANT) is None
    with engine.connect() as conn:
        resets = conn.execute(
            text("SELECT actor, role FROM audit_events WHERE action = 'reset_cursor'")
        ).all()
    assert [tuple(row) for row in resets] == [("admin-1", "admin")]  # one row, not two


# --- the dashboard's pages -----------------------------------------------------------------


def shown_errors(at) -> list[str]:
    assert_clean(at)
    return [plain(error.value) for error in at.error]


def test_a_status_page_reset_whose_audit_row_is_refused_keeps_the_cursor(
    dashboard_db: Engine,
) -> None:
    at = open_as(ADMIN, "pages/status.py")
    at.checkbox(key="confirm_reset_cursor").check().run()
    refuse_audit_rows(dashboard_db)
    next(b for b in at.button if b.label == "Reset cursor").click().run()
    assert Store(dashboard_db, TENANT).cursor() == CURSOR
    assert shown_errors(at) == [NOTHING_CHANGED]
    assert not at.success


def test_a_token_whose_audit_row_is_refused_is_not_created(dashboard_db: Engine) -> None:
    at = open_as(ADMIN, "pages/tokens.py")
    at.text_input(key="token_name").input("siem-reader").run()
    refuse_audit_rows(dashboard_db)
    next(b for b in at.button if b.label == "Create token").click().run()
    assert list_tokens(dashboard_db, EVERY) == []
    assert shown_errors(at) == [NOTHING_CHANGED]
    assert not at.code  # no token shown: none exists


def test_a_revocation_whose_audit_row_is_refused_leaves_the_token_active(
    dashboard_db: Engine,
) -> None:
    token = create_token(dashboard_db, "old-script", "admin", tenant=None)
    at = open_as(ADMIN, "pages/tokens.py")
    at.checkbox(key="confirm_revoke_token").check().run()
    refuse_audit_rows(dashboard_db)
    next(b for b in at.button if b.label == "Revoke token").click().run()
    assert authenticate(dashboard_db, token) == Caller("old-script", "admin")
    assert shown_errors(at) == [NOTHING_CHANGED]
    assert not at.success


def test_a_triage_whose_audit_row_is_refused_changes_no_alert(dashboard_db: Engine) -> None:
    alert_id = seed_alert(dashboard_db)
    at = open_as(ADMIN, "pages/alerts.py")
    at.multiselect(key="triage_ids").select(alert_id).run()
    refuse_audit_rows(dashboard_db)
    next(b for b in at.button if b.label == "Acknowledge").click().run()
    assert alert_status(dashboard_db) == [("new", None)]
    assert shown_errors(at) == [NOTHING_CHANGED]


# --- the CLI -------------------------------------------------------------------------------


@pytest.fixture
def cli_db(tmp_path: Path) -> Iterator[tuple[dict[str, str], Engine]]:
    path = tmp_path / "data" / "searchlogs.db"
    engine = open_database(f"sqlite:///{path}")
    Store(engine, TENANT).advance_cursor(CURSOR, backfill_done=True)
    yield {"DB_PATH": str(path)}, engine
    engine.dispose()


def test_cli_token_and_cursor_actions_are_audited_as_the_os_user(
    cli_db: tuple[dict[str, str], Engine], tmp_path: Path
) -> None:
    env, engine = cli_db
    for args in (
        ["token", "create", "--name", "nightly", "--role", "viewer", "--expires", "30"],
        ["token", "revoke", "nightly"],
        ["reset-cursor", "--yes"],
    ):
        done = run_cli(args, env, tmp_path)
        assert done.returncode == 0, done.stderr
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT actor, role, action, target, detail FROM audit_events"))
        trail = [tuple(row) for row in rows]
    assert trail == [
        (CLI_ACTOR, "admin", "token_create", "nightly", "viewer, expires in 30 days"),
        (CLI_ACTOR, "admin", "token_revoke", "nightly", "revoked"),
        (CLI_ACTOR, "admin", "reset_cursor", "cursor", "cursor reset (CLI)"),
    ]


def test_cli_admin_actions_whose_audit_row_is_refused_change_nothing(
    cli_db: tuple[dict[str, str], Engine], tmp_path: Path
) -> None:
    env, engine = cli_db
    create_token(engine, "old-script", "admin", tenant=None)
    refuse_audit_rows(engine)
    for args in (
        ["token", "create", "--name", "nightly", "--role", "viewer"],
        ["token", "revoke", "old-script"],
        ["reset-cursor", "--yes"],
    ):
        done = run_cli(args, env, tmp_path)
        assert done.returncode != 0, args
        assert done.stderr.strip() == CLI_NOTHING_CHANGED, done.stderr
        assert "msl_" not in done.stdout + done.stderr
    assert [(t.name, t.revoked_at) for t in list_tokens(engine, EVERY)] == [("old-script", None)]
    assert state.read_cursor(engine, TENANT) == CURSOR
    assert events(engine) == []
