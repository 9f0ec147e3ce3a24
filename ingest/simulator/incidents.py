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

import random
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

from ingest.simulator.tenant_people import (
    MAGNITUDES,
    OFFICE,
    SENSITIVE_TEXT,
    AnswerKey,
    Habit,
    Incident,
    LabelledTenant,
    Writer,
    day_date,
    fresh_name,
    poisson,
    second_in,
    tenant_habits,
)


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
    habits = tenant_habits(rng, people, days, system_rate)
    writer = Writer(rng, directory)
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
            for _ in range(max(1, poisson(rng, habit.rate * factor))):
                writer.search(
                    email, second_in(rng, day, habit.hours), writer.text(email, habit), habit.kind
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
        surge_day=day_date(first_day + surge),
        negatives=negatives,
        first_day=day_date(first_day),
        last_day=last,
    )
    return LabelledTenant(writer.records, key, habits)


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
                incidents.append(Incident(family, email, day_date(first_day + day), magnitude))
    taken = set(habits)
    for magnitude in MAGNITUDES["peer_outlier"]:
        for _ in range(repeats):
            email = fresh_name(rng, taken, "corp.example")
            day = _weekday(rng, first_day, 45, days - 2, surge)
            habits[email] = Habit(
                "joiner", 3, 1.0, 0.0, OFFICE, first_day=day - 5, last_day=day - 1
            )
            incidents.append(Incident("peer_outlier", email, day_date(first_day + day), magnitude))
    for magnitude in MAGNITUDES["dormant_searcher"]:
        for variant in ("silent", "never")[: max(1, repeats)]:
            email = fresh_name(rng, taken, "corp.example")
            day = _weekday(rng, first_day, 75, days - 2, surge)
            if variant == "silent":
                habits[email] = Habit(
                    "dormant", 4, 0.8, 0.0, OFFICE, first_day=0, last_day=day - 36
                )
            incidents.append(
                Incident("dormant_searcher", email, day_date(first_day + day), magnitude)
            )
    return incidents


def _with(habit: Habit, **changes: object) -> Habit:
    return replace(habit, **changes)  # type: ignore[arg-type]


def _weekday(rng: random.Random, first_day: int, low: int, high: int, avoid: int) -> int:
    while True:
        day = rng.randrange(low, high)
        if (first_day + day + 3) % 7 < 5 and day != avoid:
            return day


def _plant(
    rng: random.Random, writer: Writer, habit: Habit, incident: Incident, peers: float
) -> Incident:
    """Add the incident's searches; returns the incident with its magnitude in searches."""
    day = (incident.day - date(1970, 1, 1)).days
    email, family, size = incident.email, incident.family, incident.magnitude
    if family == "volume_spike":
        count = round(size * habit.rate)
        for _ in range(count):
            writer.search(email, second_in(rng, day, OFFICE), writer.text(email, habit), "office")
    elif family == "peer_outlier":
        count = round(size * peers)
        for _ in range(count):
            writer.search(email, second_in(rng, day, OFFICE), writer.text(email, habit), "office")
    elif family in ("unusual_time", "dormant_searcher"):
        count = round(size)
        hours = tuple(1.0 if 1 <= hour < 4 else 0.0 for hour in range(24))
        for _ in range(count):
            chosen = hours if family == "unusual_time" else OFFICE
            writer.search(email, second_in(rng, day, chosen), writer.text(email, habit), "office")
    elif family == "breadth":
        count = round(size)
        fresh = rng.sample(writer.directory, count)
        for target in fresh:
            writer.search(email, second_in(rng, day, OFFICE), f"[User : {target}]", "office")
    else:
        count = round(size)
        for _ in range(count):
            writer.search(email, second_in(rng, day, OFFICE), rng.choice(SENSITIVE_TEXT), "office")
    return Incident(family, email, incident.day, float(count))
