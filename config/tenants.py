"""The Mimecast accounts (tenants) of one installation, and who may see which.

`TENANTS_FILE` names a TOML file with one `[[tenant]]` table per account; without it, the
`MIMECAST_*` settings are the one tenant `default`, so an installation from before tenants
keeps working unchanged. The file is checked whole at start-up: the first problem is a
`ConfigError` in one line naming the tenant and the key, never a secret's value.

Credentials are checked in two steps. Loading requires the file to say where each secret
is (`client_secret_env` or `client_secret_file`; a secret written in the file is refused),
but not that it is there: the dashboard never calls Mimecast and should not need the
ingest's secrets. The ingest calls `Tenant.require_credentials()`, which says what is
missing, as `Settings.require_credentials()` does for the `MIMECAST_*` settings.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from config.addresses import canonical_entry
from config.parsers import (
    BACKFILL_DAYS_RANGE,
    LOOKBACK_SECONDS_RANGE,
    RECONCILE_DAYS_RANGE,
    parse_base_url,
    whole_number_between,
)
from config.secret_files import secret_value
from config.settings import ConfigError, Settings, read_environment
from db.scope import DEFAULT_TENANT, is_tenant_name

TENANT_KEYS = frozenset(
    {
        "name", "display_name", "base_url", "client_id", "client_id_env", "client_secret_env",
        "client_secret_file", "initial_backfill_days", "lookback_seconds", "reconcile_days",
        "admins", "viewers",
    }
)  # fmt: skip
VARIABLE_NAME = re.compile(r"[A-Z_][A-Z0-9_]{0,127}")
"""What `client_id_env` and `client_secret_env` may name: a conventional variable name."""
NUMBERS = {
    "initial_backfill_days": BACKFILL_DAYS_RANGE,
    "lookback_seconds": LOOKBACK_SECONDS_RANGE,
    "reconcile_days": RECONCILE_DAYS_RANGE,
}
"""Per-tenant overrides of the global settings of the same name, in the same ranges."""


@dataclass(frozen=True)
class Tenant:
    """One Mimecast account. The secret is kept out of `repr` so it cannot leak into a log;
    `credentials_problem` says why a credential is absent (it never holds a value)."""

    name: str
    display_name: str
    base_url: str
    client_id: str | None
    client_secret: str | None = field(repr=False)
    initial_backfill_days: int
    lookback_seconds: int
    reconcile_days: int
    admins: tuple[str, ...] = ()
    viewers: tuple[str, ...] = ()
    credentials_problem: str | None = None

    def require_credentials(self) -> tuple[str, str]:
        """Both credentials, or a ConfigError saying which is missing and where it was sought."""
        if self.credentials_problem or not self.client_id or not self.client_secret:
            raise ConfigError(self.credentials_problem or f"tenant {self.name!r}: no credentials")
        return self.client_id, self.client_secret


def load_tenants(
    settings: Settings, environ: Mapping[str, str] | None = None
) -> tuple[Tenant, ...]:
    """The tenants of `TENANTS_FILE` in file order, or the one `default` tenant of the
    `MIMECAST_*` settings; `environ` (the process environment over `.env` by default) is
    where `client_id_env` and `client_secret_env` are looked up."""
    env = read_environment() if environ is None else environ
    if not settings.tenants_file:
        return (_default_tenant(settings),)
    for name, value in (
        ("MIMECAST_CLIENT_ID", settings.mimecast_client_id),
        ("MIMECAST_CLIENT_SECRET", settings.mimecast_client_secret),
    ):
        if value:
            # Fail closed: the operator would believe that account is still polled.
            raise ConfigError(
                f"TENANTS_FILE and {name} are both set: with a tenants file every account's "
                f"credentials go in its [[tenant]] table (name it {DEFAULT_TENANT!r} to keep "
                f"the data stored so far); unset {name}"
            )
    path = Path(settings.tenants_file).expanduser()
    tables = _tenant_tables(path)
    tenants = tuple(
        _File(table, index, settings, env).tenant() for index, table in enumerate(tables, 1)
    )
    _refuse_twins(tenants)
    return tenants


def _default_tenant(settings: Settings) -> Tenant:
    try:
        settings.require_credentials()
        problem = None
    except ConfigError as exc:
        problem = str(exc)
    return Tenant(
        name=DEFAULT_TENANT,
        display_name=DEFAULT_TENANT,
        base_url=settings.mimecast_base_url,
        client_id=settings.mimecast_client_id,
        client_secret=settings.mimecast_client_secret,
        initial_backfill_days=settings.initial_backfill_days,
        lookback_seconds=settings.lookback_seconds,
        reconcile_days=settings.reconcile_days,
        credentials_problem=problem,
    )


def _tenant_tables(path: Path) -> list[dict[str, Any]]:
    """The file's `[[tenant]]` tables: at least one, and nothing else in the file."""
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"TENANTS_FILE: cannot read {path}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"TENANTS_FILE: {path} is not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        # tomllib's messages name a key or one character and the line, never a value.
        raise ConfigError(f"TENANTS_FILE: {path} is not valid TOML: {exc}") from None
    unknown = sorted(set(document) - {"tenant"})
    if unknown:
        raise ConfigError(
            f"TENANTS_FILE: unknown key {_key(unknown[0])} in {path}: the file holds only "
            "[[tenant]] tables"
        )
    tables = document.get("tenant", [])
    if not isinstance(tables, list) or not all(isinstance(t, dict) for t in tables):
        raise ConfigError(f"TENANTS_FILE: write each account as a [[tenant]] table in {path}")
    if not tables:
        raise ConfigError(f"TENANTS_FILE: {path} defines no tenant: add a [[tenant]] table")
    return tables


