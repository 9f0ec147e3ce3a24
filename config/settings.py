"""Every setting of the ingest, the dashboard and the machine API, declared once.

The README's configuration table is tested against `SETTINGS`, so a setting cannot exist
in the code without being documented (and the other way round). Values come from the
environment, and from a `.env` file for anything the environment does not set.
"""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dotenv import dotenv_values
from sqlalchemy.engine import URL

DEFAULT_BASE_URL = "https://api.services.mimecast.com"


class ConfigError(Exception):
    """A setting is missing or invalid; the message names it and says what is expected."""


def _ranged(least: int, most: int) -> Callable[[str, str], int]:
    """A parser for a whole number from `least` to `most`: every numeric setting has a
    documented range, so no value can overflow a date or a timer further on."""

    def parse(name: str, raw: str) -> int:
        text = raw.strip()
        if not re.fullmatch(r"[+-]?\d{1,30}", text):
            shown = text if len(text) <= 40 else text[:39] + "…"
            raise ConfigError(
                f"{name} must be a whole number from {least} to {most}, got {shown!r}"
            )
        value = int(text)
        if value < least:
            bound = "0 or more" if least == 0 else f"at least {least}"
            raise ConfigError(f"{name} must be {bound} (at most {most}), got {value}")
        if value > most:
            raise ConfigError(f"{name} must be at most {most} (at least {least}), got {value}")
        return value

    return parse


# Ranges: a backfill of ten years at most, a poll at least every week, an overlap of at
# most thirty days (a longer one would re-read a month on every poll).
BACKFILL_DAYS_RANGE = (1, 3650)
POLL_SECONDS_RANGE = (1, 7 * 86_400)
LOOKBACK_SECONDS_RANGE = (0, 30 * 86_400)
RECONCILE_DAYS_RANGE = (0, 90)
API_RATE_LIMIT_RANGE = (1, 100_000)


def is_loopback_host(host: str) -> bool:
    """`localhost` or a loopback address: where the simulator runs."""
    host = host.lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _base_url(name: str, raw: str) -> str:
    url = raw.strip().rstrip("/")
    try:
        parsed = urlparse(url)
        host = parsed.hostname
    except ValueError:
        host = None
    if parsed.scheme not in ("http", "https") or not host:
        raise ConfigError(f"{name} must be an http(s) URL such as {DEFAULT_BASE_URL}, got {raw!r}")
    if parsed.scheme == "http" and not is_loopback_host(host):
        raise ConfigError(
            f"{name} must use https for {host}: plain http would send the client secret in "
            f"clear (http is accepted only for a simulator on this machine), got {raw!r}"
        )
    return url


def _dashboard_url(name: str, raw: str) -> str:
    """The address people open the dashboard at: an http(s) URL with a host and at most a
    path, no query or fragment (links to the evidence are built by appending to it)."""
    url = raw.strip().rstrip("/")
    try:
        parsed = urlparse(url)
        host = parsed.hostname
    except ValueError:
        parsed, host = None, None
    if parsed is None or parsed.scheme not in ("http", "https") or not host:
        raise ConfigError(
            f"{name} must be the dashboard's http(s) address such as "
            f"https://searchlogs.example.com, got {raw[:80]!r}"
        )
    if parsed.query or parsed.fragment or parsed.params:
        raise ConfigError(f"{name} must have no query or fragment, got {raw[:80]!r}")
    return url


def _time_zone(name: str, raw: str) -> str:
    try:
        ZoneInfo(raw.strip())
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(
            f"{name} must be an IANA time zone such as UTC or Europe/London, got {raw!r}"
        ) from None
    return raw.strip()


def _text(_name: str, raw: str) -> str:
    return raw.strip()


LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


def _log_level(name: str, raw: str) -> str:
    level = raw.strip().upper()
    if level not in LOG_LEVELS:
        raise ConfigError(f"{name} must be one of {', '.join(LOG_LEVELS)}, got {raw!r}")
    return level


_LABEL = r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?"
_DOMAIN = rf"{_LABEL}(?:\.{_LABEL})+"
_ACCESS_ENTRY = re.compile(rf"^(?:[^@\s,<>\"]+)?@{_DOMAIN}$")


def _access_list(name: str, raw: str) -> tuple[str, ...]:
    """Comma-separated addresses (`ann@example.com`) or domains (`@example.com`), lower case."""
    entries: list[str] = []
    for part in raw.split(","):
        entry = part.strip().lower()
        if not entry:
            continue
        if len(entry) > 320 or not _ACCESS_ENTRY.match(entry):
            raise ConfigError(
                f"{name} must be e-mail addresses or @domain entries separated by commas, "
                f"got {part.strip()!r}"
            )
        entries.append(entry)
    return tuple(dict.fromkeys(entries))


FORWARD_SCHEMES = ("file://", "https://", "syslog+tls://", "syslog+tcp://", "syslog+udp://")
FORWARD_FORMATS = ("ecs", "cef", "ocsf")


def _forward_url(name: str, raw: str) -> str:
    """A destination URL; the value is never echoed, as a webhook URL is itself a secret."""
    url = raw.strip()
    if not url.lower().startswith(FORWARD_SCHEMES):
        raise ConfigError(f"{name} must start with {', '.join(FORWARD_SCHEMES)}")
    return url


def _forward_format(name: str, raw: str) -> str:
    value = raw.strip().lower()
    if value not in FORWARD_FORMATS:
        raise ConfigError(f"{name} must be one of {', '.join(FORWARD_FORMATS)}, got {raw!r}")
    return value


