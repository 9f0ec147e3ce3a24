"""The dashboard in a real browser: `streamlit run` over a database the real ingest filled
from the simulator, driven by headless Chromium the way an analyst uses it — deep links,
clicks on table rows and calendar days, downloads, the back button — plus load timings and
the screenshots in `docs/screenshots/`.

Needs Debian's Chromium at /usr/bin/chromium (`scripts/test` installs it); skipped without.
"""

from __future__ import annotations

import csv
import io
import os
import platform
import re
import sqlite3
import tempfile
import time
import urllib.request
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, quote, urlsplit

import pytest
import streamlit
from playwright.sync_api import (
    Browser,
    BrowserContext,
    Page,
    Playwright,
    WebSocketRoute,
    expect,
    sync_playwright,
)
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.DownloadButton_pb2 import DownloadButton as DownloadButtonProto
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

from ingest.records import SearchEvent, parse_record
from ingest.simulator import SimConfig, Simulator
from tests.support.browser import (
    CHROMIUM,
    CHROMIUM_ARGS,
    MAIN,
    NAV_TITLES,
    VIEWPORT,
    click_calendar_day,
    click_grid_row,
    exceptions,
    full_page_screenshot,
    grid_header,
    grid_rows,
    heading,
    median_ms,
    menus_seen,
    metrics,
    nav_titles,
    open_page,
    serve_dashboard,
    settle,
    stop_dashboard,
    subheadings,
    wait_for_charts,
    wait_for_content,
    watch_menus,
)
from tests.support.harness import fixed_clock, make_settings, run_ingest_once, settled_now
from tests.support.runtime import PROJECT_ROOT
from tests.support.truth import row_count

if not CHROMIUM.exists():
    pytest.skip(
        f"{CHROMIUM} is missing: install Debian's chromium to run the browser tests",
        allow_module_level=True,
    )

pytestmark = pytest.mark.browser

# Screenshots and timings go to docs/screenshots/ only when asked for
# (UPDATE_SCREENSHOTS=1), so a test run leaves the work tree clean.
SCREENSHOTS = (
    PROJECT_ROOT / "docs" / "screenshots"
    if os.environ.get("UPDATE_SCREENSHOTS") == "1"
    else Path(tempfile.gettempdir()) / "searchlog-screenshots"
)
MALLORY = "mallory@example.com"
# Search texts an attacker could type into Mimecast: markup, script, spreadsheet formulas.
HOSTILE = (
    '<img src=x onerror="window.__xss=1">',
    "<script>window.__xss=2</script>",
    '=HYPERLINK("http://evil","x")',
    "+1+1",
    "-2",
    "@SUM(A1)",
    "\tTAB",
    "**bold** [link](http://evil)",
)


@dataclass(frozen=True)
class Dashboard:
    """A running dashboard over ingested simulator data, and what the tests know of it."""

    base_url: str
    settings_env: dict[str, str]
    hostile_day: date  # mallory's searches, at 10:00, 10:01, … UTC
    today: date
    truth: Counter[tuple[date, str]]  # the simulator's searches per (UTC day, user)
    stored: int
    requested: list[str] = field(default_factory=list)  # paths opened so far

    def url(self, path: str) -> str:
        self.requested.append(path)
        return self.base_url + path

    def days(self) -> str:
        """The default filter's days (the last 30 up to `today`), named in the address: the
        page would count them back from the server's date, not `today`, once the module has
        crossed midnight UTC (or began in the two minutes after it: `today` is the date of
        settled_now)."""
        return f"from={self.today - timedelta(days=29)}&to={self.today}"

    def per_user(self) -> Counter[str]:
        """Searches per user over `days()`."""
        first = self.today - timedelta(days=29)
        counts: Counter[str] = Counter()
        for (day, user), n in self.truth.items():
            if first <= day <= self.today:
                counts[user] += n
        return counts

    def busiest_user(self) -> str:
        return next(user for user, _n in self.per_user().most_common() if user != "<>")

    def on(self, day: date) -> int:
        return sum(n for (when, _user), n in self.truth.items() if when == day)


