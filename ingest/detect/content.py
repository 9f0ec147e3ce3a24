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
    before = _usual_breadth(usual, days)
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


def quiet_days(days: int) -> int:
    """The fewest of `days` daily counts that are 0 when their 90th percentile (numpy's
    linear one) is 0: every count up to and just past its rank 0.9 × (days - 1)."""
    return min(days, math.ceil(round(0.9 * (days - 1), 9)) + 1)


def _usual_breadth(usual: float, days: int) -> str:
    """What the user's earlier days say about new mailboxes, true when the usual is 0 too
    ("usually at most 0 new a day" told an analyst nothing)."""
    if not days:
        return "no earlier day with mailbox searches to compare with"
    if usual > 0:
        return (
            f"usually at most {number(usual)} new a day (90th percentile of "
            f"{plural(days, 'day')} with mailbox searches)"
        )
    quiet = quiet_days(days)
    if days == 1:
        return "no mailbox was new to them on their one earlier day with mailbox searches"
    share = "any" if quiet == days else f"at least {quiet:,}"
    return (
        f"no mailbox was new to them on {share} of their {plural(days, 'earlier day')} "
        "with mailbox searches"
    )


def _routine_verdict(
    ctx: DayContext, config: DetectionConfig, category: str, figures: CategoryFigures
) -> dict | None:
    """A category routine for the user fires only well above their own usual day in it."""
    rule = config.rules.sensitive_terms
    history_days = config.general.history_days
    # × their usual, and never below × min_searches: a thin routine is no licence to fire
    threshold = rule.routine_ratio * max(figures.usual, float(rule.min_searches))
    threshold *= max(1.0, ctx.tenant)
    observed = figures.searches
    if observed < threshold:
        return None
    return {
        "category": category,
        "observed": observed,
        "baseline": figures.usual,
        "threshold": round(threshold, 2),
        "surprise": surprise(figures.days_at_least, history_days),
        "prior_days": figures.prior_days,
        "terms": list(figures.terms),
        "text": (
            f"{plural(observed, 'search')} for {category_name(category)} words "
            f"({listed(figures.terms)}), {times(observed / max(figures.usual, 1.0))} their "
            f"usual {number(figures.usual)} a day in that category (routine for them: on "
            f"{figures.prior_days} of the previous {history_days} days); threshold "
            f"{number(threshold)}"
        ),
        "strength": observed / threshold,
    }


def _new_verdict(
    config: DetectionConfig, new_searches: int, parts: list[tuple[str, CategoryFigures]]
) -> dict | None:
    """Categories not routine for the user fire together: `min_searches` searches with
    words new to them, whichever of those categories the words are in."""
    rule = config.rules.sensitive_terms
    history_days = config.general.history_days
    parts = [
        (category, figures)
        for category, figures in parts
        if figures.new_term_searches
        and surprise(figures.prior_days, history_days) >= rule.min_surprise
    ]
    # a search naming words of two categories counts once
    observed = min(sum(figures.new_term_searches for _, figures in parts), new_searches)
    if not parts or observed < rule.min_searches:
        return None
    described = "; ".join(
        f"{category_name(category)} ({listed(figures.new_terms)}): "
        + (
            "the first for them"
            if figures.prior_days == 0
            else f"on {plural(figures.prior_days, 'day')} of the previous {history_days}"
        )
        for category, figures in parts
    )
    return {
        "category": ",".join(category for category, _ in parts),
        "observed": observed,
        "baseline": max(figures.usual for _, figures in parts),
        "threshold": float(rule.min_searches),
        "surprise": max(surprise(figures.prior_days, history_days) for _, figures in parts),
        "prior_days": min(figures.prior_days for _, figures in parts),
        "terms": sorted({term for _, figures in parts for term in figures.new_terms}),
        "text": (
            f"{plural(observed, 'search')} for sensitive words new to them, in categories "
            f"not routine for them: {described}"
        ),
        "strength": observed / rule.min_searches,
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
    categories = sorted(history.categories.items())
    usual = [(c, f) for c, f in categories if routine(f, rule.routine_days, rule.routine_share)]
    verdicts = [_routine_verdict(ctx, config, category, figures) for category, figures in usual]
    fresh = [(c, f) for c, f in categories if (c, f) not in usual]
    verdicts.append(_new_verdict(config, history.new_term_searches, fresh))
    fired = [verdict for verdict in verdicts if verdict is not None]
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
