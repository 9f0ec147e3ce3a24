"""Filters and page parameters ↔ the URL query string, with validation.

A copied link must reproduce the view, so every filter lives in the query string. Values
come from whoever wrote the link: each one is checked, and a bad one is dropped with a
one-line message (plain text — the caller escapes it for display) instead of an error.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import date, timedelta

from db.queries import SearchFilters
from db.scope import TenantScope

DEFAULT_DAYS = 30
EARLIEST = date(1990, 1, 1)
LATEST = date(2100, 12, 31)
MAX_TEXT = 200
MAX_VALUE = 500
MAX_VALUES = 100

# Query-string names, one place: the sidebar, links and tests all use these.
P_FROM, P_TO, P_RANGE, P_USER, P_SOURCE, P_TYPE, P_TEXT, P_SYSTEM = (
    "from",
    "to",
    "range",
    "user",
    "source",
    "type",
    "q",
    "system",
)
FILTER_KEYS = (P_FROM, P_TO, P_RANGE, P_USER, P_SOURCE, P_TYPE, P_TEXT, P_SYSTEM)
PRESETS = {
    "24h": "Last 24 hours",
    "7d": "7 days",
    "30d": "30 days",
    "month": "This month",
    "last-month": "Last month",
    "year": "This year",
}
"""Date presets by their `range=` value. A link carries the preset, not its dates, so it
shows the same span counted back from the day it is opened."""
P_EMAIL, P_MONTH, P_YEAR, P_DATE = "email", "month", "year", "date"
P_RULE, P_SEVERITY, P_STATUS = "rule", "severity", "status"
"""The Alerts page's own parameters."""
P_ALERT = "alert"  # the Alerts page's detail panel: /alerts?alert=<id>
P_ADDR, P_VIEW = "addr", "view"
"""The Mailboxes page's own: one mailbox, and `view=report` for its privacy report."""

SYSTEM_EXCLUDED = "exclude"
SYSTEM_INCLUDED = "include"

_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_YEAR = re.compile(r"^\d{4}$")
SHOWN_VALUES = 3
NO_SUCH_USER = "no search by this address is stored"

QueryValues = Mapping[str, str | list[str]]


def shown(raw: str, limit: int = 40) -> str:
    """A user-supplied value quoted for a message, shortened."""
    text = raw if len(raw) <= limit else raw[: limit - 1] + "…"
    return repr(text)


def _values(params: QueryValues, key: str) -> list[str]:
    value = params.get(key)
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)


def _last(params: QueryValues, key: str) -> str | None:
    values = _values(params, key)
    return values[-1] if values else None


def default_filters(scope: TenantScope, today: date) -> SearchFilters:
    """The last DEFAULT_DAYS days up to `today`, everyone in `scope`, system sender
    included."""
    return SearchFilters(scope=scope, start=today - timedelta(days=DEFAULT_DAYS - 1), end=today)


def preset_days(key: str, today: date) -> tuple[date, date]:
    """The whole days preset `key` covers on `today`, both ends included.

    The filters count whole days, so "last 24 hours" is yesterday and today: the two
    days those hours fall on."""
    if key == "24h":
        return today - timedelta(days=1), today
    if key in ("7d", "30d"):
        return today - timedelta(days=int(key[:-1]) - 1), today
    if key == "month":
        return month_of(today), today
    if key == "last-month":
        first = shift_month(month_of(today), -1)
        return first, month_end(first)
    if key == "year":
        return date(today.year, 1, 1), today
    raise ValueError(f"unknown date preset {key!r}")


def preset_in(params: QueryValues) -> str | None:
    """The valid `range=` preset a query string names, unless it also names `from` or `to`
    (explicit dates win: a link built with a day's `from`/`to` beside the analyst's
    preset shows that day)."""
    raw = _last(params, P_RANGE)
    if raw is None or raw not in PRESETS or _values(params, P_FROM) or _values(params, P_TO):
        return None
    return raw


def parse_day(raw: str) -> date | None:
    """A YYYY-MM-DD date between EARLIEST and LATEST, or None."""
    if not _DAY.match(raw.strip()):
        return None
    try:
        day = date.fromisoformat(raw.strip())
    except ValueError:
        return None
    return day if EARLIEST <= day <= LATEST else None


def parse_month(raw: str) -> date | None:
    """The first day of a YYYY-MM month, or None."""
    match = _MONTH.match(raw.strip())
    if not match:
        return None
    year, month = int(match[1]), int(match[2])
    if not 1 <= month <= 12:
        return None
    first = date(year, month, 1)
    return first if EARLIEST <= first <= LATEST else None


def parse_year(raw: str) -> int | None:
    if not _YEAR.match(raw.strip()):
        return None
    year = int(raw.strip())
    return year if EARLIEST.year <= year <= LATEST.year else None


def parse_email(raw: str, known: Collection[str]) -> str | None:
    """The stored address a link names, or None if no search by it is stored.

    Checked against the stored values, not a pattern: whatever the archive recorded
    (`''`, `"john doe"@example.com`, `a@b@c.com`, 400 characters) is a user the summary
    lists, and its link must open. The value is taken as stored, or trimmed and in lower
    case as the ingest stores addresses (a hand-typed `Ann@Example.com`).
    """
    if raw in known:
        return raw
    value = raw.strip().lower()
    return value if value in known else None


def ignored(key: str, values: list[str], reason: str) -> str:
    """One message for every bad value of one parameter (300 bad `user=` give one line)."""
    if len(values) == 1:
        return f"Ignored {key}={shown(values[0])}: {reason}."
    some = ", ".join(shown(value) for value in values[:SHOWN_VALUES])
    more = f" and {len(values) - SHOWN_VALUES} more" if len(values) > SHOWN_VALUES else ""
    return f"Ignored {len(values)} values of {key} ({some}{more}): {reason}."


