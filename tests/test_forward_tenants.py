"""Forwarding and tenants: a destination's `tenants = [...]` (which tenants it receives), and
the sources that hand each search and alert out with its tenant and display name."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, insert

from config.settings import ConfigError
from db.models import Alert as AlertRow
from db.models import Base, SearchLog
from ingest.forward.config import destination_from, display_names_of, load_forward_config
from ingest.forward.messages import source_for
from tests.support.harness import make_settings, run_cli

CONFIGURED = {"acme": "ACME Corp", "globex": "Globex", "default": "default"}
WHEN = datetime(2024, 11, 12, 16, 21, 27, tzinfo=UTC)


def table(**changes: Any) -> dict[str, Any]:
    return {"name": "siem", "url": "file:///tmp/siem.ndjson", **changes}


def test_a_destination_without_tenants_receives_every_tenant():
    destination = destination_from(table(), {}, 1, tenants=CONFIGURED)
    assert destination.tenants is None
    assert all(destination.receives(name) for name in ("acme", "globex", "any-other"))


def test_a_destination_listing_tenants_receives_only_those():
    destination = destination_from(table(tenants=["acme", "default"]), {}, 1, tenants=CONFIGURED)
    assert destination.tenants == frozenset({"acme", "default"})
    assert destination.receives("acme") and destination.receives("default")
    assert not destination.receives("globex")
    assert not destination.receives("ACME")  # names are exact, as in every key


@pytest.mark.parametrize(
    ("tenants", "message"),
    [
        ([], "tenants is empty; leave it out to receive every tenant"),
        ("acme", "tenants must be a list of tenant names"),
        (["acme", 7], "tenants must be a list of tenant names"),
        (["acme corp"], "tenants: 'acme corp' is not a tenant name"),
        (["x" * 65], "is not a tenant name"),
        (["acme\nINJECTED"], "tenants: 'acme\\nINJECTED' is not a tenant name"),
        (["initech"], "tenants: 'initech' is not a configured tenant"),
    ],
)
def test_bad_tenants_are_one_line_naming_the_destination_and_the_key(tenants: Any, message: str):
    with pytest.raises(ConfigError) as raised:
        destination_from(table(tenants=tenants), {}, 1, tenants=CONFIGURED)
    text = str(raised.value)
    assert text.startswith("forwarding destination 'siem': ") and message in text
    assert "\n" not in text


def test_any_tenant_name_is_accepted_when_no_tenants_are_configured():
    for configured in (None, {}):
        destination = destination_from(table(tenants=["initech"]), {}, 1, tenants=configured)
        assert destination.tenants == frozenset({"initech"})
    with pytest.raises(ConfigError, match="not a tenant name"):
        destination_from(table(tenants=["not/a/name"]), {}, 1)


def test_load_forward_config_checks_every_destination_against_the_configured_tenants(
    tmp_path: Path,
):
    config = tmp_path / "forward.toml"
    config.write_text(
        '[[destination]]\nname = "acme-siem"\nurl = "file:///tmp/a.ndjson"\ntenants = ["acme"]\n'
        '[[destination]]\nname = "all"\nurl = "file:///tmp/b.ndjson"\n'
    )
    settings = make_settings(
        "http://127.0.0.1:1", tmp_path / "db.sqlite", FORWARD_CONFIG=str(config)
    )
    loaded = load_forward_config(settings, {}, CONFIGURED)
    assert loaded is not None
    first, second = loaded.destinations
    assert first.tenants == frozenset({"acme"}) and second.tenants is None
    assert first.display_names["acme"] == "ACME Corp"
    with pytest.raises(ConfigError, match="'acme-siem': tenants: 'acme' is not a configured"):
        load_forward_config(settings, {}, {"globex": "Globex"})


def test_a_bad_tenants_list_stops_forward_at_start_with_exit_2(tmp_path: Path):
    config = tmp_path / "forward.toml"
    config.write_text('[[destination]]\nname = "siem"\nurl = "file:///tmp/x"\ntenants = []\n')
    env = {"DB_PATH": str(tmp_path / "db.sqlite"), "FORWARD_CONFIG": str(config)}
    done = run_cli(["forward"], env, tmp_path)
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert lines == [lines[0]] and "forwarding destination 'siem': tenants is empty" in lines[0]


@dataclass(frozen=True)
class ConfiguredTenant:
    """Shaped like `config.tenants.Tenant`, as far as forwarding reads it."""

    name: str
    display_name: str


def test_display_names_of_the_configured_tenants_fall_back_to_the_name():
    tenants = [ConfiguredTenant("acme", "ACME Corp"), ConfiguredTenant("globex", "")]
    assert display_names_of(tenants) == {"acme": "ACME Corp", "globex": "globex"}


# --- the sources -------------------------------------------------------------------------


def _search_row(tenant: str, key: str) -> dict[str, Any]:
    return {
        "tenant": tenant, "event_key": key, "create_time": WHEN, "email_addr": "ann@example.com",
        "source": "archive", "search_text": "same text", "search_reason": None,
        "description": None, "search_path": None, "raw_json": "{}", "ingested_at": WHEN,
    }  # fmt: skip


def _alert_row(tenant: str) -> dict[str, Any]:
    return {
        "tenant": tenant, "rule": "burst", "email_addr": "ann@example.com",
        "day": date(2024, 11, 12), "window_start": WHEN, "window_end": WHEN,
        "severity": "high", "summary": "s",
        "figures": "{}", "evidence_url": "/user?email=ann", "created_at": WHEN,
    }  # fmt: skip


@pytest.fixture
def two_tenants(tmp_path: Path):
    """A real SQLite database holding the same search (same key) and an alert for two tenants."""
    engine = create_engine(f"sqlite:///{tmp_path / 'tenants.sqlite'}")
    Base.metadata.create_all(engine)
    with engine.begin() as conn:
        conn.execute(
            insert(SearchLog), [_search_row("default", "k" * 64), _search_row("acme", "k" * 64)]
        )
        conn.execute(insert(AlertRow), [_alert_row("default"), _alert_row("acme")])
    yield engine
    engine.dispose()


def read_stream(engine, source: str, tenant: str) -> list[Any]:
    """Everything `tenant`'s stream of `source` hands out from the start."""
    stream = source_for(source, tenant, "https://dash.example.com", {"acme": "ACME Corp"})
    with engine.connect() as conn:
        return stream.read(conn, 0, 10, None, 10)


