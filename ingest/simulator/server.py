"""A real HTTP server around the simulated API, for tests, benchmarks and demos.

Standard library only (ThreadingHTTPServer): the simulator must run wherever the ingest runs.
HTTP/1.1 keep-alive and TCP_NODELAY keep a client's session fast over loopback; the server is
quiet unless asked, and refuses to listen anywhere but loopback because its credentials are
published in this repository.
"""

from __future__ import annotations

import contextlib
import ipaddress
import socket
import threading
from collections.abc import Iterable
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType

from ingest.simulator.api import MimecastApi
from ingest.simulator.config import SimConfig


def ensure_loopback(host: str) -> str:
    """The host to bind, or ValueError when it is not a loopback address."""
    if host == "localhost":
        return "127.0.0.1"
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        raise ValueError(f"refusing to listen on {host!r}: use 127.0.0.1 (loopback only)") from None
    if not address.is_loopback:
        raise ValueError(f"refusing to listen on {host}: use 127.0.0.1 (loopback only)")
    return host


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "MimecastSimulator/1.0"
    sys_version = ""
    disable_nagle_algorithm = True
    wbufsize = -1  # buffered: headers and body leave in one write; flushed per request
    timeout = 120  # idle keep-alive connections are closed eventually
    server: _Server

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def _dispatch(self, method: str) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length > 0 else b""
        reply = self.server.api.handle(method, self.path, self.headers.get("Authorization"), body)
        if reply.drop:
            self._drop()
            return
        self.send_response(reply.status)
        self.send_header("Content-Type", reply.content_type)
        self.send_header("Content-Length", str(len(reply.body)))
        for name, value in reply.headers:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(reply.body)

    def _drop(self) -> None:
        """Close the connection without a byte of response."""
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)

    def log_message(self, format: str, *args: object) -> None:
        if self.server.verbose:
            super().log_message(format, *args)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], api: MimecastApi, verbose: bool) -> None:
        self.api = api
        self.verbose = verbose
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        super().__init__(address, _Handler)

    def handle_error(self, request: object, client_address: object) -> None:
        # A client that hangs up mid-reply is normal here; say nothing unless asked.
        if self.verbose:
            super().handle_error(request, client_address)  # type: ignore[arg-type]


class Simulator:
    """The simulated Mimecast API on a background thread.

    `with Simulator(SimConfig(seed=7)) as sim:` starts it on a free loopback port and stops it
    on exit; `sim.base_url` is what the ingest uses as MIMECAST_BASE_URL.
    """

    def __init__(self, config: SimConfig | None = None) -> None:
        self.config = config or SimConfig()
        self.api = MimecastApi(self.config)
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> str:
        """Listen (port 0 picks a free one) and serve in the background; returns the base URL."""
        if self._server is not None:
            return self.base_url
        host = ensure_loopback(self.config.host)
        self._server = _Server((host, self.config.port), self.api, self.config.verbose)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},  # how long stop() waits for the loop to notice
            name="mimecast-simulator",
            daemon=True,
        )
        self._thread.start()
        return self.base_url

    def stop(self) -> None:
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None
        self._thread = None

    @property
    def base_url(self) -> str:
        if self._server is None:
            raise RuntimeError("the simulator is not running: call start() first")
        host, port = self._server.server_address[:2]
        assert isinstance(host, str)  # an AF_INET or AF_INET6 server's address: str, not bytes
        shown = f"[{host}]" if ":" in str(host) else host
        return f"http://{shown}:{port}"

    def __enter__(self) -> Simulator:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    # The control surface, the same as the /_sim/ endpoints: account 1 unless `account` says.

    def credentials(self, account: int = 1) -> tuple[str, str]:
        """(client id, client secret) of an account (1..config.accounts): demo-only values."""
        return self.api.credentials(account)

    def stats(self, account: int = 1) -> dict[str, object]:
        """Counters: token/search requests, responses by status, faults by kind, records."""
        return self.api.stats(account)

    def truth(
        self, start: datetime | str | int, end: datetime | str | int, account: int = 1
    ) -> tuple[list[dict], list[object]]:
        """(valid, malformed) records visible now in [start, end] inclusive, newest first,
        twins as separate entries; bounds as aware datetimes, API strings or epoch seconds."""
        return self.api.truth(start, end, account)

    def add_events(
        self, records: Iterable[object], visible_after_seconds: int = 0, account: int = 1
    ) -> int:
        """Add raw records (malformed ones too); a dict's `_visibleAfterSeconds` overrides the
        delay and is stripped. Returns how many were added."""
        return self.api.add_events(records, visible_after_seconds, account)

    def add_events_after_pages(
        self, pages: int, records: Iterable[object], account: int = 1
    ) -> None:
        """Add these records, visible at once, when `pages` more search pages have been
        served: a late search landing while a client pages through a window."""
        self.api.add_events_after_pages(pages, records, account)

    def queue_faults(
        self, kinds: Iterable[str], endpoint: str = "search", account: int = 1
    ) -> None:
        """Serve these faults once each, in order, to the next requests to `endpoint` (on the
        token endpoint: the next requests naming this account's client id)."""
        self.api.queue_faults(kinds, endpoint, account)

    def queue_bodies(self, bodies: Iterable[bytes], account: int = 1) -> None:
        """Answer the next search requests, one each, with these exact bodies (HTTP 200):
        for tests that feed the client any response at all."""
        self.api.queue_bodies(bodies, account)

    def set_rates(self, *, account: int = 1, **rates: float) -> None:
        """Change fault probabilities: rate_429, rate_5xx, rate_fail200, rate_drop."""
        self.api.set_rates(account=account, **rates)

    def set_token_lifetime(self, seconds: int, account: int = 1) -> None:
        self.api.set_token_lifetime(seconds, account)

    def reject_credentials(self, reject: bool = True, account: int = 1) -> None:
        """Refuse the account's client id/secret (revoked credentials) until cleared."""
        self.api.reject_credentials(reject, account)

    def issued_tokens(self) -> list[str]:
        """Every access token issued so far, for tests that check no output leaks one."""
        return self.api.issued_tokens()

    def clear_faults(self, account: int = 1) -> None:
        """Empty the account's fault queues, set every rate to 0, accept its credentials."""
        self.api.clear_faults(account)
