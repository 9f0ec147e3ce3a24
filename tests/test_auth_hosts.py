"""The server answers only to its own names, and keeps Streamlit's own metrics closed.

A real `streamlit run` from the runtime virtualenv, asked over real HTTP (and a real
WebSocket handshake) with chosen `Host` headers: what a page on another site would send
after rebinding its name to 127.0.0.1.
"""

from __future__ import annotations

import http.client
import json
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.browser import serve_dashboard, stop_dashboard

OWN_NAME = "searchlogs.example.com"
ALSO_ALLOWED = "searchlogs.internal.example"
SIGN_IN_NAME = "signin.example"  # the host of `[auth] redirect_uri`
FOREIGN = "rebind.attacker.example"
ROUTES = ("/", "/status", "/healthz", "/readyz", "/metrics", "/api/v1/searches", "/_stcore/health")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, int]]:
    folder = tmp_path_factory.mktemp("hosts")
    secrets = folder / "secrets.toml"
    secrets.write_text(
        "[auth]\n"
        f'redirect_uri = "https://{SIGN_IN_NAME}/oauth2callback"\n'
        'cookie_secret = "not-a-real-cookie-secret"\n'
        'client_id = "dashboard"\n'
        'client_secret = "not-a-real-client-secret"\n'
        'server_metadata_url = "http://localhost:9/.well-known/openid-configuration"\n'
    )
    env = {
        "DB_PATH": str(folder / "searchlogs.db"),
        "DASHBOARD_URL": f"https://{OWN_NAME}/",
        "ALLOWED_HOSTS": ALSO_ALLOWED.upper(),
        "STREAMLIT_SECRETS_FILES": str(secrets),
    }
    base_url, process = serve_dashboard(env, Path(folder / "streamlit.log"))
    host, port = base_url.removeprefix("http://").split(":")
    try:
        yield host, int(port)
    finally:
        stop_dashboard(process)


def ask(server: tuple[str, int], path: str, host_header: str | None) -> tuple[int, bytes]:
    """GET `path` with exactly this `Host` header (None: none at all, as HTTP/1.0 may)."""
    connection = http.client.HTTPConnection(*server, timeout=30)
    try:
        connection.putrequest("GET", path, skip_host=True, skip_accept_encoding=True)
        if host_header is not None:
            connection.putheader("Host", host_header)
        connection.endheaders()
        reply = connection.getresponse()
        return reply.status, reply.read()
    finally:
        connection.close()


def handshake(server: tuple[str, int], host_header: str) -> bytes:
    """The status line of a WebSocket upgrade to Streamlit's `/_stcore/stream`."""
    with socket.create_connection(server, timeout=30) as conn:
        conn.sendall(
            (
                "GET /_stcore/stream HTTP/1.1\r\n"
                f"Host: {host_header}\r\n"
                "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: streamlit\r\n\r\n"
            ).encode()
        )
        return conn.recv(4096).split(b"\r\n", 1)[0]


@pytest.mark.parametrize("path", ROUTES)
@pytest.mark.parametrize("host_header", [FOREIGN, f"{FOREIGN}:8501", "127.0.0.1.nip.io", ""])
def test_a_foreign_host_gets_a_400_problem_on_every_route(server, path, host_header) -> None:
    status, body = ask(server, path, host_header)
    assert status == 400, (path, host_header, body[:200])
    problem = json.loads(body)
    assert problem["status"] == 400 and "ALLOWED_HOSTS" in problem["detail"]
    assert "\n" not in problem["detail"]


@pytest.mark.parametrize("host_header", ["a b", "localhost:80x", "[::1"])
def test_a_missing_or_malformed_host_is_refused(server, host_header) -> None:
    """Refused by the HTTP server itself or by the check: never answered."""
    for path in ("/", "/healthz"):
        assert ask(server, path, host_header)[0] == 400, (path, host_header)


@pytest.mark.parametrize(
    "host_header",
    [
        "127.0.0.1",
        "localhost:8501",
        "[::1]:8501",
        OWN_NAME,
        f"{OWN_NAME.upper()}:443",
        f"{ALSO_ALLOWED}.",
        SIGN_IN_NAME,
    ],
)
def test_only_the_dashboards_own_names_are_answered(server, host_header: str) -> None:
    """Each own name is answered; the same request under a foreign name is not."""
    port = host_header.rpartition(":")[2] if host_header.endswith(("8501", "443")) else ""
    foreign = f"{FOREIGN}:{port}" if port else FOREIGN
    for path in ("/", "/healthz", "/_stcore/health"):
        status, body = ask(server, path, host_header)
        assert status == 200, (path, host_header, body[:200])
        assert ask(server, path, foreign)[0] == 400, (path, foreign)


def test_the_websocket_of_the_pages_refuses_a_foreign_host(server) -> None:
    assert handshake(server, "127.0.0.1").startswith(b"HTTP/1.1 101")
    refused = handshake(server, FOREIGN)
    assert refused.split()[1] == b"400", refused


def test_streamlits_own_metrics_are_turned_off_even_on_loopback(server) -> None:
    status, body = ask(server, "/_stcore/metrics", "127.0.0.1")
    assert status == 404, body[:200]
    assert b"streamlit_" not in body and "/metrics" in json.loads(body)["detail"]
    assert ask(server, "/_stcore/metrics/", "localhost")[0] == 404
    assert ask(server, "/metrics", "127.0.0.1")[0] == 200
