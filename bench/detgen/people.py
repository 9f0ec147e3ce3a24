"""Who searches a Mimecast archive, and how: roles with their own working hours and days,
activity and volume, and the mailboxes they look into. Each person varies around the role
(volume, hours, how often they search), as real colleagues do."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date


def _names(text: str) -> tuple[str, ...]:
    return tuple(text.split())


FIRST = _names(
    "amara anders bea carlos chen dana elif emeka farah finn greta hana ivan jamal jo "
    "kasia lars leila marta mateo nadia niko olga omar pia raj rosa sami sven tariq una "
    "vera wen yusuf zoe ada bram cyra dario esme faisal gil hugo ines joost kemal lina "
)
LAST = _names(
    "achebe berg castillo dubois eriksen fontaine goldberg haddad ito jansen kowalski "
    "lindqvist moreau nakamura okafor petrov quispe rahman silva tanaka ulrich vasquez "
    "weber xu yilmaz zamora abbott brennan costa delacroix eze fischer gallo horvat "
)


@dataclass
class Habit:
    """One searcher's habits. Hours are local; `end` may be below `start` (a night shift)."""

    email: str
    role: str
    start: int
    end: int
    workdays: frozenset[int]
    p_active: float
    mean: float
    p_weekend: float = 0.0
    p_evening: float = 0.0
    p_target: float = 0.0
    custodians: list[str] = field(default_factory=list)
    broad: bool = False
    on_call: bool = False
    joined: date | None = None
    absent: set[date] = field(default_factory=set)
    boost: dict[date, float] = field(default_factory=dict)
    changes: list[tuple[date, int, int, float]] = field(default_factory=list)
    """Permanent changes from a day on: (day, new start, new end, volume factor)."""

    def shape_on(self, day: date) -> tuple[int, int, float]:
        start, end, factor = self.start, self.end, 1.0
        for since, new_start, new_end, new_factor in self.changes:
            if day >= since:
                start, end, factor = new_start, new_end, new_factor
        return start, end, factor


ROLE_SHAPES: dict[str, dict[str, float]] = {
    # start, end hour, chance of searching on a working day, searches on such a day
    "legal": {"start": 8, "end": 18, "p": 0.55, "mean": 12, "target": 0.6},
    "compliance": {"start": 8, "end": 17, "p": 0.8, "mean": 16, "target": 0.5},
    "hr": {"start": 9, "end": 17, "p": 0.35, "mean": 5, "target": 0.7},
    "it_admin": {"start": 7, "end": 19, "p": 0.85, "mean": 18, "target": 0.3},
    "helpdesk": {"start": 7, "end": 16, "p": 0.9, "mean": 22, "target": 0.5},
    "security": {"start": 8, "end": 20, "p": 0.7, "mean": 14, "target": 0.25},
    "exec_assistant": {"start": 8, "end": 18, "p": 0.5, "mean": 4, "target": 0.8},
    "rare_admin": {"start": 9, "end": 17, "p": 0.04, "mean": 9, "target": 0.3},
    "end_user": {"start": 8, "end": 18, "p": 0.08, "mean": 2, "target": 0.0},
}

STAFF_MIX: dict[str, dict[str, int]] = {
    "small": {
        "legal": 1,
        "compliance": 1,
        "hr": 1,
        "it_admin": 2,
        "exec_assistant": 1,
        "rare_admin": 1,
    },
    "mid": {
        "legal": 4,
        "compliance": 5,
        "hr": 4,
        "it_admin": 4,
        "helpdesk": 8,
        "security": 4,
        "exec_assistant": 3,
        "rare_admin": 5,
    },
    "large": {
        "legal": 10,
        "compliance": 14,
        "hr": 9,
        "it_admin": 9,
        "helpdesk": 24,
        "security": 12,
        "exec_assistant": 7,
        "rare_admin": 10,
    },
}


