"""Forwarding destinations: a TOML file (`FORWARD_CONFIG`) and/or one destination given as
`FORWARD_URL` + `FORWARD_FORMAT`. Every entry is checked at start-up; the first bad one is a
`ConfigError` in one line that names the destination and never echoes a secret.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlparse

from config.secret_files import secret_value
from config.settings import ConfigError, Settings
from config.tenants import load_tenants
from db.scope import DEFAULT_TENANT, is_tenant_name
from ingest.forward.formats import ENCODERS
from ingest.forward.messages import SOURCES
from ingest.forward.notify import CHAT_FORMATS
from ingest.forward.signing import BadSecret, signing_key

SCHEMES = ("file", "https", "syslog+tls", "syslog+tcp", "syslog+udp")
HTTP_PROTOCOLS = ("ndjson", "hec")
KNOWN_SOURCES = ("searches", "alerts")
DEFAULT_MAX_SECONDS = 60.0
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")
DESTINATION_KEYS = {
    "name", "url", "url_env", "format", "source", "protocol", "token", "token_env", "secret",
    "secret_env", "gzip", "batch_size", "since", "ca_file", "cert_file", "key_file",
    "rotate_bytes", "keep", "facility", "hostname", "timeout", "verify", "tenants",
}  # fmt: skip


@dataclass(frozen=True)
class Destination:
    """One receiver with its own settings. Secrets (`url` of a webhook, `token`, `secret`)
    are kept out of `repr`; `where` is what logs and status may show."""

    name: str
    scheme: str
    url: str = field(repr=False)
    format: str = "ecs"
    source: str = "searches"
    protocol: str = "ndjson"
    token: str | None = field(default=None, repr=False)
    secret: bytes | None = field(default=None, repr=False)
    gzip: bool = False
    batch_size: int = 1000
    since: datetime | None = None
    ca_file: str | None = None
    cert_file: str | None = None
    key_file: str | None = None
    verify: bool = True
    rotate_bytes: int = 100_000_000
    keep: int = 10
    facility: int = 16  # local0
    hostname: str | None = None
    timeout: float = 30.0
    dashboard_url: str = ""  # DASHBOARD_URL: alerts' evidence links are made absolute under it
    tenants: frozenset[str] | None = None  # the tenants it receives; None: every tenant
    # every configured tenant's display name by its name, for the messages (installation-wide,
    # like dashboard_url); a tenant missing from it is shown by its name
    display_names: Mapping[str, str] = field(default_factory=dict, compare=False, repr=False)

    def receives(self, tenant: str) -> bool:
        """Whether this destination takes `tenant`'s searches or alerts (`tenants = [...]`)."""
        return self.tenants is None or tenant in self.tenants

    @property
    def where(self) -> str:
        """Scheme, host and port (a file's path): never a webhook's secret path or a query."""
        parsed = urlparse(self.url)
        if self.scheme == "file":
            return f"file {parsed.path}"
        return f"{self.scheme}://{parsed.hostname}" + (f":{parsed.port}" if parsed.port else "")

    @property
    def path(self) -> Path:
        return Path(urlparse(self.url).path)


@dataclass(frozen=True)
class ForwardConfig:
    destinations: tuple[Destination, ...]
    max_seconds: float = DEFAULT_MAX_SECONDS  # the time box of a pass after a scheduled cycle
    # the configured tenants, in the tenants file's order: each destination forwards those
    # it `receives`, each in a stream of its own (one built by hand: the one `default`)
    tenants: tuple[str, ...] = (DEFAULT_TENANT,)


