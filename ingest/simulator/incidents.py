"""A labelled tenant for measuring detections: searchers with distinct habits over months,
incidents of every rule family at several magnitudes, and hard negatives that must stay
quiet, with an answer key that is kept apart from the searches.

Why a generator of its own: the simulator's tenant is built to exercise the ingest (twins,
late events, hostile text), not to have known abnormal days. Here every user follows a
habit (office hours, helpdesk, compliance, night shift, rare and heavy admins, new hires,
system and API senders), the whole tenant has good and quiet days and one incident-response
surge, and incidents are planted on chosen users and days. `LabelledTenant.records` are API
records (what the ingest sees); `LabelledTenant.key` is the answer key (what only the
benchmark and the tests see). Everything follows from the seed; times are UTC.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass, field, replace
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


def _name(rng: random.Random, taken: set[str], domain: str = "corp.example") -> str:
    while True:
        name = f"{rng.choice(FIRST)}.{rng.choice(LAST)}{rng.randrange(100)}@{domain}"
        if name not in taken:
            taken.add(name)
            return name


def _habits(rng: random.Random, people: int, days: int, system_rate: float) -> dict[str, Habit]:
    """The tenant: mostly office staff, some helpdesk, compliance, night shift, admins."""
    taken: set[str] = set()
    habits: dict[str, Habit] = {}

    def add(count: int, make: Callable[[], Habit]) -> None:
        for _ in range(count):
            habits[_name(rng, taken)] = make()

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


def _poisson(rng: random.Random, mean: float) -> int:
    if mean <= 0:
        return 0
    if mean > 50:
        return max(0, round(rng.gauss(mean, math.sqrt(mean))))
    limit, k, product = math.exp(-mean), 0, rng.random()
    while product > limit:
        k += 1
        product *= rng.random()
    return k


class _Writer:
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


def _second(rng: random.Random, day: int, hours: tuple[float, ...]) -> int:
    hour = rng.choices(range(24), weights=hours)[0]
    return day * 86400 + hour * 3600 + rng.randrange(3600)


def labelled_tenant(
    seed: int,
    *,
    people: int = 120,
    days: int = 120,
    end: date | None = None,
    repeats: int = 2,
    system_rate: float = 1.0,
    hard: bool = False,
) -> LabelledTenant:
    """`days` of searches ending the day before `end` (default: today, UTC), with incidents
    planted from day 45 on (after warm-up and a full baseline): each family at each of its
    magnitudes `repeats` times. `system_rate` scales the system and API senders' volume
    (small tenants for quick tests). `hard` adds issue 17's harder cases
    (`hard_cases.py`): small incidents and ordinary weeks that counts flood on."""
    rng = random.Random(f"labelled-tenant:{seed}")
    last = (end or datetime.now(UTC).date()) - timedelta(days=1)
    first_day = (last - date(1970, 1, 1)).days - days + 1
    directory = [f"mbx{n:04d}@corp.example" for n in range(3000)]
    habits = _habits(rng, people, days, system_rate)
    writer = _Writer(rng, directory)
    mood = [rng.gammavariate(25, 1 / 25) for _ in range(days)]
    surge = rng.randrange(min(50, days // 2), days - 5)
    mood[surge] *= 3.0  # an incident response: everyone searches three times their usual
    plan = _plan(rng, habits, days, first_day, surge, repeats) if repeats else []
    planted = {(incident.email, incident.day): incident for incident in plan}
    for index in range(days):
        day = first_day + index
        weekend = (day + 3) % 7 >= 5
        for email, habit in habits.items():
            if not habit.first_day <= index <= habit.last_day:
                continue
            if rng.random() >= (habit.weekend if weekend else habit.weekday):
                continue
            factor = rng.gammavariate(6, 1 / 6) * (
                1.0 if habit.kind in ("system", "api") else mood[index]
            )
            for _ in range(max(1, _poisson(rng, habit.rate * factor))):
                writer.search(
                    email, _second(rng, day, habit.hours), writer.text(email, habit), habit.kind
                )
    peers = _peer_mark(writer.records)
    incidents = []
    newcomer = Habit("newcomer", 5, 1.0, 0.0, OFFICE)
    for incident in sorted(planted.values(), key=lambda item: (item.day, item.email)):
        habit = habits.get(incident.email, newcomer)
        incidents.append(_plant(rng, writer, habit, incident, peers))
    if repeats:
        from ingest.simulator.slow_incidents import plant_slow  # it builds on this module

        incidents += plant_slow(f"{seed}", writer, habits, planted, first_day, days)
    negatives = {
        kind: tuple(sorted(e for e, h in habits.items() if h.kind == kind))
        for kind in ("night", "compliance", "new_hire", "helpdesk", "system", "api")
    }
    if hard:
        from ingest.simulator.hard_cases import plant_hard_cases  # it builds on this module

        cases = plant_hard_cases(seed, writer, first_day, days, surge)
        incidents += cases.incidents
        habits.update(cases.habits)
        negatives.update({kind: tuple(sorted(emails)) for kind, emails in cases.negatives.items()})
    writer.records.sort(key=lambda record: str(record["createTime"]))
    key = AnswerKey(
        incidents=tuple(incidents),
        surge_day=_date(first_day + surge),
        negatives=negatives,
        first_day=_date(first_day),
        last_day=last,
    )
    return LabelledTenant(writer.records, key, habits)


def _date(day: int) -> date:
    return date(1970, 1, 1) + timedelta(days=day)


def _peer_mark(records: list[dict[str, object]]) -> float:
    """The 95th percentile of people's searches on a day they searched."""
    per_day: dict[tuple[object, str], int] = {}
    for record in records:
        email = str(record["emailAddr"])
        if email == "<>" or email.startswith("api-"):
            continue
        key = (email, str(record["createTime"])[:10])
        per_day[key] = per_day.get(key, 0) + 1
    values = sorted(per_day.values())
    return float(values[int(0.95 * (len(values) - 1))]) if values else 10.0


