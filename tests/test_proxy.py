"""deploy/nginx/searchlogs.conf in front of a real dashboard under `server.baseUrlPath`:
pages, the WebSocket, the machine API and the health routes all answer under the base path,
through nginx, each tenant's token seeing its own tenant's data only; nothing of the app
answers at the root any more.

nginx is Debian's (scripts/test installs it), the dashboard runs from RUNTIME_PYTHON, the
page is opened in headless Chromium.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
from playwright.sync_api import sync_playwright
from websockets.sync.client import connect

from tests.support.browser import CHROMIUM, CHROMIUM_ARGS
from tests.support.deployment import NGINX, dashboard, nginx_in_front
from tests.support.tenant_api import (
    METRICS_TOKEN,
    Served,
    answers,
    assert_only,
    three_tenants_database,
)

BASE = "searchlogs"
APP_ROUTES = ("/healthz", "/readyz", "/metrics", "/api/v1/users")

pytestmark = pytest.mark.skipif(
    not shutil.which(NGINX) and not Path(NGINX).exists(),
    reason="nginx is not installed (scripts/test installs Debian's)",
)


@dataclass
class Proxied:
    direct: str  # the dashboard's own address, base path included
    proxied: str  # nginx's, base path included
    root: str  # the dashboard's address without the base path
    served: Served  # for tests/support/tenant_api.py's helpers, through nginx


@pytest.fixture(scope="module")
def proxied(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Proxied]:
    folder = tmp_path_factory.mktemp("proxy")
    env, engine, tokens = three_tenants_database("sqlite", folder, "proxy")
    secret = folder / "metrics_token"
    secret.write_text(env.pop("METRICS_TOKEN") + "\n")
    env["METRICS_TOKEN_FILE"] = str(secret)
    try:
        with (
            dashboard(env, folder, base_path=BASE) as app,
            nginx_in_front(app.port, folder) as proxy,
        ):
            served = Served(f"{proxy}/{BASE}", engine, env, folder, tokens)
            yield Proxied(app.url, f"{proxy}/{BASE}", f"http://127.0.0.1:{app.port}", served)
    finally:
        engine.dispose()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_the_apps_routes_follow_the_base_path_and_leave_the_root(proxied):
    for path in APP_ROUTES:
        token = METRICS_TOKEN if path != "/api/v1/users" else proxied.served.tokens["acme"]
        moved = requests.get(proxied.direct + path, headers=bearer(token), timeout=30)
        root = requests.get(proxied.root + path, headers=bearer(token), timeout=30)
        assert moved.status_code in (200, 503), (path, moved.status_code, moved.text[:200])
        assert moved.headers["content-type"] != "text/html", path
        assert root.status_code == 404, (path, root.status_code)


def test_health_through_nginx_needs_the_metrics_token_read_from_its_file(proxied):
    assert requests.get(f"{proxied.proxied}/healthz", timeout=30).status_code == 401
    healthy = requests.get(f"{proxied.proxied}/healthz", headers=bearer(METRICS_TOKEN), timeout=30)
    assert healthy.status_code == 200, healthy.text
    metrics = requests.get(f"{proxied.proxied}/metrics", headers=bearer(METRICS_TOKEN), timeout=30)
    assert metrics.status_code == 200 and "# TYPE" in metrics.text


@pytest.mark.parametrize("tenant", ["acme", "globex"])
def test_each_tenants_token_gets_only_its_data_through_nginx(proxied, tenant):
    assert_only(tenant, answers(proxied.served, proxied.served.tokens[tenant]))


def test_nginx_upgrades_the_dashboards_websocket(proxied):
    url = proxied.proxied.replace("http://", "ws://") + "/_stcore/stream"
    with connect(url, subprotocols=["streamlit"], open_timeout=30) as socket:
        assert socket.response.status_code == 101
        assert socket.response.headers["Upgrade"].lower() == "websocket"


def test_the_dashboard_loads_and_connects_in_chromium_through_nginx(proxied):
    if not CHROMIUM.exists():
        pytest.skip("no /usr/bin/chromium")
    with sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.goto(f"{proxied.proxied}/", timeout=60_000)
            page.wait_for_selector(
                '[data-testid="stApp"][data-test-connection-state="CONNECTED"]', timeout=60_000
            )
            page.locator('[data-testid="stSidebar"]').wait_for(timeout=60_000)
        finally:
            browser.close()
