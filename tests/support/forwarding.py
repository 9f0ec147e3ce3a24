"""Forwarding in tests: searches and alerts as the forwarder sees them, and forwarding run
in-process against the destinations a test describes (as TOML tables)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from config.settings import Settings
from db.engine import open_database
from ingest.forward.config import ForwardConfig, destination_from
from ingest.forward.messages import Alert, Search
from ingest.forward.runner import forward_pending
from tests.support.forward_receivers import ReceiverCA, make_ca
from tests.support.harness import fixed_clock, run_ingest_once, settled_now

WHEN = datetime(2024, 11, 12, 16, 21, 27, tzinfo=UTC)


def search(**changes: object) -> Search:
    values: dict[str, object] = {
        "key": "k" * 64,
        "create_time": WHEN,
        "email_addr": "dhamilton@mimecast.local",
        "source": "archive",
        "search_text": "[User : dhamilton@mimecast.local]",
        "search_reason": "case 42",
        "description": "Message Tracking Search",
        "search_path": "/inbox",
        "tenant": "acme",
        "tenant_display": "ACME Corp",
    }
    values.update(changes)
    return Search(**values)  # type: ignore[arg-type]


def alert(**changes: object) -> Alert:
    values: dict[str, object] = {
        "id": "alert-7",
        "rule": "out_of_hours_burst",
        "email_addr": "ann@example.com",
        "window_start": WHEN,
        "window_end": datetime(2024, 11, 12, 17, 21, 27, tzinfo=UTC),
        "severity": "high",
        "summary": "ann@example.com searched 140 times between 02:00 and 03:00 UTC",
        "evidence_url": "https://dash.example.com/user?email=ann%40example.com",
        "created_at": datetime(2024, 11, 12, 17, 30, tzinfo=UTC),
        "tenant": "acme",
        "tenant_display": "ACME Corp",
    }
    values.update(changes)
    return Alert(**values)  # type: ignore[arg-type]


def forward(settings: Settings, *tables: dict[str, Any], max_seconds: float = 30.0, **kw: Any):
    config = ForwardConfig(tuple(destination_from(t, {}, i) for i, t in enumerate(tables, 1)))
    engine = open_database(settings.effective_database_url)
    try:
        return forward_pending(engine, config, max_seconds=max_seconds, **kw)
    finally:
        engine.dispose()


@pytest.fixture
def stored(settings: Settings) -> Settings:
    """A database filled by the real ingest from the simulator."""
    result = run_ingest_once(settings, clock=fixed_clock(settled_now()))
    assert result.counts.inserted > 500
    return settings


@pytest.fixture
def ca(tmp_path: Path) -> ReceiverCA:
    """A test CA and a loopback server certificate for the TLS receivers."""
    return make_ca(tmp_path / "ca")