def _hostile_records(day: date) -> list[dict[str, str]]:
    start = datetime(day.year, day.month, day.day, 10, tzinfo=UTC)
    return [
        {
            "createTime": (start + timedelta(minutes=n)).strftime("%Y-%m-%dT%H:%M:%S+0000"),
            "emailAddr": MALLORY,
            "source": "archive",
            "searchText": text,
            "searchReason": "",
            "description": "Archive Search",
        }
        for n, text in enumerate(HOSTILE)
    ]


def _searches_per_day_and_user(
    sim: Simulator, start: datetime, end: datetime
) -> Counter[tuple[date, str]]:
    valid, _ = sim.truth(start, end)
    parsed = (parse_record(record) for record in valid)
    return Counter(
        (event.create_time.astimezone(UTC).date(), event.email_addr)
        for event in parsed
        if isinstance(event, SearchEvent)
    )


@pytest.fixture(scope="module")
def dashboard(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dashboard]:
    """40 days of simulated searches plus mallory's hostile ones, ingested into a SQLite
    file; the dashboard serving it on a free loopback port."""
    folder = tmp_path_factory.mktemp("browser")
    db_path = folder / "searchlogs.db"
    config = SimConfig(seed=20261126, days=40, events_per_day=150, late_fraction=0.0)
    with Simulator(config) as sim:
        now = settled_now()
        hostile_day = now.date() - timedelta(days=1)
        sim.add_events(_hostile_records(hostile_day))
        settings = make_settings(sim.base_url, db_path, INITIAL_BACKFILL_DAYS="40")
        result = run_ingest_once(settings, clock=fixed_clock(now))
        assert result.status == "ok", result
        settings_env = {
            "DB_PATH": str(db_path),
            # DATABASE_URL wins over DB_PATH: set it too, so a developer's .env cannot
            # point the dashboard at another database.
            "DATABASE_URL": f"sqlite:///{db_path}",
            "MIMECAST_BASE_URL": sim.base_url,  # a loopback URL: the demo banner shows
            "DISPLAY_TZ": "UTC",
            "POLL_SECONDS": "3600",
        }
        base_url, process = serve_dashboard(settings_env, folder / "streamlit.log")
        try:
            yield Dashboard(
                base_url=base_url,
                settings_env=settings_env,
                hostile_day=hostile_day,
                today=now.date(),
                truth=_searches_per_day_and_user(sim, now - timedelta(days=41), now),
                stored=row_count(settings.effective_database_url),
            )
        finally:
            stop_dashboard(process)


@pytest.fixture
def new_server(dashboard: Dashboard, tmp_path: Path) -> Iterator[str]:
    """The URL of a dashboard that has served no page yet: the module's own while no test
    has opened one (as when this file runs in order), else one started for the test."""
    if not dashboard.requested:
        yield dashboard.url("")
        return
    base_url, process = serve_dashboard(dashboard.settings_env, tmp_path / "streamlit.log")
    try:
        yield base_url
    finally:
        stop_dashboard(process)


@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    driver = sync_playwright().start()
    yield driver
    driver.stop()


@pytest.fixture(scope="module")
def browser(playwright: Playwright) -> Iterator[Browser]:
    chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
    yield chromium
    chromium.close()


@pytest.fixture(scope="module")
def context(browser: Browser) -> Iterator[BrowserContext]:
    """One browser profile for the module: its HTTP cache keeps Streamlit's scripts, as an
    analyst's browser does. Each page load is a new Streamlit session all the same."""
    profile = browser.new_context(viewport=VIEWPORT, accept_downloads=True)
    profile.set_default_timeout(30_000)
    yield profile
    profile.close()


@pytest.fixture
def page(context: BrowserContext) -> Iterator[Page]:
    tab = context.new_page()
    yield tab
    for opened in context.pages:  # this tab and any it opened
        opened.close()


@pytest.fixture
def dialogs(page: Page) -> list[str]:
    """Every alert/confirm/prompt the page opens (dismissed): an XSS would show up here."""
    seen: list[str] = []

    def record(dialog) -> None:
        seen.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", record)
    return seen


