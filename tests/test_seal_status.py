"""The status page's tamper-evidence line: the session tenant's last sealed day and what
the last `verify` found (issue 18 §3)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, update

from config.signing import init_key, key_id, public_pem
from db.models import SearchLog
from db.seal_verify import record_check, verify_chain
from db.seals import seal_days
from tests.support.apptest import (  # noqa: F401 (page_*: the page fixtures)
    open_page,
    page_db_file,
    page_engine,
    page_known,
)
from tests.support.tenancy import TENANT

SEALED_AT = datetime(2026, 4, 1, 6, tzinfo=UTC)


def evidence(known: Engine) -> str:
    at = open_page("status")
    (line,) = [t.value for t in at.text if t.value.startswith("Last sealed day")]
    return line


def test_status_shows_the_last_sealed_day_and_the_last_verification(known: Engine) -> None:
    assert evidence(known) == (
        "Last sealed day: none yet · never verified (run `python -m ingest verify`)"
    )
    seal_days(known, TENANT, datetime(2026, 4, 1, tzinfo=UTC), SEALED_AT)
    record_check(known, verify_chain(known, TENANT), SEALED_AT)
    assert evidence(known) == (
        "Last sealed day: 2026-03-31 · last verified 2026-04-01 08:00:00: the chain holds"
    )
    with known.begin() as conn:
        conn.execute(update(SearchLog).where(SearchLog.id == 1).values(search_text="edited"))
    record_check(known, verify_chain(known, TENANT), SEALED_AT)
    assert evidence(known).startswith(
        "Last sealed day: 2026-03-31 · last verified 2026-04-01 08:00:00: FAILED, seal #0"
    )


def test_status_shows_the_public_key_that_verifies_export_manifests(
    known: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    at = open_page("status")
    assert "CSV downloads carry no signed manifest: SIGNING_KEY_FILE is not set." in [
        t.value for t in at.text
    ]
    key, _ = init_key(str(tmp_path / "key.pem"))
    monkeypatch.setenv("SIGNING_KEY_FILE", str(tmp_path / "key.pem"))
    at = open_page("status")
    assert f"Export manifests are signed with key {key_id(key)}; its public key:" in [
        t.value for t in at.text
    ]
    assert [c.value for c in at.code if "PUBLIC KEY" in c.value] == [public_pem(key).strip()]
    assert not [c.value for c in at.code if "PRIVATE" in c.value]