def test_forwarded_searches_carry_their_tenant_and_identical_ones_keep_distinct_ids(two_tenants):
    """The stored key is unique only within a tenant; receivers dedupe on the forwarded id,
    so another tenant's copy of the same search gets an id of its own (`default` keeps the
    bare key it had before tenants)."""
    default, acme = (read_stream(two_tenants, "searches", t) for t in ("default", "acme"))
    assert [m.id for m in default] == ["k" * 64]
    assert [m.id for m in acme] == ["acme:" + "k" * 64]
    assert [(m.item.tenant, m.item.tenant_display) for m in default + acme] == [
        ("default", "default"),
        ("acme", "ACME Corp"),
    ]
    assert [m.item.key for m in default + acme] == [m.id for m in default + acme]


def test_a_tenants_stream_reads_only_that_tenants_searches_and_alerts(two_tenants):
    for source in ("searches", "alerts"):
        assert [m.item.tenant for m in read_stream(two_tenants, source, "acme")] == ["acme"]
        assert [m.item.tenant for m in read_stream(two_tenants, source, "globex")] == []
    with two_tenants.connect() as conn:
        stream = source_for("searches", "default")
        assert stream.pending(conn, 0, None)[0] == 1  # the other tenant's copy is not waiting


def test_forwarded_alerts_carry_their_tenant_and_its_display_name(two_tenants):
    default, acme = (read_stream(two_tenants, "alerts", t) for t in ("default", "acme"))
    assert [(m.item.tenant, m.item.tenant_display) for m in default + acme] == [
        ("default", "default"),
        ("acme", "ACME Corp"),
    ]
    assert [m.id for m in default + acme] == ["alert-1", "alert-2"]
