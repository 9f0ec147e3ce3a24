"""Data leaves the dashboard only through its audited download buttons: every page with
data in headless Chromium, every table and chart hovered, no other download control; a
table's CSV from the dashboard is the API's CSV of the same data, byte for byte.

Decisions this file pins (see docs/dashboard.md "Exports"):
- Streamlit's table toolbar "Download as CSV" and clipboard copy are exports: they are off
  (`client.disableDataExport`). The table's search and fullscreen view only show what the
  page shows: they stay.
- A chart image is an export too (the per-day bars and the calendar show counts per user
  and day): Plotly's modebar, with its "Download plot as png", is not drawn.

Needs Debian's Chromium at /usr/bin/chromium; skipped without.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest
import requests
from playwright.sync_api import BrowserContext, Locator, Page, sync_playwright

from db.alerts import insert_alerts
from db.engine import open_database
from tests.support.browser import (
    CHROMIUM,
    CHROMIUM_ARGS,
    MAIN,
    VIEWPORT,
    serve_dashboard,
    settle,
    stop_dashboard,
)
from tests.support.builders import record, store_records
from tests.support.detections import new_alert
from tests.support.exports import assert_no_formula_cells
from tests.support.harness import run_cli

if not CHROMIUM.exists():
    pytest.skip(f"{CHROMIUM} is missing: install Debian's chromium", allow_module_level=True)

pytestmark = pytest.mark.browser

RANGE = "from=2026-03-01&to=2026-03-10"
USER = "kim@example.com"
DAY = date(2026, 3, 2)
TEXTS = ('budget;=HYPERLINK("http://evil","x")', "=1+1", "invoice; -2", "plain")

TABLE = f'{MAIN} [data-testid="stDataFrame"]'
CHART = f'{MAIN} [data-testid="stPlotlyChart"]'
SPARKLINE = f'{MAIN} [data-testid="stMetric"]'
TOOLBAR_BUTTON = '[data-testid="stElementToolbarButton"] button'
AUDITED = '[data-testid="stDownloadButton"]'
DOWNLOAD_WORDS = re.compile(r"download|export|save|copy|png|svg|csv", re.IGNORECASE)


@dataclass(frozen=True)
class Visit:
    """A page of the dashboard: its path, its heading, and how many tables and charts it
    shows at least (so that a page drawn empty cannot pass)."""

    path: str
    heading: str
    tables: int
    charts: int
    downloads: tuple[str, ...]  # the audited buttons' labels, as they start


VISITS = (
    Visit(f"/?{RANGE}", "Searches by user", 1, 0, ("Download this table (CSV)",)),
    Visit(f"/user?email={USER}&{RANGE}", "User history", 2, 2, ("Download all",)),
    Visit("/calendar?month=2026-03", "Calendar", 0, 1, ("Per day (CSV)", "Per day (JSON)")),
    Visit(f"/day?date={DAY}", "Day", 1, 0, ("Download all",)),
    Visit(f"/alerts?{RANGE}", "Alerts", 1, 0, ("Download",)),
    Visit("/status", "Ingest status", 1, 0, ()),
    Visit("/audit", "Audit trail", 1, 0, ("Download",)),
    Visit("/tokens", "API tokens", 1, 0, ()),
)


@dataclass(frozen=True)
class Served:
    base_url: str
    db_path: Path
    token: str


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """Searches (hostile texts among them) on fixed March days, an alert, a token, and the
    dashboard with its API on a free loopback port."""
    folder = tmp_path_factory.mktemp("exports")
    db_path = folder / "searchlogs.db"
    engine = open_database(f"sqlite:///{db_path}")
    records = [
        record(f"2026-03-0{day}T{9 + n:02d}:00:00", email, source="archive", searchText=text)
        for day in (1, 2, 5)
        for n, (email, text) in enumerate(
            zip((USER, USER, "lee@example.com", "ops@example.com"), TEXTS, strict=True)
        )
    ]
    store_records(engine, records)
    with engine.begin() as conn:
        insert_alerts(conn, [new_alert("breadth", USER, DAY, summary=TEXTS[0])])
    engine.dispose()
    env = {"DB_PATH": str(db_path), "DATABASE_URL": f"sqlite:///{db_path}", "DISPLAY_TZ": "UTC"}
    done = run_cli(["token", "create", "--name", "exports", "--role", "viewer"], env, folder)
    assert done.returncode == 0, done.stderr
    token = done.stdout.strip().splitlines()[-1]
    base_url, process = serve_dashboard(env, folder / "streamlit.log")
    try:
        yield Served(base_url, db_path, token)
    finally:
        stop_dashboard(process)


@pytest.fixture(scope="module")
def context() -> Iterator[BrowserContext]:
    with sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        profile = browser.new_context(
            viewport=VIEWPORT,
            accept_downloads=True,
            permissions=["clipboard-read", "clipboard-write"],
        )
        profile.set_default_timeout(30_000)
        yield profile
        browser.close()


@pytest.fixture
def page(context: BrowserContext) -> Iterator[Page]:
    tab = context.new_page()
    yield tab
    tab.close()


def visit(page: Page, served: Served, path: str, heading: str) -> None:
    page.goto(served.base_url + path)
    page.locator(f"{MAIN} h1", has_text=heading).wait_for()
    settle(page)


def open_expanders(page: Page) -> None:
    """Tables inside collapsed expanders (the day page's users) are tables too."""
    for summary in page.locator(f'{MAIN} [data-testid="stExpander"] summary').all():
        if summary.locator("xpath=..").get_attribute("open") is None:
            summary.click()
    settle(page)


def hover(page: Page, element: Locator) -> list[str]:
    """Hover `element` and return the labels of the toolbar buttons it shows."""
    element.scroll_into_view_if_needed()
    box = element.bounding_box()
    assert box is not None, "not on screen"
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + min(box["height"] / 2, 60))
    element.page.wait_for_function("e => e.matches(':hover')", arg=element.element_handle())
    container = element.locator("xpath=ancestor::*[@data-testid='stElementContainer'][1]")
    buttons = container.locator(TOOLBAR_BUTTON)
    if element.get_attribute("data-testid") == "stDataFrame":
        buttons.first.wait_for(state="visible")  # a table's toolbar shows on hover
    return [label or "" for label in buttons.evaluate_all("bs => bs.map(b => b.ariaLabel)")]


