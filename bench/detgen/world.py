"""One seed's world: three tenants (small, mid-sized, large), each over 16 weeks, with its
searches as Mimecast API 2.0 records and its answer key."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, date, timedelta
from zoneinfo import ZoneInfo

from bench.detgen.activity import active_count, ordinary_searches, tenant_days
from bench.detgen.draft import WARM_UP, Draft
from bench.detgen.labels import INCIDENT_CLASSES, SIZES, SLOW_SIZES, TenantKey
from bench.detgen.negatives import plant_negatives
from bench.detgen.people import staff
from bench.detgen.plant import PLANTERS

DAYS = 112
LAST_DAY = date(2026, 10, 30)
"""A fixed calendar, so that every run of a seed writes the same records."""

TENANTS = (
    # name, size, people choices, domain, zones
    ("brightwell", "small", (20, 35), "brightwell.example", ("Europe/London",)),
    ("harbourline", "mid", (150, 300), "harbourline.example", ("Europe/Berlin", "UTC")),
    ("ostermann", "large", (1000, 2000), "ostermann-group.example", ("America/New_York",)),
)
SHARE = {"small": 5, "mid": 16}
"""Incidents per tenant of each size (the large tenant takes the rest)."""


@dataclass
class GeneratedTenant:
    key: TenantKey
    records: list[dict[str, object]]


def plan(rng: random.Random) -> dict[str, list[tuple[str, float]]]:
    """Every (class, size) once, shared out between the tenants at random (slow breadth
    to the large one)."""
    pairs = [
        (klass, size)
        for klass in INCIDENT_CLASSES
        for size in (SLOW_SIZES if klass.startswith("slow_") else SIZES)
    ]
    rng.shuffle(pairs)
    # a month of new mailboxes every day needs a few hundred mailboxes: the large tenant
    pairs.sort(key=lambda pair: pair[0] == "slow_breadth")
    small, mid = SHARE["small"], SHARE["small"] + SHARE["mid"]
    return {"small": pairs[:small], "mid": pairs[small:mid], "large": pairs[mid:]}


def _calendar_days(rng: random.Random, first: date) -> tuple[set[date], date]:
    weekdays = [first + timedelta(days=n) for n in range(30, DAYS - 8)]
    weekdays = [d for d in weekdays if d.weekday() < 5]
    holidays = set(rng.sample(weekdays[: len(weekdays) // 2], 1) + rng.sample(weekdays[-30:], 1))
    late = first + timedelta(days=WARM_UP + 4)
    busy = rng.choice(
        [d for d in weekdays if d >= late and not {d, d - timedelta(days=1)} & holidays]
    )
    return holidays, busy


def tenant(seed: int, spec: tuple, incidents: list[tuple[str, float]]) -> GeneratedTenant:
    name, size, people_choices, domain, zones = spec
    rng = random.Random(f"detgen:{seed}:{name}")
    first = LAST_DAY - timedelta(days=DAYS - 1)
    people = rng.choice(people_choices)
    zone = rng.choice(zones)
    habits, mailboxes = staff(rng, size, people, domain)
    holidays, busy = _calendar_days(rng, first)
    days = tenant_days(rng, first, LAST_DAY, holidays, busy)
    key = TenantKey(name, zone, first, LAST_DAY, {e: h.role for e, h in habits.items()})
    draft = Draft(rng, key, habits, mailboxes, domain, days)
    draft.quiet_days = holidays | {h + timedelta(days=1) for h in holidays} | {busy}
    for day in draft.calendar():
        for habit in habits.values():
            count = active_count(rng, habit, day, days)
            if count:
                draft.add(ordinary_searches(rng, habit, day, count, mailboxes, domain))
    plant_negatives(draft, size)
    for klass, size_x in incidents:
        PLANTERS[klass](draft, size_x)
    return GeneratedTenant(key, records_of(draft, ZoneInfo(zone)))


def records_of(draft: Draft, zone: ZoneInfo) -> list[dict[str, object]]:
    """The searches as API records (createTime in UTC, `+0000`), oldest first."""
    records = []
    for days in draft.book.values():
        for searches in days.values():
            for search in searches:
                utc = search.at.replace(tzinfo=zone).astimezone(UTC)
                records.append(
                    {
                        "createTime": utc.strftime("%Y-%m-%dT%H:%M:%S+0000"),
                        "emailAddr": search.person,
                        "source": search.source,
                        "searchText": search.text,
                        "searchReason": search.reason,
                        "description": search.description,
                    }
                )
    records.sort(key=lambda record: (str(record["createTime"]), str(record["emailAddr"])))
    return records


def world(seed: int, only: tuple[str, ...] = ()) -> list[GeneratedTenant]:
    """The labelled tenants of `seed` (those named in `only`, else all three); the same
    seed always gives the same records, whichever tenants are asked for."""
    shares = plan(random.Random(f"detgen:{seed}:plan"))
    return [tenant(seed, spec, shares[spec[1]]) for spec in TENANTS if not only or spec[0] in only]
