"""The dashboard on ClickHouse (chDB) in a real browser: `python -m ingest run --once` fills
a chDB folder from the simulator (two accounts, one address searching in both), the
ingest exits (chDB serves one process at a time), then `streamlit run` serves the same
folder and headless Chromium reads the Summary, User, Calendar and Day pages: their
numbers equal the simulator's truth per tenant and summed over both, hostile search text
is shown literally, and pages whose data is not on ClickHouse say so in one line.

The ingest and the dashboard run from the test tools' Python (`sys.executable`), which has
the ClickHouse extra; the runtime requirements do not.
"""

from __future__ import annotations

import csv
import io
import sqlite3
import sys
import tempfile
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from dashboard import clickhouse_gaps
from ingest.records import SearchEvent, parse_record
from ingest.simulator import SimConfig, Simulator
from ingest.windows import utc_now_seconds
from tests.support.browser import (
    CHROMIUM,
    CHROMIUM_ARGS,
    MAIN,
    VIEWPORT,
    click_calendar_day,
    exceptions,
    full_page_screenshot,
    grid_rows,
    metrics,
    open_page,
    serve_dashboard,
    settle,
    stop_dashboard,
    subheadings,
    wait_for_charts,
    wait_for_content,
)
from tests.test_browser import HOSTILE, MALLORY, _hostile_records, assert_inert
from tests.test_clickhouse_ingest import ACCOUNTS, SHARED, chdb_url, ingest_env, run_ingest
from tests.test_simulator import record_at

if not CHROMIUM.exists():
    pytest.skip(f"{CHROMIUM} is missing: install Debian's chromium", allow_module_level=True)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SCREENSHOTS = Path(tempfile.gettempdir()) / "searchlog-screenshots"


@dataclass(frozen=True)
class ChDashboard:
    base_url: str
    today: date
    hostile_day: date
    truth: dict[str, Counter[tuple[date, str]]]  # per tenant: searches per (UTC day, user)
    control_db: Path  # the control database (sign-in, audit trail): DB_PATH's SQLite

    def days(self) -> str:
        return f"from={self.today - timedelta(days=29)}&to={self.today}"

    def total(self, tenants: tuple[str, ...], user: str | None = None) -> int:
        first = self.today - timedelta(days=29)
        return sum(
            n
            for tenant in tenants
            for (day, who), n in self.truth[tenant].items()
            if first <= day <= self.today and (user is None or who == user)
        )

    def on(self, tenant: str, day: date) -> int:
        return sum(n for (when, _who), n in self.truth[tenant].items() if when == day)


def _truth(sim: Simulator, account: int, end: datetime) -> Counter[tuple[date, str]]:
    valid, _ = sim.truth(end - timedelta(days=30), end, account=account)
    events = (parse_record(record) for record in valid)
    return Counter(
        (event.create_time.astimezone(UTC).date(), event.email_addr)
        for event in events
        if isinstance(event, SearchEvent)
    )


@pytest.fixture(scope="module")
def chdash(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChDashboard]:
    folder = tmp_path_factory.mktemp("chdash")
    frozen = utc_now_seconds() - timedelta(hours=1)
    hostile_day = frozen.date() - timedelta(days=1)
    config = SimConfig(
        seed=2020, days=5, events_per_day=80, late_fraction=0.0, accounts=2, clock=lambda: frozen
    )
    with Simulator(config) as sim:
        sim.add_events(_hostile_records(hostile_day), account=ACCOUNTS["acme"])
        for name, account in ACCOUNTS.items():
            moment = frozen - timedelta(hours=3)
            sim.add_events([record_at(moment, who=SHARED, text=name)], account=account)
        env = ingest_env(sim, folder, chdb_url(folder))
        env["INITIAL_BACKFILL_DAYS"] = "8"
        result = run_ingest(["run", "--once"], env, folder)
        assert result.returncode == 0, result.stderr
        truth = {name: _truth(sim, account, frozen) for name, account in ACCOUNTS.items()}
        env.update(DISPLAY_TZ="UTC", POLL_SECONDS="3600", MIMECAST_BASE_URL=sim.base_url)
        base_url, process = serve_dashboard(env, folder / "streamlit.log", python=sys.executable)
        try:
            yield ChDashboard(base_url, frozen.date(), hostile_day, truth, Path(env["DB_PATH"]))
        finally:
            stop_dashboard(process)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport=VIEWPORT)  # type: ignore[arg-type]
    page = context.new_page()
    page.on("dialog", lambda dialog: pytest.fail(f"a dialog opened: {dialog.message}"))
    yield page
    context.close()


def test_summary_counts_each_tenant_and_both_on_clickhouse(chdash: ChDashboard, page: Page) -> None:
    both = tuple(ACCOUNTS)
    for label, tenants in (("acme", ("acme",)), ("globex", ("globex",)), ("*", both)):
        open_page(page, f"{chdash.base_url}/?{chdash.days()}&tenant={label}", "Searches by user")
        assert exceptions(page) == []
        assert metrics(page)["Searches"] == f"{chdash.total(tenants):,}", label
    full_page_screenshot(page, SCREENSHOTS / "clickhouse-summary.png")
    assert chdash.total(("acme",)) != chdash.total(("globex",))  # the tenants' data differ