def routes(dashboard: Dashboard, user: str = MALLORY) -> dict[str, tuple[str, str, str]]:
    """Each page: (path, heading, sub-heading naming what it shows)."""
    day = dashboard.hostile_day
    return {
        "summary": ("/", "Searches by user", ""),
        "user": (f"/user?email={user}", "User history", user),
        "calendar-month": (f"/calendar?month={day:%Y-%m}", "Calendar", f"{day:%B %Y}"),
        "calendar-year": (f"/calendar?year={day.year}", "Calendar", str(day.year)),
        "day": (f"/day?date={day}", "Day", f"{day:%A} {day}"),
        "status": ("/status", "Ingest status", "Recent runs"),
    }


def query(url: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(url).query)


def expect_route(page: Page, path: str, **params: str) -> None:
    """The address bar shows `path` with (at least) these query parameters."""
    page.wait_for_url(lambda url: urlsplit(url).path == path)
    shown = query(page.url)
    for key, value in params.items():
        assert shown.get(key) == [value], (key, page.url)


# --- routes -------------------------------------------------------------------------------


def test_a_deep_link_as_the_first_request_to_a_new_server_shows_the_page_and_full_menu(
    new_server: str, page: Page
) -> None:
    """On a new server Streamlit's legacy `pages/` mode runs `pages/user.py` alone, without
    the menu, until some run has called `st.navigation` (see `dashboard/legacy.py`)."""
    page.goto(f"{new_server}/user?email={MALLORY}")
    page.locator(f"{MAIN} h1", has_text="User history").wait_for(timeout=60_000)
    settle(page, timeout=60_000)
    assert nav_titles(page) == NAV_TITLES  # not the file names: calendar, day, …, user
    wait_for_content(page, "User history")
    assert exceptions(page) == []
    assert subheadings(page)[0] == MALLORY
    assert metrics(page)["Searches"] == str(len(HOSTILE))
    assert query(page.url)["email"] == [MALLORY]


def test_the_first_page_of_a_new_server_never_shows_the_legacy_file_name_menu(
    new_server: str, page: Page
) -> None:
    """On a new server Streamlit's legacy `pages/` mode sent a menu of file names
    ("streamlit app, audit, calendar, …") that stood over an empty page until the first
    run reached `st.navigation`. Streamlit's menu is off and the dashboard draws its own:
    watched from the first paint, the legacy menu never appears."""
    watch_menus(page)
    page.goto(new_server + "/")
    wait_for_content(page, "Searches by user", timeout=60_000)
    settle(page, timeout=60_000)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    full_page_screenshot(page, SCREENSHOTS / "first-visit.png")
    seen = menus_seen(page)
    assert seen["legacy"] == [], seen["legacy"][:1]
    assert seen["real"] is not None
    assert nav_titles(page) == NAV_TITLES
    assert exceptions(page) == []


def test_every_route_shows_its_heading_the_menu_and_no_exception(
    dashboard: Dashboard, page: Page
) -> None:
    for name, (path, title, sub) in routes(dashboard).items():
        open_page(page, dashboard.url(path), title)
        assert heading(page) == title, name
        assert exceptions(page) == [], name
        assert nav_titles(page) == NAV_TITLES, name
        if sub:
            assert sub in subheadings(page), name
        banner = page.locator(f'{MAIN} [data-testid="stAlertContentInfo"] p').first
        assert banner.inner_text().startswith("Demo data — MIMECAST_BASE_URL points at"), name
    shown = metrics(page)  # the status page, which is not filtered
    assert shown["Searches stored"] == f"{dashboard.stored:,}"
    assert shown["Rejected records"] == "0"


# --- summary → user -------------------------------------------------------------------------


def _summary_row(dashboard: Dashboard, page: Page, row: int) -> dict[str, str]:
    open_page(page, dashboard.url(f"/?{dashboard.days()}"), "Searches by user")
    table = page.locator(f'{MAIN} [data-testid="stDataFrame"]')
    header = grid_header(table)
    assert header[:3] == ["User", "Searches", "Active days"]
    return dict(zip(header, grid_rows(table)[row], strict=True))


