"""Risk accumulated across days (rule `accumulated_risk`): slow incidents that no single
day gives away, such as six new mailboxes every weekday for a month, or one sensitive
search a day.

Each user and local day earns points: `finding_points` per alert of another rule that day,
and small signals the day rules ignore: new mailboxes beyond twice the user's median day
(at least 2; `new_target_points` for half of breadth's `min_new_targets` of them), a search in a
sensitive category that is not routine for them (`sensitive_points` each, capped at one
point a day; `first_term_points` for a category they never searched before). A signal is
not counted on a day its own rule already fired. The score on day D sums the points of the
last `window_days` days, each halved every `half_life_days` days; it alerts when it reaches
`threshold` on a day that earned points, with at least `min_days` days contributing, and
once per episode: not again for the same user within `window_days` of their last one.

Why stored alerts are read back: the score of a day depends on the days before it, which
an earlier `detect` run may have scored; reading their alerts (and, for the text signals,
the users' text history) makes a run of a few days find what one long run finds.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from sqlalchemy import Engine, select

from db.models import Alert
from ingest.detect.config import DetectionConfig
from ingest.detect.days import day_bounds, day_date, day_number
from ingest.detect.features import TextDay, TextFigures
from ingest.detect.finding import Finding, number, plural
from ingest.detect.vocabulary import routine

RULE = "accumulated_risk"
BREADTH_SHARE = 0.5
"""A full new-mailbox point for half of breadth's `min_new_targets` beyond the usual."""


class RiskLedger:
    """Points per user and local day from text signals, fed in day order."""

    def __init__(self, config: DetectionConfig) -> None:
        self._config = config
        self.text: dict[str, dict[int, dict[str, float]]] = {}

    def add_text(
        self, day: int, users: dict[str, TextDay], figures: dict[str, TextFigures]
    ) -> None:
        for email, figure in figures.items():
            if self._config.is_system(email):
                continue
            signals = text_signals(self._config, figure)
            if signals:
                self.text.setdefault(email, {})[day] = signals

    def forget_before(self, day: int) -> None:
        """Drop days no later score looks at (a long run would keep years otherwise)."""
        for email in list(self.text):
            days = self.text[email]
            for old in [d for d in days if d < day]:
                del days[old]
            if not days:
                del self.text[email]


def text_signals(config: DetectionConfig, figures: TextFigures) -> dict[str, float]:
    """{rule whose signal it is: points} for one user-day's texts."""
    risk, rules = config.rules.accumulated_risk, config.rules
    signals: dict[str, float] = {}
    # beyond twice their median day (at least 2): a helpdesk's ordinary spread is no signal
    excess = figures.new_targets - max(2.0, 2 * figures.median_new_targets)
    if excess > 0:
        full = max(1.0, BREADTH_SHARE * rules.breadth.min_new_targets)
        signals["breadth"] = risk.new_target_points * min(1.0, excess / full)
    sensitive = 0.0
    for category in figures.categories.values():
        terms = rules.sensitive_terms
        if routine(category, terms.routine_days, terms.routine_share):
            continue
        if category.prior_days == 0:
            sensitive += risk.first_term_points
        else:
            sensitive += min(1.0, risk.sensitive_points * category.searches)
    if sensitive:
        signals["sensitive_terms"] = min(sensitive, 1.5 * max(1.0, risk.first_term_points))
    return signals


def _stored(
    engine: Engine, tenant: str, first: date, last: date, scored_from: int
) -> tuple[dict[str, dict[int, list[str]]], dict[str, list[int]]]:
    """(rules fired per user and day, days of earlier accumulated_risk alerts per user)
    from the alerts already stored for [first, last]; an accumulated_risk alert on a day
    being scored again (from `scored_from` on) is no earlier episode."""
    fired: dict[str, dict[int, list[str]]] = {}
    episodes: dict[str, list[int]] = {}
    statement = select(Alert.rule, Alert.email_addr, Alert.day).where(
        Alert.tenant == tenant, Alert.day >= first, Alert.day <= last, Alert.status != "withdrawn"
    )
    with engine.connect() as conn:
        for rule, email, day in conn.execute(statement):
            if rule == RULE:
                if day_number(day) < scored_from:
                    episodes.setdefault(email, []).append(day_number(day))
            else:
                fired.setdefault(email, {}).setdefault(day_number(day), []).append(rule)
    return fired, episodes


