"""The labelled tenant's harder incidents (issue 17), planted after the others from a
random stream of their own, so that adding them changes none of the other searches.

- Slow breadth: six mailboxes new to an office user every weekday for a month (no day
  reaches breadth's threshold).
- Slow sensitive: one search a weekday for a month for HR or M&A words, in wording the
  old flat term list did not know (compensation bands, laid off, M&A, due diligence).
- First M&A search by a compliance officer, whose routine is HR and legal words.
"""

from __future__ import annotations

import random
from datetime import date, timedelta

from ingest.simulator.tenant_people import OFFICE, Habit, Incident, Writer, second_in

SLOW_WEEKDAYS = 21
"""A month of weekdays."""
NEW_A_DAY = 6
SLOW_WORDS = (
    "compensation bands 2026",
    "people laid off in Q4",
    "M&A shortlist",
    "due diligence Falcon",
    "redundancies by team",
    "pay rise letters",
    "term sheet draft",
    "headcount reduction plan",
)
FIRST_MNA = ("due diligence Project Falcon", "M&A pipeline", "takeover bid Falcon")


def day_date(day: int) -> date:
    return date(1970, 1, 1) + timedelta(days=day)


def _weekdays(first: int, count: int) -> list[int]:
    days: list[int] = []
    day = first
    while len(days) < count:
        if (day + 3) % 7 < 5:
            days.append(day)
        day += 1
    return days


def plant_slow(
    seed: str,
    writer: Writer,
    habits: dict[str, Habit],
    planted: dict[tuple[str, date], Incident],
    first_day: int,
    days: int,
) -> list[Incident]:
    """Plant the slow and compliance incidents; returns them for the answer key."""
    rng = random.Random(f"slow-incidents:{seed}")
    hosts = {email for email, _ in planted}
    office = sorted(e for e, h in habits.items() if h.kind == "office" and e not in hosts)
    compliance = sorted(e for e, h in habits.items() if h.kind == "compliance")
    rng.shuffle(office)
    incidents: list[Incident] = []
    latest = days - 2 - (SLOW_WEEKDAYS * 7) // 5
    if len(office) >= 2 and latest > 45:
        breadth_host, words_host = office.pop(), office.pop()
        spans = [_weekdays(first_day + rng.randrange(45, latest), SLOW_WEEKDAYS) for _ in "ab"]
        fresh = rng.sample(writer.directory, NEW_A_DAY * SLOW_WEEKDAYS)
        for index, day in enumerate(spans[0]):
            for target in fresh[index * NEW_A_DAY : (index + 1) * NEW_A_DAY]:
                writer.search(breadth_host, second_in(rng, day, OFFICE), f"[User : {target}]", "")
        for index, day in enumerate(spans[1]):
            text = SLOW_WORDS[index % len(SLOW_WORDS)]
            writer.search(words_host, second_in(rng, day, OFFICE), text, "office")
        for host, span, size in (
            (breadth_host, spans[0], NEW_A_DAY * SLOW_WEEKDAYS),
            (words_host, spans[1], SLOW_WEEKDAYS),
        ):
            incidents.append(
                Incident(
                    "accumulated_risk", host, day_date(span[-1]), float(size), day_date(span[0])
                )
            )
    if compliance:
        officer = rng.choice(compliance)
        day = first_day + rng.randrange(60, days - 2)
        while (day + 3) % 7 >= 5:
            day -= 1
        for text in FIRST_MNA:
            writer.search(officer, second_in(rng, day, OFFICE), text, "office")
        incidents.append(Incident("sensitive_terms", officer, day_date(day), len(FIRST_MNA)))
    return incidents