def test_selecting_a_summary_row_opens_that_users_history(dashboard: Dashboard, page: Page) -> None:
    row = _summary_row(dashboard, page, 4)
    user = row["User"]
    assert int(row["Searches"]) == dashboard.per_user()[user]
    table = page.locator(f'{MAIN} [data-testid="stDataFrame"]')
    click_grid_row(page, table, 4)
    expect_route(page, "/user", email=user)
    wait_for_content(page, "User history")
    settle(page)
    assert subheadings(page)[0] == user
    shown = metrics(page)
    assert shown["Searches"] == f"{dashboard.per_user()[user]:,}"
    assert shown["Active days"] == row["Active days"]
    assert page.get_by_text(f"{dashboard.per_user()[user]:,} searches, newest first").is_visible()


def test_the_history_link_opens_the_user_in_a_new_tab(dashboard: Dashboard, page: Page) -> None:
    row = _summary_row(dashboard, page, 2)
    user = row["User"]
    table = page.locator(f'{MAIN} [data-testid="stDataFrame"]')
    box = table.bounding_box()
    assert box is not None
    with page.context.expect_page() as opened:
        click_grid_row(page, table, 2, x=box["width"] - 45)  # "open ↗" in the last column
    tab = opened.value
    expect_route(tab, "/user", email=user)
    wait_for_content(tab, "User history")
    assert subheadings(tab)[0] == user
    assert metrics(tab)["Searches"] == f"{dashboard.per_user()[user]:,}"
    assert urlsplit(page.url).path == "/", "the summary stays open in its own tab"


# --- calendar → day -------------------------------------------------------------------------


def test_clicking_a_day_in_the_calendar_opens_that_day(dashboard: Dashboard, page: Page) -> None:
    day = dashboard.hostile_day
    open_page(page, dashboard.url(f"/calendar?month={day:%Y-%m}"), "Calendar")
    wait_for_charts(page)
    count = click_calendar_day(page, day.isoformat())
    expect_route(page, "/day", date=day.isoformat())
    wait_for_content(page, "Day")
    settle(page)
    assert f"{day:%A} {day}" in subheadings(page)
    assert count == dashboard.on(day)
    assert metrics(page)["Searches"] == f"{count:,}"
    assert "month" not in query(page.url)


def test_the_calendar_date_picker_opens_the_chosen_day(dashboard: Dashboard, page: Page) -> None:
    day = dashboard.hostile_day
    open_page(page, dashboard.url(f"/calendar?month={day:%Y-%m}"), "Calendar")
    picker = page.locator('[data-testid="stDateInput"]', has_text="Open a day")
    picker.locator('[role="spinbutton"][data-type="day"]').click()
    page.keyboard.type(f"{day.day:02d}")
    page.keyboard.press("Enter")
    expect(picker.locator('input[type="date"]')).to_have_value(day.isoformat())
    settle(page)
    page.get_by_role("button", name="Open day").click()
    expect_route(page, "/day", date=day.isoformat())
    wait_for_content(page, "Day")
    assert f"{day:%A} {day}" in subheadings(page)


# --- downloads and hostile text -------------------------------------------------------------


