"""What every page must warn about, as Markdown lines: demo data, missing or stale data,
and whether sign-in is configured, open, or broken (which must close the dashboard).

Kept apart from the Streamlit frame (`dashboard.frame`) so the rules are tested as plain functions.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlparse

from streamlit.errors import StreamlitSecretNotFoundError

from config.parsers import is_loopback_host
from dashboard.formatting import escape_markdown, format_age, literal
from db.queries import SYSTEM_SENDER, IngestHealth, SearchFilters

INGEST_COMMAND = "python -m ingest run --once"


def is_loopback_url(url: str) -> bool:
    """Whether `url` points at this machine (the simulator's place)."""
    return is_loopback_host(urlparse(url).hostname or "")


def _some(values: tuple[str, ...], shown: int = 3) -> str:
    parts = [literal(value) for value in values[:shown]]
    if len(values) > shown:
        parts.append(f"and {len(values) - shown} more")
    return ", ".join(parts)


def describe_filters(filters: SearchFilters, *, users: bool = True) -> str | None:
    """One Markdown line naming the active filters besides the dates, or None.

    Figures that leave out searches must say so where they are shown, not only in the
    sidebar: a screenshot or a printout has no sidebar.
    """
    parts = []
    if users and filters.users:
        parts.append(f"user {_some(filters.users)}")
    if filters.sources:
        parts.append(f"source {_some(filters.sources)}")
    if filters.descriptions:
        parts.append(f"search type {_some(filters.descriptions)}")
    if filters.text:
        parts.append(f"search text contains {literal(filters.text)}")
    if not filters.include_system:
        parts.append(f"without the system sender {literal(SYSTEM_SENDER)}")
    return "Filtered: " + " · ".join(parts) if parts else None


def data_warnings(health: IngestHealth, poll_seconds: int, now: datetime) -> list[str]:
    """Markdown lines for missing or stale data (the caller shows them as warnings)."""
    if not health.has_searches:
        return [
            "No searches are stored yet. Run the ingest to fetch them: "
            f"`{INGEST_COMMAND}` — then reload this page."
        ]
    lines = []
    if health.last_ok_finished is None:
        lines.append(
            "No successful ingest run is recorded: the figures may be incomplete. "
            f"Run `{INGEST_COMMAND}` and see the Status page."
        )
    # Compared in seconds: a timedelta of 2 × a huge POLL_SECONDS would overflow.
    elif (now - health.last_ok_finished).total_seconds() > 2 * poll_seconds:
        lines.append(
            f"The last successful ingest finished {format_age(now - health.last_ok_finished)} "
            f"ago, more than twice POLL\\_SECONDS ({poll_seconds:,} s): newer searches may "
            "be missing. See the Status page."
        )
    if health.last_run_status == "failed" and health.last_run_error:
        lines.append(
            "The latest ingest run failed: " + escape_markdown(health.last_run_error[:300])
        )
    return lines


OPEN_ACCESS_NOTICE = (
    "No sign-in is configured: anyone who can reach this dashboard sees every search in "
    "it. It listens on 127.0.0.1 only unless started with another address; put it behind "
    "your reverse proxy's sign-in before you share it."
)


SIGN_IN_DOCS = "docs/sign-in.md"
REQUIRED_AUTH_KEYS = ("redirect_uri", "cookie_secret")
"""What Streamlit 1.67 requires directly under `[auth]` (`auth_util.validate_auth_credentials`)."""
REQUIRED_PROVIDER_KEYS = ("client_id", "client_secret", "server_metadata_url")
"""What each provider needs: the default one directly under `[auth]`, a named one in
`[auth.<name>]`."""
TOP_LEVEL_TABLES = ("client_kwargs",)
"""Tables under `[auth]` that belong to the default provider, not named providers."""


@dataclass(frozen=True)
class SignInSetup:
    """What the secrets and the access lists say about sign-in.

    `mode` is "open" only when nothing about sign-in is configured at all; "broken" means
    the dashboard must show `problem` and nothing else. `providers` are the names to pass
    to `st.login` (None for the default provider)."""

    mode: Literal["open", "sign_in", "broken"]
    problem: str | None = None
    providers: tuple[str | None, ...] = ()


def _secrets_files(files: Sequence[str]) -> str:
    """The secrets files that exist, as the message names them (else where they are looked for)."""
    present = [path for path in files if Path(path).exists()]
    return ", ".join(present or files) or ".streamlit/secrets.toml"


def _read_secrets(
    secrets: Any, files: Sequence[str]
) -> tuple[Mapping[str, Any] | None, str | None]:
    """The parsed secrets (None when there is no secrets file at all), or what is wrong.

    Streamlit parses the files lazily and, when they cannot be parsed, behaves as if there
    were none: signing in then fails while the rest of the dashboard would be open. Every
    error but "no secrets file" is therefore a problem, never "not configured".
    """
    try:
        return secrets.to_dict(), None
    except StreamlitSecretNotFoundError as exc:
        if exc.error_id == "no-secrets-found":
            return None, None
        reason = str(exc)
    except OSError as exc:
        where = exc.filename or _secrets_files(files)
        reason = f"cannot read {where}: {exc.strerror or type(exc).__name__}"
    except Exception as exc:  # any failure to read the secrets must fail closed
        detail = f": {exc.reason}" if isinstance(exc, UnicodeDecodeError) else ""
        reason = f"cannot read {_secrets_files(files)} ({type(exc).__name__}{detail})"
    return None, (
        f"The secrets file is broken: {reason}. Fix it (valid TOML; its [auth] section is "
        f"described in {SIGN_IN_DOCS}), or remove it to run without sign-in, then restart "
        "the dashboard."
    )


def _filled(section: Mapping[str, Any], key: str) -> bool:
    value = section.get(key)
    return isinstance(value, str) and value.strip() != ""


def auth_problems(auth: Any) -> tuple[list[str], tuple[str | None, ...]]:
    """What is missing or wrong in an `[auth]` section, and the providers it configures.

    Streamlit 1.67's rules (`auth_util.validate_auth_credentials`), stricter only in that an
    empty value counts as missing: `redirect_uri` (ending in `/oauth2callback`) and
    `cookie_secret` under `[auth]`; the default provider's `client_id`, `client_secret`
    and `server_metadata_url` under `[auth]` (or in `[auth.default]`); a named provider's
    in `[auth.<name>]`, whose name has no underscore.
    """
    if not isinstance(auth, Mapping):
        return ["[auth] must be a table (a section of keys), not a single value"], ()
    problems = []
    missing = [key for key in REQUIRED_AUTH_KEYS if not _filled(auth, key)]
    if missing:
        problems.append(f"[auth] lacks {', '.join(missing)}")
    elif not str(auth["redirect_uri"]).rstrip().endswith("/oauth2callback"):
        problems.append("[auth] redirect_uri must end with /oauth2callback")
    named = {
        name: section
        for name, section in auth.items()
        if isinstance(section, Mapping) and name not in TOP_LEVEL_TABLES
    }
    providers: list[str | None] = []
    if "default" not in named and any(key in auth for key in REQUIRED_PROVIDER_KEYS):
        named = {None: auth, **named}
    for name, section in named.items():
        where = "[auth]" if name is None else f"[auth.{name}]"
        if name is not None and "_" in name:
            problems.append(f"{where}: a provider name must not contain an underscore")
            continue
        lacking = [key for key in REQUIRED_PROVIDER_KEYS if not _filled(section, key)]
        if lacking:
            problems.append(f"{where} lacks {', '.join(lacking)}")
        else:
            providers.append(None if name in (None, "default") else name)
    if not named:
        problems.append("[auth] names no provider: it lacks " + ", ".join(REQUIRED_PROVIDER_KEYS))
    return problems, tuple(providers)


def sign_in_setup(secrets: Any, files: Sequence[str], access_lists: Sequence[str]) -> SignInSetup:
    """Decide, failing closed, whether the dashboard is open, signs people in, or is broken.

    `secrets` is `st.secrets`, `files` where Streamlit looks for it (`secrets.files`),
    `access_lists` the names of the access settings that are set (ADMIN_EMAILS, …).
    """
    values, broken = _read_secrets(secrets, files)
    if broken:
        return SignInSetup("broken", broken)
    auth = values.get("auth") if values is not None else None
    if auth is None:
        if not access_lists:
            return SignInSetup("open")
        names = " and ".join(access_lists)
        verb = "are" if len(access_lists) > 1 else "is"
        where = (
            f"there is no [auth] section in {_secrets_files(files)}"
            if values is not None
            else f"there is no secrets file (looked for {', '.join(files) or 'none'})"
        )
        return SignInSetup(
            "broken",
            f"{names} {verb} set, but sign-in is not configured: {where}. Add an [auth] "
            f"section (see {SIGN_IN_DOCS}), or unset {names} to run the dashboard without "
            "sign-in, then restart the dashboard.",
        )
    problems, providers = auth_problems(auth)
    if problems:
        return SignInSetup(
            "broken",
            f"Sign-in is configured incompletely in {_secrets_files(files)}: "
            f"{'; '.join(problems)}. Complete the [auth] section (see {SIGN_IN_DOCS}), or "
            "remove it to run without sign-in, then restart the dashboard.",
        )
    return SignInSetup("sign_in", providers=providers)
