"""`python -m ingest detect`: score every complete local day not yet scored, store alerts.

A day is complete once the ingest's cursor, less the overlap it re-reads for late events
(LOOKBACK_SECONDS), has passed its end. The first run starts `warmup_days` after the first
stored search, so every rule has some history; later runs start the day after the last
scored one. Alerts and the "scored through" mark are written in one transaction per chunk
of days, and alerts are keyed one per tenant, user, rule and day, so a second run, or a
run cut short and repeated, changes nothing.

Texts: a long run streams every search text once, in time order; a run of a few new days
reads those days' texts, and the history of only the few users whose day could fire a text
rule (by the user index), which keeps a new day well under a second.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
from sqlalchemy import Engine

from db.alerts import NewAlert, evidence_url, insert_alerts
from db.rollups import data_span
from db.scope import TenantScope
from db.state.detection import scored_through, set_scored_through
from ingest.detect.config import DetectionConfig
from ingest.detect.content import score_content
from ingest.detect.counts import DayContext, score_counts, tenant_mood
from ingest.detect.days import day_bounds, day_date, day_number, local_day_of
from ingest.detect.features import (
    CountGrid,
    TextDay,
    TextFigures,
    TextHistory,
    iter_text_days,
    load_counts,
)
from ingest.detect.finding import Finding
from ingest.detect.risk import RiskLedger, accumulate
from ingest.detect.timing import score_unusual_time
from ingest.store import Store

log = logging.getLogger("ingest.detect")

CHUNK_DAYS = 61
"""Days scored and committed together on a long run."""
FEW_DAYS = 7
"""Up to this many days, texts are read for the few users who could fire a text rule."""


@dataclass
class DetectResult:
    days_scored: int = 0
    first_day: str | None = None
    last_day: str | None = None
    alerts_found: int = 0
    alerts_new: int = 0
    seconds: float = 0.0
    reason: str = ""

    def line(self, tenant: str) -> str:
        """One line for `tenant`, e.g. `detect acme: scored 1 day (2026-11-30): 3 alerts, …`."""
        if not self.days_scored:
            return f"detect {tenant}: nothing to score ({self.reason})"
        span = (
            self.first_day
            if self.first_day == self.last_day
            else f"{self.first_day} → {self.last_day}"
        )
        return (
            f"detect {tenant}: scored {self.days_scored} day{'s' if self.days_scored != 1 else ''} "
            f"({span}): {self.alerts_found} alerts, {self.alerts_new} new, "
            f"in {self.seconds:.1f} s"
        )


def scoring_range(
    engine: Engine,
    tenant: str,
    tz: str,
    config: DetectionConfig,
    lookback_seconds: int,
    through: date | None = None,
) -> tuple[int, int] | str:
    """(first, last) local day numbers to score now, or why there is nothing to score."""
    with engine.connect() as conn:
        done = scored_through(conn, tenant)
        first_search, _ = data_span(conn, TenantScope.one(tenant))
    if first_search is None:
        return "no searches stored yet"
    cursor = Store(engine, tenant).cursor()
    if cursor is None:
        return "the ingest has not completed a poll yet"
    settled = cursor - timedelta(seconds=lookback_seconds)
    last = local_day_of(settled, tz) - 1
    if through is not None:
        last = min(last, day_number(through))
    if done is not None:
        first = day_number(done) + 1
    else:
        first = local_day_of(first_search, tz) + config.general.warmup_days
    if first > last:
        return f"no complete day after {day_date(first - 1).isoformat()} yet"
    return first, last


def detect(
    engine: Engine,
    tenant: str,
    tz: str,
    config: DetectionConfig,
    lookback_seconds: int = 0,
    through: date | None = None,
) -> DetectResult:
    """Score every complete day of `tenant` not yet scored (up to `through`, if given);
    store and count the alerts."""
    started = time.perf_counter()
    span = scoring_range(engine, tenant, tz, config, lookback_seconds, through)
    if isinstance(span, str):
        return DetectResult(reason=span)
    first, last = span
    result = DetectResult(
        first_day=day_date(first).isoformat(), last_day=day_date(last).isoformat()
    )
    few = last - first + 1 <= FEW_DAYS
    texts = _TextFeed(engine, tenant, tz, config, first, last, few)
    for chunk_start in range(first, last + 1, CHUNK_DAYS):
        chunk_end = min(last, chunk_start + CHUNK_DAYS - 1)
        findings = score_days(engine, tenant, tz, config, chunk_start, chunk_end, texts)
        alerts = [to_alert(tenant, finding, tz, config) for finding in findings]
        with engine.begin() as conn:
            result.alerts_new += insert_alerts(conn, alerts)
            set_scored_through(conn, tenant, day_date(chunk_end))
        result.alerts_found += len(alerts)
        result.days_scored += chunk_end - chunk_start + 1
    result.seconds = time.perf_counter() - started
    return result


def score_days(
    engine: Engine,
    tenant: str,
    tz: str,
    config: DetectionConfig,
    first: int,
    last: int,
    texts: _TextFeed,
) -> list[Finding]:
    general = config.general
    history = max(general.baseline_days, general.dormant_days)
    grid = load_counts(engine, tenant, tz, first - history, last, config)
    system = np.array([config.is_system(email) for email in grid.emails], dtype=bool)
    findings: list[Finding] = []
    for day in range(first, last + 1):
        lower, upper = day_bounds(day, tz)
        column = day - grid.first_day
        mood = tenant_mood(grid, column, system, general.baseline_days, general.min_history_days)
        ctx = DayContext(day, column, lower, upper, system, config.allowed, mood)
        findings += score_counts(grid, ctx, config)
        active = _active_days(grid, ctx.column, general.baseline_days)
        findings += score_unusual_time(grid, ctx, config, active)
        today, figures = texts.day(day)
        for email, text_day in today.items():
            if not config.is_system(email):
                findings += score_content(ctx, config, email, text_day, figures.get(email))
    texts.complete({finding.email for finding in findings})
    return findings + accumulate(engine, tenant, tz, config, texts.risk, first, last, findings)


def _active_days(grid: CountGrid, column: int, width: int) -> np.ndarray:
    return (grid.counts[:, max(0, column - width) : column] > 0).sum(axis=1)


def to_alert(tenant: str, finding: Finding, tz: str, config: DetectionConfig) -> NewAlert:
    day = day_date(finding.day)
    return NewAlert(
        tenant=tenant,
        rule=finding.rule,
        email_addr=finding.email,
        day=day,
        window_start=finding.window_start,
        window_end=finding.window_end,
        severity=finding.severity,
        summary=finding.summary,
        figures=json.dumps(
            {**finding.figures, "strength": round(finding.strength, 3), "time_zone": tz},
            ensure_ascii=False,
            sort_keys=True,
        ),
        evidence_url=evidence_url(finding.email, day, day),
    )


class _TextFeed:
    """Each scored day's texts per user, and what is new in them for each user."""

    def __init__(
        self,
        engine: Engine,
        tenant: str,
        tz: str,
        config: DetectionConfig,
        first: int,
        last: int,
        few: bool,
    ) -> None:
        general = config.general
        self._history = TextHistory(config)
        self.risk = RiskLedger(config)
        # the risk score of the first day looks back window_days, each with its own history
        history_start = (
            first
            - general.history_days
            - general.baseline_days
            - config.rules.accumulated_risk.window_days
        )
        self._complete = (engine, tenant, tz, config, history_start, last)
        self._chosen: set[str] | None = None
        self._scored: dict[int, dict[str, TextDay]] | None = None
        if few:
            self._scored = dict(iter_text_days(engine, tenant, tz, first, last, config))
            candidates = sorted(_candidates(self._scored, config))
            past = iter_text_days(engine, tenant, tz, history_start, first - 1, config, candidates)
            chosen = self._chosen = set(candidates)
            scored = (
                (day, {u: t for u, t in users.items() if u in chosen})
                for day, users in sorted(self._scored.items())
            )
            self._days: Iterator[tuple[int, dict[str, TextDay]]] = _chain(past, scored)
        else:
            self._days = iter_text_days(engine, tenant, tz, history_start, last, config)
        self._pending: tuple[int, dict[str, TextDay]] | None = None

    def day(self, day: int) -> tuple[dict[str, TextDay], dict[str, TextFigures]]:
        figures: dict[str, TextFigures] = {}
        today: dict[str, TextDay] = {}
        while True:
            if self._pending is None:
                self._pending = next(self._days, None)
                if self._pending is None:
                    break
            number, users = self._pending
            if number > day:
                break
            self._pending = None
            fed = self._history.feed(number, users)
            self.risk.add_text(number, users, fed)
            if number == day:
                figures, today = fed, users
        if self._scored is not None:
            today = self._scored.get(day, {})
        return today, figures

    def complete(self, emails: set[str]) -> None:
        """Give the risk ledger the text signals of users who fired a rule but whose texts
        were not read (a run of a few days reads only the likely ones)."""
        if self._chosen is None:
            return
        missing = sorted(email for email in emails if email not in self._chosen)
        if not missing:
            return
        self._chosen.update(missing)
        engine, tenant, tz, config, start, last = self._complete
        history = TextHistory(config)
        for number, users in iter_text_days(engine, tenant, tz, start, last, config, missing):
            self.risk.add_text(number, users, history.feed(number, users))


def _chain(*parts: Iterator[tuple[int, dict[str, TextDay]]]) -> Iterator:
    for part in parts:
        yield from part


def _candidates(days: dict[int, dict[str, TextDay]], config: DetectionConfig) -> set[str]:
    """Users whose day could fire breadth or sensitive terms: only they need a history."""
    rules = config.rules
    found: set[str] = set()
    for users in days.values():
        for email, today in users.items():
            if config.is_system(email):
                continue
            # 2 mailboxes or 1 sensitive search: a small signal the risk score sums
            if len(today.targets) >= min(rules.breadth.min_new_targets, 2) or today.sensitive:
                found.add(email)
    return found
