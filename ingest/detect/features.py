"""What the rules look at: per-user searches per local day and hour, read from the rollups
the ingest keeps, and what the day's search texts say (targets, sensitive terms, reasons),
read from the raw rows of the days being scored.

Why two sources: counts are cheap from the rollups (a row per user and hour, whatever the
number of searches), but mailboxes targeted and terms searched live only in the text.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from db.detect_reads import DetectionSearches
from ingest.detect.config import DetectionConfig
from ingest.detect.days import LocalClock, bucket_size, span_bounds, weekday
from ingest.detect.stats import median, percentile
from ingest.detect.vocabulary import CategoryFigures, CategoryHistory, Vocabulary, vocabulary_of

SLOTS = 48
"""Hours of an office day (0–23) and of any other day (24–47)."""


@dataclass
class CountGrid:
    """Searches per user and local day (`counts[user, day - first_day]`), the same split by
    slot (office day or not × local hour) as sparse rows, and when each user first searched."""

    emails: list[str]
    first_day: int
    counts: np.ndarray
    slot_user: np.ndarray
    slot_day: np.ndarray
    slot: np.ndarray
    slot_count: np.ndarray
    first_seen: np.ndarray  # epoch seconds of the user's first search ever stored
    hour_masks: np.ndarray  # users × days: bit h set when the user searched in local hour h

    @property
    def days(self) -> int:
        return int(self.counts.shape[1])

    def slot_rows(self, day: int) -> slice:
        """The slot rows of local day `day` (rows are sorted by day)."""
        lo, hi = np.searchsorted(self.slot_day, [day, day + 1])
        return slice(int(lo), int(hi))


def office_day_flags(days: np.ndarray, config: DetectionConfig) -> np.ndarray:
    """1 where a local day number is one of the configured office days."""
    from ingest.detect.config import WEEKDAY_NAMES

    office = np.array([name in config.general.office_days for name in WEEKDAY_NAMES])
    return office[weekday(days)].astype(np.int64)


def _columns(rows: Sequence[Any], seconds: int) -> tuple[list[str], np.ndarray, np.ndarray]:
    if not rows:
        return [], np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    emails, buckets, counts = zip(*rows, strict=True)
    return (
        list(emails),
        np.array(buckets, dtype=np.int64) * seconds,
        np.array([int(count) for count in counts], dtype=np.int64),
    )


def load_counts(
    searches: DetectionSearches,
    tenant: str,
    tz: str,
    first_day: int,
    last_day: int,
    config: DetectionConfig,
) -> CountGrid:
    """Every user of `tenant`'s searches per local day (and slot) from `first_day` to
    `last_day`: a tenant's people are compared with each other only."""
    lower, upper = span_bounds(first_day, last_day, tz)
    seconds = bucket_size(tz, lower, upper)
    rows = searches.detection_buckets(tenant, lower, upper, seconds, per_user=True)
    emails, buckets, counts = _columns(rows, seconds)
    first_seen = searches.detection_first_seen(tenant)
    names = sorted(set(emails) | set(first_seen))
    index = {email: position for position, email in enumerate(names)}
    users = np.fromiter((index[email] for email in emails), dtype=np.int64, count=len(emails))
    day, hour = LocalClock(tz, lower, upper).local_day_and_hour(buckets)
    grid = np.zeros((len(names), last_day - first_day + 1), dtype=np.int64)
    inside = (day >= first_day) & (day <= last_day)
    users, day, hour, counts = users[inside], day[inside], hour[inside], counts[inside]
    np.add.at(grid, (users, day - first_day), counts)
    slot = (1 - office_day_flags(day, config)) * 24 + hour
    masks = np.zeros_like(grid, dtype=np.int64)
    np.bitwise_or.at(masks, (users, day - first_day), np.left_shift(1, hour))
    order = np.argsort(day, kind="stable")
    return CountGrid(
        emails=names,
        first_day=first_day,
        counts=grid,
        slot_user=users[order],
        slot_day=day[order],
        slot=slot[order],
        slot_count=counts[order],
        first_seen=np.array([first_seen.get(email, np.inf) for email in names]),
        hour_masks=masks,
    )


# --- texts ------------------------------------------------------------------------------


@dataclass
class TextDay:
    """One user's searches on one local day, as far as the text rules care."""

    searches: int = 0
    targets: set[str] = field(default_factory=set)
    sensitive: int = 0
    terms: set[str] = field(default_factory=set)
    term_searches: list[frozenset[str]] = field(default_factory=list)
    categories: dict[str, list[frozenset[str]]] = field(default_factory=dict)
    weak_reason: int = 0
    first: float = float("inf")
    last: float = float("-inf")