def test_user_csv_download_is_exact_and_formula_cells_are_neutralised(
    dashboard: Dashboard, page: Page, tmp_path: Path
) -> None:
    open_page(page, dashboard.url(f"/user?email={MALLORY}&{dashboard.days()}"), "User history")
    button = page.get_by_role("button", name=f"Download all {len(HOSTILE)} searches (CSV)")
    with page.expect_download() as started:
        button.click()
    download = started.value
    start = dashboard.today - timedelta(days=29)
    assert download.suggested_filename == (
        f"searches_mallory_at_example.com_{start}_{dashboard.today}.csv"
    )
    target = tmp_path / download.suggested_filename
    download.save_as(target)
    day = dashboard.hostile_day
    at = f'"{day}T10:0'  # every field quoted; the minutes and offset follow
    who = f'","{MALLORY}","archive",'
    expected = (
        '"time","email","source","search_text","search_reason","description"\r\n'
        f'{at}7:00+00:00{who}"**bold** [link](http://evil)","","Archive Search"\r\n'
        f'{at}6:00+00:00{who}"\'\tTAB","","Archive Search"\r\n'
        f'{at}5:00+00:00{who}"\'@SUM(A1)","","Archive Search"\r\n'
        f'{at}4:00+00:00{who}"\'-2","","Archive Search"\r\n'
        f'{at}3:00+00:00{who}"\'+1+1","","Archive Search"\r\n'
        f'{at}2:00+00:00{who}"\'=HYPERLINK(""http://evil"",""x"")","","Archive Search"\r\n'
        f'{at}1:00+00:00{who}"<script>window.__xss=2</script>","","Archive Search"\r\n'
        f'{at}0:00+00:00{who}"<img src=x onerror=""window.__xss=1"">","","Archive Search"\r\n'
    )
    content = target.read_bytes().decode("utf-8")
    assert content == expected
    texts = [row["search_text"] for row in csv.DictReader(io.StringIO(content, newline=""))]
    assert texts == [
        "**bold** [link](http://evil)",
        "'\tTAB",
        "'@SUM(A1)",
        "'-2",
        "'+1+1",
        '\'=HYPERLINK("http://evil","x")',
        "<script>window.__xss=2</script>",
        '<img src=x onerror="window.__xss=1">',
    ]


def assert_inert(page: Page) -> None:
    """Nothing of the hostile texts ran or became markup on this page."""
    assert page.evaluate("typeof window.__xss") == "undefined"
    assert page.locator('img[src="x"]').count() == 0
    assert page.locator(f"{MAIN} strong", has_text="bold").count() == 0
    assert page.locator('a[href^="http://evil"]').count() == 0


def csv_rows(content: str) -> int:
    return len(list(csv.reader(io.StringIO(content, newline="")))) - 1


def export_events(dashboard: Dashboard) -> list[tuple]:
    """The audit trail's download entries, oldest first."""
    with sqlite3.connect(dashboard.settings_env["DB_PATH"]) as conn:
        return conn.execute(
            "SELECT actor, action, target, rows, detail FROM audit_events "
            "WHERE action LIKE 'export%' ORDER BY id"
        ).fetchall()


class StreamlitSocket:
    """The page's own Streamlit websocket, routed through the test: every message the
    server sends is decoded (and passed on to the page), and the test can send its own."""

    def __init__(self, page: Page) -> None:
        self.received: list[ForwardMsg] = []
        self.server: WebSocketRoute | None = None
        page.route_web_socket(re.compile(r"/_stcore/stream$"), self._route)

    def _route(self, route: WebSocketRoute) -> None:
        self.server = route.connect_to_server()

        def from_server(message: str | bytes) -> None:
            route.send(message)
            if isinstance(message, bytes):
                decoded = ForwardMsg()
                decoded.ParseFromString(message)
                self.received.append(decoded)

        self.server.on_message(from_server)

    def download_buttons(self) -> dict[str, DownloadButtonProto]:
        """The download buttons the server drew, by label (the latest run's)."""
        buttons = {}
        for message in self.received:
            if message.WhichOneof("type") != "delta":
                continue
            if message.delta.WhichOneof("type") != "new_element":
                continue
            element = message.delta.new_element
            if element.WhichOneof("type") == "download_button":
                buttons[element.download_button.label] = element.download_button
        return buttons

    def session_id(self) -> str:
        """The id the server gave this page's session (its first `new_session` message)."""
        return next(
            message.new_session.initialize.session_id
            for message in self.received
            if message.WhichOneof("type") == "new_session"
        )

    def request_deferred_file(self, page: Page, file_id: str) -> str:
        """Ask the server for a deferred download's file, as the browser does when its
        button is clicked but without the click; return the file's address."""
        assert self.server is not None
        request = BackMsg()
        request.backend_operation_request.request_id = "test-" + file_id
        request.backend_operation_request.session_id = self.session_id()
        request.backend_operation_request.deferred_file.file_id = file_id
        self.server.send(request.SerializeToString())
        for _ in range(300):
            for message in self.received:
                if message.WhichOneof("type") != "backend_operation_response":
                    continue
                response = message.backend_operation_response
                if response.request_id == request.backend_operation_request.request_id:
                    assert not response.error_msg, response.error_msg
                    return response.deferred_file.url
            page.wait_for_timeout(100)
        raise AssertionError("the server did not answer the deferred-file request")


