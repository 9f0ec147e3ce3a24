"""Deterministic, realistic archive-search activity of one simulated tenant.

The ingest has to be tested against data that looks like a real tenant's: a few admins doing
most of the searching, night-shift analysts, weekend workers, API service users, the `<>`
system sender, one person spelled `Admin@Example.com` and `admin@example.com`, and hostile free
text. Each UTC day is generated from (seed, day) alone, so a window yields the same events
whenever the server was started, and a day can be built lazily, cached, dropped and rebuilt.
"""

from __future__ import annotations

import hashlib
import random
from bisect import bisect
from dataclasses import dataclass
from itertools import accumulate
from typing import Any, NamedTuple

from ingest.simulator import texts
from ingest.simulator.config import SimConfig
from ingest.simulator.timefmt import DAY, date_of_day

LATE_DELAY_SECONDS = (600, 5_400)  # 10–90 minutes: inside the ingest's 2-hour overlap
USUAL_DELAY_SECONDS = 60
MALFORMED_KINDS = (
    "missing_createTime",
    "not_a_date",
    "no_offset",
    "string",
    "number",
    "null",
    "email_not_string",
)


class Entry(NamedTuple):
    """One served record and when it exists: `position` orders it (its createTime, or a hidden
    instant for a malformed record), `visible_at` is when the API starts returning it."""

    position: int
    visible_at: int
    record: object
    valid: bool


@dataclass(frozen=True)
class Role:
    """What a kind of user searches for: weighted choices, stored as cumulative weights."""

    descriptions: tuple[tuple[str, ...], tuple[float, ...]]
    text_kinds: tuple[tuple[str, ...], tuple[float, ...]]
    sources: tuple[tuple[str, ...], tuple[float, ...]]
    reason_rate: float
    reason_absent_rate: float


@dataclass(frozen=True)
class User:
    address: str
    spellings: tuple[str, ...]
    spelling_cum: tuple[float, ...]
    role: Role
    weekday_weight: float
    weekend_weight: float
    hour_cum: tuple[float, ...]
    is_admin: bool


def _choices(**weights: float) -> tuple[tuple[str, ...], tuple[float, ...]]:
    return tuple(weights), tuple(accumulate(weights.values()))


def _pick(rng: random.Random, choices: tuple[tuple[str, ...], tuple[float, ...]]) -> str:
    items, cum = choices
    return items[bisect(cum, rng.random() * cum[-1])]


ROLES = {
    "admin": Role(
        _choices(mts=45, audit=15, trs=15, archive=15, saved=10),
        _choices(empty=30, filter=25, user=10, msgid=20, free=10, hostile=5),
        _choices(archive=90, console=10),
        reason_rate=0.05,
        reason_absent_rate=0.03,
    ),
    "security": Role(
        _choices(trs=40, mts=40, archive=10, audit=10),
        _choices(msgid=35, filter=20, user=5, free=20, empty=10, hostile=10),
        _choices(archive=95, mobile=5),
        reason_rate=0.2,
        reason_absent_rate=0.03,
    ),
    "helpdesk": Role(
        _choices(mts=70, archive=25, saved=5),
        _choices(empty=40, user=30, msgid=15, free=13, hostile=2),
        _choices(archive=85, outlook=10, mobile=5),
        reason_rate=0.05,
        reason_absent_rate=0.03,
    ),
    "compliance": Role(
        _choices(archive=50, saved=35, audit=15),
        _choices(free=60, empty=20, filter=10, user=5, hostile=5),
        _choices(archive=100),
        reason_rate=0.7,
        reason_absent_rate=0.02,
    ),
    "api": Role(
        _choices(archive=60, mts=40),
        _choices(empty=70, msgid=30),
        _choices(api=100),
        reason_rate=0.0,
        reason_absent_rate=0.6,
    ),
    "system": Role(
        _choices(audit=60, archive=40),
        _choices(empty=100),
        _choices(archive=100),
        reason_rate=0.0,
        reason_absent_rate=0.1,
    ),
}

