"""What every request to the server meets first: the `Host` check, and Streamlit's own
metrics turned off.

A browser sends the name it resolved in `Host`. A page on another site that rebinds its own
name to 127.0.0.1 (DNS rebinding) reaches the server with that foreign name, so only the
dashboard's own names are answered: `DASHBOARD_URL`'s host, the host of sign-in's
`redirect_uri` (where the provider sends people back), loopback names and addresses, and
`ALLOWED_HOSTS`. Anything else, on every route (pages, their WebSocket, the API,
health and metrics), gets a 400 problem. It is an ASGI middleware handed to `st.App`,
which puts it outside Streamlit's own (streamlit/web/server/starlette/starlette_app.py).

Streamlit's `/_stcore/metrics` answers anyone, outside METRICS_TOKEN; the project's own
`/metrics` is the one to scrape, so Streamlit's answers 404.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlparse

import streamlit as st
from starlette.types import ASGIApp, Receive, Scope, Send
from starlette.websockets import WebSocket

from api.context import CONTEXT, ApiContext
from api.problems import ApiProblem, problem_response
from config.addresses import canonical_host, host_of_header
from config.parsers import is_loopback_host
from config.settings import Settings

STREAMLIT_METRICS = "/_stcore/metrics"


def _host_of_url(url: object) -> str | None:
    if not isinstance(url, str):
        return None
    try:
        return canonical_host(urlparse(url.strip()).hostname or "")
    except ValueError:
        return None


def _redirect_uri() -> object:
    """`[auth] redirect_uri` from the secrets, or None (no or unreadable secrets: the
    dashboard then shows its own problem page, see `dashboard.notices`)."""
    try:
        auth: Any = st.secrets.get("auth")
    except Exception:  # a broken secrets file adds no name
        return None
    return auth.get("redirect_uri") if hasattr(auth, "get") else None


def own_hosts(settings: Settings) -> frozenset[str]:
    """The names the dashboard answers to besides loopback ones."""
    names = set(settings.allowed_hosts)
    for url in (settings.dashboard_url, _redirect_uri()):
        host = _host_of_url(url)
        if host:
            names.add(host)
    return frozenset(names)


def refusal(host_header: str | None, context: ApiContext) -> ApiProblem | None:
    """Why a request with this `Host` is not answered, or None when it is."""
    host = host_of_header(host_header or "")
    if host is not None and is_loopback_host(host):
        return None
    try:
        allowed = own_hosts(context.settings())
    except ApiProblem as problem:  # settings unreadable: loopback only, fail closed
        return problem
    if host is not None and host in allowed:
        return None
    return ApiProblem(
        400,
        "this server does not answer to that Host header: open it at its own address "
        "(DASHBOARD_URL), or add the name to ALLOWED_HOSTS",
    )


class HostCheck:
    """The ASGI middleware: a foreign `Host` or Streamlit's metrics never reach a route."""

    def __init__(self, app: ASGIApp, context: ApiContext = CONTEXT) -> None:
        self.app = app
        self.context = context

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        host = headers.get(b"host")
        problem = refusal(None if host is None else host.decode("latin-1"), self.context)
        path = scope.get("path", "")
        if problem is None and path.rstrip("/").endswith(STREAMLIT_METRICS):
            problem = ApiProblem(
                404, "Streamlit's own metrics are turned off: scrape /metrics (METRICS_TOKEN)"
            )
        if problem is None:
            await self.app(scope, receive, send)
            return
        response = problem_response(problem, path)
        if scope["type"] == "http":
            await response(scope, receive, send)
        elif "websocket.http.response" in scope.get("extensions", {}):
            await WebSocket(scope, receive, send).send_denial_response(response)
        else:  # a server without denial responses: close before accepting (HTTP 403)
            await send({"type": "websocket.close", "code": 1008})
