"""The incidents: what each class looks like in the records, and how big it is.

Sizes are multiples of today's thresholds (labels.THRESHOLDS): a one-day incident of size
s carries round(s x threshold) of its quantity (searches, sensitive searches, new
mailboxes); a volume spike's day holds round(s x max(30, 4 x the person's usual day))
searches in all. A slow incident of size s spreads round(s x threshold x days) over
`SLOW_DAYS` of the person's working days, as evenly as whole numbers allow: size 0.5 is
six new mailboxes a working day for a month, or one sensitive search a day.
"""

from __future__ import annotations

from datetime import date, timedelta

from bench.detgen.activity import Search, hour_in, moment, ordinary_searches
from bench.detgen.draft import WARM_UP, Draft
from bench.detgen.labels import THRESHOLDS, Incident
from bench.detgen.people import Habit, addresses
from bench.detgen.vocab import ROUTINE, ordinary_text, reason, snooping_text

SLOW_DAYS = 20
SNOOPED = ("hr", "deals", "finance")
"""What snooping is after: people's pay and cases, deals, the numbers before they are out."""


def _label(
    draft: Draft, habit_email: str, days: list[date], klass: str, size: float, count: int
) -> Incident:
    incident = Incident(
        tenant=draft.key.name,
        person=habit_email,
        first_day=min(days),
        last_day=max(days),
        klass=klass,
        size=size,
        count=count,
        days=tuple(sorted(days)),
    )
    draft.key.incidents.append(incident)
    return incident


def _span(draft: Draft) -> tuple[int, int]:
    return WARM_UP, len(draft.calendar()) - 5


def _searches(
    draft: Draft, habit: Habit, day: date, count: int, hours: tuple[int, int]
) -> list[Search]:
    rng = draft.rng
    start, end = hours
    return [
        Search(
            person=habit.email,
            at=moment(rng, day, hour_in(rng, start, end)),
            text=ordinary_text(rng, habit.role, None, draft.domain),
            description="Archive Search",
            reason=reason(rng, habit.role) if habit.role != "service" else "",
        )
        for _ in range(count)
    ]


def volume_spike(draft: Draft, size: float, busy: bool = False) -> Incident:
    habit = draft.person(("it_admin", "helpdesk", "legal", "compliance", "hr", "security"))
    day = (
        draft.days.busy_day if busy and draft.days.busy_day else draft.workday(habit, *_span(draft))
    )
    total = round(size * max(THRESHOLDS["volume_spike"], 4 * draft.usual(habit.email, day)))
    draft.book.setdefault(habit.email, {})[day] = []
    draft.add(ordinary_searches(draft.rng, habit, day, total, draft.mailboxes, draft.domain))
    klass = "insider_on_busy_day" if busy else "volume_spike"
    return _label(draft, habit.email, [day], klass, size, total)


def off_hours(draft: Draft, size: float) -> Incident:
    habit = draft.person(("legal", "hr", "exec_assistant", "compliance", "helpdesk"))
    day = draft.workday(habit, *_span(draft))
    count = round(size * THRESHOLDS["off_hours"])
    draft.add(_searches(draft, habit, day, count, (1, 5)))  # 01:00 to 04:59
    return _label(draft, habit.email, [day], "off_hours", size, count)


def weekend(draft: Draft, size: float) -> Incident:
    habit = draft.person(("legal", "hr", "exec_assistant", "compliance", "it_admin"))
    habit.p_weekend = 0.0
    draft.clear(habit.email, [d for d in draft.calendar() if d.weekday() not in habit.workdays])
    day = draft.workday(habit, *_span(draft), weekend=True)
    count = round(size * THRESHOLDS["weekend"])
    draft.add(_searches(draft, habit, day, count, (habit.start, habit.end)))
    return _label(draft, habit.email, [day], "weekend", size, count)


def snoop_category(draft: Draft, habit: Habit) -> str:
    """A category not routine for the person's role (legal's deals are routine, say)."""
    return draft.rng.choice([c for c in SNOOPED if c not in ROUTINE[habit.role]])


def _snoop(draft: Draft, habit: Habit, day: date, count: int, category: str) -> None:
    targets = draft.rng.sample(draft.mailboxes[:40], min(count, 40))
    draft.add(
        [
            Search(
                person=habit.email,
                at=moment(draft.rng, day, hour_in(draft.rng, habit.start, habit.end)),
                text=snooping_text(
                    draft.rng,
                    category,
                    targets[n % len(targets)] if draft.rng.random() < 0.6 else None,
                ),
                description="Archive Search",
                reason="",
            )
            for n in range(count)
        ]
    )


def sensitive(draft: Draft, size: float) -> Incident:
    habit = draft.person(("it_admin", "helpdesk", "exec_assistant", "security", "legal"))
    day = draft.workday(habit, *_span(draft))
    count = max(1, round(size * THRESHOLDS["sensitive_terms"]))
    _snoop(draft, habit, day, count, snoop_category(draft, habit))
    return _label(draft, habit.email, [day], "sensitive_terms", size, count)


