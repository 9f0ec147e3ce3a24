"""The newest migration revision, read from the migrations folder, so the tests that check
"opening upgrades to the newest revision" follow each new migration without an edit."""

from __future__ import annotations

from pathlib import Path

from alembic.config import Config
from alembic.script import ScriptDirectory

MIGRATIONS = Path(__file__).resolve().parents[2] / "db" / "migrations"


def head_revision() -> str:
    """The single head of the migration chain (two heads would be a broken chain)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    heads = ScriptDirectory.from_config(config).get_heads()
    assert len(heads) == 1, f"the migrations have {len(heads)} heads: {heads}"
    return heads[0]


HEAD = head_revision()
