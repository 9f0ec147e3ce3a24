"""Settings: defaults, validation messages, .env precedence, and the README's table."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ingest.settings import DEFAULT_BASE_URL, SETTINGS, ConfigError, load_settings, read_environment

README = Path(__file__).resolve().parent.parent / "README.md"


def test_defaults_match_the_documented_values():
    settings = load_settings({})
    assert settings.mimecast_base_url == DEFAULT_BASE_URL
    assert settings.initial_backfill_days == 30
    assert settings.poll_seconds == 3600
    assert settings.lookback_seconds == 7200
    assert settings.db_path == "data/searchlogs.db"
    assert settings.database_url is None
    assert settings.display_tz == "UTC"
    assert settings.effective_database_url == "sqlite:///data/searchlogs.db"


def test_database_url_wins_over_db_path():
    settings = load_settings({"DB_PATH": "x.db", "DATABASE_URL": "sqlite:////tmp/y.db"})
    assert settings.effective_database_url == "sqlite:////tmp/y.db"


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("POLL_SECONDS", "soon", "POLL_SECONDS must be a whole number, got 'soon'"),
        ("POLL_SECONDS", "0", "POLL_SECONDS must be at least 1, got 0"),
        ("INITIAL_BACKFILL_DAYS", "-3", "INITIAL_BACKFILL_DAYS must be at least 1, got -3"),
        ("LOOKBACK_SECONDS", "-1", "LOOKBACK_SECONDS must be 0 or more, got -1"),
        ("MIMECAST_BASE_URL", "api.example.com", "MIMECAST_BASE_URL must be an http(s) URL"),
        ("DISPLAY_TZ", "Mars/Olympus", "DISPLAY_TZ must be an IANA time zone"),
    ],
)
def test_invalid_value_names_the_setting_and_what_is_expected(name, value, expected):
    with pytest.raises(ConfigError) as caught:
        load_settings({name: value})
    assert str(caught.value).startswith(expected)
    assert "\n" not in str(caught.value)


def test_lookback_of_zero_is_allowed():
    assert load_settings({"LOOKBACK_SECONDS": "0"}).lookback_seconds == 0


def test_missing_credentials_name_the_variable():
    with pytest.raises(ConfigError, match="MIMECAST_CLIENT_SECRET is not set"):
        load_settings({"MIMECAST_CLIENT_ID": "abc"}).require_credentials()


def test_secret_is_not_in_repr():
    settings = load_settings({"MIMECAST_CLIENT_ID": "id", "MIMECAST_CLIENT_SECRET": "s3cr3t-value"})
    assert "s3cr3t-value" not in repr(settings)
    assert "s3cr3t-value" not in str(settings)


def test_real_environment_wins_over_env_file(tmp_path, monkeypatch):
    env_file = tmp_path / ".env"
    env_file.write_text("POLL_SECONDS=60\nLOOKBACK_SECONDS=10\n")
    monkeypatch.setenv("POLL_SECONDS", "120")
    merged = read_environment(env_file)
    assert merged["POLL_SECONDS"] == "120"
    assert merged["LOOKBACK_SECONDS"] == "10"


def _readme_configuration_rows() -> dict[str, str]:
    text = README.read_text(encoding="utf-8")
    section = text.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    rows = {}
    for line in section.splitlines():
        match = re.match(r"^\|\s*`([A-Z_]+)`\s*\|\s*([^|]*)\|", line)
        if match:
            rows[match.group(1)] = match.group(2).strip().strip("`")
    return rows


def test_readme_configuration_table_matches_the_settings():
    rows = _readme_configuration_rows()
    assert set(rows) == {spec.name for spec in SETTINGS}
    for spec in SETTINGS:
        assert rows[spec.name] == (spec.default or "—"), spec.name
