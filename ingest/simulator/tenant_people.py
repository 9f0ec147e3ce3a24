"""The people of a labelled tenant and the means to write their searches: habits, incident
and answer-key types, names, counts and the record writer. Shared by the planted incidents
(`incidents`), the hard negatives (`hard_cases`) and the slow incidents (`slow_incidents`),
which `incidents` puts together; kept apart so that none of them imports another back."""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from ingest.simulator import texts

FAMILIES = (
    "volume_spike",
    "peer_outlier",
    "unusual_time",
    "dormant_searcher",
    "breadth",
    "sensitive_terms",
)
"""The families planted (missing_reason is off by default and not measured here)."""

MAGNITUDES = {
    "volume_spike": (6.0, 10.0, 20.0),  # × the user's usual day
    "peer_outlier": (4.0, 6.0, 10.0),  # × the 95th percentile of people's active days
    "unusual_time": (12.0, 25.0, 50.0),  # searches between 01:00 and 04:00
    "dormant_searcher": (25.0, 50.0, 100.0),  # searches after 35+ silent days (or never seen)
    "breadth": (15.0, 30.0, 60.0),  # mailboxes never targeted before
    "sensitive_terms": (3.0, 6.0, 12.0),  # searches for sensitive terms
}

OFFICE = (0, 0, 0, 0, 0, 0, 0.2, 1, 6, 10, 10, 9, 6, 8, 10, 9, 8, 5, 1, 0.3, 0, 0, 0, 0)
NIGHT = (8, 8, 7, 6, 5, 4, 2, 0.3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0.3, 2, 5, 7, 8, 8)
FLAT = (1,) * 24

BENIGN_TEXT = (
    "invoice",
    "contract renewal 2026",
    "Q3 board pack",
    "shipment delay",
    "meeting notes",
    "DocuSign",
    "purchase order",
    "travel booking",
    "project falcon status",
    "customer complaint",
)
LEGAL_TEXT = (
    "termination notice",
    "lawsuit Acme",
    "pay review appeal",
    "disciplinary hearing",
    "severance agreement",
    "grievance 2291",
    "whistleblower report",
)
SENSITIVE_TEXT = (
    "salary review",
    "salaries 2026",
    "laid off list",
    "redundancies plan",
    "password",
    "M&A pipeline",
    "termination",
    "compensation bands",
    "CEO credentials",
)
RARE_SENSITIVE = "password expiry notice"
"""A one-off an ordinary user might search: one search alone never fires the rule."""

FIRST: tuple[str, ...]
FIRST = ("ada", "ben", "cleo", "dev", "eli", "fay", "gus", "hal", "ivy", "jo", "kai", "lea")
FIRST += ("max", "nia", "oto", "pia", "rex", "sia", "tim", "uli", "val", "wes", "xia", "zed")
LAST: tuple[str, ...]
LAST = ("abe", "bock", "cruz", "dahl", "eze", "fox", "gray", "holt", "iqbal", "juhl", "kerr")
LAST += ("lind", "moss", "nash", "ortiz", "park", "quon", "reyes", "stone", "tate", "ueda")


@dataclass(frozen=True)
class Habit:
    """How one searcher searches: on which days, at which hours, how much, for what."""

    kind: str
    rate: float  # mean searches on an active day
    weekday: float  # chance of searching on a weekday
    weekend: float
    hours: tuple[float, ...]
    target_share: float = 0.05  # searches naming a mailbox ([User : x])
    pool: int = 5  # mailboxes they usually look at
    fresh_share: float = 0.05  # targets outside their pool
    legal_share: float = 0.0  # compliance: searches for legal terms
    first_day: int = 0
    last_day: int = 10**6


@dataclass(frozen=True)
class Incident:
    """A planted abnormal day: which rule family should fire for whom, and how strongly."""

    family: str
    email: str
    day: date
    magnitude: float
    start: date | None = None  # a slow incident's first day (`day` is its last)

    def covers(self, email: str, day: date) -> bool:
        return email == self.email and (self.start or self.day) <= day <= self.day

    def detected_by(self, fired: set[tuple[str, str, date]]) -> bool:
        """Whether its rule fired for its user on its day (any day of a slow incident)."""
        return any(rule == self.family and self.covers(email, day) for rule, email, day in fired)


@dataclass(frozen=True)
class AnswerKey:
    incidents: tuple[Incident, ...]
    surge_day: date
    negatives: dict[str, tuple[str, ...]]  # hard-negative class -> addresses
    first_day: date
    last_day: date

    def abnormal(self, email: str, day: date) -> bool:
        """Whether a user-day is part of a planted incident (an alert on it is not false)."""
        return any(incident.covers(email, day) for incident in self.incidents)


@dataclass
class LabelledTenant:
    records: list[dict[str, object]]
    key: AnswerKey
    habits: dict[str, Habit] = field(default_factory=dict)


