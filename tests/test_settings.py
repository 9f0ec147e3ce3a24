"""Settings: defaults, validation messages, .env precedence, and the configuration reference's
table (docs/configuration.md)."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from config.settings import (
    DEFAULT_BASE_URL,
    SETTINGS,
    ConfigError,
    load_settings,
    read_environment,
    spec,
)
from db.engine import make_engine, redact_text, redact_url
from tests.support.backends import fresh_postgres_database
from tests.support.harness import run_cli

CONFIGURATION_DOC = Path(__file__).resolve().parent.parent / "docs" / "configuration.md"


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
        (
            "POLL_SECONDS",
            "soon",
            "POLL_SECONDS must be a whole number from 1 to 604800, got 4 characters of other text",
        ),
        ("POLL_SECONDS", "0", "POLL_SECONDS must be at least 1 (at most 604800), got 0"),
        ("INITIAL_BACKFILL_DAYS", "-3", "INITIAL_BACKFILL_DAYS must be at least 1 (at most 3650)"),
        ("LOOKBACK_SECONDS", "-1", "LOOKBACK_SECONDS must be 0 or more (at most 2592000), got -1"),
        ("MIMECAST_BASE_URL", "api.example.com", "MIMECAST_BASE_URL must be an http(s) URL"),
        ("DISPLAY_TZ", "Mars/Olympus", "DISPLAY_TZ must be an IANA time zone"),
        ("DASHBOARD_URL", "searchlogs.example.com", "DASHBOARD_URL must be the dashboard's"),
        ("DASHBOARD_URL", "https://x.example/?a=1", "DASHBOARD_URL must have no query"),
    ],
)
def test_invalid_value_names_the_setting_and_what_is_expected(name, value, expected):
    with pytest.raises(ConfigError) as caught:
        load_settings({name: value})
    assert str(caught.value).startswith(expected)
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize(
    ("name", "least", "most"),
    [
        ("INITIAL_BACKFILL_DAYS", 1, 3650),
        ("POLL_SECONDS", 1, 604800),
        ("LOOKBACK_SECONDS", 0, 2592000),
    ],
)
def test_every_numeric_setting_has_a_range_with_both_ends_allowed(name, least, most):
    for value in (least, most):
        assert getattr(load_settings({name: str(value)}), name.lower()) == value
    for value in (least - 1, most + 1, 10**14, 10**40):
        with pytest.raises(ConfigError, match=f"^{name} must be ") as caught:
            load_settings({name: str(value)})
        assert str(least) in str(caught.value) and str(most) in str(caught.value)
        assert "\n" not in str(caught.value)


def test_every_numeric_setting_states_its_range_in_its_help():
    for name in ("INITIAL_BACKFILL_DAYS", "POLL_SECONDS", "LOOKBACK_SECONDS"):
        help_text = spec(name).help
        assert re.search(r"\b\d+ to \d+\b", help_text), name


@pytest.mark.parametrize(
    "url",
    [
        "http://api.services.mimecast.com",
        "http://uk-api.services.mimecast.com/",
        "http://10.0.0.5:8080",
        "http://localhost.example.com",
        "http://127.0.0.1.nip.io",
    ],
)
def test_plain_http_to_a_remote_host_is_refused(url):
    with pytest.raises(ConfigError, match=r"^MIMECAST_BASE_URL must use https for ") as caught:
        load_settings({"MIMECAST_BASE_URL": url})
    assert "client secret in clear" in str(caught.value)


@pytest.mark.parametrize(
    "url",
    ["http://127.0.0.1:8765", "http://localhost:9000", "http://[::1]:9000", "https://10.0.0.5"],
)
def test_plain_http_stays_allowed_on_loopback_for_the_simulator(url):
    assert load_settings({"MIMECAST_BASE_URL": url}).mimecast_base_url == url


@pytest.mark.parametrize(
    "name", ["data/a?mode=ro.db", "data/100%.db", "data/a%3Fb.db", "data/#1.db", "data/a b.db"]
)
def test_db_path_with_url_characters_opens_that_very_file(tmp_path, name):
    path = tmp_path / name
    settings = load_settings({"DB_PATH": str(path)})
    engine = make_engine(settings.effective_database_url)
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql("CREATE TABLE probe (x)")
    finally:
        engine.dispose()
    assert path.is_file()
    assert sorted(p.name for p in path.parent.iterdir() if not p.name.startswith(path.name)) == []


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


def _documented_settings() -> list[tuple[str, str]]:
    """Every (variable, default) row of the configuration reference's table, in order."""
    text = CONFIGURATION_DOC.read_text(encoding="utf-8")
    section = text.split("\n## Settings\n", 1)[1].split("\n## ", 1)[0]
    rows = []
    for line in section.splitlines():
        match = re.match(r"^\|\s*`([A-Z_]+)`\s*\|\s*([^|]*)\|", line)
        if match:
            rows.append((match.group(1), match.group(2).strip().strip("`")))
    return rows


