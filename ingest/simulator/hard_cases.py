"""The harder cases of issue 17 added to a labelled tenant (`labelled_tenant(hard=True)`):
small incidents that counts miss, and ordinary weeks that counts flood on.

Incidents: four searches at 02:00 by a weekday-only person, a Saturday of ordinary work by
another, a rare searcher's burst of 150, an insider at ten times their usual on the day an
incident-response team of 24 surges together. Hard negatives (each a class of its own):
the other weekday-only people, a weekly Monday report, the team, a permanent move to a
night shift. Every person here is new to the tenant and drawn from a generator of its
own, so the tenant without `hard` is unchanged.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field

from ingest.simulator.tenant_people import (
    OFFICE,
    Habit,
    Incident,
    Writer,
    day_date,
    fresh_name,
    poisson,
)

NIGHT_HOURS = tuple(1.0 if 0 <= hour < 5 else 0.0 for hour in range(24))


@dataclass
class HardCases:
    incidents: list[Incident] = field(default_factory=list)
    negatives: dict[str, list[str]] = field(default_factory=dict)
    habits: dict[str, Habit] = field(default_factory=dict)


def plant_hard_cases(seed: int, writer: Writer, first_day: int, days: int, avoid: int) -> HardCases:
    """Write the hard cases' searches over [first_day, first_day + days) with `writer`."""
    rng = random.Random(f"hard-cases:{seed}")
    taken = {str(record["emailAddr"]) for record in writer.records}
    out = HardCases()

    def person(kind: str, habit: Habit) -> str:
        email = fresh_name(rng, taken)
        out.habits[email] = habit
        out.negatives.setdefault(kind, []).append(email)
        return email

    def day_of(weekday_wanted: Callable[[int], bool], low: int = 45) -> int:
        while True:
            index = rng.randrange(low, days - 2)
            if weekday_wanted((first_day + index + 3) % 7) and index != avoid:
                return index

    def searches(email: str, index: int, count: int, hours: tuple[float, ...] = OFFICE) -> None:
        for _ in range(count):
            hour = rng.choices(range(24), weights=hours)[0]
            moment = (first_day + index) * 86400 + hour * 3600 + rng.randrange(3600)
            writer.search(email, moment, "invoice", "office")

    def history(email: str, habit: Habit, until: int = 10**6, monday_extra: int = 0) -> None:
        for index in range(min(days, until)):
            weekday = (first_day + index + 3) % 7
            if rng.random() >= (habit.weekend if weekday >= 5 else habit.weekday):
                continue
            count = max(1, poisson(rng, habit.rate * rng.gammavariate(6, 1 / 6)))
            searches(email, index, count + (monday_extra if weekday == 0 else 0))

    def incident(family: str, email: str, index: int, count: int) -> None:
        out.incidents.append(Incident(family, email, day_date(first_day + index), float(count)))

    weekday_only = [
        person("weekday_only", Habit("weekday_only", rng.uniform(5, 15), 0.85, 0.0, OFFICE))
        for _ in range(8)
    ]
    for email in weekday_only:
        history(email, out.habits[email])
    night = day_of(lambda weekday: weekday < 5)
    searches(weekday_only[0], night, 4, NIGHT_HOURS)
    incident("unusual_time", weekday_only[0], night, 4)
    saturday = day_of(lambda weekday: weekday == 5)
    count = max(3, round(out.habits[weekday_only[1]].rate))
    searches(weekday_only[1], saturday, count)
    incident("unusual_time", weekday_only[1], saturday, count)

    rare = [person("rare", Habit("rare", rng.uniform(2, 8), 0.12, 0.0, OFFICE)) for _ in range(4)]
    for email in rare:
        history(email, out.habits[email])
    burst = day_of(lambda weekday: weekday < 5)
    searches(rare[0], burst, 150)
    incident("peer_outlier", rare[0], burst, 150)

    for _ in range(2):
        habit = Habit("weekly_report", rng.uniform(5, 12), 0.9, 0.0, OFFICE)
        email = person("weekly_report", habit)
        history(email, out.habits[email], monday_extra=120)

    team = [
        person("team_surge", Habit("team_surge", rng.uniform(5, 15), 0.85, 0.02, OFFICE))
        for _ in range(24)
    ]
    surge = day_of(lambda weekday: weekday < 5)
    for email in team:
        history(email, out.habits[email])
        searches(email, surge, round(out.habits[email].rate * rng.uniform(3, 5)))
    insider = weekday_only[2]
    count = round(10 * out.habits[insider].rate)
    searches(insider, surge, count)
    incident("volume_spike", insider, surge, count)

    habit = Habit("moved_to_nights", rng.uniform(5, 15), 0.85, 0.0, OFFICE)
    mover = person("moved_to_nights", habit)
    moved = rng.randrange(50, days - 20)
    history(mover, out.habits[mover], until=moved)
    for index in range(moved, days):
        if rng.random() < 0.85:
            searches(mover, index, max(1, poisson(rng, out.habits[mover].rate)), NIGHT_HOURS)
    for email in (weekday_only[0], weekday_only[1], weekday_only[2], rare[0]):
        out.negatives["weekday_only" if email in weekday_only else "rare"].remove(email)
    return out
