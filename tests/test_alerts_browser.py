"""The Alerts and API tokens pages in headless Chromium, signed in through a real OpenID
Connect provider (as `tests/test_auth_browser.py`): alerts raised by `python -m ingest
detect` over the simulator's labelled incidents, triaged by an administrator in the
browser, read-only for a viewer; a token created on the page and shown once.

Screenshots go to docs/screenshots/ with UPDATE_SCREENSHOTS=1 (alerts.png, tokens.png).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Page

from db.engine import open_database
from ingest.simulator.incidents import labelled_tenant
from tests.support.browser import (
    MAIN,
    grid_header,
    grid_rows,
    metrics,
    settle,
)
from tests.support.detections import load_records
from tests.support.harness import SIM_ID, SIM_SECRET, run_cli
from tests.support.signin import (
    ADMIN,
    VIEWER,
    SignedDashboard,
    buttons,
    heading,
    main_text,
    shot,
    sign_in,
    signed_in_dashboard,
)

pytestmark = pytest.mark.browser

TENANT_DAYS = 80  # of searches, ending yesterday; the planted incidents land on weekdays


@pytest.fixture(scope="module")
def alerting(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SignedDashboard]:
    """80 days of a labelled tenant's searches with planted incidents, stored as the ingest
    stores them; `python -m ingest detect` raises the alerts; the dashboard signs in
    through a mock OIDC provider (admin and viewer lists as in the sign-in browser test)."""
    folder = tmp_path_factory.mktemp("alerts")
    db_path = folder / "searchlogs.db"
    now = datetime.now(UTC)
    tenant = labelled_tenant(
        8, people=30, days=TENANT_DAYS, end=now.date(), repeats=1, system_rate=0.1
    )
    engine = open_database(f"sqlite:///{db_path}")
    load_records(engine, tenant.records, now)
    engine.dispose()
    env = {
        "MIMECAST_CLIENT_ID": SIM_ID,
        "MIMECAST_CLIENT_SECRET": SIM_SECRET,
        "MIMECAST_BASE_URL": "http://127.0.0.1:9",
        "DB_PATH": str(db_path),
        "DISPLAY_TZ": "UTC",
    }
    done = run_cli(["detect"], env, folder)
    assert done.returncode == 0, done.stderr
    with sqlite3.connect(db_path) as conn:
        assert conn.execute("SELECT count(*) FROM alerts").fetchone()[0] > 5
    with signed_in_dashboard(folder, db_path) as dashboard:
        yield dashboard


def alerts_path() -> str:
    """Every day of the tenant (and one more, should the test cross midnight): which days
    hold alerts depends on the date the data was built, a 60-day range missed some."""
    today = datetime.now(UTC).date()
    return f"/alerts?from={today - timedelta(days=TENANT_DAYS + 1)}&to={today}"


def alert_rows(page: Page) -> list[dict[str, str]]:
    table = page.locator(f"{MAIN} [data-testid='stDataFrame']").first
    header = grid_header(table)
    return [dict(zip(header, row, strict=True)) for row in grid_rows(table)]


def query(db_path: Path, sql: str) -> list[tuple]:
    with sqlite3.connect(db_path) as conn:
        return conn.execute(sql).fetchall()


def test_an_admin_acknowledges_an_alert_in_the_browser(alerting: SignedDashboard, new_tab) -> None:
    page = new_tab()
    sign_in(page, alerting, ADMIN)
    heading(page, "Searches by user")
    page.goto(alerting.base_url + alerts_path())
    heading(page, "Alerts")
    page.locator(f"{MAIN} [data-testid='stMetric']").first.wait_for()
    total = int(metrics(page)["Alerts"])
    (stored,) = query(alerting.db_path, "SELECT count(*) FROM alerts")[0]
    assert total == stored
    rows = alert_rows(page)
    assert rows and all(row["Why"] for row in rows)
    assert {"Alert", "Severity", "Rule", "User", "Why"} <= set(rows[0])  # columns drawn
    first_id = int(rows[0]["Alert"])

    picker = page.locator(f"{MAIN} [data-testid='stMultiSelect']", has_text="Alerts").last
    picker.locator("input").click()
    picker.locator("input").fill(f"#{first_id} ·")
    page.locator('[role="option"]', has_text=f"#{first_id} ·").first.click()
    page.keyboard.press("Escape")
    settle(page)
    page.get_by_label("Note", exact=True).fill("Checked with the manager: month-end audit")
    page.keyboard.press("Enter")
    settle(page)
    page.get_by_role("button", name="Acknowledge").click()
    page.get_by_text("1 alert acknowledged.").wait_for()
    settle(page)
    assert int(metrics(page)["Acknowledged"]) == 1
    assert query(
        alerting.db_path, f"SELECT status, note, triaged_by FROM alerts WHERE id = {first_id}"
    ) == [("acknowledged", "Checked with the manager: month-end audit", ADMIN)]
    assert (ADMIN, "admin", "triage_alert", f"#{first_id}", 1) in query(
        alerting.db_path, "SELECT actor, role, action, target, rows FROM audit_events"
    )
    page.locator(f"{MAIN} [data-testid='stDataFrame']").first.scroll_into_view_if_needed()
    shot(page, "alerts.png")


def test_a_viewer_sees_the_alerts_but_cannot_triage(alerting: SignedDashboard, new_tab) -> None:
    page = new_tab()
    sign_in(page, alerting, VIEWER)
    heading(page, "Searches by user")
    assert int(metrics(page)["Open alerts"]) > 0
    page.goto(alerting.base_url + alerts_path())
    heading(page, "Alerts")
    page.locator(f"{MAIN} [data-testid='stMetric']").first.wait_for()
    assert alert_rows(page)
    assert "Only administrators can acknowledge or dismiss alerts." in main_text(page)
    assert not {"Acknowledge", "Dismiss"} & set(buttons(page))
    assert page.get_by_label("Note", exact=True).count() == 0
    assert (VIEWER, "viewer", "view_alerts") in query(
        alerting.db_path, "SELECT actor, role, action FROM audit_events"
    )


def test_an_admin_creates_a_token_shown_once_a_viewer_is_refused(
    alerting: SignedDashboard, new_tab
) -> None:
    page = new_tab()
    sign_in(page, alerting, ADMIN)
    heading(page, "Searches by user")
    page.goto(alerting.base_url + "/tokens")
    heading(page, "API tokens")
    page.get_by_label("Name", exact=True).fill("siem-reader")
    page.keyboard.press("Enter")
    settle(page)
    page.get_by_role("button", name="Create token").click()
    page.get_by_text("Copy the new token siem-reader now").wait_for()
    settle(page)
    token = page.locator(f"{MAIN} [data-testid='stCode'] code").inner_text().strip()
    assert token.startswith("msl_")
    shot(page, "tokens.png")
    page.reload()
    heading(page, "API tokens")
    assert token not in main_text(page)
    assert query(alerting.db_path, "SELECT name, role FROM api_tokens") == [
        ("siem-reader", "viewer")
    ]

    viewer = new_tab()
    sign_in(viewer, alerting, VIEWER)
    heading(viewer, "Searches by user")
    viewer.goto(alerting.base_url + "/tokens")
    heading(viewer, "API tokens")
    assert "This page is for administrators only." in main_text(viewer)
    assert "siem-reader" not in main_text(viewer)
    assert (VIEWER, "viewer", "denied", "tokens") in query(
        alerting.db_path, "SELECT actor, role, action, target FROM audit_events"
    )