class TextReader:
    """Finds targets, sensitive terms and weak reasons in search texts."""

    def __init__(self, config: DetectionConfig) -> None:
        rules = config.rules
        fields_pattern = "|".join(re.escape(name) for name in rules.breadth.target_fields)
        self._targets = re.compile(rf"\[\s*(?:{fields_pattern})\s*:\s*([^\]\s]+)\s*\]", re.I)
        sensitive = rules.sensitive_terms
        self._terms = Vocabulary(vocabulary_of(sensitive.vocabulary, sensitive.terms))
        reason = rules.missing_reason
        self._reason_enabled = reason.enabled
        self._boilerplate = {text.strip().lower() for text in reason.boilerplate}
        self._min_length = reason.min_length

    def add(self, day: TextDay, text: str | None, reason: str | None, moment: float) -> None:
        day.searches += 1
        day.first = min(day.first, moment)
        day.last = max(day.last, moment)
        if text:
            if "[" in text:
                day.targets.update(match.lower() for match in self._targets.findall(text))
            found = self._terms.find(text)
            if found:
                terms = frozenset().union(*found.values())
                day.sensitive += 1
                day.terms |= terms
                day.term_searches.append(terms)
                for category, literals in found.items():
                    day.categories.setdefault(category, []).append(frozenset(literals))
        if self._reason_enabled:
            given = (reason or "").strip().lower()
            if len(given) < self._min_length or given in self._boilerplate:
                day.weak_reason += 1


def iter_text_days(
    searches: DetectionSearches,
    tenant: str,
    tz: str,
    first_day: int,
    last_day: int,
    config: DetectionConfig,
    users: Sequence[str] | None = None,
    chunk_rows: int = 50_000,
) -> Iterator[tuple[int, dict[str, TextDay]]]:
    """(local day, {user: TextDay}) for every day from `first_day` to `last_day` that has
    searches, oldest first; only `users`' rows when given (read by their index). The rows
    come from the search store (SQL or ClickHouse: `detection_searches`)."""
    if users is not None and not users:
        return
    lower, upper = span_bounds(first_day, last_day, tz)
    clock = LocalClock(tz, lower, upper)
    reader = TextReader(config)
    current: int | None = None
    days: dict[str, TextDay] = {}
    chunks = searches.detection_searches(
        tenant,
        lower,
        upper,
        users=users,
        blank_text=config.rules.missing_reason.enabled,
        chunk_rows=chunk_rows,
    )
    for chunk in chunks:
        moments = np.fromiter((row[0].timestamp() for row in chunk), dtype=np.float64)
        local_days = clock.local_seconds(moments.astype(np.int64)) // 86400
        for row, moment, local_day in zip(chunk, moments, local_days.tolist(), strict=True):
            if local_day != current:
                if current is not None and days:
                    yield current, days
                current, days = local_day, {}
            day = days.get(row[1])
            if day is None:
                day = days[row[1]] = TextDay()
            reader.add(day, row[2], row[3], float(moment))
    if current is not None and days:
        yield current, days


@dataclass
class TextFigures:
    """What the history says about one user's texts on one day."""

    new_targets: int
    usual_new_targets: float
    history_text_days: int
    prior_sensitive_days: int
    new_term_searches: int
    new_terms: tuple[str, ...]
    categories: dict[str, CategoryFigures] = field(default_factory=dict)
    new_target_names: tuple[str, ...] = ()
    median_new_targets: float = 0.0  # read by the risk score, which a 90th percentile
    # would forget after three days of a slow incident


class TextHistory:
    """Who targeted which mailbox when, and who searched sensitive terms on which days, fed
    day by day in order; says what is new for a user on the day it is fed."""

    def __init__(self, config: DetectionConfig) -> None:
        general = config.general
        self._history = general.history_days
        self._baseline = general.baseline_days
        self._min_new_targets = config.rules.breadth.min_new_targets
        self._target_seen: dict[str, dict[str, int]] = {}
        self._new_per_day: dict[str, dict[int, int]] = {}
        self._sensitive_days: dict[str, list[int]] = {}
        self._term_seen: dict[str, dict[str, int]] = {}
        self._categories = CategoryHistory(general.history_days)

    def feed(self, day: int, users: dict[str, TextDay]) -> dict[str, TextFigures]:
        figures: dict[str, TextFigures] = {}
        oldest = day - self._history
        for email, today in users.items():
            seen = self._target_seen.setdefault(email, {})
            fresh = sorted(t for t in today.targets if seen.get(t, -(10**9)) < oldest)
            new = len(fresh)
            per_day = self._new_per_day.setdefault(email, {})
            recent = [n for d, n in per_day.items() if day - self._baseline <= d < day]
            for stale in [d for d in per_day if d < day - self._baseline]:
                del per_day[stale]
            sensitive = self._sensitive_days.setdefault(email, [])
            while sensitive and sensitive[0] < oldest:
                sensitive.pop(0)
            known = self._term_seen.setdefault(email, {})
            new_terms = {t for t in today.terms if known.get(t, -(10**9)) < oldest}
            figures[email] = TextFigures(
                new_targets=new,
                # only read when the breadth rule could fire: a percentile per user-day is slow
                usual_new_targets=(
                    percentile(recent, 0.9)
                    if recent and new >= min(self._min_new_targets, 2)  # 2: risk signal
                    else 0.0
                ),
                history_text_days=len(recent),
                prior_sensitive_days=len(sensitive),
                new_term_searches=sum(1 for terms in today.term_searches if terms & new_terms),
                new_terms=tuple(sorted(new_terms)),
                categories=self._categories.feed(email, day, today.categories),
                new_target_names=tuple(fresh),
                median_new_targets=median(recent) if recent and new >= 2 else 0.0,
            )
            for term in today.terms:
                known[term] = day
            per_day[day] = new
            for target in today.targets:
                seen[target] = day
            if today.sensitive:
                sensitive.append(day)
        return figures