# Relative activity per UTC hour 00..23.
_OFFICE: tuple[float, ...] = (0.2, 0.1, 0.1, 0.1, 0.1, 0.3, 1, 3, 7, 10, 10, 9)
_OFFICE += (6, 8, 10, 9, 8, 5, 2, 1, 0.6, 0.4, 0.3, 0.2)
_NIGHT = (8, 8, 7, 6, 5, 4, 2, 0.5) + (0.2,) * 8 + (0.3, 0.5, 1, 3, 5, 7, 8, 8)
HOURS = {
    "office": _OFFICE,
    "early": _OFFICE[2:] + _OFFICE[:2],
    "late": _OFFICE[-3:] + _OFFICE[:-3],
    "night": _NIGHT,
    "flat": (1,) * 24,
}

# (address, role, hours, weekday weight, weekend weight, share of mixed-case spellings)
# "{api}" is replaced by a seeded uuid-like id, so API users differ between seeds.
PEOPLE = (
    ("admin@example.com", "admin", "office", 12.0, 1.5, 0.25),
    ("it.ops@example.com", "admin", "late", 9.0, 1.0, 0.0),
    ("j.smith-admin@example.com", "admin", "office", 8.0, 0.5, 0.1),
    ("m.okafor@example.com", "admin", "early", 7.0, 0.3, 0.0),
    ("soc@example.com", "security", "flat", 5.0, 5.0, 0.0),
    ("night.watch@example.com", "security", "night", 4.0, 4.0, 0.05),
    ("li.wei@example.com", "security", "night", 3.0, 2.5, 0.0),
    ("security.oncall@example.com", "security", "office", 1.0, 4.0, 0.0),
    ("legal@example.com", "compliance", "office", 3.0, 0.1, 0.0),
    ("compliance@example.com", "compliance", "office", 3.0, 0.0, 0.1),
    ("zoë.brandt@example.de", "compliance", "early", 2.0, 0.0, 0.0),
    ("kate.o'neil@example.com", "compliance", "office", 1.5, 0.0, 0.0),
    ("helpdesk@example.com", "helpdesk", "office", 4.0, 0.5, 0.1),
    ("anna.kowalski@example.com", "helpdesk", "office", 1.5, 0.0, 0.2),
    ("b.nguyen@example.com", "helpdesk", "early", 1.5, 0.0, 0.0),
    ("carlos.diaz@example.com", "helpdesk", "late", 1.5, 0.1, 0.0),
    ("d.patel@example.com", "helpdesk", "office", 1.2, 0.0, 0.3),
    ("emma.jones@example.com", "helpdesk", "office", 1.2, 0.0, 0.0),
    ("fatima.hassan@example.com", "helpdesk", "office", 1.0, 1.5, 0.0),
    ("george.brown@example.com", "helpdesk", "office", 1.0, 0.0, 0.0),
    ("hiro.tanaka@example.com", "helpdesk", "late", 1.0, 0.0, 0.0),
    ("isabel.santos@example.com", "helpdesk", "office", 1.0, 0.0, 0.1),
    ("jack.wilson@example.com", "helpdesk", "office", 0.8, 0.0, 0.0),
    ("lars.nilsen@example.com", "helpdesk", "early", 0.8, 0.0, 0.0),
    ("maria.rossi@example.com", "helpdesk", "office", 0.8, 0.0, 0.0),
    ("noah.kim@example.com", "helpdesk", "office", 0.8, 1.2, 0.0),
    ("olivia.martin@example.com", "helpdesk", "office", 0.6, 0.0, 0.0),
    ("pedro.alves@example.com", "helpdesk", "late", 0.6, 0.0, 0.0),
    ("quinn.taylor@example.com", "helpdesk", "office", 0.5, 0.0, 0.0),
    ("raj.singh@example.com", "helpdesk", "office", 0.5, 0.0, 0.1),
    ("sara.cohen@example.com", "helpdesk", "office", 0.5, 0.0, 0.0),
    ("tom.baker@example.com", "helpdesk", "office", 0.4, 0.0, 0.0),
    ("uma.iyer@example.com", "helpdesk", "office", 0.3, 0.0, 0.0),
    ("victor.petrov@example.com", "helpdesk", "night", 0.3, 0.3, 0.0),
    ("wendy.clark@example.com", "helpdesk", "office", 0.2, 0.0, 0.0),
    ("contractor.xu@partner.example.org", "helpdesk", "office", 0.2, 0.0, 0.0),
    ("api-{api}@example.com", "api", "flat", 6.0, 6.0, 0.0),
    ("api-{api}@example.com", "api", "flat", 2.0, 2.0, 0.0),
    ("api-{api}@example.com", "api", "office", 1.0, 0.0, 0.0),
    ("<>", "system", "flat", 3.0, 3.0, 0.0),
)


