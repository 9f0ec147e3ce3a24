"""The independent labelled generator (bench/detgen): the same seed writes the same
records, and its answer key holds: every incident's searches are in the records, with the
size the label says, and every hard negative's people searched on its days."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bench.detgen import GeneratedTenant, world
from bench.detgen.draft import targets_in
from bench.detgen.labels import SIZES, SLOW_SIZES, THRESHOLDS, Incident
from bench.detgen.vocab import ROUTINE, sensitive_categories_in

SEED = 7


@pytest.fixture(scope="module")
def tenants() -> list[GeneratedTenant]:
    return world(SEED)


@pytest.fixture(scope="module")
def searches(tenants: list[GeneratedTenant]) -> list[dict[str, dict[date, Day]]]:
    return [by_person_day(generated) for generated in tenants]


Day = list[tuple[int, str]]  # (local hour, search text) of one person's day


def by_person_day(generated: GeneratedTenant) -> dict[str, dict[date, Day]]:
    zone = ZoneInfo(generated.key.zone)
    found: dict[str, dict[date, Day]] = defaultdict(lambda: defaultdict(list))
    for record in generated.records:
        stamp = str(record["createTime"]).replace("+0000", "+00:00")
        local = datetime.fromisoformat(stamp).astimezone(zone)
        found[str(record["emailAddr"])][local.date()].append(
            (local.hour, str(record["searchText"]))
        )
    return found


def new_targets(days: dict[date, Day], day: date) -> set[str]:
    before = {
        t for d, day_ in days.items() if d < day for _, text in day_ for t in targets_in(text)
    }
    return {t for _, text in days.get(day, []) for t in targets_in(text)} - before


def snooping(role: str, texts: list[str]) -> int:
    return sum(1 for text in texts if sensitive_categories_in(text) - set(ROUTINE[role]))


def measured(incident: Incident, days: dict[date, Day], role: str) -> int:
    """The incident's quantity, read back from the records alone."""
    klass, first = incident.klass, incident.first_day
    if klass in ("volume_spike", "insider_on_busy_day", "weekend", "dormant_wakes"):
        return len(days[first])
    if klass == "unknown_searcher":
        assert set(days) == {first}, "an unknown searcher searched on one day only"
        return len(days[first])
    if klass == "off_hours":
        return sum(1 for hour, _ in days[first] if 1 <= hour <= 4)
    if klass == "breadth":
        return len(new_targets(days, first))
    if klass == "slow_breadth":
        return sum(len(new_targets(days, day)) for day in incident.days)
    if klass == "sensitive_terms":
        return snooping(role, [text for _, text in days[first]])
    assert klass == "slow_sensitive", klass
    return sum(snooping(role, [text for _, text in days[day]]) for day in incident.days)


def usual_day(days: dict[date, Day], day: date) -> float:
    """The median of the person's active days among the 28 before `day`."""
    counts = sorted(len(days[d]) for d in days if day - timedelta(days=28) <= d < day and days[d])
    return float(counts[len(counts) // 2]) if counts else 1.0


def planned(incident: Incident) -> int:
    threshold = THRESHOLDS[incident.klass]
    if incident.klass.startswith("slow_"):
        return round(incident.size * threshold * len(incident.days))
    if incident.klass == "sensitive_terms":
        return max(1, round(incident.size * threshold))
    return round(incident.size * threshold)


def test_the_same_seed_writes_the_same_records_and_labels(tenants: list[GeneratedTenant]) -> None:
    again = world(SEED, only=("harbourline",))[0]
    assert again.records == tenants[1].records
    assert again.key == tenants[1].key
    other = world(SEED + 1, only=("brightwell",))[0]
    assert other.records != tenants[0].records


def test_tenants_span_20_to_2000_people_in_their_own_zones(tenants: list[GeneratedTenant]) -> None:
    people = [sum(1 for role in t.key.roles.values() if role != "service") for t in tenants]
    assert 20 <= people[0] <= 40 and 150 <= people[1] <= 310 and 1000 <= people[2] <= 2010
    assert len({t.key.zone for t in tenants} - {"UTC"}) >= 2


def test_every_class_is_planted_at_every_size(tenants: list[GeneratedTenant]) -> None:
    planted = {(i.klass, i.size) for t in tenants for i in t.key.incidents}
    expected = {
        (klass, size)
        for klass in THRESHOLDS
        for size in (SLOW_SIZES if klass.startswith("slow_") else SIZES)
    }
    assert planted == expected


def test_each_incident_holds_the_searches_and_size_its_label_says(
    tenants: list[GeneratedTenant], searches: list[dict[str, dict[date, Day]]]
) -> None:
    for generated, records in zip(tenants, searches, strict=True):
        for incident in generated.key.incidents:
            days = records[incident.person]
            role = generated.key.roles.get(incident.person, "unknown")
            assert measured(incident, days, role) == incident.count, incident
            if incident.klass in ("volume_spike", "insider_on_busy_day"):
                usual = usual_day(days, incident.first_day)
                assert incident.count == round(incident.size * max(30, 4 * usual)), incident
            else:
                assert incident.count == planned(incident), incident


def test_incidents_are_new_behaviour_for_their_person(
    tenants: list[GeneratedTenant], searches: list[dict[str, dict[date, Day]]]
) -> None:
    """What makes each class an incident is absent from the person's days before it."""
    for generated, records in zip(tenants, searches, strict=True):
        for incident in generated.key.incidents:
            days, first = records[incident.person], incident.first_day
            earlier = [d for d in days if d < first]
            if incident.klass == "dormant_wakes":
                assert earlier and max(earlier) < first - timedelta(days=28), incident
            if incident.klass == "off_hours":
                assert all(not 1 <= h <= 4 for d in earlier for h, _ in days[d]), incident
            if incident.klass == "weekend":
                assert first.weekday() >= 5, incident
                assert all(d.weekday() < 5 for d in earlier), incident
            if incident.klass in ("sensitive_terms", "slow_sensitive"):
                role = generated.key.roles[incident.person]
                assert not any(snooping(role, [t for _, t in days[d]]) for d in earlier)
            if incident.klass == "insider_on_busy_day":
                busy = [n for n in generated.key.negatives if n.klass == "busy_tenant_day"]
                assert busy and busy[0].first_day == first, incident


def test_hard_negatives_are_searches_of_their_people_on_their_days(
    tenants: list[GeneratedTenant], searches: list[dict[str, dict[date, Day]]]
) -> None:
    for generated, records in zip(tenants, searches, strict=True):
        classes = {n.klass for n in generated.key.negatives}
        assert {
            "weekly_report",
            "return_from_leave",
            "public_holiday",
            "busy_tenant_day",
        } <= classes
        for negative in generated.key.negatives:
            if negative.persons == ("*",):
                continue
            for person in negative.persons:
                searched = [
                    d for d in records[person] if negative.first_day <= d <= negative.last_day
                ]
                assert searched, negative
            if negative.klass == "team_incident_response":
                assert 2 <= len(negative.persons) <= 24
            if negative.klass == "weekly_report":
                mondays = [d for d in records[negative.persons[0]] if d.weekday() == 0]
                assert all(len(records[negative.persons[0]][d]) >= 40 for d in mondays)
