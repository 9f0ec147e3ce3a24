"""Forwarding run in-process against the destinations a test describes (as TOML tables)."""

from __future__ import annotations

from typing import Any

from config.settings import Settings
from db.engine import open_database
from ingest.forward.config import ForwardConfig, destination_from
from ingest.forward.runner import forward_pending


def forward(settings: Settings, *tables: dict[str, Any], max_seconds: float = 30.0, **kw: Any):
    config = ForwardConfig(tuple(destination_from(t, {}, i) for i, t in enumerate(tables, 1)))
    engine = open_database(settings.effective_database_url)
    try:
        return forward_pending(engine, config, max_seconds=max_seconds, **kw)
    finally:
        engine.dispose()