def fresh_name(rng: random.Random, taken: set[str], domain: str = "corp.example") -> str:
    while True:
        name = f"{rng.choice(FIRST)}.{rng.choice(LAST)}{rng.randrange(100)}@{domain}"
        if name not in taken:
            taken.add(name)
            return name


def tenant_habits(
    rng: random.Random, people: int, days: int, system_rate: float
) -> dict[str, Habit]:
    """The tenant: mostly office staff, some helpdesk, compliance, night shift, admins."""
    taken: set[str] = set()
    habits: dict[str, Habit] = {}

    def add(count: int, make: Callable[[], Habit]) -> None:
        for _ in range(count):
            habits[fresh_name(rng, taken)] = make()

    share = max(1, people // 20)
    add(people - 9 * share, lambda: Habit("office", rng.uniform(3, 25), 0.8, 0.03, OFFICE))
    add(
        2 * share,
        lambda: Habit("helpdesk", rng.uniform(15, 40), 0.9, 0.05, OFFICE, 0.3, 30, 0.3),
    )
    add(share, lambda: Habit("compliance", rng.uniform(8, 20), 0.9, 0.0, OFFICE, legal_share=0.4))
    add(share, lambda: Habit("night", rng.uniform(10, 30), 0.85, 0.85, NIGHT))
    add(share, lambda: Habit("rare_admin", rng.uniform(2, 8), 0.1, 0.0, OFFICE))
    add(share, lambda: Habit("heavy_admin", rng.uniform(80, 200), 0.95, 0.3, OFFICE))
    add(
        share,
        lambda: Habit(
            "new_hire", rng.uniform(2, 6), 0.8, 0.0, OFFICE, first_day=rng.randrange(20, days - 10)
        ),
    )
    for email, rate, weekend, hours in (
        ("<>", 300, 1.0, FLAT),
        (f"api-{rng.getrandbits(32):08x}@corp.example", 500, 1.0, FLAT),
        (f"api-{rng.getrandbits(32):08x}@corp.example", 80, 0.0, OFFICE),
    ):
        kind = "system" if email == "<>" else "api"
        habits[email] = Habit(kind, rate * system_rate, 1.0, weekend, hours, 0.0)
    return habits


def poisson(rng: random.Random, mean: float) -> int:
    if mean <= 0:
        return 0
    if mean > 50:
        return max(0, round(rng.gauss(mean, math.sqrt(mean))))
    limit, k, product = math.exp(-mean), 0, rng.random()
    while product > limit:
        k += 1
        product *= rng.random()
    return k


class Writer:
    """Turns (user, second, text) into API records."""

    def __init__(self, rng: random.Random, directory: list[str]) -> None:
        self.rng = rng
        self.directory = directory
        self.records: list[dict[str, object]] = []
        self.pools: dict[str, list[str]] = {}

    def search(self, email: str, moment: int, text: str, kind: str) -> None:
        rng = self.rng
        record: dict[str, object] = {
            "createTime": datetime.fromtimestamp(moment, UTC).strftime("%Y-%m-%dT%H:%M:%S+0000"),
            "emailAddr": email,
            "source": "api" if kind == "api" else "archive",
            "searchText": text,
            "searchReason": rng.choice(texts.REASONS) if rng.random() < 0.3 else "",
            "description": rng.choice(
                (texts.MESSAGE_TRACKING, texts.ARCHIVE_SEARCH, texts.THREAT_REMEDIATION)
            ),
        }
        self.records.append(record)

    def text(self, email: str, habit: Habit) -> str:
        rng = self.rng
        draw = rng.random()
        if habit.kind in ("system", "api"):
            return "" if draw < 0.7 else f"<{rng.getrandbits(64):016x}@mail.corp.example>"
        if draw < habit.target_share:
            pool = self.pools.setdefault(email, rng.sample(self.directory, habit.pool))
            if rng.random() < habit.fresh_share:
                return f"[User : {rng.choice(self.directory)}]"
            return f"[User : {rng.choice(pool)}]"
        draw -= habit.target_share
        if draw < habit.legal_share:
            return rng.choice(LEGAL_TEXT)
        if rng.random() < 0.002:
            return RARE_SENSITIVE
        return rng.choice(
            (
                "",
                "",
                "",
                "[Status : held]",
                "[Route : inbound]",
                *BENIGN_TEXT,
                f"<{rng.getrandbits(64):016x}@mail.corp.example>",
            )
        )


def second_in(rng: random.Random, day: int, hours: tuple[float, ...]) -> int:
    hour = rng.choices(range(24), weights=hours)[0]
    return day * 86400 + hour * 3600 + rng.randrange(3600)


def day_date(day: int) -> date:
    return date(1970, 1, 1) + timedelta(days=day)
