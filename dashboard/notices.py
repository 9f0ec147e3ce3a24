"""What every page must warn about, as Markdown lines: demo data, missing or stale data.

Kept apart from the Streamlit chrome so the rules are tested as plain functions.
"""

from __future__ import annotations

import ipaddress
from datetime import datetime
from urllib.parse import urlparse

from dashboard.formatting import escape_markdown, format_age, literal
from db.queries import SYSTEM_SENDER, IngestHealth, SearchFilters

INGEST_COMMAND = "python -m ingest run --once"


def is_loopback_url(url: str) -> bool:
    host = (urlparse(url).hostname or "").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


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


def sign_in_configured(secrets: object) -> bool:
    """Whether `.streamlit/secrets.toml` has an `[auth]` section (Streamlit's OIDC sign-in)."""
    try:
        return "auth" in secrets  # type: ignore[operator]
    except Exception:  # no secrets file at all
        return False
