"""Ordinary days: who searches, how many times, at what hours, for what. Counts are
over-dispersed (gamma-Poisson: some days are twice the usual, most are near it), hours
cluster in the person's working day with the odd late evening, and texts come from the
role's vocabulary."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from bench.detgen.people import Habit
from bench.detgen.vocab import DESCRIPTIONS, ordinary_text, reason


@dataclass(frozen=True)
class Search:
    """One search as the person made it, at a local time (the zone is the tenant's)."""

    person: str
    at: datetime
    text: str
    description: str
    reason: str
    source: str = "archive"


@dataclass
class TenantDays:
    """Tenant-wide day effects: public holidays, the day after one, the busy day."""

    holidays: set[date]
    busy_day: date | None
    factor: dict[date, float]


def poisson(rng: random.Random, mean: float) -> int:
    if mean <= 0:
        return 0
    if mean > 50:
        return max(0, round(rng.gauss(mean, math.sqrt(mean))))
    limit, k, p = math.exp(-mean), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


def day_count(rng: random.Random, mean: float) -> int:
    """Searches on an active day: gamma-Poisson with shape 3, at least one."""
    return max(1, poisson(rng, rng.gammavariate(3.0, mean / 3.0)))


def hour_in(rng: random.Random, start: int, end: int) -> int:
    """An hour of a working day from `start` to `end` (wrapping past midnight), busiest in
    its middle."""
    length = (end - start) % 24 or 24
    offset = min(length - 1, int(rng.triangular(0, length, length / 2)))
    return (start + offset) % 24


def moment(rng: random.Random, day: date, hour: int) -> datetime:
    return datetime.combine(day, time(hour)) + timedelta(seconds=rng.randrange(3600))


def works_on(habit: Habit, day: date, days: TenantDays) -> bool:
    if day in habit.absent or (habit.joined is not None and day < habit.joined):
        return False
    if day in days.holidays:
        return habit.on_call or habit.role == "service"
    return True


def active_count(rng: random.Random, habit: Habit, day: date, days: TenantDays) -> int:
    """How many ordinary searches `habit` makes on `day` (0 for a day off)."""
    if not works_on(habit, day, days):
        return 0
    _, _, factor = habit.shape_on(day)
    busy = day == days.busy_day
    if day.weekday() in habit.workdays:
        chance = min(0.98, habit.p_active * (1.6 if busy else 1.0))
    else:
        chance = habit.p_weekend
    if day in days.holidays:
        chance = 0.5
    if rng.random() >= chance:
        return 0
    mean = habit.mean * factor * days.factor.get(day, 1.0) * habit.boost.get(day, 1.0)
    if habit.joined is not None and day < habit.joined + timedelta(days=7):
        mean *= 0.5  # the first week: learning the tool
    return day_count(rng, mean)


def target_of(rng: random.Random, habit: Habit, mailboxes: list[str]) -> str | None:
    if rng.random() >= habit.p_target:
        return None
    if habit.custodians:
        return rng.choice(habit.custodians)
    if habit.broad:  # a few colleagues often, the rest rarely (Zipf-like)
        index = min(len(mailboxes) - 1, int(rng.paretovariate(1.1)) - 1)
        return mailboxes[index] if rng.random() < 0.6 else rng.choice(mailboxes)
    return None


def ordinary_searches(
    rng: random.Random,
    habit: Habit,
    day: date,
    count: int,
    mailboxes: list[str],
    domain: str,
) -> list[Search]:
    start, end, _ = habit.shape_on(day)
    found = []
    for _ in range(count):
        hour = hour_in(rng, start, end)
        if rng.random() < habit.p_evening:
            hour = rng.choice((20, 21, 22))
        text = ordinary_text(rng, habit.role, target_of(rng, habit, mailboxes), domain)
        found.append(
            Search(
                person=habit.email,
                at=moment(rng, day, hour),
                text=text,
                description=rng.choice(DESCRIPTIONS[habit.role]),
                reason=reason(rng, habit.role),
                source="archive",
            )
        )
    return found


def tenant_days(
    rng: random.Random, first: date, last: date, holidays: set[date], busy: date | None
) -> TenantDays:
    """Every day's tenant-wide factor: quiet and busy weeks, the day after a holiday, the
    busy day (a tenant-wide legal hold or migration: everyone searches 2.5x)."""
    factor = {}
    day = first
    while day <= last:
        factor[day] = rng.lognormvariate(0, 0.15)
        if day - timedelta(days=1) in holidays:
            factor[day] *= 1.4
        day += timedelta(days=1)
    if busy is not None:
        factor[busy] = 2.5
    return TenantDays(holidays=holidays, busy_day=busy, factor=factor)
