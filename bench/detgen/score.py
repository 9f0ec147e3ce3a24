"""Alerts against an answer key: recall by incident size and class, false alerts per
1,000 active user-days overall, per rule and per hard-negative class.

The matching is deliberately loose about rules (they change): an alert for the incident's
tenant and person, on any day from the incident's first to three days after its last,
detects it, whatever its rule. An alert that detects no incident is a false alert; it
belongs to the first hard-negative window, in the key's order, holding its person and day
(the generators list person-specific windows before tenant-wide ones), else to `ordinary`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta

GRACE = timedelta(days=3)
BINS = (0.5, 0.75, 1.0, 1.5, 2.0)
EVERYONE = "*"


@dataclass(frozen=True)
class Planted:
    tenant: str
    person: str
    first_day: date
    last_day: date
    klass: str
    size: float


@dataclass(frozen=True)
class Window:
    tenant: str
    klass: str
    persons: tuple[str, ...]
    first_day: date
    last_day: date

    def holds(self, tenant: str, person: str, day: date) -> bool:
        return (
            tenant == self.tenant
            and self.first_day <= day <= self.last_day
            and (EVERYONE in self.persons or person in self.persons)
        )


@dataclass(frozen=True)
class Fired:
    tenant: str
    person: str
    day: date
    rule: str
    summary: str = ""


@dataclass
class Tally:
    planted: Counter[tuple[str, str]] = field(default_factory=Counter)
    found: Counter[tuple[str, str]] = field(default_factory=Counter)
    active: Counter[str] = field(default_factory=Counter)
    false_by_rule: Counter[str] = field(default_factory=Counter)
    false_by_class: Counter[str] = field(default_factory=Counter)
    missed: list[str] = field(default_factory=list)
    false_examples: list[str] = field(default_factory=list)
    searches: int = 0

    def add(self, other: Tally) -> None:
        for name in ("planted", "found", "active", "false_by_rule", "false_by_class"):
            getattr(self, name).update(getattr(other, name))
        self.missed += other.missed
        self.false_examples += other.false_examples
        self.searches += other.searches

    @property
    def active_total(self) -> int:
        return sum(self.active.values())


def size_bin(size: float) -> str:
    """The nearest of BINS (on a log scale) as `0.5x`, or `>2x` past 2.5x."""
    if size >= 2.5:
        return ">2x"
    nearest = min(BINS, key=lambda b: abs(b - size) / b)
    return f"{nearest:g}x"


def _person(address: str) -> str:
    return address.strip().lower()


def class_of(windows: list[Window], tenant: str, person: str, day: date) -> str:
    for window in windows:
        if window.holds(tenant, person, day):
            return window.klass
    return "ordinary"


def tally(
    planted: Iterable[Planted],
    windows: Iterable[Window],
    fired: Iterable[Fired],
    active_days: Iterable[tuple[str, str, date]],
    label: str = "",
) -> Tally:
    """Score `fired` alerts against `planted` incidents and `windows` of hard negatives;
    `active_days` are the (tenant, person, day) with a search, among the days scored."""
    ordered = [
        Window(w.tenant, w.klass, tuple(map(_person, w.persons)), w.first_day, w.last_day)
        for w in windows
    ]
    result = Tally()
    for tenant, person, day in active_days:
        result.active[class_of(ordered, tenant, _person(person), day)] += 1
    alerts = [Fired(f.tenant, _person(f.person), f.day, f.rule, f.summary) for f in fired]
    matched: set[int] = set()
    for incident in planted:
        key = (incident.klass, size_bin(incident.size))
        result.planted[key] += 1
        hits = [
            n
            for n, alert in enumerate(alerts)
            if alert.tenant == incident.tenant
            and alert.person == _person(incident.person)
            and incident.first_day <= alert.day <= incident.last_day + GRACE
        ]
        matched.update(hits)
        if hits:
            result.found[key] += 1
        else:
            result.missed.append(
                f"{label}{incident.tenant}: {incident.klass} {key[1]} {incident.person} "
                f"{incident.first_day}..{incident.last_day}"
            )
    for n, alert in enumerate(alerts):
        if n in matched:
            continue
        klass = class_of(ordered, alert.tenant, alert.person, alert.day)
        result.false_by_rule[alert.rule] += 1
        result.false_by_class[klass] += 1
        result.false_examples.append(
            f"{label}{alert.tenant}: {alert.rule} {alert.person} ({klass}) {alert.day}: "
            f"{alert.summary}"
        )
    return result


def rate(count: int, days: int) -> str:
    """False alerts per 1,000 active user-days, or a dash when there were no such days."""
    return f"{1000 * count / days:.2f}" if days else "—"