def other_download_controls(page: Page) -> list[str]:
    """Every control in the main area named for a download, an export, a copy or an image,
    outside the audited download buttons: by its label, title or Plotly's `data-title`, a
    button by its text too, and any link that downloads or points at a blob or data URL."""
    return page.locator(MAIN).evaluate(
        """(main, pattern) => {
          const words = new RegExp(pattern, 'i');
          const found = [];
          for (const node of main.querySelectorAll('button, a, [role=button], [data-title]')) {
            if (node.closest('[data-testid="stDownloadButton"]')) continue;
            const named = [node.getAttribute('aria-label'), node.getAttribute('title'),
                           node.getAttribute('data-title'),
                           node.tagName === 'BUTTON' ? node.textContent : ''].join(' ');
            const href = node.getAttribute('href') || '';
            if (words.test(named) || node.hasAttribute('download') || /^(blob|data):/.test(href))
              found.push(named.trim() || href);
          }
          return found;
        }""",
        DOWNLOAD_WORDS.pattern,
    )


@pytest.mark.parametrize("where", VISITS, ids=lambda v: v.heading)
def test_no_table_or_chart_offers_a_download_other_than_the_audited_buttons(
    served: Served, page: Page, where: Visit
) -> None:
    visit(page, served, where.path, where.heading)
    open_expanders(page)
    tables, charts = page.locator(TABLE).all(), page.locator(CHART).all()
    assert len(tables) >= where.tables and len(charts) >= where.charts, where
    for element in [*tables, *charts, *page.locator(SPARKLINE).all()]:
        labels = hover(page, element)
        assert not [label for label in labels if DOWNLOAD_WORDS.search(label)], labels
        assert other_download_controls(page) == []
    for chart in charts:  # no modebar at all: no "Download plot as png"
        assert chart.locator(".modebar-btn").count() == 0
    audited = [text.split("\n")[-1] for text in page.locator(f"{AUDITED} button").all_inner_texts()]
    assert len(audited) == len(where.downloads), audited
    for label, expected in zip(sorted(audited), sorted(where.downloads), strict=True):
        assert label.startswith(expected), (label, expected)


