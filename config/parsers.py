"""How each setting's text is read: one parser per kind of value, each raising ConfigError
with one line that names the setting and says what is expected."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from urllib.parse import urlparse
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DEFAULT_BASE_URL = "https://api.services.mimecast.com"


class ConfigError(Exception):
    """A setting is missing or invalid; the message names it and says what is expected."""


def whole_number_between(least: int, most: int) -> Callable[[str, str], int]:
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


def parse_base_url(name: str, raw: str) -> str:
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


def parse_dashboard_url(name: str, raw: str) -> str:
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


def parse_time_zone(name: str, raw: str) -> str:
    try:
        ZoneInfo(raw.strip())
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(
            f"{name} must be an IANA time zone such as UTC or Europe/London, got {raw!r}"
        ) from None
    return raw.strip()


def parse_text(_name: str, raw: str) -> str:
    return raw.strip()


LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


def parse_log_level(name: str, raw: str) -> str:
    level = raw.strip().upper()
    if level not in LOG_LEVELS:
        raise ConfigError(f"{name} must be one of {', '.join(LOG_LEVELS)}, got {raw!r}")
    return level


_LABEL = r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?"
_DOMAIN = rf"{_LABEL}(?:\.{_LABEL})+"
_ACCESS_ENTRY = re.compile(rf"^(?:[^@\s,<>\"]+)?@{_DOMAIN}$")


def parse_access_list(name: str, raw: str) -> tuple[str, ...]:
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


def parse_forward_url(name: str, raw: str) -> str:
    """A destination URL; the value is never echoed, as a webhook URL is itself a secret."""
    url = raw.strip()
    if not url.lower().startswith(FORWARD_SCHEMES):
        raise ConfigError(f"{name} must start with {', '.join(FORWARD_SCHEMES)}")
    return url


def parse_forward_format(name: str, raw: str) -> str:
    value = raw.strip().lower()
    if value not in FORWARD_FORMATS:
        raise ConfigError(f"{name} must be one of {', '.join(FORWARD_FORMATS)}, got {raw!r}")
    return value
