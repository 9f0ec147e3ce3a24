"""How each setting's text is read: one parser per kind of value, each raising ConfigError
with one line that names the setting and says what is expected.

What a message may echo is decided here, per kind: a number, a level or a time zone name
is shown (truncated); a URL only redacted (`shown_url`: it can carry a password, as a
proxy's `http://user:pass@host` does); a secret's value never. The message is for the
operator (the log, the CLI): callers who have not signed in get `CONFIG_ERROR_PUBLIC`.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from urllib.parse import urlparse
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from config.addresses import canonical_entry, canonical_host
from db.engine import redact_url

DEFAULT_BASE_URL = "https://api.services.mimecast.com"


class ConfigError(Exception):
    """A setting is missing or invalid; the message names it and says what is expected."""


CONFIG_ERROR_PUBLIC = (
    "configuration error: a setting is invalid; the server's log names it "
    "(or run `python -m ingest status` where the settings are)"
)
"""All that someone who has not signed in learns of a broken setting."""


def shown_url(raw: str) -> str:
    """A URL fit for the log: user, password and secret-looking query values hidden, and
    at most 80 characters; text that is not a URL is hidden whole."""
    shown = redact_url(raw.strip())
    return repr(shown if len(shown) <= 80 else shown[:79] + "…")


def whole_number_between(least: int, most: int) -> Callable[[str, str], int]:
    """A parser for a whole number from `least` to `most`: every numeric setting has a
    documented range, so no value can overflow a date or a timer further on."""

    def parse(name: str, raw: str) -> int:
        text = raw.strip()
        if not re.fullmatch(r"[+-]?\d{1,30}", text):
            # Not echoed: text where a number belongs may be anything, a pasted secret too.
            raise ConfigError(
                f"{name} must be a whole number from {least} to {most}, got "
                f"{len(text)} characters of other text"
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
        parsed, host = None, None
    if parsed is None or parsed.scheme not in ("http", "https") or not host:
        raise ConfigError(
            f"{name} must be an http(s) URL such as {DEFAULT_BASE_URL}, got {shown_url(raw)}"
        )
    if parsed.scheme == "http" and not is_loopback_host(host):
        raise ConfigError(
            f"{name} must use https for {host}: plain http would send the client secret in "
            f"clear (http is accepted only for a simulator on this machine), got "
            f"{shown_url(raw)}"
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
            f"https://searchlogs.example.com, got {shown_url(raw)}"
        )
    if parsed.query or parsed.fragment or parsed.params:
        raise ConfigError(f"{name} must have no query or fragment, got {shown_url(raw)}")
    if parsed.username is not None or parsed.password is not None:
        raise ConfigError(f"{name} must have no user or password, got {shown_url(raw)}")
    return url


def parse_time_zone(name: str, raw: str) -> str:
    try:
        ZoneInfo(raw.strip())
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(
            f"{name} must be an IANA time zone such as UTC or Europe/London, got {_short(raw)}"
        ) from None
    return raw.strip()


_BLANKS = " \t\r\n"
"""What is trimmed around a list's entries: ASCII blanks only (`str.strip` would also take
an ideographic space, and with it the difference between two addresses)."""


def _short(raw: str) -> str:
    """A name-like value (a level, a zone, an address) as a message shows it: quoted, at
    most 40 characters, anything outside ASCII escaped (a Kelvin sign must not read as K,
    a trailing ideographic space must show)."""
    text = raw.strip(_BLANKS)
    return ascii(text if len(text) <= 40 else text[:39] + "…")


def parse_text(_name: str, raw: str) -> str:
    return raw.strip()


LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


def parse_log_level(name: str, raw: str) -> str:
    level = raw.strip().upper()
    if level not in LOG_LEVELS:
        raise ConfigError(f"{name} must be one of {', '.join(LOG_LEVELS)}, got {_short(raw)}")
    return level


def _comma_list(raw: str, canonical: Callable[[str], str | None], refusal: str) -> tuple[str, ...]:
    """Comma-separated entries in their canonical form, blanks and repeats dropped; the first
    entry `canonical` refuses (None) stops with `refusal` and that entry, shortened."""
    entries: list[str] = []
    for part in raw.split(","):
        text = part.strip(_BLANKS)
        if not text:
            continue
        entry = canonical(text)
        if entry is None:
            raise ConfigError(f"{refusal}, got {_short(text)}")
        entries.append(entry)
    return tuple(dict.fromkeys(entries))


def parse_access_list(name: str, raw: str) -> tuple[str, ...]:
    """Comma-separated addresses (`ann@example.com`) or domains (`@example.com`), in the
    canonical form of `config.addresses`; an entry outside it is refused, not folded."""
    return _comma_list(
        raw,
        canonical_entry,
        f"{name} must be e-mail addresses or @domain entries separated by commas, in ASCII "
        f"(a domain as xn--… if internationalised; docs/sign-in.md)",
    )


def parse_host_list(name: str, raw: str) -> tuple[str, ...]:
    """Comma-separated host names or IP addresses (no port, no wildcard), lower case."""
    return _comma_list(
        raw,
        canonical_host,
        f"{name} must be host names or IP addresses separated by commas, without a port or "
        f"a wildcard (an internationalised name as xn--…)",
    )


EMAIL_CLAIMS = ("email", "preferred_username", "upn")


def parse_email_claim(name: str, raw: str) -> str:
    value = raw.strip()
    if value not in EMAIL_CLAIMS:
        raise ConfigError(f"{name} must be one of {', '.join(EMAIL_CLAIMS)}, got {_short(raw)}")
    return value


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
        raise ConfigError(f"{name} must be one of {', '.join(FORWARD_FORMATS)}, got {_short(raw)}")
    return value