def _key(text: str) -> str:
    """A key's name as a message shows it: quoted, ASCII, at most 40 characters."""
    return ascii(text if len(text) <= 40 else text[:39] + "…")


def _refuse_twins(tenants: tuple[Tenant, ...]) -> None:
    """A name is every row's key: two tables with one name would merge two accounts, and
    names differing only in case would be two tenants people cannot tell apart."""
    seen: dict[str, str] = {}
    for tenant in tenants:
        twin = seen.get(tenant.name.lower())
        if twin is not None:
            what = "is used twice" if twin == tenant.name else f"differs from {twin!r} only in case"
            raise ConfigError(f"TENANTS_FILE: tenant {tenant.name!r}: name {what}")
        seen[tenant.name.lower()] = tenant.name


class _File:
    """Reads one `[[tenant]]` table; every error names the tenant (or its position) and key."""

    def __init__(
        self, table: Mapping[str, Any], index: int, settings: Settings, env: Mapping[str, str]
    ) -> None:
        self.table, self.settings, self.env = table, settings, env
        name = table.get("name")
        self.label = f"tenant {name!r}" if is_tenant_name(name) else f"tenant #{index}"

    def fail(self, key: str, what: str) -> ConfigError:
        return ConfigError(f"TENANTS_FILE: {self.label}: {key} {what}")

    def tenant(self) -> Tenant:
        name = self.table.get("name")
        if not is_tenant_name(name):
            got = f", got {_key(name)}" if isinstance(name, str) else " (a string, required)"
            raise self.fail("name", f"must be 1 to 64 letters, digits, '-' or '_'{got}")
        assert isinstance(name, str)
        if "client_secret" in self.table:
            raise self.fail(
                "client_secret",
                "must not be written in the file: name an environment variable with "
                "client_secret_env, or a file with client_secret_file",
            )
        unknown = sorted(set(self.table) - TENANT_KEYS)
        if unknown:
            raise ConfigError(f"TENANTS_FILE: {self.label}: unknown key {_key(unknown[0])}")
        display_name = self.text("display_name") or name
        if len(display_name) > 100 or not display_name.isprintable():
            raise self.fail("display_name", "must be at most 100 printable characters")
        base_url = self.text("base_url")
        client_id, id_problem = self.credential("client_id", "client_id", "client_id_env", None)
        secret, secret_problem = self.credential(
            "client_secret", None, "client_secret_env", "client_secret_file"
        )
        return Tenant(
            name=name,
            display_name=display_name,
            base_url=parse_base_url(f"TENANTS_FILE: {self.label}: base_url", base_url)
            if base_url is not None
            else self.settings.mimecast_base_url,
            client_id=client_id,
            client_secret=secret,
            initial_backfill_days=self.number("initial_backfill_days"),
            lookback_seconds=self.number("lookback_seconds"),
            reconcile_days=self.number("reconcile_days"),
            admins=self.addresses("admins"),
            viewers=self.addresses("viewers"),
            credentials_problem=id_problem or secret_problem,
        )

    def text(self, key: str) -> str | None:
        value = self.table.get(key)
        if value is None:
            return None
        if not isinstance(value, str) or not value.strip():
            raise self.fail(key, "must be a non-empty string")
        return value.strip()

    def credential(
        self, what: str, inline: str | None, env_key: str, file_key: str | None
    ) -> tuple[str | None, str | None]:
        """The value and None, or None and why it is absent. Exactly one source must be
        named; reading it is allowed to fail here (see the module's docstring)."""
        sources = [key for key in (inline, env_key, file_key) if key and key in self.table]
        if len(sources) != 1:
            keys = " or ".join(key for key in (inline, env_key, file_key) if key)
            count = "needs exactly one of" if sources else "needs"
            raise self.fail(what, f"{count} {keys}")
        source = sources[0]
        where = self.text(source)
        assert where is not None
        if source == inline:
            return where, None
        if source == env_key:
            # Only a conventional name is echoed: the secret itself, written here by
            # mistake, must not come back in "names …, which is not set".
            if not VARIABLE_NAME.fullmatch(where):
                raise self.fail(source, "must name an environment variable: A-Z, 0-9 and '_'")
            # `where`_FILE works too; a file that cannot be read is a missing credential
            # here, as client_secret_file's is: the dashboard does not need it.
            try:
                value = secret_value(self.env, where) or ""
                missing = f"{source} names {where}, which is not set"
            except ConfigError as exc:
                value, missing = "", f"{source}: {exc}"
        else:
            # The path is not echoed, for the same reason; the operator has it in the file.
            try:
                value = Path(where).expanduser().read_text(encoding="utf-8").strip()
            except (OSError, UnicodeDecodeError) as exc:
                value = ""
                reason = getattr(exc, "strerror", None) or "not UTF-8 text"
                missing = f"{source} cannot be read: {reason}"
            else:
                missing = f"{source} is empty"
        if value:
            return value, None
        return None, f"TENANTS_FILE: {self.label}: {missing}"

    def number(self, key: str) -> int:
        """An override of the global setting of the same name, in its range."""
        least, most = NUMBERS[key]
        value = self.table.get(key)
        if value is None:
            return int(getattr(self.settings, key))
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.fail(key, f"must be a whole number from {least} to {most}, without quotes")
        return whole_number_between(least, most)(f"TENANTS_FILE: {self.label}: {key}", str(value))

    def addresses(self, key: str) -> tuple[str, ...]:
        """A list of addresses or `@domain` entries, canonical as ADMIN_EMAILS's; one
        entry outside the form refuses the whole file (an allow list must not half-work)."""
        value = self.table.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self.fail(
                key, 'must be a list of strings, e.g. ["ann@example.com", "@example.com"]'
            )
        entries: list[str] = []
        for item in value:
            entry = canonical_entry(item.strip(" \t\r\n"))
            if entry is None:
                raise self.fail(
                    key,
                    "must hold one e-mail address or @domain entry per string, in ASCII (a "
                    f"domain as xn--… if internationalised), got {_key(item)}",
                )
            entries.append(entry)
        return tuple(dict.fromkeys(entries))
