"""The Alerts and API tokens pages in headless Chromium, signed in through a real OpenID
Connect provider (as `tests/test_auth_browser.py`): alerts raised by `python -m ingest
detect` over the simulator's labelled incidents, triaged by an administrator in the
browser, read-only for a viewer; a token created on the page and shown once.

Screenshots go to docs/screenshots/ with UPDATE_SCREENSHOTS=1 (alerts.png, tokens.png,
alert-panel.png, day-alerts.png, user-one-day.png).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, quote, urlparse

import pytest
from playwright.sync_api import Page

from db.alert_evidence import evidence_searches
from db.engine import open_database
from db.rule_text import RULE_TEXT
from db.scope import TenantScope
from ingest.simulator.incidents import labelled_tenant
from tests.support.browser import (
    MAIN,
    click_grid_row,
    grid_header,
    grid_rows,
    metrics,
    settle,
    wait_for_charts,
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


# --- the detail panel, the evidence link, the day's alerts (issue 18 §2) -----------------


PANEL = f"{MAIN} .st-key-alert_panel"


def url_dates(page: Page) -> tuple[str | None, str | None]:
    query = parse_qs(urlparse(page.url).query)
    return (query.get("from", [None])[0], query.get("to", [None])[0])


def sidebar_dates(page: Page) -> list[str]:
    """The sidebar's date range as its inputs hold it (start, end)."""
    inputs = page.locator("[data-testid='stSidebar'] [data-testid='stDateInput'] input")
    return [field.input_value() for field in inputs.all()]


def test_selecting_an_alert_opens_its_panel_with_figures_and_the_searches_that_fired_it(
    alerting: SignedDashboard, new_tab
) -> None:
    page = new_tab()
    sign_in(page, alerting, VIEWER)
    heading(page, "Searches by user")
    page.goto(alerting.base_url + alerts_path())
    heading(page, "Alerts")
    before, dates = url_dates(page), sidebar_dates(page)
    rows = alert_rows(page)
    assert {"Rule", "User", "Evidence", "Why"} <= set(rows[0])
    header = list(rows[0])
    assert header.index("Evidence") == header.index("User") + 1  # beside the user
    first_id = int(rows[0]["Alert"])
    table = page.locator(f"{MAIN} [data-testid='stDataFrame']").first
    click_grid_row(page, table, 0)
    page.locator(PANEL).wait_for()
    settle(page)
    panel = page.locator(PANEL).inner_text()
    (rule, summary, email, stored_figures) = query(
        alerting.db_path,
        f"SELECT rule, summary, email_addr, figures FROM alerts WHERE id = {first_id}",
    )[0]
    assert f"Alert #{first_id} · {RULE_TEXT[rule][0]}" in panel
    assert RULE_TEXT[rule][1] in panel and summary in panel and email in panel
    figures = grid_rows(page.locator(f"{PANEL} [data-testid='stDataFrame']").first)
    assert len(figures) == len(json.loads(stored_figures)) > 0  # every figure, one a row
    evidence = page.locator(f"{PANEL} [data-testid='stDataFrame']").nth(1)
    engine = open_database(f"sqlite:///{alerting.db_path}")
    stored = len(evidence_searches(engine, TenantScope.every_tenant(), first_id))
    engine.dispose()
    assert f"The searches that fired it · {stored:,}" in panel and grid_rows(evidence)
    assert parse_qs(urlparse(page.url).query)["alert"] == [str(first_id)]
    assert url_dates(page) == before and sidebar_dates(page) == dates  # filters untouched
    assert "Dates filtered to" in main_text(page)  # the alerts_path days are not the default
    shot(page, "alert-panel.png")


def test_an_alert_link_keeps_the_analysts_filters_and_a_narrowing_link_says_so(
    alerting: SignedDashboard, new_tab
) -> None:
    page = new_tab()
    sign_in(page, alerting, VIEWER)
    heading(page, "Searches by user")
    dates = sidebar_dates(page)  # the default 30 days
    (alert_id, stored_link) = query(
        alerting.db_path, "SELECT id, evidence_url FROM alerts ORDER BY day DESC, id LIMIT 1"
    )[0]
    page.goto(alerting.base_url + f"/alerts?alert={alert_id}")
    heading(page, "Alerts")
    page.locator(PANEL).wait_for()
    settle(page)
    assert sidebar_dates(page) == dates
    assert "Dates filtered to" not in main_text(page)
    page.goto(alerting.base_url + stored_link)  # a stored link (API, SIEM) narrows the days
    heading(page, "User history")
    marker = page.get_by_text("Dates filtered to")
    marker.wait_for()
    page.get_by_role("button", name="reset dates").click()
    marker.wait_for(state="detached")  # the rerun that resets the dates removes it
    settle(page)
    assert page.get_by_text("Dates filtered to").count() == 0
    assert sidebar_dates(page) == dates


def test_the_day_page_shows_its_alerts_and_a_one_day_chart_hour_by_hour(
    alerting: SignedDashboard, new_tab
) -> None:
    page = new_tab()
    sign_in(page, alerting, VIEWER)
    heading(page, "Searches by user")
    (day, email, count) = query(
        alerting.db_path,
        "SELECT day, min(email_addr), count(*) FROM alerts GROUP BY day "
        "ORDER BY count(*) DESC, day DESC LIMIT 1",
    )[0]
    page.goto(alerting.base_url + f"/day?date={day}")
    heading(page, "Day")
    page.get_by_text("Alerts on this day").wait_for()
    settle(page)
    table = page.locator(f"{MAIN} [data-testid='stDataFrame']").first
    shown = [dict(zip(grid_header(table), row, strict=True)) for row in grid_rows(table)]
    assert len(shown) == count and all(row["Details"] for row in shown)
    assert f"Alerts on this day · {count}" in main_text(page)
    shot(page, "day-alerts.png")

    page.goto(alerting.base_url + f"/user?email={quote(email)}&from={day}&to={day}")
    heading(page, "User history")
    wait_for_charts(page)
    settle(page)
    bars = page.locator("[data-testid='stPlotlyChart'] .js-plotly-plot").first
    assert bars.evaluate("plot => plot.data[0].x.length") == 24
    ticks = bars.locator(".xtick text").all_text_contents()
    assert ticks and len(ticks) == len(set(ticks))  # no "25 Nov, 25 Nov, 26 Nov"
    shot(page, "user-one-day.png")
