"""A Mimecast API that hangs: an HTTP front for a simulator that holds every search request
(the connection open, no answer) until released, then passes it on.

Why not a simulator fault: a hang is a held connection, which the simulator's faults (each
an answer) do not make; in front of it, the account's data and credentials stay its own.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import requests

from ingest.client import SEARCH_LOGS_PATH

HOLD_AT_MOST_SECONDS = 300.0  # a safety net for a test that fails before it releases


class HoldingProxy:
    def __init__(self, target: str) -> None:
        self.target = target.rstrip("/")
        self.release = threading.Event()
        self.held = 0  # search requests that arrived (each held until `release`)
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if self.path.startswith(SEARCH_LOGS_PATH):
                    with proxy._lock:
                        proxy.held += 1
                    proxy.release.wait(HOLD_AT_MOST_SECONDS)
                headers = {
                    name: self.headers[name]
                    for name in ("Authorization", "Content-Type")
                    if self.headers.get(name)
                }
                reply = requests.post(
                    proxy.target + self.path, data=body, headers=headers, timeout=30
                )
                self.send_response(reply.status_code)
                for name in ("Content-Type", "X-RateLimit-Reset"):
                    if name in reply.headers:
                        self.send_header(name, reply.headers[name])
                self.send_header("Content-Length", str(len(reply.content)))
                self.end_headers()
                self.wfile.write(reply.content)

            def log_message(self, *_args: object) -> None:
                pass

        return Handler


@contextmanager
def holding_proxy(target: str) -> Iterator[HoldingProxy]:
    proxy = HoldingProxy(target)
    thread = threading.Thread(target=proxy._server.serve_forever, daemon=True)
    thread.start()
    try:
        yield proxy
    finally:
        proxy.release.set()
        proxy._server.shutdown()
        proxy._server.server_close()
