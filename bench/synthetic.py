"""A synthetic tenant and its searches, drawn in bulk with numpy: users with a heavy tail,
roles with their hours and habits, and rows in the ingest's own column order."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from typing import Any

import numpy as np

from db.models import EVENT_COLUMNS
from db.queries import SYSTEM_SENDER
from db.scope import DEFAULT_TENANT, TenantScope
from ingest.simulator import texts

DAY = 86_400
CHUNK_ROWS = 200_000
HEAVIEST_SHARE = 0.55
"""The heaviest user's share of all searches: ~2.8M of 5M, as in the issue's tenant."""
TAIL_EXPONENT = 1.2
"""Zipf exponent of everyone else: a few admins search a lot, most users a handful."""

COLUMNS = EVENT_COLUMNS
"""The ingest's own column order for `search_logs` rows."""
TENANT = DEFAULT_TENANT
"""The single-tenant benchmarks' tenant: an installation without TENANTS_FILE (the
benchmark of many tenants, `bench/tenants_pages.py`, names its own)."""
SCOPE = TenantScope.one(TENANT)

SOURCES = ("archive", "console", "api", "outlook", "mobile")
KINDS = ("mts", "audit", "trs", "archive", "saved")
TEXT_KINDS = ("empty", "filter", "user", "msgid", "free", "hostile")
# Relative activity per UTC hour 00..23 (the simulator's office and night profiles).
OFFICE = (0.2, 0.1, 0.1, 0.1, 0.1, 0.3, 1, 3, 7, 10, 10, 9)
OFFICE += (6, 8, 10, 9, 8, 5, 2, 1, 0.6, 0.4, 0.3, 0.2)
NIGHT = (8, 8, 7, 6, 5, 4, 2, 0.5) + (0.2,) * 8 + (0.3, 0.5, 1, 3, 5, 7, 8, 8)
FLAT = (1.0,) * 24

# fmt: off
FIRST_NAMES = (
    "anna", "amir", "ben", "carla", "chen", "david", "elena", "emma", "farid", "fatima",
    "george", "hana", "hiro", "isabel", "ivan", "jack", "jana", "kate", "lars", "leila",
    "li", "lucas", "maria", "mark", "mei", "nadia", "noah", "olivia", "omar", "pedro",
    "priya", "quinn", "raj", "rosa", "sam", "sara", "sofia", "tom", "uma", "victor",
    "wendy", "xavier", "yara", "yusuf", "zoe",
)
LAST_NAMES = (
    "adams", "alves", "baker", "brown", "chen", "clark", "cohen", "diaz", "evans",
    "fischer", "garcia", "gupta", "hassan", "ito", "jones", "kim", "kowalski", "lee",
    "lopez", "martin", "meyer", "moreau", "nguyen", "novak", "okafor", "olsen", "patel",
    "petrov", "rossi", "santos", "schmidt", "silva", "singh", "smith", "tanaka", "taylor",
    "walker", "wang", "wilson", "young", "baptiste", "dubois", "haddad", "ivanova", "jensen",
    "kaur", "mensah", "nakamura", "oliveira", "zhang",
)
# fmt: on


@dataclass(frozen=True)
class Role:
    """How a kind of user searches; weights in the order of KINDS, TEXT_KINDS, SOURCES."""

    kinds: tuple[float, ...]
    text_kinds: tuple[float, ...]
    sources: tuple[float, ...]
    reason_rate: float
    hours: tuple[float, ...]
    weekend: float


ROLES = {
    "admin": Role(
        (45, 15, 15, 15, 10), (45, 20, 10, 15, 8, 2), (85, 15, 0, 0, 0), 0.1, OFFICE, 0.1
    ),
    "security": Role(
        (40, 10, 40, 10, 0), (15, 20, 5, 35, 20, 5), (95, 0, 0, 0, 5), 0.2, NIGHT, 0.8
    ),
    "compliance": Role(
        (0, 15, 0, 50, 35), (20, 10, 5, 0, 60, 5), (100, 0, 0, 0, 0), 0.7, OFFICE, 0
    ),
    "helpdesk": Role(
        (70, 0, 0, 25, 5), (40, 0, 30, 15, 13, 2), (85, 0, 0, 10, 5), 0.08, OFFICE, 0.05
    ),
    "staff": Role((0, 0, 0, 100, 0), (35, 0, 5, 0, 58, 2), (60, 0, 0, 30, 10), 0.05, OFFICE, 0.05),
    "api": Role((40, 0, 0, 60, 0), (70, 0, 0, 30, 0, 0), (0, 0, 100, 0, 0), 0.0, FLAT, 1.0),
    "system": Role((0, 60, 0, 40, 0), (100, 0, 0, 0, 0, 0), (100, 0, 0, 0, 0), 0.0, FLAT, 1.0),
}