def _texts(params: QueryValues, key: str, label: str, problems: list[str]) -> tuple[str, ...]:
    kept: list[str] = []
    bad: list[str] = []
    for raw in _values(params, key):
        if not raw or len(raw) > MAX_VALUE or any(ord(c) < 32 for c in raw):
            bad.append(raw)
        elif raw not in kept:
            kept.append(raw)
    if bad:
        problems.append(ignored(key, bad, f"not a valid {label}"))
    if len(kept) > MAX_VALUES:
        problems.append(f"Kept the first {MAX_VALUES} values of {key}.")
        kept = kept[:MAX_VALUES]
    return tuple(kept)


def _users(params: QueryValues, known: Collection[str], problems: list[str]) -> tuple[str, ...]:
    known = known if isinstance(known, (set, frozenset)) else frozenset(known)
    kept: list[str] = []
    bad: list[str] = []
    for raw in _values(params, P_USER):
        email = parse_email(raw, known)
        if email is None:
            bad.append(raw)
        elif email not in kept:
            kept.append(email)
    if bad:
        problems.append(ignored(P_USER, bad, NO_SUCH_USER))
    if len(kept) > MAX_VALUES:
        problems.append(f"Kept the first {MAX_VALUES} values of {P_USER}.")
        kept = kept[:MAX_VALUES]
    return tuple(kept)


def parse_filters(
    params: QueryValues,
    scope: TenantScope,
    today: date,
    known_users: Collection[str] = frozenset(),
) -> tuple[SearchFilters, list[str]]:
    """Filters inside `scope` from a query string; anything missing or invalid takes its
    default.

    `known_users`: every stored address (a `user=` value must name one of them)."""
    problems: list[str] = []
    default = default_filters(scope, today)
    start, end = default.start, default.end
    dates: dict[str, date | None] = {}
    for key in (P_FROM, P_TO):
        raw = _last(params, key)
        if raw is None:
            continue
        dates[key] = parse_day(raw)
        if dates[key] is None:
            problems.append(
                f"Ignored {key}={shown(raw)}: not a date between {EARLIEST} and {LATEST} "
                "(expected YYYY-MM-DD)."
            )
    start = dates.get(P_FROM) or start
    end = dates.get(P_TO) or end
    preset = preset_in(params)
    raw_range = _last(params, P_RANGE)
    if preset is not None:
        start, end = preset_days(preset, today)
    elif raw_range is not None and raw_range not in PRESETS:
        problems.append(
            f"Ignored {P_RANGE}={shown(raw_range)}: expected one of {', '.join(PRESETS)}."
        )
    if end < start:
        problems.append(
            f"The date range ends ({end}) before it starts ({start}): "
            f"showing the last {DEFAULT_DAYS} days instead."
        )
        start, end = default.start, default.end

    users = _users(params, known_users, problems)

    text = _last(params, P_TEXT) or ""
    if len(text) > MAX_TEXT:
        problems.append(f"The search text was cut to {MAX_TEXT} characters.")
        text = text[:MAX_TEXT]

    include_system = True
    system = _last(params, P_SYSTEM)
    if system is not None:
        if system not in (SYSTEM_EXCLUDED, SYSTEM_INCLUDED):
            problems.append(
                f"Ignored system={shown(system)}: expected {SYSTEM_INCLUDED!r} or "
                f"{SYSTEM_EXCLUDED!r}; the system sender is included."
            )
        include_system = system != SYSTEM_EXCLUDED

    filters = SearchFilters(
        scope=scope,
        start=start,
        end=end,
        users=users,
        sources=_texts(params, P_SOURCE, "source", problems),
        descriptions=_texts(params, P_TYPE, "search type", problems),
        text=text,
        include_system=include_system,
    )
    return filters, problems


def filters_to_query(
    filters: SearchFilters, preset: str | None = None
) -> dict[str, str | list[str]]:
    """The query-string form of `filters`; the dates (or the `preset` that chose them, so
    the link follows the day it is opened) always, other filters when set."""
    query: dict[str, str | list[str]]
    if preset is not None:
        query = {P_RANGE: preset}
    else:
        query = {P_FROM: filters.start.isoformat(), P_TO: filters.end.isoformat()}
    if filters.users:
        query[P_USER] = list(filters.users)
    if filters.sources:
        query[P_SOURCE] = list(filters.sources)
    if filters.descriptions:
        query[P_TYPE] = list(filters.descriptions)
    if filters.text:
        query[P_TEXT] = filters.text
    if not filters.include_system:
        query[P_SYSTEM] = SYSTEM_EXCLUDED
    return query


def filter_part(params: QueryValues) -> dict[str, list[str]]:
    """Only the filter keys of a query string, each as a list (for comparisons)."""
    return {key: _values(params, key) for key in FILTER_KEYS if _values(params, key)}


def month_of(day: date) -> date:
    return day.replace(day=1)


def month_end(first: date) -> date:
    following = (first.replace(day=28) + timedelta(days=4)).replace(day=1)
    return following - timedelta(days=1)


def shift_month(first: date, months: int) -> date:
    index = first.year * 12 + first.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


@dataclass(frozen=True)
class Period:
    """What the calendar shows: a month or a year, its first and last day, its label."""

    view: str  # "month" or "year"
    first: date
    last: date
    label: str


def calendar_period(kind: str, raw: str) -> Period:
    """The period a valid `month=YYYY-MM` or `year=YYYY` names."""
    if kind == P_YEAR:
        year = parse_year(raw)
        assert year is not None
        return Period("year", date(year, 1, 1), date(year, 12, 31), str(year))
    month = parse_month(raw)
    assert month is not None
    return Period("month", month, month_end(month), f"{month:%B %Y}")
