"""Rules on what a user searched for: many mailboxes new to them (breadth), sensitive terms
they do not search routinely, and missing or boilerplate reasons where reasons are enforced.
"""

from __future__ import annotations

from ingest.detect.config import DetectionConfig
from ingest.detect.counts import DayContext
from ingest.detect.days import utc_from_epoch
from ingest.detect.features import TextDay, TextFigures
from ingest.detect.finding import Finding, number, plural, times


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
    findings: list[Finding] = []
    rules = config.rules
    start, end = _span(ctx, today)
    breadth = rules.breadth
    if (
        breadth.enabled
        and history is not None
        and history.new_targets >= breadth.min_new_targets
        and not ctx.allowed(email, breadth.allow)
    ):
        # On an incident-response day everyone looks at more mailboxes: scale by the tenant.
        threshold = max(
            float(breadth.min_new_targets),
            breadth.min_ratio * history.usual_new_targets * max(1.0, ctx.tenant),
        )
        if history.new_targets >= threshold:
            findings.append(
                Finding(
                    "breadth",
                    email,
                    ctx.day,
                    start,
                    end,
                    history.new_targets / threshold,
                    f"targeted {plural(history.new_targets, 'mailbox')} new to them "
                    f"({len(today.targets):,} targeted that day); usually at most "
                    f"{number(history.usual_new_targets)} new a day (90th percentile of "
                    f"{plural(history.history_text_days, 'day')}); people searched "
                    f"{times(ctx.tenant)} their usual that day",
                    {
                        "new_targets": history.new_targets,
                        "targets": len(today.targets),
                        "usual_new_targets": history.usual_new_targets,
                        "history_days": history.history_text_days,
                        "tenant_ratio": round(ctx.tenant, 3),
                    },
                )
            )
    sensitive = rules.sensitive_terms
    if (
        sensitive.enabled
        and history is not None
        and history.new_term_searches >= sensitive.min_searches
        and history.prior_sensitive_days < sensitive.routine_days
        and not ctx.allowed(email, sensitive.allow)
    ):
        terms = list(history.new_terms)
        shown = ", ".join(terms[:5]) + (f" and {len(terms) - 5} more" if len(terms) > 5 else "")
        findings.append(
            Finding(
                "sensitive_terms",
                email,
                ctx.day,
                start,
                end,
                history.new_term_searches / sensitive.min_searches,
                f"{plural(history.new_term_searches, 'search')} for sensitive terms new to them "
                f"({shown}); such terms on {plural(history.prior_sensitive_days, 'day')} of the "
                f"previous {config.general.history_days}",
                {
                    "new_term_searches": history.new_term_searches,
                    "sensitive_searches": today.sensitive,
                    "new_terms": terms,
                    "terms": sorted(today.terms),
                    "prior_sensitive_days": history.prior_sensitive_days,
                    "history_days": config.general.history_days,
                },
            )
        )
    reason = rules.missing_reason
    if (
        reason.enabled
        and today.weak_reason >= reason.min_searches
        and today.weak_reason >= reason.min_share * today.searches
        and not ctx.allowed(email, reason.allow)
    ):
        findings.append(
            Finding(
                "missing_reason",
                email,
                ctx.day,
                start,
                end,
                today.weak_reason / reason.min_searches,
                f"{today.weak_reason:,} of {plural(today.searches, 'search')} with no reason "
                "or a boilerplate one",
                {"weak_reason": today.weak_reason, "searches": today.searches},
            )
        )
    return findings
