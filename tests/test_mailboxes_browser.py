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

from dashboard.widgets import LINK_WIDTH, SEARCH_ROW
from db.engine import open_database
from tests.support.browser import (
    CHROMIUM,
    CHROMIUM_ARGS,
    GRID_HEADER,
    GRID_ROW,
    MAIN,
    VIEWPORT,
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

HOSTILE_REASON = (
    '<b>HR</b> case 7 <img src=x onerror="window.__xss=1"> **bold** [go](http://evil.example/x)'
)
HOSTILE_TEXT = f"[User : {DANA}] <script>window.__xss=2</script> **bold**"


ANN, BOB, EVE = "ann@corp.example", "bob@corp.example", "eve@corp.example"
FINN = "finn@corp.example"
AUDIT = "Audit [Page 1] - Depth 100"  # the longest search type: it must not be cut
SEARCHES = [  # (March day and UTC time, searcher, text, reason, search type)
    ("09T09:00:00", ANN, f"[User : {DANA}]", "Legal hold 12", "Archive Search"),
    ("10T10:30:00", BOB, f"[User : {DANA}]", HOSTILE_REASON, "Message Tracking Search"),
    ("11T22:05:00", EVE, HOSTILE_TEXT, "", AUDIT),
    ("12T22:10:00", EVE, f"[User : {DANA}] salary", "", "Archive Search"),
    ("13T07:45:00", EVE, f"[User : {DANA}] offer", "", "Archive Search"),
    ("10T11:00:00", ANN, f"[User : {FINN}]", "Ticket 88", "Archive Search"),
    ("16T11:00:00", ANN, f"#4471 [User : {FINN}]", "Ticket 88", "Threat Remediation search"),
]


def _searches() -> list[dict[str, object]]:
    return [
        record(f"2026-03-{when}", who, source="archive", searchText=text, searchReason=why,
               description=kind)
        for when, who, text, why, kind in SEARCHES
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


def open_link_in_last_column(page: Page, index: int, row: int, height: int = GRID_ROW) -> Page:
    """Click the "open ↗" link in the last column (LINK_WIDTH wide) of table `index`, row
    `row` (rows `height` px high, the text centred in them): the tab it opens."""
    table = page.locator(f"{MAIN} [data-testid='stDataFrame']").nth(index)
    table.scroll_into_view_if_needed()
    box = table.locator('[data-testid="data-grid-canvas"]').bounding_box()
    assert box is not None
    target = (
        box["x"] + box["width"] - LINK_WIDTH + 20,
        box["y"] + GRID_HEADER + height * row + height / 2,
    )
    page.mouse.move(*target)  # the grid turns a link cell clickable on hover
    page.wait_for_timeout(150)
    with page.context.expect_page() as opened:
        page.mouse.click(*target)
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
    assert page.locator(f"{MAIN} strong", has_text="bold").count() == 0  # nor as Markdown
    assert page.locator(f"{MAIN} a[href*='evil.example']").count() == 0


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
    assert [r["Searcher"] for r in searches] == [EVE, EVE, EVE, BOB, ANN]  # newest first
    for row in searches[:3]:  # eve's: marked in words and a sign, not by colour alone
        assert (row["Reason"], row["Reason on record"]) == ("✕ no reason on record", "✕ no")
    assert [r["Reason"] for r in searches[3:]] == [HOSTILE_REASON, "Legal hold 12"]  # as typed
    assert not any("✕" in r["Reason on record"] for r in searches[3:])
    assert mailbox.get_by_text("a search with no reason").is_visible()  # the timeline's ✕
    assert_nothing_ran(mailbox)
    shot(mailbox, "mailbox.png")

    user = open_link_in_last_column(mailbox, 0, 0, SEARCH_ROW)  # eve's history
    wait_for_content(user, "User history")
    settle(user)
    path, params = address(user)
    assert (path, params["email"], params["from"]) == ("/user", [EVE], ["2026-03-01"])
    searched = user.locator(f"{MAIN} [data-testid='stDataFrame']").first
    assert grid_header(searched)[0] == "Mailbox"
    assert [row[0] for row in grid_rows(searched)] == [DANA]
    searched.scroll_into_view_if_needed()
    user.locator(f"{MAIN} [data-testid='stDataFrame']").nth(1).wait_for()
    texts = [r["Search text"] for r in table_rows(user, 1)]
    assert HOSTILE_TEXT in texts  # shown as typed in the grid
    assert_nothing_ran(user)
    shot(user, "user-mailboxes.png")
    back = open_link_in_last_column(user, 0, 0)  # and back to dana's mailbox
    wait_for_content(back, "Whose mailbox was searched")
    settle(back)
    path, params = address(back)
    assert (path, params["addr"]) == ("/mailboxes", [DANA])
    assert metrics(back)["Searches"] == "5"


def test_the_privacy_report_prints_reasons_and_search_types_as_typed(
    base_url: str, page: Page
) -> None:
    page.goto(f"{base_url}/mailboxes?{MARCH}&addr={DANA}&view=report")
    page.locator(f"{MAIN} h3", has_text="Privacy report").wait_for()
    settle(page)
    report = page.locator(f"{MAIN} [data-testid='stTable']")
    cells = report.locator("td").all_inner_texts()
    assert HOSTILE_REASON in cells and AUDIT in cells and "✕ no reason on record" in cells
    heads = report.locator("tbody th").all_inner_texts()
    assert heads[0] == "2026-03-13 07:45:00"  # the page's one time format
    assert_nothing_ran(page)
    shot(page, "privacy-report.png")
