"""The API's routes under Streamlit's `server.baseUrlPath`, beside the pages.

Streamlit moves its own routes (pages, websocket, `/_stcore/…`) under the base path but
mounts an `st.App`'s extra routes exactly where they are declared. Behind a proxy that
serves the dashboard at `https://host/searchlogs/`, `/api/v1`, `/healthz`, `/readyz` and
`/metrics` would then be the only addresses outside the path the proxy passes on. So they
are declared again with the base path in front; the root paths are not kept (one address
per route, and nothing answers outside the path the operator chose).
"""

from __future__ import annotations

from starlette.routing import BaseRoute, Route


def base_prefix(base_url_path: str | None) -> str:
    """`/searchlogs` for `searchlogs`, `/searchlogs/` or `/searchlogs`; "" for none."""
    parts = [part for part in (base_url_path or "").split("/") if part]
    return "/" + "/".join(parts) if parts else ""


def under_base_path(routes: list[BaseRoute], base_url_path: str | None) -> list[BaseRoute]:
    """`routes` with the base path in front of each path (unchanged without one)."""
    prefix = base_prefix(base_url_path)
    if not prefix:
        return routes
    moved: list[BaseRoute] = []
    for route in routes:
        if not isinstance(route, Route):
            raise TypeError(f"cannot move {route!r} under the base path: not a plain Route")
        moved.append(
            Route(prefix + route.path, route.endpoint, methods=route.methods, name=route.name)
        )
    return moved