def test_a_download_fetched_without_its_click_is_in_the_audit_trail(
    dashboard: Dashboard, page: Page
) -> None:
    """A client that skips the click (and its rerun) and fetches the file itself still
    leaves an entry: the entry is written when the file is made (issue 8 § 4)."""
    socket = StreamlitSocket(page)
    open_page(page, dashboard.url(f"/?{dashboard.days()}"), "Searches by user")
    label = "Download this table (CSV)"
    button = socket.download_buttons()[label]
    assert button.url == "", "a file address in the page would bypass the audit"
    assert button.deferred_file_id
    before = export_events(dashboard)
    address = socket.request_deferred_file(page, button.deferred_file_id)
    with urllib.request.urlopen(dashboard.base_url + address, timeout=30) as reply:
        body = reply.read().decode("utf-8")
    assert body.startswith('"email","searches","active_days",')
    new = export_events(dashboard)[len(before) :]
    assert len(new) == 1
    actor, action, target, rows, detail = new[0]
    assert (action, target) == ("export_csv", "summary by user")
    assert rows == csv_rows(body) == len(dashboard.per_user())
    assert actor == "anonymous (sign-in not configured)" and detail.endswith(".csv")


def test_a_clicked_download_is_recorded_exactly_once(dashboard: Dashboard, page: Page) -> None:
    day = dashboard.hostile_day.isoformat()
    open_page(page, dashboard.url(f"/day?date={day}"), "Day")
    before = export_events(dashboard)
    button = page.get_by_role("button", name=re.compile(r"^Download .*\(CSV\)$"))
    with page.expect_download() as started:
        button.click()
    content = Path(started.value.path()).read_bytes().decode("utf-8")
    settle(page)
    page.wait_for_timeout(500)  # a late second entry (a rerun's callback) would show here
    new = export_events(dashboard)[len(before) :]
    assert [(action, target) for _actor, action, target, _rows, _detail in new] == [
        ("export_csv", day)
    ]
    assert new[0][3] == csv_rows(content) > 0


def test_hostile_search_text_is_shown_literally_and_never_runs(
    dashboard: Dashboard, page: Page, dialogs: list[str]
) -> None:
    open_page(page, dashboard.url(f"/user?email={MALLORY}"), "User history")
    table = page.locator(f'{MAIN} [data-testid="stDataFrame"]')
    texts = [row[2] for row in grid_rows(table)]
    assert texts == list(reversed(HOSTILE))  # newest first, exactly as typed
    assert_inert(page)

    day = dashboard.hostile_day
    open_page(page, dashboard.url(f"/day?date={day}"), "Day")
    group = page.locator(f'{MAIN} [data-testid="stExpander"]', has_text=MALLORY)
    expect(group.locator("summary")).to_contain_text(f"{MALLORY} — {len(HOSTILE)} searches")
    group.locator("summary").click()
    rows = grid_rows(group.locator('[data-testid="stDataFrame"]'))
    assert [row[2] for row in rows] == list(reversed(HOSTILE))
    assert_inert(page)

    # Markdown as a filter in a link: it matches one search and is named as typed.
    markdown = HOSTILE[-1]
    open_page(page, dashboard.url(f"/user?email={MALLORY}&q={quote(markdown)}"), "User history")
    assert page.get_by_text(f"search text contains {markdown}").is_visible()
    assert metrics(page)["Searches"] == "1"
    assert_inert(page)
    assert dialogs == []


# --- filters in the URL ---------------------------------------------------------------------