def addresses(rng: random.Random, count: int, domain: str, taken: set[str]) -> list[str]:
    """`count` new first.last addresses in `domain`, none in `taken` (which grows)."""
    found: list[str] = []
    while len(found) < count:
        first, last = rng.choice(FIRST), rng.choice(LAST)
        email = f"{first}.{last}@{domain}"
        if email in taken:
            email = f"{first}.{last}{rng.randrange(2, 99)}@{domain}"
        if email not in taken:
            taken.add(email)
            found.append(email)
    return found


def habit_for(rng: random.Random, email: str, role: str, mailboxes: list[str]) -> Habit:
    shape = ROLE_SHAPES[role]
    shift = rng.choice((-1, 0, 0, 0, 1))
    start, end = int(shape["start"]) + shift, int(shape["end"]) + shift
    if role == "helpdesk" and rng.random() < 0.4:
        start, end = 11, 20  # the late shift
    habit = Habit(
        email=email,
        role=role,
        start=start,
        end=end,
        workdays=frozenset(range(5)),
        p_active=min(0.97, shape["p"] * rng.uniform(0.7, 1.3)),
        mean=max(1.0, shape["mean"] * rng.lognormvariate(0, 0.4)),
        p_target=shape["target"],
    )
    if role == "security":
        habit.p_weekend = rng.choice((0.0, 0.1, 0.25))
    if role in ("it_admin", "security", "legal"):
        habit.p_evening = rng.choice((0.0, 0.03, 0.08))
    if role == "end_user" and rng.random() < 0.1:
        habit.p_weekend = 0.05  # looks up a receipt on Sunday
    if role in ("helpdesk", "it_admin", "compliance", "security"):
        habit.broad = True
    elif habit.p_target:
        many = {"legal": (5, 30), "hr": (3, 10), "exec_assistant": (1, 3)}.get(role, (2, 8))
        habit.custodians = rng.sample(mailboxes, min(len(mailboxes), rng.randint(*many)))
    return habit


def night_soc(rng: random.Random, email: str) -> Habit:
    """A security analyst on the permanent night shift, every day of the week by rota."""
    return Habit(
        email=email,
        role="security",
        start=22,
        end=6,
        workdays=frozenset(rng.sample(range(7), 5)),
        p_active=0.75,
        mean=12 * rng.lognormvariate(0, 0.3),
        p_target=0.25,
        broad=True,
    )


def service_account(rng: random.Random, domain: str) -> Habit:
    """An API user (a journaling or SIEM integration): steady, every hour, every day."""
    uuid = "".join(rng.choice("0123456789abcdef") for _ in range(12))
    return Habit(
        email=f"api-{uuid}@{domain}",
        role="service",
        start=0,
        end=24,
        workdays=frozenset(range(7)),
        p_active=1.0,
        mean=30.0,
    )


def staff(
    rng: random.Random, size: str, people: int, domain: str
) -> tuple[dict[str, Habit], list[str]]:
    """The searchers of a tenant of `people` (habits by address) and its mailboxes: every
    person's, the leavers' kept in the archive, and shared ones."""
    taken: set[str] = set()
    everyone = addresses(rng, people, domain, taken)
    leavers = addresses(rng, people // 2 + 40, domain, taken)
    shared = [f"{name}@{domain}" for name in ("info", "accounts", "payroll", "sales", "jobs")]
    mailboxes = everyone + leavers + shared
    habits: dict[str, Habit] = {}
    cursor = 0
    for role, count in STAFF_MIX[size].items():
        for email in everyone[cursor : cursor + count]:
            habits[email] = habit_for(rng, email, role, mailboxes)
        cursor += count
    if size == "large":
        habits[everyone[cursor]] = night_soc(rng, everyone[cursor])
        cursor += 1
    for email in everyone[cursor:]:
        habits[email] = habit_for(rng, email, "end_user", mailboxes)
    if size != "small":
        service = service_account(rng, domain)
        habits[service.email] = service
    helpers = [h for h in habits.values() if h.role in ("it_admin", "helpdesk")]
    for habit in rng.sample(helpers, min(2, len(helpers))):
        habit.on_call = True
    return habits, mailboxes