def _plan(
    rng: random.Random,
    habits: dict[str, Habit],
    days: int,
    first_day: int,
    surge: int,
    repeats: int,
) -> list[Incident]:
    """Which user gets which incident on which day: three magnitudes, repeated, per family.

    Established office users host volume, timing, breadth and sensitive incidents (each a
    different user); peer outliers are new joiners, dormant ones are users who stop after
    a month (or an address that never searched before). No incident falls on the surge
    day: that day is a hard negative, and an incident's size is meant against a usual day."""
    office = [email for email, habit in habits.items() if habit.kind == "office"]
    rng.shuffle(office)
    incidents: list[Incident] = []
    for family in ("volume_spike", "unusual_time", "breadth", "sensitive_terms"):
        for magnitude in MAGNITUDES[family]:
            for _ in range(repeats):
                email = office.pop()
                if family == "volume_spike":
                    rate = max(habits[email].rate, 6.0)  # a spike must reach min_searches
                    habits[email] = _with(habits[email], rate=rate)
                day = _weekday(rng, first_day, 45, days - 2, surge)
                incidents.append(Incident(family, email, _date(first_day + day), magnitude))
    taken = set(habits)
    for magnitude in MAGNITUDES["peer_outlier"]:
        for _ in range(repeats):
            email = _name(rng, taken, "corp.example")
            day = _weekday(rng, first_day, 45, days - 2, surge)
            habits[email] = Habit(
                "joiner", 3, 1.0, 0.0, OFFICE, first_day=day - 5, last_day=day - 1
            )
            incidents.append(Incident("peer_outlier", email, _date(first_day + day), magnitude))
    for magnitude in MAGNITUDES["dormant_searcher"]:
        for variant in ("silent", "never")[: max(1, repeats)]:
            email = _name(rng, taken, "corp.example")
            day = _weekday(rng, first_day, 75, days - 2, surge)
            if variant == "silent":
                habits[email] = Habit(
                    "dormant", 4, 0.8, 0.0, OFFICE, first_day=0, last_day=day - 36
                )
            incidents.append(Incident("dormant_searcher", email, _date(first_day + day), magnitude))
    return incidents


def _with(habit: Habit, **changes: object) -> Habit:
    return replace(habit, **changes)  # type: ignore[arg-type]


def _weekday(rng: random.Random, first_day: int, low: int, high: int, avoid: int) -> int:
    while True:
        day = rng.randrange(low, high)
        if (first_day + day + 3) % 7 < 5 and day != avoid:
            return day


def _plant(
    rng: random.Random, writer: _Writer, habit: Habit, incident: Incident, peers: float
) -> Incident:
    """Add the incident's searches; returns the incident with its magnitude in searches."""
    day = (incident.day - date(1970, 1, 1)).days
    email, family, size = incident.email, incident.family, incident.magnitude
    if family == "volume_spike":
        count = round(size * habit.rate)
        for _ in range(count):
            writer.search(email, _second(rng, day, OFFICE), writer.text(email, habit), "office")
    elif family == "peer_outlier":
        count = round(size * peers)
        for _ in range(count):
            writer.search(email, _second(rng, day, OFFICE), writer.text(email, habit), "office")
    elif family in ("unusual_time", "dormant_searcher"):
        count = round(size)
        hours = tuple(1.0 if 1 <= hour < 4 else 0.0 for hour in range(24))
        for _ in range(count):
            chosen = hours if family == "unusual_time" else OFFICE
            writer.search(email, _second(rng, day, chosen), writer.text(email, habit), "office")
    elif family == "breadth":
        count = round(size)
        fresh = rng.sample(writer.directory, count)
        for target in fresh:
            writer.search(email, _second(rng, day, OFFICE), f"[User : {target}]", "office")
    else:
        count = round(size)
        for _ in range(count):
            writer.search(email, _second(rng, day, OFFICE), rng.choice(SENSITIVE_TEXT), "office")
    return Incident(family, email, incident.day, float(count))
