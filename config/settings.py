"""Every setting of the ingest, the dashboard and the machine API, declared once.

The configuration reference's table (docs/configuration.md) is tested against `SETTINGS`, so
a setting cannot exist in the code without being documented (and the other way round).
Values come from the environment, and from a `.env` file for anything the environment does
not set.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dotenv import dotenv_values
from sqlalchemy.engine import URL

from config.log_format import parse_log_format
from config.parsers import (  # noqa: F401 (ConfigError and the ranges are imported from here too)
    API_RATE_LIMIT_RANGE,
    BACKFILL_DAYS_RANGE,
    CONFIG_ERROR_PUBLIC,
    DEFAULT_BASE_URL,
    FORWARD_FORMATS,
    FORWARD_SCHEMES,
    LOG_LEVELS,
    LOOKBACK_SECONDS_RANGE,
    POLL_SECONDS_RANGE,
    RECONCILE_DAYS_RANGE,
    ConfigError,
    is_loopback_host,
    parse_access_list,
    parse_base_url,
    parse_dashboard_url,
    parse_email_claim,
    parse_forward_format,
    parse_forward_url,
    parse_host_list,
    parse_log_level,
    parse_text,
    parse_time_zone,
    whole_number_between,
)
from config.secret_files import with_secret_files


@dataclass(frozen=True)
class SettingSpec:
    """One setting: its environment variable, default, meaning and parser; a `secret` is
    kept out of `repr` and may be read from the file `NAME_FILE` names."""

    name: str
    default: str | None
    help: str
    parse: Callable[[str, str], Any]
    secret: bool = False


SETTINGS: tuple[SettingSpec, ...] = (
    SettingSpec(
        "TENANTS_FILE",
        "",
        "a TOML file of Mimecast accounts, one `[[tenant]]` each; unset, the `MIMECAST_*` "
        "settings are the one tenant `default`",
        parse_text,
    ),
    SettingSpec("MIMECAST_CLIENT_ID", None, "API 2.0 client id", parse_text),
    SettingSpec("MIMECAST_CLIENT_SECRET", None, "API 2.0 client secret", parse_text, secret=True),
    SettingSpec(
        "MIMECAST_BASE_URL",
        DEFAULT_BASE_URL,
        "API host: global, `https://uk-api.services.mimecast.com`, "
        "`https://us-api.services.mimecast.com`, or a simulator",
        parse_base_url,
    ),
    SettingSpec(
        "INITIAL_BACKFILL_DAYS",
        "30",
        "days fetched by the first run, 1 to 3650",
        whole_number_between(*BACKFILL_DAYS_RANGE),
    ),
    SettingSpec(
        "POLL_SECONDS",
        "3600",
        "interval of the scheduled loop, 1 to 604800 (a week)",
        whole_number_between(*POLL_SECONDS_RANGE),
    ),
    SettingSpec(
        "LOOKBACK_SECONDS",
        "7200",
        "overlap re-read on every delta poll, to catch late-arriving events, 0 to 2592000 "
        "(30 days)",
        whole_number_between(*LOOKBACK_SECONDS_RANGE),
    ),
    SettingSpec(
        "RECONCILE_DAYS",
        "3",
        "days re-read once a day by the reconciliation sweep, to store searches that reached "
        "the API later than `LOOKBACK_SECONDS`; 0 to 90, 0 turns the sweep off",
        whole_number_between(*RECONCILE_DAYS_RANGE),
    ),
    SettingSpec("DB_PATH", "data/searchlogs.db", "SQLite file (its folder is created)", parse_text),
    SettingSpec(
        "DATABASE_URL",
        None,
        "a SQLAlchemy URL for SQLite or PostgreSQL, e.g. "
        "`postgresql+psycopg://user:pw@host/db`; wins over `DB_PATH`",
        parse_text,
        secret=True,
    ),
    SettingSpec(
        "CONTROL_DATABASE_URL",
        None,
        "with a ClickHouse `DATABASE_URL`: the SQL database of what needs transactions "
        "(runs' locks, alerts, audit trail, tokens); unset, the SQLite file at `DB_PATH`",
        parse_text,
        secret=True,
    ),
    SettingSpec(
        "LOG_LEVEL",
        "INFO",
        "what the ingest logs: `DEBUG`, `INFO`, `WARNING` or `ERROR` (`-v` means `DEBUG`)",
        parse_log_level,
    ),
    SettingSpec(
        "LOG_FORMAT",
        "text",
        "how the ingest and the dashboard write their own log lines: `text`, or `json` (one "
        "object per line with time, level, logger, message, tenant and run id)",
        parse_log_format,
    ),
    SettingSpec(
        "DISPLAY_TZ",
        "UTC",
        "time zone the dashboard buckets days and shows times in",
        parse_time_zone,
    ),
    SettingSpec(
        "ADMIN_EMAILS",
        "",
        "who may use the dashboard as an administrator once sign-in is configured: "
        "addresses or `@domain` entries, comma-separated",
        parse_access_list,
    ),
    SettingSpec(
        "VIEWER_EMAILS",
        "",
        "who may view the dashboard once sign-in is configured: addresses or `@domain` "
        "entries, comma-separated",
        parse_access_list,
    ),
    SettingSpec(
        "EMAIL_CLAIM",
        "email",
        "the identity-token claim that names who signed in: `email` (with Microsoft Entra "
        "ID only when the `xms_edov` claim proves the address, see "
        "[Sign-in and roles](#sign-in-and-roles)), or `preferred_username` or `upn`",
        parse_email_claim,
    ),
    SettingSpec(
        "ALLOWED_HOSTS",
        "",
        "host names (or IP addresses) the dashboard answers to besides `DASHBOARD_URL`'s "
        "host, sign-in's `redirect_uri` host and loopback names, comma-separated; any other "
        "`Host` header gets HTTP 400",
        parse_host_list,
    ),
    SettingSpec(
        "FORWARD_CONFIG",
        "",
        "a TOML file of forwarding destinations (see [Forwarding](#forwarding))",
        parse_text,
    ),
    SettingSpec(
        "FORWARD_URL",
        None,
        "one forwarding destination: `file:///path/out.ndjson`, `https://…`, "
        "`syslog+tls://host:6514`, `syslog+tcp://…` or `syslog+udp://…`",
        parse_forward_url,
        secret=True,
    ),
    SettingSpec(
        "FORWARD_FORMAT",
        "ecs",
        "what `FORWARD_URL` receives: `ecs`, `cef` or `ocsf`",
        parse_forward_format,
    ),
    SettingSpec(
        "FORWARD_TOKEN",
        None,
        "a Splunk HTTP Event Collector token: an `https://` `FORWARD_URL` then gets HEC events",
        parse_text,
        secret=True,
    ),
    SettingSpec(
        "DASHBOARD_URL",
        None,
        "the address people open the dashboard at, e.g. `https://searchlogs.example.com`: "
        "forwarded alerts link to their evidence under it (unset, they carry the "
        "dashboard-relative path)",
        parse_dashboard_url,
    ),
    SettingSpec(
        "DETECTIONS_FILE",
        "detections.toml",
        "the rules file of `python -m ingest detect` (TOML); built-in defaults when the "
        "default file does not exist",
        parse_text,
    ),
    SettingSpec(
        "API_RATE_LIMIT",
        "120",
        "calls per minute each machine-API token may make (a token bucket per dashboard "
        "process), 1 to 100000; more get HTTP 429 with `Retry-After`",
        whole_number_between(*API_RATE_LIMIT_RANGE),
    ),
    SettingSpec(
        "SIGNING_KEY_FILE",
        "",
        "a PEM file holding the installation's Ed25519 key that signs export manifests "
        "(`python -m ingest keys init` makes it); unset, CSV downloads carry no manifest; "
        "set but unreadable, they are refused",
        parse_text,
    ),
    SettingSpec(
        "METRICS_TOKEN",
        None,
        "bearer token for `/metrics`, `/healthz` and `/readyz`: unset, they answer only "
        "on loopback; set, they need `Authorization: Bearer <token>` from everyone",
        parse_text,
        secret=True,
    ),
)

_SPECS = {spec.name: spec for spec in SETTINGS}
SECRET_SETTINGS = tuple(spec.name for spec in SETTINGS if spec.secret)
"""The settings that accept `NAME_FILE` (config/secret_files.py)."""


@dataclass(frozen=True)
class Settings:
    """Parsed settings. The secret is kept out of `repr` so it cannot leak into a log."""

    mimecast_client_id: str | None
    mimecast_client_secret: str | None = field(repr=False)
    mimecast_base_url: str
    initial_backfill_days: int
    poll_seconds: int
    lookback_seconds: int
    db_path: str
    database_url: str | None = field(repr=False)
    display_tz: str
    log_level: str = "INFO"
    log_format: str = "text"
    admin_emails: tuple[str, ...] = ()
    viewer_emails: tuple[str, ...] = ()
    reconcile_days: int = 3
    forward_config: str = ""
    forward_url: str | None = field(default=None, repr=False)
    forward_format: str = "ecs"
    forward_token: str | None = field(default=None, repr=False)
    dashboard_url: str | None = None
    detections_file: str = "detections.toml"
    api_rate_limit: int = 120
    metrics_token: str | None = field(default=None, repr=False)
    email_claim: str = "email"
    allowed_hosts: tuple[str, ...] = ()
    tenants_file: str = ""
    signing_key_file: str = ""
    control_database_url: str | None = field(default=None, repr=False)

    @property
    def effective_database_url(self) -> str:
        """DATABASE_URL if set, else a SQLite URL for DB_PATH.

        Built with `URL.create`, which escapes the path: formatted into a string, a `?` or
        `%` in DB_PATH would start a query string or an escape and open another file."""
        if self.database_url:
            return self.database_url
        url = URL.create("sqlite", database=str(Path(self.db_path).expanduser()))
        return url.render_as_string(hide_password=False)

    def require_credentials(self) -> tuple[str, str]:
        """Both credentials, or a ConfigError naming the missing one."""
        for spec_name, value in (
            ("MIMECAST_CLIENT_ID", self.mimecast_client_id),
            ("MIMECAST_CLIENT_SECRET", self.mimecast_client_secret),
        ):
            if not value:
                raise ConfigError(
                    f"{spec_name} is not set: put your Mimecast API 2.0 credentials in .env "
                    "(see .env.example), or run the demo against the simulator"
                )
        assert self.mimecast_client_id and self.mimecast_client_secret
        return self.mimecast_client_id, self.mimecast_client_secret


def read_environment(env_file: str | os.PathLike[str] | None = ".env") -> dict[str, str]:
    """The process environment over the `.env` file: a real variable always wins."""
    merged: dict[str, str] = {}
    if env_file is not None and Path(env_file).is_file():
        merged.update({k: v for k, v in dotenv_values(env_file).items() if v is not None})
    merged.update(os.environ)
    return merged


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Parse every setting; the first invalid one raises ConfigError. Each secret may come
    from the file its `NAME_FILE` variable names (config/secret_files.py)."""
    env = read_environment() if environ is None else environ
    env = with_secret_files(env, SECRET_SETTINGS)
    values: dict[str, Any] = {}
    for spec in SETTINGS:
        raw = env.get(spec.name)
        if raw is None or raw.strip() == "":
            raw = spec.default
        values[spec.name.lower()] = None if raw is None else spec.parse(spec.name, raw)
    return Settings(**values)


_logged_problems: set[str] = set()


def log_config_error(log: logging.Logger, exc: ConfigError) -> None:
    """Log a settings problem in one line, once per problem per process: a server meets it
    on every page run and call. The message is the operator's (no secret value in it)."""
    message = str(exc)
    if message not in _logged_problems:
        _logged_problems.add(message)
        log.error("configuration error: %s", message)


def spec(name: str) -> SettingSpec:
    return _SPECS[name]
