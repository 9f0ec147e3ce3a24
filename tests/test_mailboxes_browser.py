"""The Mailboxes page in headless Chromium at 1,400 px (issue 18 §1): the most-searched
list, one mailbox with a searcher without a reason standing out, the links both ways
(user page ↔ mailbox), search text and reasons never rendered as HTML, and the privacy
report; over `streamlit run` on a SQLite file of known searches.

Screenshots go to docs/screenshots/ with UPDATE_SCREENSHOTS=1 (mailboxes.png,
mailbox.png, privacy-report.png, user-mailboxes.png).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import Browser, Page, Playwright, sync_playwright

from db.engine import open_database
from tests.support.browser import (
    CHROMIUM,
    CHROMIUM_ARGS,
    MAIN,
    VIEWPORT,
    click_grid_row,
    full_page_screenshot,
    grid_header,
    grid_rows,
    metrics,
    serve_dashboard,
    settle,
    stop_dashboard,
    wait_for_content,
)
from tests.support.builders import record, store_records
from tests.support.runtime import PROJECT_ROOT

if not CHROMIUM.exists():
    pytest.skip(f"{CHROMIUM} is missing: install Debian's chromium", allow_module_level=True)

pytestmark = pytest.mark.browser

SCREENSHOTS = (
    PROJECT_ROOT / "docs" / "screenshots"
    if os.environ.get("UPDATE_SCREENSHOTS") == "1"
    else Path(tempfile.gettempdir()) / "searchlog-screenshots"
)
DANA = "dana@corp.example"
MARCH = "from=2026-03-01&to=2026-03-31"
LINK_WIDTH = 120  # dashboard.mailboxes_view.LINK_WIDTH
HOSTILE_REASON = '<b>HR</b> case 7 <img src=x onerror="window.__xss=1">'
HOSTILE_TEXT = f"[User : {DANA}] <script>window.__xss=2</script> **bold**"


def _searches() -> list[dict[str, object]]:
    def search(when: str, who: str, text: str, reason: str, kind: str) -> dict[str, object]:
        return record(
            f"2026-03-{when}",
            who,
            source="archive",
            searchText=text,
            searchReason=reason,
            description=kind,
        )

    return [
        search("09T09:00:00", "ann@corp.example", f"[User : {DANA}]", "Legal hold 12", "Archive Search"),
        search("10T10:30:00", "bob@corp.example", f"[User : {DANA}]", HOSTILE_REASON, "Message Tracking Search"),
        search("11T22:05:00", "eve@corp.example", HOSTILE_TEXT, "", "Audit [Page 1] - Depth 100"),
        search("12T22:10:00", "eve@corp.example", f"[User : {DANA}] salary", "", "Archive Search"),
        search("13T07:45:00", "eve@corp.example", f"[User : {DANA}] offer", "", "Archive Search"),
        search("10T11:00:00", "ann@corp.example", "[User : finn@corp.example]", "Ticket 88", "Archive Search"),
        search("16T11:00:00", "ann@corp.example", "#4471 [User : finn@corp.example]", "Ticket 88", "Threat Remediation search"),
    ]  # fmt: skip


@pytest.fixture(scope="module")
def base_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    folder = tmp_path_factory.mktemp("mailboxes")
    db_path = folder / "searchlogs.db"
    engine = open_database(f"sqlite:///{db_path}")
    store_records(engine, _searches())
    engine.dispose()
    env = {
        "DB_PATH": str(db_path),
        "MIMECAST_BASE_URL": "http://127.0.0.1:9",
        "DISPLAY_TZ": "UTC",
        "POLL_SECONDS": "86400",
    }
    url, process = serve_dashboard(env, folder / "streamlit.log")
    try:
        yield url
    finally:
        stop_dashboard(process)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    driver: Playwright = sync_playwright().start()
    chromium = driver.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
    yield chromium
    chromium.close()
    driver.stop()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    profile = browser.new_context(viewport=VIEWPORT)
    profile.set_default_timeout(30_000)
    tab = profile.new_page()
    yield tab
    profile.close()


def shot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    full_page_screenshot(page, SCREENSHOTS / name)


def table_rows(page: Page, index: int = 0) -> list[dict[str, str]]:
    table = page.locator(f"{MAIN} [data-testid='stDataFrame']").nth(index)
    header = grid_header(table)
    return [dict(zip(header, row, strict=True)) for row in grid_rows(table)]


def open_link_in_last_column(page: Page, index: int, row: int) -> Page:
    """Click the "open ↗" link in the last column (LINK_WIDTH wide) of table `index`, row
    `row`: the tab it opens."""
    table = page.locator(f"{MAIN} [data-testid='stDataFrame']").nth(index)
    table.scroll_into_view_if_needed()
    box = table.bounding_box()
    assert box is not None
    with page.context.expect_page() as opened:
        click_grid_row(page, table, row, x=box["width"] - LINK_WIDTH + 20)
    return opened.value


def open_tables(page: Page, url: str, title: str) -> None:
    """Go to `url`; return once its heading and first table show and the run is done."""
    page.goto(url)
    page.locator(f"{MAIN} h1", has_text=title).wait_for()
    page.locator(f"{MAIN} [data-testid='stDataFrame']").first.wait_for()
    settle(page)


def address(page: Page) -> tuple[str, dict[str, list[str]]]:
    parts = urlsplit(page.url)
    return parts.path, parse_qs(parts.query)


def assert_nothing_ran(page: Page) -> None:
    """No markup from the data became an element, no handler in it ran."""
    assert page.evaluate("window.__xss") is None
    assert page.locator(f"{MAIN} img[src='x'], {MAIN} script:not([src])").count() == 0
    assert page.locator(f"{MAIN} b", has_text="HR").count() == 0


def test_the_most_searched_list_opens_a_mailbox_whose_unreasoned_searcher_stands_out(
    base_url: str, page: Page
) -> None:
    open_tables(page, f"{base_url}/mailboxes?{MARCH}", "Whose mailbox was searched")
    rows = table_rows(page)
    assert [r["Mailbox"] for r in rows] == [DANA, "finn@corp.example"]
    assert (rows[0]["Searches"], rows[0]["Distinct searchers"]) == ("5", "3")
    assert rows[0]["Without a reason"] == "3"
    shot(page, "mailboxes.png")
    mailbox = open_link_in_last_column(page, 0, 0)
    wait_for_content(mailbox, "Whose mailbox was searched")
    settle(mailbox)
    assert address(mailbox) == (
        "/mailboxes",
        {"addr": [DANA], "from": ["2026-03-01"], "to": ["2026-03-31"]},
    )
    shown = metrics(mailbox)
    assert (shown["Searches"], shown["Distinct searchers"], shown["Without a reason"]) == (
        "5",
        "3",
        "3",
    )
    searches = table_rows(mailbox)
    eve = [r for r in searches if r["Searcher"] == "eve@corp.example"]
    assert len(eve) == 3 and all("no reason on record" in r["Reason"] for r in eve)
    others = [r for r in searches if r["Searcher"] != "eve@corp.example"]
    assert not any("no reason on record" in r["Reason"] for r in others)
    assert HOSTILE_REASON in [r["Reason"] for r in others]  # as typed, not as markup
    assert_nothing_ran(mailbox)
    shot(mailbox, "mailbox.png")