def derive_seed(seed: int, label: object) -> int:
    """A 64-bit seed for one part of the world, stable across Python runs (unlike hash())."""
    digest = hashlib.sha256(f"{seed}:{label}".encode()).digest()
    return int.from_bytes(digest[:8], "big")


def _spellings(address: str, mixed_share: float) -> tuple[tuple[str, ...], tuple[float, ...]]:
    if mixed_share <= 0:
        return (address,), (1.0,)
    local, _, domain = address.partition("@")
    capitalised = ".".join(part.capitalize() for part in local.split("."))
    variants = (address, f"{capitalised}@{domain.capitalize()}", address.upper())
    # Cumulative shares ending at exactly 1.0, so bisect(cum, random()) is always in range.
    return variants, (1 - mixed_share, 1 - mixed_share * 0.2, 1.0)


def _api_id(rng: random.Random) -> str:
    raw = f"{rng.getrandbits(128):032x}"
    return f"{raw[:8]}-{raw[8:12]}-{raw[12:16]}-{raw[16:20]}-{raw[20:]}"


def build_roster(seed: int, domain_prefix: str = "") -> tuple[User, ...]:
    """The tenant's ~40 users and their habits; API user ids depend on the seed, and a
    `domain_prefix` puts every address in the account's own domains."""
    rng = random.Random(derive_seed(seed, "roster"))
    users = []
    for address, role, hours, weekday, weekend, mixed in PEOPLE:
        address = address.replace("{api}", _api_id(rng))
        if domain_prefix and "@" in address:
            address = address.replace("@", f"@{domain_prefix}.", 1)
        spellings, spelling_cum = _spellings(address, mixed)
        users.append(
            User(
                address=address,
                spellings=spellings,
                spelling_cum=spelling_cum,
                role=ROLES[role],
                weekday_weight=weekday * rng.uniform(0.9, 1.1),
                weekend_weight=weekend * rng.uniform(0.9, 1.1),
                hour_cum=tuple(accumulate(HOURS[hours])),
                is_admin=role == "admin",
            )
        )
    return tuple(users)


