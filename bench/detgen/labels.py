"""The answer key of the independent generator: what was planted where, kept apart from the
records so that the detector can only ever see the records."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

SIZES = (0.5, 0.75, 1.0, 1.5, 2.0)
"""Incident sizes, as multiples of today's thresholds (sizing only, see THRESHOLDS)."""

SLOW_SIZES = (0.5, 0.75, 1.0)
"""Slow incidents stay at or under one day's threshold a day: above it they are not slow."""

THRESHOLDS = {
    "volume_spike": 30,  # and >= 4x the person's usual day: see plant.spike_total
    "insider_on_busy_day": 30,  # a volume spike on the tenant's busy day
    "off_hours": 10,
    "weekend": 10,
    "sensitive_terms": 2,
    "breadth": 12,
    "dormant_wakes": 20,
    "unknown_searcher": 40,
    "slow_breadth": 12,
    "slow_sensitive": 2,
}
"""Today's thresholds, one day's worth, written down from the issue's brief for sizing only
(the detector's own code was not read): the generator never looks at the detector."""

INCIDENT_CLASSES = tuple(THRESHOLDS)

NEGATIVE_CLASSES = (
    "weekly_report",
    "team_incident_response",
    "return_from_leave",
    "new_hire",
    "new_compliance_staff",
    "habit_change",
    "night_shift_move",
    "public_holiday",
    "busy_tenant_day",
)


@dataclass(frozen=True)
class Incident:
    """Something an analyst would want to hear about: one person, first to last local day.

    `count` is the measured quantity the size is about (searches for volume, off-hours,
    weekend, dormant and unknown; searches with a sensitive phrase; mailboxes new to the
    person for breadth), summed over the days for slow incidents; `size` is the planned
    multiple of the threshold (count = size x threshold for one-day classes, and
    count = size x threshold x days for slow ones).
    """

    tenant: str
    person: str
    first_day: date
    last_day: date
    klass: str
    size: float
    count: int
    days: tuple[date, ...] = ()


@dataclass(frozen=True)
class HardNegative:
    """Unusual but innocent: whatever fires on these people and days is a false alert."""

    tenant: str
    klass: str
    persons: tuple[str, ...]
    first_day: date
    last_day: date


@dataclass
class TenantKey:
    """One labelled tenant: its people (address -> role), its zone, what was planted."""

    name: str
    zone: str
    first_day: date
    last_day: date
    roles: dict[str, str] = field(default_factory=dict)
    incidents: list[Incident] = field(default_factory=list)
    negatives: list[HardNegative] = field(default_factory=list)
