"""A setting that fails validation never shows its value to someone who has not signed in.

A real dashboard from the runtime virtualenv, its MIMECAST_BASE_URL a proxy URL with a
password in it (plain http to a remote host: invalid), asked over real HTTP at every
surface a stranger reaches, and once in headless Chromium; then the operator's side: the
server's log and the CLI name the setting and what is expected, with the URL redacted.
"""

from __future__ import annotations

import json
import subprocess
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from config.settings import ConfigError, load_settings
from tests.support.apptest import texts
from tests.support.browser import CHROMIUM, serve_dashboard, stop_dashboard
from tests.support.roles import AUTH_SECRETS
from tests.support.runtime import PROJECT_ROOT, runtime_python, subprocess_env

SECRET = "Pr0xyPass"
BAD_URL = f"http://svc:{SECRET}@proxy.example:3128"
GENERIC = "configuration error: a setting is invalid"


@pytest.fixture(scope="module")
def broken(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    folder = tmp_path_factory.mktemp("hidden")
    log = folder / "streamlit.log"
    env = {"DB_PATH": str(folder / "searchlogs.db"), "MIMECAST_BASE_URL": BAD_URL}
    base_url, process = serve_dashboard(env, log)
    try:
        yield base_url, log
    finally:
        stop_dashboard(process)


def answer(url: str, token: str | None = None) -> tuple[int, str]:
    request = urllib.request.Request(url)
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=30) as reply:
            return reply.status, reply.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


@pytest.mark.parametrize(
    ("path", "token"),
    [
        ("/healthz", None),
        ("/readyz", None),
        ("/metrics", None),
        ("/api/v1/searches", "a-random-bearer-string"),
        ("/api/v1/no-such-endpoint", "a-random-bearer-string"),
        ("/api/v1/searches", None),
    ],
)
def test_a_bad_settings_value_is_not_in_any_answer_before_sign_in(broken, path, token) -> None:
    base_url, log = broken
    status, body = answer(base_url + path, token)
    assert SECRET not in body and "svc" not in body, body
    if path != "/api/v1/searches" or token:  # no bearer at all: 401 before the settings
        assert status == 503, body
        assert json.loads(body)["detail"].startswith(GENERIC)
    # The server's log says which setting, once, without the value's secret.
    logged = log.read_text()
    assert SECRET not in logged
    assert "configuration error: MIMECAST_BASE_URL must use https" in logged


@pytest.mark.browser
def test_the_page_before_sign_in_says_only_configuration_error(broken, new_tab) -> None:
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing")
    base_url, _ = broken
    page = new_tab()
    page.goto(base_url + "/")
    alert = page.locator('[data-testid="stAlert"]')
    alert.wait_for()
    assert GENERIC in alert.inner_text().lower()
    assert SECRET not in page.content()


def test_the_sign_in_page_with_a_bad_setting_shows_no_value(monkeypatch, tmp_path) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MIMECAST_BASE_URL", BAD_URL)
    monkeypatch.setenv("ADMIN_EMAILS", "boss@example.com")
    at = AppTest.from_file(str(PROJECT_ROOT / "streamlit_app.py"), default_timeout=30)
    at.secrets = AUTH_SECRETS
    at.run()
    shown = " ".join(texts(at))
    assert GENERIC in shown.lower() and SECRET not in shown


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("MIMECAST_BASE_URL", BAD_URL),
        ("MIMECAST_BASE_URL", f"ftp://svc:{SECRET}@files.example"),
        ("MIMECAST_BASE_URL", f"https://[svc:{SECRET}@broken"),
        ("DASHBOARD_URL", f"https://svc:{SECRET}@searchlogs.example/?k=1"),
        ("DASHBOARD_URL", f"https://svc:{SECRET}@searchlogs.example/"),
        ("DASHBOARD_URL", f"searchlogs.example/{SECRET}"),
        ("POLL_SECONDS", SECRET),
        ("API_RATE_LIMIT", SECRET),
    ],
)
def test_the_operators_line_names_the_setting_but_not_a_secret(name, value) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings({name: value})
    message = str(caught.value)
    assert message.startswith(f"{name} must ") and SECRET not in message


def test_the_cli_names_the_setting_and_hides_the_urls_password(tmp_path) -> None:
    env = subprocess_env({"DB_PATH": str(tmp_path / "x.db"), "MIMECAST_BASE_URL": BAD_URL})
    done = subprocess.run(
        [runtime_python(), "-m", "ingest", "status"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2, done.stderr
    assert "MIMECAST_BASE_URL must use https" in done.stderr and "svc:***@" in done.stderr
    assert SECRET not in done.stderr + done.stdout