def test_every_setting_is_documented_once_in_the_configuration_reference():
    rows = _documented_settings()
    names = [name for name, _ in rows]
    assert sorted(names) == sorted(setting.name for setting in SETTINGS)
    assert len(names) == len(set(names))
    defaults = dict(rows)
    for setting in SETTINGS:
        assert defaults[setting.name] == (setting.default or "—"), setting.name


# --- through the real CLI: one line, exit 2, no traceback -------------------------------


def _cli_env(tmp_path, **settings: str) -> dict[str, str]:
    return {
        "MIMECAST_CLIENT_ID": "id",
        "MIMECAST_CLIENT_SECRET": "s3cr3t-value",
        "DB_PATH": str(tmp_path / "searchlogs.db"),
        **settings,
    }


def _assert_config_error(result, *fragments: str) -> None:
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    assert "Traceback" not in result.stderr + result.stdout
    for fragment in fragments:
        assert fragment in lines[0]


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("INITIAL_BACKFILL_DAYS", "1000000"),
        ("LOOKBACK_SECONDS", "100000000000000"),
        ("POLL_SECONDS", "100000000000000000000"),
        ("POLL_SECONDS", "9" * 5000),
    ],
)
def test_cli_refuses_a_huge_number_with_one_line_and_exit_2(tmp_path, name, value):
    result = run_cli(["run", "--once"], _cli_env(tmp_path, **{name: value}), tmp_path)
    _assert_config_error(result, f"{name} must be ")


def test_cli_refuses_plain_http_to_a_remote_api_host(tmp_path):
    env = _cli_env(tmp_path, MIMECAST_BASE_URL="http://api.services.mimecast.com")
    result = run_cli(["run", "--once"], env, tmp_path)
    _assert_config_error(result, "MIMECAST_BASE_URL must use https", "client secret in clear")
    assert "s3cr3t-value" not in result.stderr


# --- secrets in a database URL ----------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "hidden"),
    [
        ("postgresql+psycopg://ann:hunter2pw@db/logs", "hunter2pw"),
        ("postgresql+psycopg://ann@db/logs?password=hunter2pw", "hunter2pw"),
        ("postgresql+psycopg://ann@db/logs?sslmode=require&sslpassword=hunter2pw", "hunter2pw"),
        ("postgresql+psycopg://ann@db/logs?PassWord=hunter2pw", "hunter2pw"),
        ("postgresql+psycopg://ann@db/logs?passwd=hunter2pw", "hunter2pw"),
        ("postgresql+psycopg://ann@db/logs?pwd=hunter2pw", "hunter2pw"),
        ("postgresql+psycopg://ann@db/logs?client_secret=hunter2pw", "hunter2pw"),
        ("postgresql+psycopg://ann@db/logs?access_token=hunter2pw", "hunter2pw"),
        ("postgresql+psycopg://ann@db/logs?api_key=hunter2pw", "hunter2pw"),
        ("postgresql+psycopg://ann@db/logs?sslkey=/keys/hunter2pw.key", "hunter2pw"),
        ("postgresql+psycopg://ann@db/logs?password=a&password=hunter2pw", "hunter2pw"),
    ],
)
def test_database_url_secrets_are_hidden_in_every_form(url, hidden):
    shown = redact_url(url)
    assert hidden not in shown
    assert "***" in shown
    assert shown.startswith("postgresql+psycopg://ann")
    assert "@db/logs" in shown
    assert hidden not in redact_text(f"a driver's error quoting {url} whole", url)


def test_database_url_keeps_what_is_not_secret():
    url = "postgresql+psycopg://ann@db:5432/logs?application_name=ingest&sslmode=require"
    assert redact_url(url) == url
    assert redact_url("not a url at all") == "***"


@pytest.mark.postgres
def test_ingest_status_hides_query_string_secrets_on_postgresql(tmp_path):
    server = os.environ.get("TEST_DATABASE_URL")
    if not server:
        pytest.skip("no PostgreSQL server: set TEST_DATABASE_URL")
    url = fresh_postgres_database(server, "t_status_redacted")
    # The server trusts the test user, so libpq ignores these; they must still not show.
    secret_url = f"{url}?password=hunter2pw&sslpassword=hunter3pw&sslmode=prefer"
    env = {"DATABASE_URL": secret_url}
    as_json = run_cli(["status", "--json"], env, tmp_path)
    assert as_json.returncode == 0, as_json.stderr
    shown = json.loads(as_json.stdout)["database"]
    assert "password=***" in shown and "sslpassword=***" in shown and "sslmode=prefer" in shown
    as_text = run_cli(["status"], env, tmp_path)
    assert as_text.returncode == 0, as_text.stderr
    for output in (as_json, as_text):
        assert "hunter2pw" not in output.stdout + output.stderr
        assert "hunter3pw" not in output.stdout + output.stderr


def test_a_database_error_message_hides_query_string_secrets(tmp_path):
    # Nothing listens on port 1: the error names the database, and must hide the secrets.
    env = {"DATABASE_URL": "postgresql+psycopg://ann@127.0.0.1:1/logs?password=hunter2pw"}
    result = run_cli(["status"], env, tmp_path)
    _assert_config_error(result, "127.0.0.1:1/logs")
    assert "hunter2pw" not in result.stderr
