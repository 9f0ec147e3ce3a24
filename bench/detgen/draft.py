"""A tenant being written: its people, calendar and searches so far, and the helpers the
incidents and hard negatives share (picking a person, a day, new mailboxes)."""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field
from datetime import date, timedelta

from bench.detgen.activity import Search, TenantDays, active_count, ordinary_searches
from bench.detgen.labels import TenantKey
from bench.detgen.people import Habit

TARGET = re.compile(r"\[User : ([^\]\s]+)\]")
WARM_UP = 56
"""Days of history before the first incident: eight weeks of habits to compare with."""


def targets_in(text: str) -> list[str]:
    return [found.lower() for found in TARGET.findall(text)]


@dataclass
class Draft:
    rng: random.Random
    key: TenantKey
    habits: dict[str, Habit]
    mailboxes: list[str]
    domain: str
    days: TenantDays
    book: dict[str, dict[date, list[Search]]] = field(default_factory=dict)
    reserved: set[str] = field(default_factory=set)
    quiet_days: set[date] = field(default_factory=set)
    """Days no incident may fall on (holidays, the team's incident response, the busy day)."""
    unsilenced: set[str] = field(default_factory=set)
    """People whose searches must stay (a team's incident response): never made dormant."""

    def calendar(self) -> list[date]:
        count = (self.key.last_day - self.key.first_day).days + 1
        return [self.key.first_day + timedelta(days=n) for n in range(count)]

    def add(self, searches: list[Search]) -> None:
        for search in searches:
            days = self.book.setdefault(search.person, {})
            days.setdefault(search.at.date(), []).append(search)

    def person(self, roles: tuple[str, ...], regular: bool = True, silenced: bool = False) -> Habit:
        """An unreserved searcher of one of `roles` (else anyone but the API user), now
        reserved: one label per person keeps the answer key unambiguous."""
        for pool in (
            roles,
            (
                "legal",
                "compliance",
                "hr",
                "it_admin",
                "helpdesk",
                "security",
                "exec_assistant",
                "rare_admin",
                "end_user",
            ),
        ):
            found = [
                habit
                for habit in self.habits.values()
                if habit.role in pool
                and habit.email not in self.reserved
                and not (silenced and habit.email in self.unsilenced)
                and habit.joined is None
                and habit.start < habit.end
                and (not regular or habit.role == "end_user" or habit.p_active >= 0.3)
            ]
            if found:
                habit = self.rng.choice(sorted(found, key=lambda h: h.email))
                self.reserved.add(habit.email)
                return habit
        raise ValueError(f"tenant {self.key.name}: nobody left to plant on")

    def workday(self, habit: Habit, low: int, high: int, weekend: bool = False) -> date:
        """A day between `low` and `high` days after the first on which `habit` works (or,
        with `weekend`, a day they never work), away from the quiet days."""
        calendar = self.calendar()
        choices = [
            day
            for day in calendar[low : high + 1]
            if (day.weekday() in habit.workdays) != weekend
            and day not in self.quiet_days
            and day not in habit.absent
        ]
        return self.rng.choice(choices)

    def seen_targets(self, person: str, before: date | None = None) -> set[str]:
        return {
            target
            for day, searches in self.book.get(person, {}).items()
            if before is None or day < before
            for search in searches
            for target in targets_in(search.text)
        }

    def new_mailboxes(self, person: str, count: int) -> list[str]:
        """`count` mailboxes `person` never searched, in this whole history."""
        seen = self.seen_targets(person)
        fresh = [mailbox for mailbox in self.mailboxes if mailbox.lower() not in seen]
        return self.rng.sample(fresh, count)

    def strip_new_targets(self, person: str, day: date) -> None:
        """Drop `person`'s ordinary searches on `day` at mailboxes new to them, so that the
        day's new mailboxes are exactly the planted ones."""
        seen = self.seen_targets(person, before=day)
        kept = []
        for search in self.book.get(person, {}).get(day, []):
            if all(target in seen for target in targets_in(search.text)):
                kept.append(search)
        self.book.setdefault(person, {})[day] = kept

    def clear(self, person: str, days: set[date] | list[date]) -> None:
        for day in days:
            self.book.get(person, {}).pop(day, None)

    def regenerate(self, habit: Habit, days: list[date]) -> None:
        """Write `habit`'s ordinary days again (after a change of habit or a leave)."""
        self.clear(habit.email, days)
        for day in days:
            count = active_count(self.rng, habit, day, self.days)
            self.add(ordinary_searches(self.rng, habit, day, count, self.mailboxes, self.domain))

    def usual(self, person: str, day: date) -> float:
        """The median of the person's active days in the 28 days before `day`."""
        days = self.book.get(person, {})
        counts = sorted(
            len(days[d]) for d in (day - timedelta(days=n) for n in range(1, 29)) if days.get(d)
        )
        return float(counts[len(counts) // 2]) if counts else 1.0