def parse_since(raw: str) -> datetime:
    """An ISO date or date-time; naive means UTC."""
    try:
        moment = datetime.fromisoformat(raw.strip())
    except ValueError:
        raise ConfigError(
            f"since must be an ISO date or date-time such as 2026-01-31, got {raw!r}"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class _Entry:
    """Reads one TOML table, prefixing every error with the destination's name."""

    def __init__(self, table: Mapping[str, Any], label: str, env: Mapping[str, str]) -> None:
        self.table, self.label, self.env = table, label, env

    def fail(self, what: str) -> ConfigError:
        return ConfigError(f"forwarding destination {self.label}: {what}")

    def text(self, key: str, default: str | None = None) -> str | None:
        value = self.table.get(key, default)
        if value is not None and not isinstance(value, str):
            raise self.fail(f"{key} must be a string")
        return value

    def secret(self, key: str) -> str | None:
        """`key = "…"`, or `key_env = "VARIABLE"` naming where it is (kept out of the file)."""
        direct, variable = self.text(key), self.text(f"{key}_env")
        if variable is None:
            return direct
        try:
            value = secret_value(self.env, variable)  # `VARIABLE_FILE` works too
        except ConfigError as exc:
            raise self.fail(f"{key}_env: {exc}") from None
        if not value:
            raise self.fail(f"{key}_env names {variable}, which is not set")
        return value

    def number(self, key: str, default: float, least: float, kind: type = int) -> Any:
        value = self.table.get(key, default)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < least:
            raise self.fail(f"{key} must be a number of at least {least:g}")
        if kind is int and value != int(value):
            raise self.fail(f"{key} must be a whole number")
        return kind(value)

    def flag(self, key: str, default: bool) -> bool:
        value = self.table.get(key, default)
        if not isinstance(value, bool):
            raise self.fail(f"{key} must be true or false")
        return value


class NamedTenant(Protocol):
    """What forwarding needs of a configured tenant (`config.tenants.Tenant` has it)."""

    @property
    def name(self) -> str: ...

    @property
    def display_name(self) -> str: ...


def display_names_of(tenants: Iterable[NamedTenant]) -> dict[str, str]:
    """Name -> display name of the configured tenants, as `load_forward_config` takes them."""
    return {tenant.name: tenant.display_name or tenant.name for tenant in tenants}


def _tenants(entry: _Entry, configured: Mapping[str, str] | None) -> frozenset[str] | None:
    """`tenants = ["acme", …]`: only those tenants' messages; absent, every tenant's. A name
    must be a tenant's name and, when tenants are configured, one of them."""
    if "tenants" not in entry.table:
        return None
    value = entry.table["tenants"]
    if not isinstance(value, list) or not all(isinstance(name, str) for name in value):
        raise entry.fail('tenants must be a list of tenant names, e.g. tenants = ["acme"]')
    if not value:
        raise entry.fail("tenants is empty; leave it out to receive every tenant")
    for name in value:
        if not is_tenant_name(name):
            raise entry.fail(f"tenants: {name[:80]!r} is not a tenant name")
        if configured and name not in configured:
            raise entry.fail(f"tenants: {name!r} is not a configured tenant")
    return frozenset(value)


def _default_batch(scheme: str, fmt: str) -> int:
    """Chat webhooks take one alert per request, so a batch of one: a retry then never posts
    an earlier alert of the same batch again."""
    if fmt in CHAT_FORMATS:
        return 1
    return 5000 if scheme == "file" else 1000


def destination_from(
    table: Mapping[str, Any],
    env: Mapping[str, str],
    index: int,
    dashboard_url: str = "",
    tenants: Mapping[str, str] | None = None,
) -> Destination:
    """One destination from its TOML table. `tenants` maps each configured tenant's name to
    its display name; None or empty accepts any tenant name in `tenants = [...]`."""
    name = table.get("name")
    entry = _Entry(table, repr(name) if isinstance(name, str) else f"#{index}", env)
    if not isinstance(name, str) or not NAME.match(name):
        raise entry.fail("needs a name of letters, digits, '.', '_' or '-' (up to 100)")
    unknown = sorted(set(table) - DESTINATION_KEYS)
    if unknown:
        raise entry.fail(f"unknown setting {unknown[0]!r}")
    url = entry.secret("url")
    if not url:
        raise entry.fail("needs a url (or url_env)")
    scheme = urlparse(url).scheme.lower()
    if scheme not in SCHEMES:
        raise entry.fail(f"url must start with {', '.join(s + '://' for s in SCHEMES)}")
    parsed = urlparse(url)
    if scheme == "file" and not parsed.path:
        raise entry.fail("a file url needs a path, e.g. file:///var/log/searches.ndjson")
    if scheme != "file" and not parsed.hostname:
        raise entry.fail("url needs a host")
    if scheme.startswith("syslog") and not parsed.port:
        raise entry.fail("a syslog url needs a port, e.g. syslog+tls://siem.example.com:6514")
    fmt = entry.text("format", "ecs") or "ecs"
    if fmt not in (*ENCODERS, *CHAT_FORMATS):
        raise entry.fail(f"format must be one of {', '.join((*ENCODERS, *CHAT_FORMATS))}")
    source = entry.text("source", "searches") or "searches"
    if source not in KNOWN_SOURCES:
        raise entry.fail(f"source must be one of {', '.join(KNOWN_SOURCES)}")
    if source not in SOURCES:
        raise entry.fail(f"source {source!r} is not available in this version yet")
    if fmt in CHAT_FORMATS and (source != "alerts" or scheme != "https"):
        raise entry.fail(f"format {fmt} sends alerts to an https:// webhook")
    protocol = entry.text("protocol", "ndjson") or "ndjson"
    if protocol not in HTTP_PROTOCOLS:
        raise entry.fail(f"protocol must be one of {', '.join(HTTP_PROTOCOLS)}")
    token = entry.secret("token")
    if protocol == "hec" and not token:
        raise entry.fail("protocol hec needs the collector's token (token_env or token)")
    secret = entry.secret("secret")
    if fmt == "webhook" and not secret:
        raise entry.fail("format webhook needs an HMAC key (secret_env or secret)")
    if secret:
        try:
            signing_key(secret.encode())
        except BadSecret as exc:
            raise entry.fail(f"secret: {exc}") from None
    since_raw = entry.text("since")
    try:
        since = parse_since(since_raw) if since_raw else None
    except ConfigError as exc:
        raise entry.fail(str(exc)) from None
    for key in ("ca_file", "cert_file", "key_file"):
        path = entry.text(key)
        if path and not Path(path).is_file():
            raise entry.fail(f"{key} {path} is not a readable file")
    return Destination(
        name=name,
        scheme=scheme,
        url=url,
        format=fmt,
        source=source,
        protocol=protocol,
        token=token,
        secret=secret.encode() if secret else None,
        gzip=entry.flag("gzip", False),
        batch_size=entry.number("batch_size", _default_batch(scheme, fmt), 1),
        since=since,
        ca_file=entry.text("ca_file"),
        cert_file=entry.text("cert_file"),
        key_file=entry.text("key_file"),
        verify=entry.flag("verify", True),
        rotate_bytes=entry.number("rotate_bytes", 100_000_000, 1024),
        keep=entry.number("keep", 10, 1),
        facility=min(entry.number("facility", 16, 0), 23),
        hostname=entry.text("hostname"),
        timeout=entry.number("timeout", 30.0, 0.1, float),
        dashboard_url=dashboard_url,
        tenants=_tenants(entry, tenants),
        display_names=dict(tenants or {}),
    )


def load_forward_config(
    settings: Settings,
    environ: Mapping[str, str] | None = None,
    tenants: Mapping[str, str] | None = None,
) -> ForwardConfig | None:
    """The destinations from `FORWARD_CONFIG` and `FORWARD_URL`, or None if neither is set.
    `tenants`: the configured tenants' display names by name (`display_names_of`), which
    each destination's `tenants = [...]` must come from and its messages show; None: those
    of `load_tenants` (the tenants file, or the one `default`)."""
    if tenants is None:
        tenants = display_names_of(load_tenants(settings, environ))
    env = os.environ if environ is None else environ
    destinations: list[Destination] = []
    max_seconds = DEFAULT_MAX_SECONDS
    if settings.forward_config:
        path = Path(settings.forward_config).expanduser()
        try:
            document = tomllib.loads(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise ConfigError(f"FORWARD_CONFIG: cannot read {path}: {exc.strerror}") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"FORWARD_CONFIG: {path} is not valid TOML: {exc}") from None
        options = document.get("forward", {})
        if not isinstance(options, dict):
            raise ConfigError(f"FORWARD_CONFIG: [forward] in {path} must be a table")
        raw_max = options.get("max_seconds", DEFAULT_MAX_SECONDS)
        if isinstance(raw_max, bool) or not isinstance(raw_max, (int, float)) or raw_max <= 0:
            raise ConfigError(f"FORWARD_CONFIG: forward.max_seconds in {path} must be above 0")
        max_seconds = float(raw_max)
        tables = document.get("destination", [])
        if not isinstance(tables, list):
            raise ConfigError(f"FORWARD_CONFIG: use [[destination]] tables in {path}")
        for index, table in enumerate(tables, 1):
            destinations.append(
                destination_from(table, env, index, settings.dashboard_url or "", tenants)
            )
    if settings.forward_url:
        default: dict[str, Any] = {
            "name": "default",
            "url": settings.forward_url,
            "format": settings.forward_format,
        }
        if settings.forward_token and settings.forward_url.lower().startswith("https:"):
            default.update(protocol="hec", token=settings.forward_token)
        destinations.append(
            destination_from(
                default, env, len(destinations) + 1, settings.dashboard_url or "", tenants
            )
        )
    names = [d.name for d in destinations]
    for name in names:
        if names.count(name) > 1:
            raise ConfigError(f"forwarding destination {name!r} is named twice")
    if not destinations:
        return None
    return ForwardConfig(tuple(destinations), max_seconds, tuple(tenants))