class DayGenerator:
    """Builds one UTC day of entries, sorted newest first, from (seed, day) alone."""

    def __init__(self, config: SimConfig) -> None:
        self._config = config
        self._users = build_roster(config.seed, config.domain_prefix)
        self._weekday_cum = tuple(accumulate(u.weekday_weight for u in self._users))
        self._weekend_cum = tuple(accumulate(u.weekend_weight for u in self._users))
        self._mean_weight = (5 * self._weekday_cum[-1] + 2 * self._weekend_cum[-1]) / 7
        self._directory = tuple(u.address for u in self._users if "@" in u.address)

    @property
    def users(self) -> tuple[User, ...]:
        return self._users

    def generate(self, day: int) -> list[Entry]:
        rng = random.Random(derive_seed(self._config.seed, day))
        weekend = date_of_day(day).weekday() >= 5
        cum = self._weekend_cum if weekend else self._weekday_cum
        scale = cum[-1] / self._mean_weight * rng.uniform(0.85, 1.15)
        target = round(self._config.events_per_day * scale)
        prefix = date_of_day(day).isoformat() + "T"
        entries: list[Entry] = []
        while len(entries) < target:
            user = self._users[bisect(cum, rng.random() * cum[-1])]
            self._search(rng, user, day * DAY, prefix, entries)
        self._malformed(rng, day, prefix, len(entries), entries)
        entries.sort(key=_newest_first)  # stable: twins and ties keep generation order
        return entries

    def _search(
        self, rng: random.Random, user: User, day_start: int, prefix: str, out: list[Entry]
    ) -> None:
        """One search by `user`; an audit export pages through results, one record a page."""
        draw = rng.random
        role = user.role
        hour = bisect(user.hour_cum, draw() * user.hour_cum[-1])
        second = hour * 3600 + int(draw() * 3600)
        kind = _pick(rng, role.descriptions)
        fields: dict[str, object] = {
            "emailAddr": user.spellings[bisect(user.spelling_cum, draw())],
            "source": _pick(rng, role.sources),
            "searchText": self._text(rng, _pick(rng, role.text_kinds)),
        }
        if draw() >= role.reason_absent_rate:
            fields["searchReason"] = rng.choice(texts.REASONS) if draw() < role.reason_rate else ""
        pages = 1 + int(draw() ** 3 * 5) if kind == "audit" else 1
        for page in range(1, pages + 1):
            record = {"createTime": _clock_time(prefix, second), **fields}
            record["description"] = texts.description_for(
                kind, page, rng.randrange(len(texts.SAVED_SEARCHES))
            )
            rare = draw()
            if rare < 0.01:
                record["isAdmin"] = user.is_admin
            elif rare < 0.02:
                record["searchPath"] = rng.choice(texts.SEARCH_PATHS)
            self._emit(rng, day_start + second, record, out)
            second = min(second + 1 + int(draw() * 3), DAY - 1)

    def _emit(self, rng: random.Random, position: int, record: dict, out: list[Entry]) -> None:
        draw = rng.random
        if draw() < self._config.late_fraction:
            delay = rng.randint(*LATE_DELAY_SECONDS)
        else:
            delay = int(draw() * (USUAL_DELAY_SECONDS + 1))
        entry = Entry(position, position + delay, record, True)
        out.append(entry)
        if draw() < self._config.twin_fraction:
            out.append(entry._replace(record=dict(record)))

    def _text(self, rng: random.Random, kind: str) -> str:
        if kind == "empty":
            return ""
        if kind == "filter":
            return rng.choice(texts.FILTERS)
        if kind == "user":
            if rng.random() < 0.8:
                return f"[User : {rng.choice(self._directory)}]"
            return f"[Sender : {rng.choice(texts.EXTERNAL_SENDERS)}]"
        if kind == "msgid":
            bits = rng.getrandbits(96)
            template = rng.choice(texts.MESSAGE_ID_FORMATS)
            return template.format(hex=f"{bits:024x}", HEX=f"{bits:024X}", short=f"{bits % 4096:x}")
        if kind == "free":
            return rng.choice(texts.FREE_TEXT)
        return rng.choice(texts.HOSTILE_TEXT)

    def _malformed(
        self, rng: random.Random, day: int, prefix: str, valid_count: int, out: list[Entry]
    ) -> None:
        """Extra broken records, each at a hidden instant inside the day."""
        expected = valid_count * self._config.malformed_rate
        count = int(expected) + (rng.random() < expected - int(expected))
        for _ in range(count):
            second = rng.randrange(DAY)
            template = {
                "createTime": _clock_time(prefix, second),
                "emailAddr": rng.choice(self._directory),
                "source": "archive",
                "searchText": "",
                "searchReason": "",
                "description": texts.MESSAGE_TRACKING,
            }
            record = _break(rng, rng.choice(MALFORMED_KINDS), template)
            position = day * DAY + second
            delay = int(rng.random() * (USUAL_DELAY_SECONDS + 1))
            out.append(Entry(position, position + delay, record, False))


def _break(rng: random.Random, kind: str, record: dict[str, Any]) -> object:
    if kind == "missing_createTime":
        del record["createTime"]
    elif kind == "not_a_date":
        record["createTime"] = "not a date"
    elif kind == "no_offset":
        record["createTime"] = str(record["createTime"]).removesuffix("+0000")
    elif kind == "string":
        return rng.choice(("Message Tracking Search", "{not: json}", ""))
    elif kind == "number":
        return rng.choice((42, 0, 3.5, -1))
    elif kind == "null":
        return None
    else:
        record["emailAddr"] = rng.choice((12345, None, ["admin@example.com"], {"a": 1}))
    return record


def _clock_time(prefix: str, second: int) -> str:
    hours, rest = divmod(second, 3600)
    minutes, seconds = divmod(rest, 60)
    return f"{prefix}{hours:02d}:{minutes:02d}:{seconds:02d}+0000"


def _newest_first(entry: Entry) -> int:
    return -entry.position