@dataclass(frozen=True)
class Tenant:
    """The tenant's name, its users heaviest first, with their role and relative activity."""

    name: str
    emails: tuple[str, ...]
    roles: tuple[str, ...]
    weights: np.ndarray

    @cached_property
    def directory(self) -> list[str]:
        """The addresses a "[User : …]" search names (the system sender has no @)."""
        return [email for email in self.emails if "@" in email]

    @cached_property
    def quoted(self) -> dict[str, str]:
        """Each address as a JSON string. Made once per tenant: `rows` is called for every
        hour of every tenant, and quoting 2,000 addresses on each call was most of a
        scale load's time (81 ms a day for 91 rows)."""
        return {email: _dumps(email) for email in self.emails}


def build_tenant(users: int, rng: np.random.Generator, name: str = TENANT) -> Tenant:
    """`users` distinct lower-case addresses; rank 0 makes HEAVIEST_SHARE of the searches.
    Every tenant draws from the same names, so tenants share many addresses, as accounts of
    one group do (and a leak between tenants would show in every per-user answer)."""
    head = (
        ("admin@example.com", "admin"),
        ("it.ops@example.com", "admin"),
        ("api-archive-export@example.com", "api"),
        (SYSTEM_SENDER, "system"),
        ("soc@example.com", "security"),
        ("night.watch@example.com", "security"),
        ("legal@example.com", "compliance"),
        ("compliance@example.com", "compliance"),
        ("helpdesk@example.com", "helpdesk"),
    )
    people = [f"{first}.{last}" for first in FIRST_NAMES for last in LAST_NAMES]
    order = rng.permutation(len(people))
    emails = [email for email, _ in head]
    roles = [role for _, role in head]
    for index in order[: max(0, users - len(head))]:
        domain = "partner.example.org" if index % 23 == 0 else "example.com"
        emails.append(f"{people[index]}@{domain}")
        roles.append("helpdesk" if len(emails) < 60 else "staff")
    emails, roles = emails[:users], roles[:users]
    tail = 1.0 / np.arange(1, len(emails)) ** TAIL_EXPONENT
    weights = np.concatenate(([HEAVIEST_SHARE], tail / tail.sum() * (1 - HEAVIEST_SHARE)))
    return Tenant(name, tuple(emails), tuple(roles), weights / weights.sum())


@dataclass
class Events:
    """Every event's numbers, sorted by time; strings are made chunk by chunk."""

    seconds: np.ndarray  # unix seconds, UTC
    user: np.ndarray
    kind: np.ndarray
    audit_page: np.ndarray
    text_kind: np.ndarray
    text_pick: np.ndarray
    source: np.ndarray
    reason: np.ndarray  # -1: "" (none given), -2: absent, else an index into REASONS
    rare: np.ndarray  # 0 nothing, 1 isAdmin sent, 2 searchPath sent
    delay: np.ndarray  # seconds between the search and its ingest


def _pick(rng: np.random.Generator, weights: Sequence[float], size: int) -> np.ndarray:
    p = np.asarray(weights, dtype=float)
    return rng.choice(len(p), size=size, p=p / p.sum()).astype(np.int16)


def draw_events(
    count: int,
    tenant: Tenant,
    now: datetime,
    years: float,
    rng: np.random.Generator,
    *,
    days: int | None = None,
) -> Events:
    """All numeric columns at once, role by role, then sorted by time; over `days` days
    ending with `now`'s when given, else over `years`."""
    days = int(years * 365.25) if days is None else days
    first_day = int(now.timestamp()) // DAY - days + 1
    day_numbers = np.arange(first_day, first_day + days)
    weekend = ((day_numbers + 3) % 7) >= 5  # 1970-01-01 was a Thursday
    growth = np.linspace(0.6, 1.0, days)  # the tenant searches more each year
    user = np.repeat(
        np.arange(len(tenant.emails), dtype=np.int32), rng.multinomial(count, tenant.weights)
    )
    roles = np.array(tenant.roles)[user]
    seconds = np.empty(count, dtype=np.int64)
    columns = {
        name: np.empty(count, dtype=np.int16) for name in ("kind", "text_kind", "source", "reason")
    }
    for name, role in ROLES.items():
        rows = np.flatnonzero(roles == name)
        if not len(rows):
            continue
        n = len(rows)
        day_weight = growth * np.where(weekend, role.weekend, 1.0)
        day = rng.choice(days, size=n, p=day_weight / day_weight.sum())
        hour = _pick(rng, role.hours, n).astype(np.int64)
        seconds[rows] = (first_day + day) * DAY + hour * 3600 + rng.integers(0, 3600, n)
        columns["kind"][rows] = _pick(rng, role.kinds, n)
        columns["text_kind"][rows] = _pick(rng, role.text_kinds, n)
        columns["source"][rows] = _pick(rng, role.sources, n)
        given = rng.random(n) < role.reason_rate
        reasons = rng.integers(0, len(texts.REASONS), n)
        absent = rng.random(n) < 0.03
        columns["reason"][rows] = np.where(given, reasons, np.where(absent, -2, -1))
    # Today's searches cannot be later than now: those drawn later move one day back.
    limit = int(now.timestamp())
    seconds = np.where(seconds > limit, seconds - DAY, seconds)
    order = np.argsort(seconds, kind="stable")
    rare_draw = rng.random(count)
    return Events(
        seconds=seconds[order],
        user=user[order],
        kind=columns["kind"][order],
        audit_page=np.where(rng.random(count) < 0.8, 1, rng.integers(2, 6, count)),
        text_kind=columns["text_kind"][order],
        text_pick=rng.integers(0, 1 << 62, count, dtype=np.int64),
        source=columns["source"][order],
        reason=columns["reason"][order],
        rare=np.where(rare_draw < 0.01, 1, np.where(rare_draw < 0.02, 2, 0)),
        delay=np.minimum(rng.integers(30, 3_600, count), limit - seconds[order]),
    )


