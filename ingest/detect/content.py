"""Rules on what a user searched for: many mailboxes new to them (breadth), sensitive words
by category judged against their own routine in that category, and missing or boilerplate
reasons where reasons are enforced.

Every finding names what fired it: the new mailboxes (`evidence.targets`) or the literal
words (`evidence.terms`), and puts `observed`, `baseline`, `threshold` and `surprise` in
its figures.
"""

from __future__ import annotations

import math

from ingest.detect.config import DetectionConfig
from ingest.detect.counts import DayContext
from ingest.detect.days import utc_from_epoch
from ingest.detect.features import TextDay, TextFigures
from ingest.detect.finding import Finding, number, plural, times
from ingest.detect.vocabulary import CategoryFigures, routine

CATEGORY_NAMES = {
    "hr": "HR",
    "mna": "M&A",
    "legal": "legal",
    "credentials": "credentials",
    "finance": "finance",
}
SHOWN = 5
"""Names listed in a summary before "and N more" (the figures and evidence keep them all)."""


def category_name(category: str) -> str:
    return CATEGORY_NAMES.get(category, category)


def listed(names: list[str] | tuple[str, ...]) -> str:
    """`a, b, c` or `a, b, c, d, e and 7 more`."""
    shown = ", ".join(names[:SHOWN])
    return shown + (f" and {len(names) - SHOWN} more" if len(names) > SHOWN else "")


def surprise(events: float, trials: float) -> float:
    """-log10 of a smoothed chance (events + ½ in trials + 1): 1.8 is about 1 in 60."""
    return round(-math.log10((events + 0.5) / (trials + 1)), 2)


def _span(ctx: DayContext, today: TextDay) -> tuple:
    """The first and last search of the day (the evidence), within the day's bounds."""
    if today.first > today.last:
        return ctx.lower, ctx.upper
    return utc_from_epoch(int(today.first)), utc_from_epoch(int(today.last) + 1)


def score_content(
    ctx: DayContext,
    config: DetectionConfig,
    email: str,
    today: TextDay,
    history: TextFigures | None,
) -> list[Finding]:
    findings = [
        _breadth(ctx, config, email, today, history),
        _sensitive(ctx, config, email, today, history),
        _missing_reason(ctx, config, email, today),
    ]
    return [finding for finding in findings if finding is not None]


def _breadth(
    ctx: DayContext,
    config: DetectionConfig,
    email: str,
    today: TextDay,
    history: TextFigures | None,
) -> Finding | None:
    breadth = config.rules.breadth
    if (
        not breadth.enabled
        or history is None
        or history.new_targets < breadth.min_new_targets
        or ctx.allowed(email, breadth.allow)
    ):
        return None
    # On an incident-response day everyone looks at more mailboxes: scale by the tenant.
    usual = history.usual_new_targets
    threshold = max(
        float(breadth.min_new_targets), breadth.min_ratio * usual * max(1.0, ctx.tenant)
    )
    if history.new_targets < threshold:
        return None
    names = list(history.new_target_names)
    days = history.history_text_days
    before = (
        f"usually at most {number(usual)} new a day (90th percentile of "
        f"{plural(days, 'day')} with mailbox searches)"
        if days
        else "no earlier day with mailbox searches to compare with"
    )
    start, end = _span(ctx, today)
    return Finding(
        "breadth",
        email,
        ctx.day,
        start,
        end,
        history.new_targets / threshold,
        f"targeted {plural(history.new_targets, 'mailbox')} new to them ({listed(names)}), "
        f"{len(today.targets):,} in all that day; {before}; threshold {number(threshold)}; "
        f"people searched {times(ctx.tenant)} their usual that day",
        {
            "observed": history.new_targets,
            "baseline": usual,
            "threshold": round(threshold, 2),
            "surprise": round(history.new_targets / max(usual, 1.0), 2),
            "new_targets": names,
            "targets": len(today.targets),
            "history_days": days,
            "tenant_ratio": round(ctx.tenant, 3),
        },
        {"targets": names},
    )