def test_user_page_counts_a_shared_address_per_tenant_on_clickhouse(
    chdash: ChDashboard, page: Page
) -> None:
    for label, tenants in (("acme", ("acme",)), ("*", tuple(ACCOUNTS))):
        url = f"{chdash.base_url}/user?email={SHARED}&{chdash.days()}&tenant={label}"
        open_page(page, url, "User history")
        assert subheadings(page)[0] == SHARED
        assert metrics(page)["Searches"] == str(chdash.total(tenants, SHARED)), label
    assert chdash.total(tuple(ACCOUNTS), SHARED) == 2


def test_calendar_and_day_count_the_tenants_searches_on_clickhouse(
    chdash: ChDashboard, page: Page
) -> None:
    day = chdash.hostile_day
    for tenant in ACCOUNTS:
        url = f"{chdash.base_url}/calendar?month={day:%Y-%m}&tenant={tenant}"
        open_page(page, url, "Calendar")
        wait_for_charts(page)
        count = click_calendar_day(page, day.isoformat())
        assert count == chdash.on(tenant, day) > 0, tenant
        page.wait_for_url(lambda url: "/day" in url)
        wait_for_content(page, "Day")
        settle(page)
        assert f"{day:%A} {day}" in subheadings(page)
        assert metrics(page)["Searches"] == f"{count:,}"
    full_page_screenshot(page, SCREENSHOTS / "clickhouse-day.png")


def test_hostile_search_text_is_shown_literally_on_clickhouse(
    chdash: ChDashboard, page: Page
) -> None:
    open_page(page, f"{chdash.base_url}/user?email={MALLORY}&tenant=acme", "User history")
    table = page.locator(f'{MAIN} [data-testid="stDataFrame"]')
    assert [row[2] for row in grid_rows(table)] == list(reversed(HOSTILE))
    assert_inert(page)
    full_page_screenshot(page, SCREENSHOTS / "clickhouse-user.png")
    open_page(page, f"{chdash.base_url}/day?date={chdash.hostile_day}&tenant=acme", "Day")
    group = page.locator(f'{MAIN} [data-testid="stExpander"]', has_text=MALLORY)
    expect(group.locator("summary")).to_contain_text(f"{MALLORY} — {len(HOSTILE)} searches")
    group.locator("summary").click()
    rows = grid_rows(group.locator('[data-testid="stDataFrame"]'))
    assert [row[2] for row in rows] == list(reversed(HOSTILE))
    assert_inert(page)


def test_pages_without_clickhouse_data_say_so_in_one_line(chdash: ChDashboard, page: Page) -> None:
    for path, message in (
        ("/mailboxes", clickhouse_gaps.MAILBOXES),
        ("/status", clickhouse_gaps.STATUS),
    ):
        page.goto(f"{chdash.base_url}{path}?tenant=acme")
        page.locator(f"{MAIN} h1").first.wait_for()
        settle(page)
        assert exceptions(page) == []
        expect(page.locator(MAIN)).to_contain_text(message.split("(")[0].replace("`", ""))


def test_alerts_page_opens_on_clickhouse_from_the_control_database(
    chdash: ChDashboard, page: Page
) -> None:
    page.goto(f"{chdash.base_url}/alerts?tenant=acme")
    page.locator(f"{MAIN} h1", has_text="Alerts").wait_for()
    settle(page)
    assert exceptions(page) == []
    expect(page.locator(MAIN)).not_to_contain_text("Database error")


def _downloads(control_db: Path) -> list[tuple]:
    with sqlite3.connect(control_db) as conn:
        return conn.execute(
            "SELECT action, target, rows FROM audit_events WHERE action LIKE 'export%' ORDER BY id"
        ).fetchall()


def test_csv_download_on_clickhouse_is_audited_in_the_control_database_and_neutralised(
    chdash: ChDashboard, page: Page, tmp_path: Path
) -> None:
    before = _downloads(chdash.control_db)
    url = f"{chdash.base_url}/user?email={MALLORY}&{chdash.days()}&tenant=acme"
    open_page(page, url, "User history")
    button = page.get_by_role("button", name=f"Download all {len(HOSTILE)} searches (CSV)")
    with page.expect_download() as started:
        button.click()
    target = tmp_path / "searches.csv"
    started.value.save_as(target)
    content = target.read_bytes().decode("utf-8")
    assert content.startswith('"time","email","source","search_text","search_reason"')
    texts = [row["search_text"] for row in csv.DictReader(io.StringIO(content, newline=""))]
    neutralised = ["'" + t if t[0] in "=+-@\t" else t for t in HOSTILE]
    assert texts == list(reversed(neutralised))
    assert _downloads(chdash.control_db)[len(before) :] == [("export_csv", MALLORY, len(HOSTILE))]