WATCH_COPIES = """
window.__copies = [];
window.addEventListener('copy', event => {  // after the grid's own listener: what it wrote
  window.__copies.push(event.clipboardData ? event.clipboardData.getData('text/plain') : '');
});
"""


def test_a_table_cell_copied_with_ctrl_c_leaves_the_clipboard_as_it_was(
    served: Served, page: Page
) -> None:
    visit(page, served, f"/alerts?{RANGE}", "Alerts")
    page.evaluate(WATCH_COPIES)
    page.evaluate("navigator.clipboard.writeText('nothing copied')")
    table = page.locator(TABLE).first
    box = table.locator('[data-testid="data-grid-canvas"]').bounding_box()
    assert box is not None
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + 35 + 17)  # a cell of row 1
    page.keyboard.press("Control+c")
    page.wait_for_function("window.__copies.length > 0")  # the copy was handled
    assert page.evaluate("window.__copies") == [""]
    assert page.evaluate("navigator.clipboard.readText()") == "nothing copied"


def download(page: Page, label: str, target: Path) -> bytes:
    button = page.locator(AUDITED).filter(has_text=label).first
    with page.expect_download() as started:
        button.click()
    started.value.save_as(target)
    return target.read_bytes()


def api_csv(served: Served, path: str, params: dict[str, str]) -> bytes:
    reply = requests.get(
        served.base_url + path,
        params=params,
        headers={"Authorization": f"Bearer {served.token}", "Accept": "text/csv"},
        timeout=60,
    )
    assert reply.status_code == 200, reply.text
    return reply.content


def test_a_tables_csv_is_the_same_file_from_the_dashboard_and_from_the_api(
    served: Served, page: Page, tmp_path: Path
) -> None:
    days = {"from": "2026-03-01", "to": "2026-03-10", "tz": "UTC"}
    visit(page, served, f"/?{RANGE}", "Searches by user")
    summary = download(page, "Download this table (CSV)", tmp_path / "summary.csv")
    assert summary == api_csv(served, "/api/v1/users", days)
    assert summary.startswith(b'"email","searches","active_days","first_search",')
    assert b'"2026-03-01T09:00:00+00:00"' in summary  # first search, ISO 8601 with offset

    visit(page, served, "/calendar?month=2026-03", "Calendar")
    per_day = download(page, "Per day (CSV)", tmp_path / "per_day.csv")
    month = {"from": "2026-03-01", "to": "2026-03-31", "tz": "UTC"}
    assert per_day == api_csv(served, "/api/v1/searches-per-day", month)
    assert per_day.startswith(b'"date","searches"\r\n"2026-03-01","4"\r\n')

    visit(page, served, f"/alerts?{RANGE}", "Alerts")
    alerts = download(page, "Download", tmp_path / "alerts.csv")
    assert alerts == api_csv(
        served, "/api/v1/alerts", {"from": "2026-03-01", "to": "2026-03-10", "limit": "1000"}
    )
    assert b'"budget;\'=HYPERLINK(""http://evil"",""x"")"' in alerts
    for content in (summary, per_day, alerts):
        assert_no_formula_cells(content.decode("utf-8"))
    with sqlite3.connect(served.db_path) as conn:
        exported = conn.execute(
            "SELECT target FROM audit_events WHERE action = 'export_csv' ORDER BY id"
        ).fetchall()
    assert exported[-3:] == [("summary by user",), ("2026-03",), ("alerts",)]