def test_a_sidebar_filter_lives_in_the_url_reload_keeps_it_and_back_undoes_it(
    dashboard: Dashboard, page: Page
) -> None:
    open_page(page, dashboard.url(f"/?{dashboard.days()}"), "Searches by user")
    before_url, before = page.url, metrics(page)
    assert before["Searches"] == f"{sum(dashboard.per_user().values()):,}"
    toggle = page.locator('[data-testid="stSidebar"] [data-testid="stCheckbox"]').filter(
        has_text="Include system searches"
    )
    expect(toggle.locator("input")).to_be_checked()

    toggle.locator("label").click()
    page.wait_for_url(lambda url: query(url).get("system") == ["exclude"])
    settle(page)
    without = metrics(page)
    expected = sum(n for user, n in dashboard.per_user().items() if user != "<>")
    assert without["Searches"] == f"{expected:,}"
    assert int(without["Active users"]) == int(before["Active users"]) - 1
    filtered_url = page.url

    page.reload()
    wait_for_content(page, "Searches by user")
    settle(page)
    assert page.url == filtered_url
    assert metrics(page) == without
    expect(toggle.locator("input")).not_to_be_checked()

    page.go_back()
    page.wait_for_url(before_url)
    settle(page)
    expect(page.locator(f'{MAIN} [data-testid="stMetricValue"]').first).to_have_text(
        before["Searches"]
    )
    settle(page)
    assert metrics(page) == before
    expect(toggle.locator("input")).to_be_checked()


# --- timings and screenshots ----------------------------------------------------------------

CHARTS = {"summary": 0, "user": 2, "calendar-month": 1, "calendar-year": 1, "day": 0, "status": 0}


def _timing_report(dashboard: Dashboard, page: Page, rows: list[str]) -> str:
    browser = page.context.browser
    return "\n".join(
        [
            "# Page load timings",
            "",
            "Milliseconds from `page.goto` until the page's heading and first metric are "
            "visible (content), and until its script run has finished and every chart is "
            "drawn (settled); median of 3 loads per route, each a new Streamlit session, on "
            "a server that has served every page before and a browser with its scripts "
            "cached.",
            "",
            f"Data: {dashboard.stored:,} stored searches (40 simulated days, about 150 a day, "
            "SQLite); DISPLAY_TZ=UTC; viewport 1400×1000.",
            f"Streamlit {streamlit.__version__}, Chromium {browser.version if browser else '?'}"
            f" (headless), Python {platform.python_version()}, {os.cpu_count()} CPUs, load "
            f"average {os.getloadavg()[0]:.1f} when measured.",
            f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC by:",
            "",
            "    .venv/bin/python -m pytest -q tests/test_browser.py",
            "",
            "| Route | Content (ms) | Settled (ms) | Settled, each load (ms) |",
            "|---|---:|---:|---|",
            *rows,
            "",
        ]
    )


def test_every_page_loads_within_30_s_and_its_timings_and_screenshot_are_recorded(
    dashboard: Dashboard, page: Page
) -> None:
    """Three timed loads per route (docs/screenshots/timings.md), then a full-page shot of
    the last one once its charts are drawn (docs/screenshots/<page>.png). Wall-clock times
    are recorded, not asserted: only the generous timeout fails the test."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    rows = []
    for name, (path, title, _sub) in routes(dashboard, dashboard.busiest_user()).items():
        content, settled = [], []
        for _ in range(3):
            started = time.perf_counter()
            page.goto(dashboard.url(path))
            wait_for_content(page, title, timeout=30_000)
            content.append(time.perf_counter() - started)
            settle(page)
            charts = wait_for_charts(page)
            settled.append(time.perf_counter() - started)
        each = ", ".join(f"{round(seconds * 1000):,}" for seconds in settled)
        rows.append(f"| `{path}` | {median_ms(content):,} | {median_ms(settled):,} | {each} |")

        assert charts == CHARTS[name], name
        if name == "day":  # open mallory's searches: hostile text, shown as typed
            group = page.locator(f'{MAIN} [data-testid="stExpander"]', has_text=MALLORY)
            group.locator("summary").click()
            group.locator('[data-testid="stDataFrame"]').wait_for()
            settle(page)
        assert exceptions(page) == [], name
        full_page_screenshot(page, SCREENSHOTS / f"{name}.png")
    (SCREENSHOTS / "timings.md").write_text(_timing_report(dashboard, page, rows), "utf-8")
