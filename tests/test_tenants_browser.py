"""Tenants end to end: three tenants whose data differ (`tests/support/tenant_dashboard.py`)
in one SQLite file, the dashboard signing in through the loopback OpenID provider, and
headless Chromium as a viewer of one tenant and as a platform administrator.

The viewer sees only their tenant on every page, including when the URL names another;
a tenant they may not see and one that does not exist look the same. The platform
administrator gets the picker with every tenant and "All tenants"."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page

from db.engine import open_database
from tests.support.browser import ANY_MENU, CHROMIUM, MAIN, metrics, settle
from tests.support.signin import SignedDashboard, heading, shot, sign_in, signed_in_dashboard
from tests.support.tenant_dashboard import PLATFORM_ADMIN, fill_tenants, write_tenants_file

if not CHROMIUM.exists():
    pytest.skip(
        f"{CHROMIUM} is missing: install Debian's chromium to run the browser tests",
        allow_module_level=True,
    )

pytestmark = pytest.mark.browser

VIEWER = "ivy@initech.example"
DAYS = "from=2026-03-28&to=2026-03-31"
PAGES = {
    f"/?{DAYS}": "Searches by user",
    f"/user?email=ian@initech.example&{DAYS}": "User history",
    "/calendar?month=2026-03": "Calendar",
    "/day?date=2026-03-30": "Day",
    f"/alerts?{DAYS}": "Alerts",
    "/status": "Ingest status",
}
OTHERS = re.compile(r"acme|globex|gus@|al@|pat@", re.IGNORECASE)
"""What only the other tenants' names and data would show."""
SIDEBAR = '[data-testid="stSidebar"]'


@pytest.fixture(scope="module")
def dashboard(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SignedDashboard]:
    folder = tmp_path_factory.mktemp("tenants")
    db_path = folder / "searchlogs.db"
    engine = open_database(f"sqlite:///{db_path}")
    fill_tenants(engine)
    engine.dispose()
    settings = {
        "TENANTS_FILE": str(write_tenants_file(folder)),
        "ADMIN_EMAILS": PLATFORM_ADMIN,
        "VIEWER_EMAILS": "",
    }
    with signed_in_dashboard(folder, db_path, settings) as dashboard:
        yield dashboard


def visible_text(page: Page) -> str:
    return page.locator(MAIN).inner_text() + "\n" + page.locator(SIDEBAR).inner_text()


def opened(page: Page, dashboard: SignedDashboard, path: str, title: str) -> str:
    page.goto(dashboard.base_url + path)
    heading(page, title)
    return visible_text(page)


def test_a_viewer_of_one_tenant_sees_only_it_on_every_page(
    dashboard: SignedDashboard, new_tab
) -> None:
    page = new_tab()
    sign_in(page, dashboard, VIEWER)
    for path, title in PAGES.items():
        text = opened(page, dashboard, path, title)
        assert not OTHERS.search(text), (path, OTHERS.search(text))
        assert page.locator(f"{SIDEBAR} [data-testid='stSelectbox']").count() == 0, path
    opened(page, dashboard, f"/?{DAYS}", "Searches by user")
    assert metrics(page)["Searches"] == "1"


def test_a_url_naming_another_tenant_shows_nothing_and_no_hint_that_it_exists(
    dashboard: SignedDashboard, new_tab
) -> None:
    page = new_tab()
    sign_in(page, dashboard, VIEWER)
    for path, title in PAGES.items():
        answers = []
        for tenant in ("acme", "nosuch"):
            glue = "&" if "?" in path else "?"
            text = opened(page, dashboard, f"{path}{glue}tenant={tenant}", title)
            assert "No tenant of that name is open to you" in text, (path, text)
            assert page.locator('[data-testid="stMetric"]').count() == 0
            assert page.locator('[data-testid="stDataFrame"]').count() == 0
            answers.append(text.replace(tenant, "NAME"))
        assert answers[0] == answers[1], path
        assert not OTHERS.search(answers[0].replace("NAME", "")), path
    opened(page, dashboard, f"/?{DAYS}&tenant=globex", "Searches by user")
    shot(page, "tenant-refused.png")
    page.locator(ANY_MENU).filter(has_text="Summary by user").first.click()  # back to theirs
    page.locator('[data-testid="stMetric"]').first.wait_for()
    settle(page)
    assert not OTHERS.search(visible_text(page))


def test_a_platform_admin_picks_among_every_tenant_and_all_of_them(
    dashboard: SignedDashboard, new_tab
) -> None:
    page = new_tab()
    sign_in(page, dashboard, PLATFORM_ADMIN)
    opened(page, dashboard, f"/?{DAYS}", "Searches by user")
    assert metrics(page)["Searches"] == "3"  # the first tenant, named in the URL
    assert "tenant=acme" in page.url
    page.locator(f"{SIDEBAR} [data-testid='stSelectbox']").click()
    options = page.locator('[role="option"]')
    options.first.wait_for()
    assert options.all_inner_texts() == ["All tenants", "ACME Corp", "Globex", "Initech"]
    shot(page, "tenant-picker.png")
    options.filter(has_text="Globex").click()
    page.wait_for_url(re.compile(r"tenant=globex"))
    settle(page)
    assert metrics(page)["Searches"] == "5"
    opened(page, dashboard, f"/?{DAYS}&tenant=*", "Searches by user")
    assert metrics(page)["Searches"] == "9"