def accumulate(
    engine: Engine,
    tenant: str,
    tz: str,
    config: DetectionConfig,
    ledger: RiskLedger,
    first: int,
    last: int,
    findings: Iterable[Finding],
) -> list[Finding]:
    """The accumulated_risk findings of days [first, last], given that range's findings of
    every other rule and the ledger's text signals."""
    risk = config.rules.accumulated_risk
    if not risk.enabled:
        return []
    fired, episodes = _stored(
        engine, tenant, day_date(first - risk.window_days), day_date(last), first
    )
    for finding in findings:
        fired.setdefault(finding.email, {}).setdefault(finding.day, []).append(finding.rule)
    emails = sorted(set(fired) | set(ledger.text))
    found: list[Finding] = []
    for email in emails:
        if config.is_system(email) or config.allowed(email, risk.allow):
            continue
        points = _points(config, fired.get(email, {}), ledger.text.get(email, {}))
        last_alert = max(episodes.get(email, []), default=None)
        for day in range(first, last + 1):
            if points.get(day, 0.0) <= 0:
                continue
            if last_alert is not None and day - last_alert < risk.window_days:
                continue
            judged = _judge(config, tz, email, day, points)
            if judged is not None:
                found.append(judged)
                last_alert = day
    ledger.forget_before(last - risk.window_days)
    return found


def _points(
    config: DetectionConfig, fired: dict[int, list[str]], text: dict[int, dict[str, float]]
) -> dict[int, float]:
    risk = config.rules.accumulated_risk
    points: dict[int, float] = {}
    for day in set(fired) | set(text):
        rules = set(fired.get(day, ()))
        total = risk.finding_points * len(rules)
        total += sum(value for rule, value in text.get(day, {}).items() if rule not in rules)
        if total > 0:
            points[day] = total
    return points


def _judge(
    config: DetectionConfig, tz: str, email: str, day: int, points: dict[int, float]
) -> Finding | None:
    risk = config.rules.accumulated_risk
    contributions = {
        earlier: points[earlier] * 0.5 ** ((day - earlier) / risk.half_life_days)
        for earlier in range(day - risk.window_days + 1, day + 1)
        if points.get(earlier, 0.0) > 0
    }
    score = sum(contributions.values())
    if score < risk.threshold or len(contributions) < risk.min_days:
        return None
    days = sorted(contributions)
    listed = [{"day": day_date(d).isoformat(), "points": round(contributions[d], 2)} for d in days]
    start, _ = day_bounds(days[0], tz)
    _, end = day_bounds(day, tz)
    top = sorted(days, key=lambda d: -contributions[d])[:3]
    strongest = ", ".join(
        f"{day_date(d).isoformat()} ({number(round(contributions[d], 2))})" for d in sorted(top)
    )
    return Finding(
        RULE,
        email,
        day,
        start,
        end,
        score / risk.threshold,
        f"risk {number(round(score, 2))} summed over {plural(len(days), 'day')} "
        f"({day_date(days[0]).isoformat()} to {day_date(day).isoformat()}; most from "
        f"{strongest}), halving every {number(risk.half_life_days)} days; threshold "
        f"{number(risk.threshold)}",
        {
            "observed": round(score, 2),
            "baseline": 0.0,
            "threshold": risk.threshold,
            "surprise": round(score / risk.threshold, 2),
            "half_life_days": risk.half_life_days,
            "contributing_days": listed,
        },
        {"days": [entry["day"] for entry in listed]},
    )
