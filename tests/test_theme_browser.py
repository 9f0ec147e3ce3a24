"""Date presets and the light/dark theme in headless Chromium: `streamlit run` over a
SQLite file of known searches and open alerts, the browser's colour scheme emulated
(prefers-color-scheme, as `--force-dark-mode` sets it).

Screenshots of the calendar with alert marks in both themes, and of the summary with the
presets in dark, go to docs/screenshots/ with UPDATE_SCREENSHOTS=1 (calendar-light.png,
calendar-dark.png, summary-dark.png).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import Browser, Page, Playwright, expect, sync_playwright

from dashboard.colours import PALETTES
from dashboard.filters import preset_days
from db.alerts import insert_alerts
from db.engine import open_database
from tests.support.browser import (
    CHROMIUM,
    CHROMIUM_ARGS,
    VIEWPORT,
    full_page_screenshot,
    open_page,
    serve_dashboard,
    settle,
    stop_dashboard,
    wait_for_charts,
)
from tests.support.builders import record, store_records
from tests.support.contrast import TEXT_AA, contrast, over
from tests.support.detections import new_alert
from tests.support.runtime import PROJECT_ROOT

if not CHROMIUM.exists():
    pytest.skip(f"{CHROMIUM} is missing: install Debian's chromium", allow_module_level=True)

pytestmark = pytest.mark.browser

SCREENSHOTS = (
    PROJECT_ROOT / "docs" / "screenshots"
    if os.environ.get("UPDATE_SCREENSHOTS") == "1"
    else Path(tempfile.gettempdir()) / "searchlog-screenshots"
)
MONTH = "2026-03"
ALERT_DAYS = {date(2026, 3, 4): 1, date(2026, 3, 17): 2, date(2026, 3, 26): 1}
"""Open alerts on a quiet, a middling and the busiest day: marks on light and dark shades."""
SIDEBAR = '[data-testid="stSidebar"]'
BACKGROUNDS = {"light": "rgb(255, 255, 255)", "dark": "rgb(14, 17, 23)"}


def march_records() -> list[dict[str, object]]:
    """Searches on every March 2026 day but Sundays, 0 to 40 a day, by three people."""
    records = []
    for day in range(1, 32):
        when = date(2026, 3, day)
        if when.weekday() == 6:
            continue
        for n in range((day * 7) % 41):
            user = ("ann", "bob", "cy")[n % 3]
            stamp = f"{when.isoformat()}T{8 + n % 10:02d}:{n % 60:02d}:00"
            records.append(record(stamp, f"{user}@example.com", searchText=f"case {n}"))
    return records


@pytest.fixture(scope="module")
def base_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    folder = tmp_path_factory.mktemp("theme")
    db_path = folder / "searchlogs.db"
    engine = open_database(f"sqlite:///{db_path}")
    store_records(engine, march_records())
    with engine.begin() as conn:
        insert_alerts(
            conn, [new_alert("volume_spike", "ann@example.com", day) for day in ALERT_DAYS]
        )
        extra = [new_alert("breadth", "bob@example.com", date(2026, 3, 17))]
        insert_alerts(conn, extra)
    engine.dispose()
    env = {
        "DB_PATH": str(db_path),
        "DATABASE_URL": f"sqlite:///{db_path}",
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
def playwright() -> Iterator[Playwright]:
    driver = sync_playwright().start()
    yield driver
    driver.stop()


@pytest.fixture(scope="module")
def browser(playwright: Playwright) -> Iterator[Browser]:
    chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
    yield chromium
    chromium.close()


def tab(browser: Browser, scheme: str) -> Page:
    """A page in a new browser profile whose system colour scheme is `scheme`."""
    profile = browser.new_context(viewport=VIEWPORT, color_scheme=scheme)  # type: ignore[arg-type]
    profile.set_default_timeout(30_000)
    return profile.new_page()


def query(url: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(url).query)


def dates_shown(page: Page) -> tuple[date, date]:
    """The sidebar's date range as its inputs hold it (Streamlit 1.67 draws the range as
    spin buttons over two `input[type=date]` fields: start, end)."""
    inputs = page.locator(f'{SIDEBAR} [data-testid="stDateInput"] input[type="date"]')
    first, last = (date.fromisoformat(field.input_value()) for field in inputs.all())
    return first, last


def today_utc() -> date:
    return datetime.now(UTC).date()


def assert_preset_days(page: Page, key: str, before: date) -> None:
    """The picker shows `key`'s days on the server's today (UTC): the day the page was
    opened, or the next if midnight passed meanwhile."""
    assert dates_shown(page) in {preset_days(key, day) for day in (before, today_utc())}


def test_a_preset_sets_the_dates_and_the_url_and_a_reload_keeps_it(
    base_url: str, browser: Browser
) -> None:
    page = tab(browser, "light")
    before = today_utc()
    open_page(page, f"{base_url}/?from=2026-03-01&to=2026-03-31", "Searches by user")
    pills = page.locator(f'{SIDEBAR} [data-testid="stButtonGroup"] button')
    expect(pills).to_have_text(
        ["Last 24 hours", "7 days", "30 days", "This month", "Last month", "This year"]
    )
    pills.filter(has_text="7 days").click()
    page.wait_for_url(lambda url: query(url).get("range") == ["7d"])
    settle(page)
    assert "from" not in query(page.url) and "to" not in query(page.url)
    assert_preset_days(page, "7d", before)
    page.reload()
    settle(page)
    assert query(page.url).get("range") == ["7d"]
    assert_preset_days(page, "7d", before)
    page.context.close()


def test_a_range_link_opens_with_the_presets_days_and_from_to_still_work(
    base_url: str, browser: Browser
) -> None:
    page = tab(browser, "light")
    before = today_utc()
    open_page(page, f"{base_url}/?range=last-month", "Searches by user")
    assert_preset_days(page, "last-month", before)
    assert query(page.url).get("range") == ["last-month"]
    open_page(page, f"{base_url}/?from=2026-03-02&to=2026-03-08", "Searches by user")
    assert dates_shown(page) == (date(2026, 3, 2), date(2026, 3, 8))
    assert "range" not in query(page.url)
    page.context.close()


PAINTED = """el => {
  const under = [];
  for (let e = el; e; e = e.parentElement) {
    const c = getComputedStyle(e).backgroundColor;
    if (c && c !== 'rgba(0, 0, 0, 0)' && c !== 'transparent') under.push(c);
    if (under.length && !under[under.length - 1].startsWith('rgba')) break;
  }
  return [getComputedStyle(el).color, under];
}"""
"""An element's text colour and the backgrounds under it, nearest first, down to the
first opaque one."""


def painted_contrast(page: Page, selector: str) -> float:
    """The contrast of an element's text with what the browser paints under it."""
    text, under = page.locator(selector).first.evaluate(PAINTED)
    background = under[-1]
    for layer in reversed(under[:-1]):  # translucent tints, innermost last
        background = over(layer, background)
    return contrast(text, background)


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_text_and_the_selected_preset_meet_wcag_aa_as_the_browser_paints_them(
    base_url: str, browser: Browser, scheme: str
) -> None:
    page = tab(browser, scheme)
    open_page(page, f"{base_url}/?range=year", "Searches by user")
    expect(page.locator('[data-testid="stApp"]')).to_have_css(
        "background-color", BACKGROUNDS[scheme]
    )
    for selector in (
        f'{SIDEBAR} [data-testid="stButtonGroup"] button[aria-checked="true"]',
        f'{SIDEBAR} [data-testid="stButtonGroup"] button[aria-checked="false"]',
        f"{SIDEBAR} label",
        '[data-testid="stMain"] h1',
        '[data-testid="stMain"] [data-testid="stMetricLabel"]',
    ):
        assert painted_contrast(page, selector) >= TEXT_AA, (scheme, selector)
    page.context.close()


