"""`python -m ingest detect`: score every complete local day not yet scored, score again
the scored days whose data changed (late searches) or that `--rescore` names, and store
the alerts (`ingest.detect.plan` says which days).

Alerts, the days' versions and the "scored through" mark are written in one transaction per
chunk of days. Alerts are keyed one per tenant, user, rule and day and upserted
(`db.alert_upsert`): a re-score refreshes an alert still new, withdraws one that no longer
fires, and leaves a triaged one as it is, so a second run, or a run cut short and repeated,
changes nothing. A dismissal as expected quiets its person and rule (`db.alert_upsert`).

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
from datetime import date

import numpy as np
from sqlalchemy import Engine

from db.alert_upsert import AlertChanges, Suppression, suppressions, upsert_alerts
from db.alerts import NewAlert, evidence_url
from db.detect_reads import DetectionSearches, SqlSearches
from db.state.detection import set_scored_through, set_scored_versions
from ingest.detect.cohort import without_team_days
from ingest.detect.config import DetectionConfig
from ingest.detect.content import score_content
from ingest.detect.counts import DayContext, group_moods, score_counts
from ingest.detect.days import day_bounds, day_date
from ingest.detect.feature_store import text_days
from ingest.detect.features import TextDay, TextFigures, TextHistory, load_counts
from ingest.detect.finding import Finding
from ingest.detect.peers import peer_groups
from ingest.detect.plan import Plan, plan_days
from ingest.detect.risk import RiskLedger, accumulate
from ingest.detect.timing import score_unusual_time
from ingest.detect.versions import day_versions

log = logging.getLogger("ingest.detect")

CHUNK_DAYS = 61
"""Days scored and committed together on a long run."""
FEW_DAYS = 7
"""Up to this many days, texts are read for the few users who could fire a text rule."""


@dataclass
class DetectResult:
    days_scored: int = 0
    days_rescored: int = 0
    first_day: str | None = None
    last_day: str | None = None
    alerts_found: int = 0
    alerts_new: int = 0
    alerts_updated: int = 0
    alerts_withdrawn: int = 0
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
        again = f", {self.days_rescored} again" if self.days_rescored else ""
        changed = "".join(
            f", {count} {word}"
            for count, word in (
                (self.alerts_updated, "updated"),
                (self.alerts_withdrawn, "withdrawn"),
            )
            if count
        )
        return (
            f"detect {tenant}: scored {self.days_scored} day{'s' if self.days_scored != 1 else ''} "
            f"({span}{again}): {self.alerts_found} alerts, {self.alerts_new} new{changed}, "
            f"in {self.seconds:.1f} s"
        )


def detect(
    engine: Engine,
    tenant: str,
    tz: str,
    config: DetectionConfig,
    lookback_seconds: int = 0,
    through: date | None = None,
    *,
    recheck_days: int = 0,
    rescore: tuple[date, date] | None = None,
    searches: DetectionSearches | None = None,
) -> DetectResult:
    """Score every complete day of `tenant` not yet scored (up to `through`, if given), the
    scored days of the last `recheck_days` whose data changed, and the days of `rescore`;
    store the alerts and count them. The searches are read from `searches` (a ClickHouse
    store), else from `engine`; the features, alerts and progress are kept in `engine`."""
    started = time.perf_counter()
    source = SqlSearches(engine) if searches is None else searches
    plan = plan_days(
        engine,
        tenant,
        tz,
        config,
        lookback_seconds,
        through,
        recheck_days,
        rescore,
        searches=source,
    )
    if isinstance(plan, str):
        return DetectResult(reason=plan)
    result = DetectResult(
        first_day=day_date(plan.first).isoformat(),
        last_day=day_date(plan.last).isoformat(),
        days_rescored=plan.rescored,
    )
    with engine.connect() as conn:
        quiet = suppressions(conn, tenant, day_date(plan.first), config.feedback.max_suppress_days)
    changes = AlertChanges()
    for first, last in plan.spans:
        span = (first, last)
        _score_span(engine, source, tenant, tz, config, plan, span, quiet, result, changes)
    result.alerts_new, result.alerts_updated = changes.new, changes.refreshed
    result.alerts_withdrawn = changes.withdrawn
    result.seconds = time.perf_counter() - started
    return result


def _score_span(
    engine: Engine,
    searches: DetectionSearches,
    tenant: str,
    tz: str,
    config: DetectionConfig,
    plan: Plan,
    span: tuple[int, int],
    quiet: list[Suppression],
    result: DetectResult,
    changes: AlertChanges,
) -> None:
    first, last = span
    few = last - first + 1 <= FEW_DAYS
    texts = _TextFeed(engine, searches, tenant, tz, config, first, last, few)
    for chunk_start in range(first, last + 1, CHUNK_DAYS):
        chunk_end = min(last, chunk_start + CHUNK_DAYS - 1)
        versions = day_versions(searches, tenant, tz, chunk_start, chunk_end)  # before reading
        findings = score_days(engine, searches, tenant, tz, config, chunk_start, chunk_end, texts)
        alerts = [
            to_alert(tenant, finding, tz, config)
            for finding in findings
            if not _quieted(quiet, finding)
        ]
        with engine.begin() as conn:
            lower, upper = day_date(chunk_start), day_date(chunk_end)
            changes.add(upsert_alerts(conn, tenant, lower, upper, alerts))
            set_scored_versions(conn, tenant, {day_date(d): n for d, n in versions.items()})
            if plan.done is None or chunk_end > plan.done:
                set_scored_through(conn, tenant, upper)
        result.alerts_found += len(alerts)
        result.days_scored += chunk_end - chunk_start + 1


def _quieted(quiet: list[Suppression], finding: Finding) -> bool:
    day = day_date(finding.day)
    return any(rule.covers(finding.email, finding.rule, day) for rule in quiet)


def score_days(
    engine: Engine,
    searches: DetectionSearches,
    tenant: str,
    tz: str,
    config: DetectionConfig,
    first: int,
    last: int,
    texts: _TextFeed,
) -> list[Finding]:
    general = config.general
    history = max(general.baseline_days, general.dormant_days, 7 * general.season_weeks)
    grid = load_counts(searches, tenant, tz, first - history, last, config)
    system = np.array([config.is_system(email) for email in grid.emails], dtype=bool)
    findings: list[Finding] = []
    for day in range(first, last + 1):
        lower, upper = day_bounds(day, tz)
        column = day - grid.first_day
        peers = peer_groups(grid, column, system, config)
        mood, moods = group_moods(
            grid, column, peers, general.baseline_days, general.min_history_days
        )
        ctx = DayContext(day, column, lower, upper, system, config.allowed, mood, moods)
        counted = score_counts(grid, ctx, config, peers)
        # A dormant or never-seen address's alert already says the day is new for them.
        dormant = {finding.email for finding in counted if finding.rule == "dormant_searcher"}
        timed = score_unusual_time(grid, ctx, config, peers)
        findings += counted + [finding for finding in timed if finding.email not in dormant]
        today, figures = texts.day(day)
        content: list[Finding] = []
        for email, text_day in today.items():
            if not config.is_system(email):
                content += score_content(ctx, config, email, text_day, figures.get(email))
        searching = int(((grid.counts[:, column] > 0) & ~system).sum())
        findings += without_team_days(content, searching)
    texts.complete({finding.email for finding in findings})
    return findings + accumulate(engine, tenant, tz, config, texts.risk, first, last, findings)


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
        evidence=json.dumps(finding.evidence, ensure_ascii=False, sort_keys=True, default=str),
    )


class _TextFeed:
    """Each scored day's texts per user, and what is new in them for each user."""

    def __init__(
        self,
        engine: Engine,
        searches: DetectionSearches,
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
        self._complete = (engine, searches, tenant, tz, config, history_start, last)
        self._chosen: set[str] | None = None
        self._scored: dict[int, dict[str, TextDay]] | None = None
        if few:
            self._scored = dict(text_days(engine, tenant, tz, first, last, config, None, searches))
            candidates = sorted(_candidates(self._scored, config))
            past = text_days(
                engine, tenant, tz, history_start, first - 1, config, candidates, searches
            )
            chosen = self._chosen = set(candidates)
            scored = (
                (day, {u: t for u, t in users.items() if u in chosen})
                for day, users in sorted(self._scored.items())
            )
            self._days: Iterator[tuple[int, dict[str, TextDay]]] = _chain(past, scored)
        else:
            self._days = text_days(engine, tenant, tz, history_start, last, config, None, searches)
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
        engine, searches, tenant, tz, config, start, last = self._complete
        history = TextHistory(config)
        days = text_days(engine, tenant, tz, start, last, config, missing, searches)
        for number, users in days:
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