@dataclass(frozen=True)
class SettingSpec:
    """One setting: its environment variable, default, meaning and parser."""

    name: str
    default: str | None
    help: str
    parse: Callable[[str, str], Any]
    secret: bool = False


SETTINGS: tuple[SettingSpec, ...] = (
    SettingSpec("MIMECAST_CLIENT_ID", None, "API 2.0 client id", _text),
    SettingSpec("MIMECAST_CLIENT_SECRET", None, "API 2.0 client secret", _text, secret=True),
    SettingSpec(
        "MIMECAST_BASE_URL",
        DEFAULT_BASE_URL,
        "API host: global, `https://uk-api.services.mimecast.com`, "
        "`https://us-api.services.mimecast.com`, or a simulator",
        _base_url,
    ),
    SettingSpec(
        "INITIAL_BACKFILL_DAYS",
        "30",
        "days fetched by the first run, 1 to 3650",
        _ranged(*BACKFILL_DAYS_RANGE),
    ),
    SettingSpec(
        "POLL_SECONDS",
        "3600",
        "interval of the scheduled loop, 1 to 604800 (a week)",
        _ranged(*POLL_SECONDS_RANGE),
    ),
    SettingSpec(
        "LOOKBACK_SECONDS",
        "7200",
        "overlap re-read on every delta poll, to catch late-arriving events, 0 to 2592000 "
        "(30 days)",
        _ranged(*LOOKBACK_SECONDS_RANGE),
    ),
    SettingSpec(
        "RECONCILE_DAYS",
        "3",
        "days re-read once a day by the reconciliation sweep, to store searches that reached "
        "the API later than `LOOKBACK_SECONDS`; 0 to 90, 0 turns the sweep off",
        _ranged(*RECONCILE_DAYS_RANGE),
    ),
    SettingSpec("DB_PATH", "data/searchlogs.db", "SQLite file (its folder is created)", _text),
    SettingSpec(
        "DATABASE_URL",
        None,
        "a SQLAlchemy URL for SQLite or PostgreSQL, e.g. "
        "`postgresql+psycopg://user:pw@host/db`; wins over `DB_PATH`",
        _text,
    ),
    SettingSpec(
        "LOG_LEVEL",
        "INFO",
        "what the ingest logs: `DEBUG`, `INFO`, `WARNING` or `ERROR` (`-v` means `DEBUG`)",
        _log_level,
    ),
    SettingSpec(
        "DISPLAY_TZ",
        "UTC",
        "time zone the dashboard buckets days and shows times in",
        _time_zone,
    ),
    SettingSpec(
        "ADMIN_EMAILS",
        "",
        "who may use the dashboard as an administrator once sign-in is configured: "
        "addresses or `@domain` entries, comma-separated",
        _access_list,
    ),
    SettingSpec(
        "VIEWER_EMAILS",
        "",
        "who may view the dashboard once sign-in is configured: addresses or `@domain` "
        "entries, comma-separated",
        _access_list,
    ),
    SettingSpec(
        "FORWARD_CONFIG",
        "",
        "a TOML file of forwarding destinations (see [Forwarding](#forwarding))",
        _text,
    ),
    SettingSpec(
        "FORWARD_URL",
        None,
        "one forwarding destination: `file:///path/out.ndjson`, `https://…`, "
        "`syslog+tls://host:6514`, `syslog+tcp://…` or `syslog+udp://…`",
        _forward_url,
        secret=True,
    ),
    SettingSpec(
        "FORWARD_FORMAT",
        "ecs",
        "what `FORWARD_URL` receives: `ecs`, `cef` or `ocsf`",
        _forward_format,
    ),
    SettingSpec(
        "FORWARD_TOKEN",
        None,
        "a Splunk HTTP Event Collector token: an `https://` `FORWARD_URL` then gets HEC events",
        _text,
        secret=True,
    ),
    SettingSpec(
        "DASHBOARD_URL",
        None,
        "the address people open the dashboard at, e.g. `https://searchlogs.example.com`: "
        "forwarded alerts link to their evidence under it (unset, they carry the "
        "dashboard-relative path)",
        _dashboard_url,
    ),
    SettingSpec(
        "DETECTIONS_FILE",
        "detections.toml",
        "the rules file of `python -m ingest detect` (TOML); built-in defaults when the "
        "default file does not exist",
        _text,
    ),
    SettingSpec(
        "API_RATE_LIMIT",
        "120",
        "calls per minute each machine-API token may make (a token bucket per dashboard "
        "process), 1 to 100000; more get HTTP 429 with `Retry-After`",
        _ranged(*API_RATE_LIMIT_RANGE),
    ),
    SettingSpec(
        "METRICS_TOKEN",
        None,
        "bearer token for `/metrics`, `/healthz` and `/readyz`: unset, they answer only "
        "on loopback; set, they need `Authorization: Bearer <token>` from everyone",
        _text,
        secret=True,
    ),
)

_SPECS = {spec.name: spec for spec in SETTINGS}


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
    database_url: str | None
    display_tz: str
    log_level: str = "INFO"
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
    """Parse every setting; the first invalid one raises ConfigError."""
    env = read_environment() if environ is None else environ
    values: dict[str, Any] = {}
    for spec in SETTINGS:
        raw = env.get(spec.name)
        if raw is None or raw.strip() == "":
            raw = spec.default
        values[spec.name.lower()] = None if raw is None else spec.parse(spec.name, raw)
    return Settings(**values)


def spec(name: str) -> SettingSpec:
    return _SPECS[name]