def calendar_colours(page: Page) -> list[str]:
    """The fill colours the calendar's day trace was drawn with (Plotly's own data)."""
    return page.locator('[data-testid="stPlotlyChart"] .js-plotly-plot').first.evaluate(
        "plot => Array.from(plot.data[0].marker.color)"
    )


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_the_theme_follows_the_browsers_setting_figures_included(
    base_url: str, browser: Browser, scheme: str
) -> None:
    page = tab(browser, scheme)
    open_page(page, f"{base_url}/calendar?month={MONTH}", "Calendar")
    wait_for_charts(page)
    app = page.locator('[data-testid="stApp"]')
    expect(app).to_have_css("background-color", BACKGROUNDS[scheme])
    drawn = set(calendar_colours(page))
    palette = PALETTES[scheme]
    assert drawn <= {*palette.shades, palette.future} and len(drawn) >= 4
    marks = page.locator(".js-plotly-plot").first.evaluate(
        "plot => plot.data.filter(t => t.name === 'open alerts').map("
        "t => [t.marker.symbol, t.marker.color, t.x.length])"
    )
    assert marks == [["triangle-down", palette.mark, len(ALERT_DAYS)]]
    full_page_screenshot(page, SCREENSHOTS / f"calendar-{scheme}.png")
    if scheme == "dark":
        open_page(page, f"{base_url}/?range=year", "Searches by user")
        wait_for_charts(page)
        expect(app).to_have_css("background-color", BACKGROUNDS["dark"])
        full_page_screenshot(page, SCREENSHOTS / "summary-dark.png")
    page.context.close()