def _breadth_day(draft: Draft, habit: Habit, day: date, count: int) -> None:
    draft.strip_new_targets(habit.email, day)
    searches = []
    for mailbox in draft.new_mailboxes(habit.email, count):
        for _ in range(draft.rng.choice((1, 1, 2))):
            text = ordinary_text(draft.rng, "legal", mailbox, draft.domain)
            if "[User :" not in text:
                text = f"[User : {mailbox}] {text}".strip()
            searches.append(
                Search(
                    person=habit.email,
                    at=moment(draft.rng, day, hour_in(draft.rng, habit.start, habit.end)),
                    text=text,
                    description="Archive Search",
                    reason=reason(draft.rng, habit.role),
                )
            )
    draft.add(searches)


def breadth(draft: Draft, size: float) -> Incident:
    habit = draft.person(("legal", "hr", "exec_assistant", "it_admin", "compliance"))
    day = draft.workday(habit, *_span(draft))
    count = round(size * THRESHOLDS["breadth"])
    _breadth_day(draft, habit, day, count)
    return _label(draft, habit.email, [day], "breadth", size, count)


def dormant(draft: Draft, size: float) -> Incident:
    """Someone who stopped searching 30 to 45 days ago (moved role, account kept) and whose
    account searches one day, then falls silent again."""
    habit = draft.person(("it_admin", "legal", "hr", "security", "compliance"), silenced=True)
    low, high = _span(draft)
    day = draft.workday(habit, max(low, 60), high)
    silence = draft.rng.randint(30, 45)
    habit.absent.update(day - timedelta(days=n) for n in range(0, silence + 1))
    habit.absent.update(draft.calendar()[draft.calendar().index(day) + 1 :])
    draft.clear(habit.email, habit.absent)
    count = round(size * THRESHOLDS["dormant_wakes"])
    draft.add(_searches(draft, habit, day, count, (habit.start, habit.end)))
    return _label(draft, habit.email, [day], "dormant_wakes", size, count)


def unknown(draft: Draft, size: float) -> Incident:
    """An address never seen before searching a lot in one day (a new admin role granted
    to a compromised or rogue account)."""
    email = addresses(draft.rng, 1, draft.domain, set(draft.habits) | set(draft.mailboxes))[0]
    habit = Habit(email, "it_admin", 9, 18, frozenset(range(5)), 0.0, 1.0)
    draft.key.roles[email] = "unknown"
    day = draft.workday(habit, *_span(draft))
    count = round(size * THRESHOLDS["unknown_searcher"])
    targets = draft.rng.sample(draft.mailboxes, 15)
    searches = _searches(draft, habit, day, count, (8, 20))
    draft.add(
        [
            Search(s.person, s.at, f"[User : {draft.rng.choice(targets)}]", s.description, "")
            if n % 2
            else s
            for n, s in enumerate(searches)
        ]
    )
    return _label(draft, email, [day], "unknown_searcher", size, count)


def slow_days(draft: Draft, habit: Habit) -> list[date]:
    low, high = _span(draft)
    days = [
        d
        for d in draft.calendar()[low - 10 : high]
        if d.weekday() in habit.workdays and d not in draft.quiet_days and d not in habit.absent
    ]
    start = draft.rng.randrange(0, max(1, len(days) - SLOW_DAYS))
    return days[start : start + SLOW_DAYS]


def spread(total: int, days: int) -> list[int]:
    """`total` over `days` as evenly as whole numbers allow (the remainder early)."""
    return [total // days + (1 if n < total % days else 0) for n in range(days)]


def slow_breadth(draft: Draft, size: float) -> Incident:
    habit = draft.person(("legal", "hr", "exec_assistant", "rare_admin", "compliance"))
    days = slow_days(draft, habit)
    total = round(size * THRESHOLDS["slow_breadth"] * len(days))
    for day, count in zip(days, spread(total, len(days)), strict=True):
        _breadth_day(draft, habit, day, count)
    return _label(draft, habit.email, days, "slow_breadth", size, total)


def slow_sensitive(draft: Draft, size: float) -> Incident:
    habit = draft.person(("it_admin", "helpdesk", "exec_assistant", "legal", "security"))
    days = slow_days(draft, habit)
    total = round(size * THRESHOLDS["slow_sensitive"] * len(days))
    category = snoop_category(draft, habit)  # the same curiosity every day
    for day, count in zip(days, spread(total, len(days)), strict=True):
        _snoop(draft, habit, day, count, category)
    return _label(draft, habit.email, days, "slow_sensitive", size, total)


PLANTERS = {
    "volume_spike": volume_spike,
    "insider_on_busy_day": lambda draft, size: volume_spike(draft, size, busy=True),
    "off_hours": off_hours,
    "weekend": weekend,
    "sensitive_terms": sensitive,
    "breadth": breadth,
    "dormant_wakes": dormant,
    "unknown_searcher": unknown,
    "slow_breadth": slow_breadth,
    "slow_sensitive": slow_sensitive,
}
