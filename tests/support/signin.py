"""Signing in, in a real browser: the identities the sign-in tests use, the dashboard they
sign in to, a headless Chromium (`browser`, `new_tab` fixtures, registered by conftest) and
the steps of a sign-in through the loopback OpenID provider."""

from __future__ import annotations

import os
import re
import secrets
import sqlite3
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from oidc_provider_mock import run_server_in_thread
from playwright.sync_api import Browser, Page, Playwright, sync_playwright

from tests.support.browser import (
    CHROMIUM,
    CHROMIUM_ARGS,
    MAIN,
    VIEWPORT,
    free_port,
    full_page_screenshot,
    settle,
    start_dashboard,
    stop_dashboard,
    wait_healthy,
)
from tests.support.runtime import PROJECT_ROOT

SCREENSHOTS = (
    PROJECT_ROOT / "docs" / "screenshots"
    if os.environ.get("UPDATE_SCREENSHOTS") == "1"
    else Path(tempfile.gettempdir()) / "searchlog-screenshots"
)
ADMIN = "boss@admins.example"
VIEWER = "ann@viewers.example"
STRANGER = "eve@elsewhere.example"


@dataclass(frozen=True)
class SignedDashboard:
    base_url: str
    db_path: Path
    cookie_secret: str
    client_secret: str
    log: Path

    def busiest_user(self) -> tuple[str, int]:
        with sqlite3.connect(self.db_path) as conn:
            return conn.execute(
                "SELECT email_addr, count(*) FROM search_logs WHERE email_addr != '<>' "
                "GROUP BY email_addr ORDER BY count(*) DESC, email_addr LIMIT 1"
            ).fetchone()

    def audit(self) -> list[tuple]:
        with sqlite3.connect(self.db_path) as conn:
            return conn.execute(
                "SELECT actor, role, action, target, rows FROM audit_events ORDER BY id"
            ).fetchall()


@contextmanager
def signed_in_dashboard(
    folder: Path, db_path: Path, settings: Mapping[str, str] | None = None
) -> Iterator[SignedDashboard]:
    """The dashboard on `db_path`, from the runtime install, signing in through an OpenID
    provider on loopback: ADMIN is an administrator, anyone at @viewers.example a viewer
    (`settings` overrides these, or adds a TENANTS_FILE)."""
    with run_server_in_thread(port=0) as provider:
        port = free_port()
        base_url = f"http://127.0.0.1:{port}"
        cookie_secret, client_secret = secrets.token_hex(32), secrets.token_hex(16)
        secrets_file = folder / "secrets.toml"
        secrets_file.write_text(
            "[auth]\n"
            f'redirect_uri = "{base_url}/oauth2callback"\n'
            f'cookie_secret = "{cookie_secret}"\n'
            'client_id = "searchlog-dashboard"\n'
            f'client_secret = "{client_secret}"\n'
            'server_metadata_url = "http://localhost:'
            f'{provider.server_port}/.well-known/openid-configuration"\n'
        )
        env = {
            "DB_PATH": str(db_path),
            "DATABASE_URL": f"sqlite:///{db_path}",
            "DISPLAY_TZ": "UTC",
            "ADMIN_EMAILS": ADMIN,
            "VIEWER_EMAILS": "@viewers.example",
            # Streamlit reads secrets from this file only (not ~/.streamlit or the cwd).
            "STREAMLIT_SECRETS_FILES": str(secrets_file),
            **(settings or {}),
        }
        log = folder / "streamlit.log"
        # From the runtime virtualenv (requirements.txt alone), never this one: sign-in
        # needs packages (httpx, Authlib) that only Streamlit's [auth] extra brings.
        process = start_dashboard(env, port, log, runtime_required=True)
        try:
            wait_healthy(base_url, process, log)
            yield SignedDashboard(base_url, db_path, cookie_secret, client_secret, log)
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
def new_tab(browser: Browser) -> Iterator:
    """Opens a tab in a fresh browser profile (no cookies: nobody is signed in yet)."""
    profiles = []

    def open_tab() -> Page:
        profile = browser.new_context(viewport=VIEWPORT, accept_downloads=True)
        profile.set_default_timeout(30_000)
        profiles.append(profile)
        return profile.new_page()

    yield open_tab
    for profile in profiles:
        profile.close()


def heading(page: Page, text: str) -> None:
    page.locator(f"{MAIN} h1", has_text=text).wait_for()
    settle(page)


def sign_in(page: Page, dashboard: SignedDashboard, email: str) -> None:
    """Sign in through the provider's authorization page, as `email`."""
    page.goto(dashboard.base_url + "/")
    heading(page, "Archive search logs")
    page.get_by_role("button", name="Sign in").click()
    try:
        page.locator('input[name="sub"]').wait_for()
    except Exception as exc:  # the provider's page never came: say why, from the log
        raise AssertionError(
            f"sign-in did not reach the provider:\n{dashboard.log.read_text()[-2000:]}"
        ) from exc
    page.locator('input[name="sub"]').fill(email)
    page.get_by_role("button", name="Authorize").click()
    page.wait_for_url(re.compile(re.escape(dashboard.base_url) + r"/?(\?.*)?$"))


def open_path(page: Page, dashboard: SignedDashboard, path: str, title: str) -> None:
    page.goto(dashboard.base_url + path)
    heading(page, title)


def buttons(page: Page) -> list[str]:
    """The labels of the main area's buttons, without their icons' ligature names."""
    return [
        text.split("\n")[-1].strip() for text in page.locator(f"{MAIN} button").all_inner_texts()
    ]


def main_text(page: Page) -> str:
    return page.locator(MAIN).inner_text()


def shot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    full_page_screenshot(page, SCREENSHOTS / name)