def _category_verdict(
    ctx: DayContext, config: DetectionConfig, category: str, figures: CategoryFigures
) -> dict | None:
    """Whether one category fires: new to the user (few words new to them suffice) or
    routine for them (only well above their own usual day in it)."""
    rule = config.rules.sensitive_terms
    history_days = config.general.history_days
    name = category_name(category)
    if routine(figures, rule.routine_days, rule.routine_share):
        # × their usual, and never below × min_searches: a thin routine is no licence to fire
        threshold = rule.routine_ratio * max(figures.usual, float(rule.min_searches))
        threshold *= max(1.0, ctx.tenant)
        observed = figures.searches
        chance = surprise(figures.days_at_least, history_days)
        text = (
            f"{plural(observed, 'search')} for {name} words ({listed(figures.terms)}), "
            f"{times(observed / max(figures.usual, 1.0))} their usual {number(figures.usual)} "
            f"a day in that category (routine for them: on {figures.prior_days} of the "
            f"previous {history_days} days); threshold {number(threshold)}"
        )
        terms = figures.terms
    else:
        threshold = float(rule.min_searches)
        observed = figures.new_term_searches
        chance = surprise(figures.prior_days, history_days)
        first = "the first" if figures.prior_days == 0 else "unusual"
        text = (
            f"{plural(observed, 'search')} for {name} words new to them "
            f"({listed(figures.new_terms)}), {first} for them: {name} words on "
            f"{plural(figures.prior_days, 'day')} of the previous {history_days}"
        )
        terms = figures.new_terms
    if observed < threshold or threshold <= 0:
        return None
    return {
        "category": category,
        "observed": observed,
        "baseline": figures.usual,
        "threshold": round(threshold, 2),
        "surprise": chance,
        "prior_days": figures.prior_days,
        "terms": list(terms),
        "text": text,
        "strength": observed / threshold,
    }


def _sensitive(
    ctx: DayContext,
    config: DetectionConfig,
    email: str,
    today: TextDay,
    history: TextFigures | None,
) -> Finding | None:
    rule = config.rules.sensitive_terms
    if not rule.enabled or history is None or ctx.allowed(email, rule.allow):
        return None
    fired = [
        verdict
        for category, figures in sorted(history.categories.items())
        if (verdict := _category_verdict(ctx, config, category, figures)) is not None
    ]
    if not fired:
        return None
    top = max(fired, key=lambda verdict: verdict["strength"])
    terms = sorted({term for verdict in fired for term in verdict["terms"]})
    start, end = _span(ctx, today)
    return Finding(
        "sensitive_terms",
        email,
        ctx.day,
        start,
        end,
        top["strength"],
        "; ".join(verdict["text"] for verdict in fired),
        {
            "observed": top["observed"],
            "baseline": top["baseline"],
            "threshold": top["threshold"],
            "surprise": top["surprise"],
            "terms": terms,
            "categories": [
                {key: value for key, value in verdict.items() if key not in ("text", "strength")}
                for verdict in fired
            ],
            "sensitive_searches": today.sensitive,
            "history_days": config.general.history_days,
        },
        {"terms": terms},
    )


def _missing_reason(
    ctx: DayContext, config: DetectionConfig, email: str, today: TextDay
) -> Finding | None:
    reason = config.rules.missing_reason
    threshold = max(float(reason.min_searches), reason.min_share * today.searches)
    if not reason.enabled or today.weak_reason < threshold or ctx.allowed(email, reason.allow):
        return None
    start, end = _span(ctx, today)
    return Finding(
        "missing_reason",
        email,
        ctx.day,
        start,
        end,
        today.weak_reason / reason.min_searches,
        f"{today.weak_reason:,} of {plural(today.searches, 'search')} with no reason "
        f"or a boilerplate one (threshold {number(threshold)})",
        {
            "observed": today.weak_reason,
            "threshold": round(threshold, 2),
            "weak_reason": today.weak_reason,
            "searches": today.searches,
        },
    )