def _iso(seconds: np.ndarray) -> list[str]:
    """'YYYY-MM-DDTHH:MM:SS' for each unix second."""
    return np.datetime_as_string(seconds.astype("datetime64[s]"), unit="s").tolist()


def _text(kind: int, pick: int, emails: Sequence[str]) -> str:
    name = TEXT_KINDS[kind]
    if name == "empty":
        return ""
    if name == "filter":
        return texts.FILTERS[pick % len(texts.FILTERS)]
    if name == "user":
        if pick % 5:
            return f"[User : {emails[pick % len(emails)]}]"
        return f"[Sender : {texts.EXTERNAL_SENDERS[pick % len(texts.EXTERNAL_SENDERS)]}]"
    if name == "msgid":
        template = texts.MESSAGE_ID_FORMATS[pick % len(texts.MESSAGE_ID_FORMATS)]
        bits = pick >> 2
        return template.format(hex=f"{bits:024x}", HEX=f"{bits:024X}", short=f"{bits % 4096:x}")
    if name == "free":
        return texts.FREE_TEXT[pick % len(texts.FREE_TEXT)]
    return texts.HOSTILE_TEXT[pick % len(texts.HOSTILE_TEXT)]


def _dumps(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def rows(
    events: Events, tenant: Tenant, first_key: int, start: int, stop: int, postgres: bool
) -> Iterator[tuple[Any, ...]]:
    """Rows start..stop in COLUMNS order, with times as the backend stores text."""
    created = _iso(events.seconds[start:stop])
    ingested = _iso(events.seconds[start:stop] + events.delay[start:stop])
    emails = tenant.emails
    directory, quoted = tenant.directory, tenant.quoted
    suffix = "+00" if postgres else ".000000"
    for i in range(start, stop):
        j = i - start
        pick = int(events.text_pick[i])
        email = emails[events.user[i]]
        source = SOURCES[events.source[i]]
        text = _text(int(events.text_kind[i]), pick, directory)
        description = texts.description_for(
            KINDS[int(events.kind[i])], int(events.audit_page[i]), pick
        )
        reason_code = int(events.reason[i])
        reason = texts.REASONS[reason_code] if reason_code >= 0 else None
        if reason_code == -1:
            reason = ""
        record = (
            f'{{"createTime":"{created[j]}+0000","emailAddr":{quoted[email]},'
            f'"source":"{source}","searchText":{_dumps(text)}'
        )
        if reason is not None:
            record += f',"searchReason":{_dumps(reason)}'
        record += f',"description":{_dumps(description)}'
        is_admin = search_path = None
        if events.rare[i] == 1:
            is_admin = tenant.roles[events.user[i]] == "admin"
            record += f',"isAdmin":{"true" if is_admin else "false"}'
        elif events.rare[i] == 2:
            search_path = texts.SEARCH_PATHS[pick % len(texts.SEARCH_PATHS)]
            record += f',"searchPath":{_dumps(search_path)}'
        key = hashlib.sha256(f"bench-event-{first_key + i}".encode()).hexdigest()
        yield (
            tenant.name,
            key,
            created[j].replace("T", " ") + suffix,
            email,
            source,
            text,
            reason,
            description,
            search_path,
            None,
            is_admin,
            record + "}",
            None,
            ingested[j].replace("T", " ") + suffix,
        )
