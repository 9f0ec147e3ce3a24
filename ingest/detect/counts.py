"""Rules on how much a user searched in a day: volume spike against the user's own usual,
peer outlier for users without enough history, dormant or never-seen searchers, and the
separate, coarser rule for system and API senders.

Every count rule compares with the tenant's mood: on a day the whole tenant searches three
times its usual (an incident response), a user's usual is scaled by that; the mood is a
median over people, so that one heavy searcher cannot hide behind themself.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import numpy as np

from ingest.detect.config import DetectionConfig
from ingest.detect.days import weekday
from ingest.detect.features import CountGrid
from ingest.detect.finding import Finding, number, plural, times


@dataclass(frozen=True)
class DayContext:
    """One scored day: its number, column in the grid, UTC bounds, and who counts as whom."""

    day: int
    column: int
    lower: datetime
    upper: datetime
    system: np.ndarray  # bool per user: system or API sender
    allowed: Callable[[str, tuple[str, ...]], bool]
    tenant: float = 1.0  # the tenant's mood: how much more than usual people search today


def _weekend(days: np.ndarray) -> np.ndarray:
    return np.asarray(weekday(days) >= 5)


def _window(grid: CountGrid, ctx: DayContext, width: int) -> tuple[slice, np.ndarray]:
    start = max(0, ctx.column - width)
    days = np.arange(start, ctx.column) + grid.first_day
    return slice(start, ctx.column), days


def tenant_mood(
    grid: CountGrid, column: int, system: np.ndarray, baseline_days: int, min_history: int
) -> float:
    """How much more than usual the tenant searches on day `column`: the median, over the
    people who searched that day and have a history, of their searches over their usual
    (mean active day in the baseline window). A median, so that one heavy searcher (or one
    incident) cannot move it, while an incident response that has everyone searching three
    times their usual does."""
    start = max(0, column - baseline_days)
    history = grid.counts[:, start:column]
    active = (history > 0).sum(axis=1)
    today = grid.counts[:, column]
    judged = ~system & (active >= min_history) & (today > 0)
    if judged.sum() < 5:
        return 1.0
    usual = history[judged].sum(axis=1) / active[judged]
    return float(np.median(today[judged] / usual))


def score_counts(grid: CountGrid, ctx: DayContext, config: DetectionConfig) -> list[Finding]:
    general, rules = config.general, config.rules
    today = grid.counts[:, ctx.column]
    window, window_days = _window(grid, ctx, general.baseline_days)
    recent_window, _ = _window(grid, ctx, general.dormant_days)
    history = grid.counts[:, window]
    active_days = (history > 0).sum(axis=1)
    recent = np.asarray((grid.counts[:, recent_window] > 0).any(axis=1))
    same_kind = _weekend(window_days) == bool(_weekend(np.array([ctx.day]))[0])
    people = ~ctx.system
    peer_reference = _peer_reference(history, people, rules.peer_outlier.peer_quantile)
    findings: list[Finding] = []
    floor = min(
        rules.volume_spike.min_searches,
        rules.peer_outlier.min_searches,
        rules.dormant_searcher.min_searches,
    )
    for user in np.flatnonzero(today >= min(floor, rules.system_volume.min_searches)).tolist():
        email = grid.emails[user]
        count = int(today[user])
        if ctx.system[user]:
            finding = _system_volume(grid, ctx, config, user, count, history[user])
        elif not recent[user]:
            finding = _dormant(grid, ctx, config, user, count)
        elif active_days[user] >= general.min_history_days:
            finding = _volume_spike(ctx, config, email, count, history[user], same_kind, ctx.tenant)
        else:
            finding = _peer_outlier(
                ctx, config, email, count, int(active_days[user]), peer_reference, ctx.tenant
            )
        if finding is not None:
            findings.append(finding)
    return findings


def _peer_reference(history: np.ndarray, people: np.ndarray, quantile: float) -> float:
    """What `quantile` of people's active days stay under, over the baseline window."""
    values = history[people]
    values = values[values > 0]
    return float(np.quantile(values, quantile)) if len(values) else 0.0


def _volume_spike(
    ctx: DayContext,
    config: DetectionConfig,
    email: str,
    count: int,
    history: np.ndarray,
    same_kind: np.ndarray,
    tenant: float,
) -> Finding | None:
    rule = config.rules.volume_spike
    min_history = config.general.min_history_days
    if not rule.enabled or count < rule.min_searches or ctx.allowed(email, rule.allow):
        return None
    kind_days = history[same_kind]
    values = kind_days[kind_days > 0]
    kind = "same-kind"
    if len(values) < min_history:  # too few weekend (or weekday) days: every active day
        values, kind = history[history > 0], "active"
    usual = float(np.median(values))
    mad = float(np.median(np.abs(values - usual)))
    scale = max(1.0, tenant)
    expected = usual * scale
    spread = max(mad * scale, 0.1 * expected, 1.0)
    robust_z = 0.6745 * (count - expected) / spread
    threshold = rule.min_ratio * expected
    if count < threshold or robust_z < rule.min_robust_z:
        return None
    days_word = "weekend" if kind == "same-kind" and weekday(ctx.day) >= 5 else "active"
    if kind == "same-kind" and weekday(ctx.day) < 5:
        days_word = "weekday"
    summary = (
        f"{count:,} searches against a usual {number(usual)} (median of "
        f"{plural(len(values), days_word + ' day')}); people searched {times(tenant)} "
        "their usual that day"
    )
    return Finding(
        "volume_spike",
        email,
        ctx.day,
        ctx.lower,
        ctx.upper,
        count / threshold,
        summary,
        {
            "searches": count,
            "usual": usual,
            "mad": mad,
            "baseline_days": len(values),
            "tenant_ratio": round(tenant, 3),
            "expected": round(expected, 2),
            "robust_z": round(robust_z, 2),
        },
    )


def _peer_outlier(
    ctx: DayContext,
    config: DetectionConfig,
    email: str,
    count: int,
    own_days: int,
    reference: float,
    tenant: float,
) -> Finding | None:
    rule = config.rules.peer_outlier
    if not rule.enabled or ctx.allowed(email, rule.allow) or reference <= 0:
        return None
    scale = max(1.0, tenant)
    threshold = max(float(rule.min_searches), rule.min_ratio * reference * scale)
    if count < threshold:
        return None
    summary = (
        f"{count:,} searches, {times(count / reference)} the {rule.peer_quantile:.0%} mark of "
        f"people's active days ({number(reference)}), with only "
        f"{plural(own_days, 'active day')} of their own history; people searched "
        f"{times(tenant)} their usual that day"
    )
    return Finding(
        "peer_outlier",
        email,
        ctx.day,
        ctx.lower,
        ctx.upper,
        count / threshold,
        summary,
        {
            "searches": count,
            "peer_reference": reference,
            "peer_quantile": rule.peer_quantile,
            "own_active_days": own_days,
            "tenant_ratio": round(tenant, 3),
        },
    )


def _dormant(
    grid: CountGrid, ctx: DayContext, config: DetectionConfig, user: int, count: int
) -> Finding | None:
    rule = config.rules.dormant_searcher
    email = grid.emails[user]
    if not rule.enabled or count < rule.min_searches or ctx.allowed(email, rule.allow):
        return None
    never = grid.first_seen[user] >= ctx.lower.timestamp()
    silent = config.general.dormant_days
    before = (
        "from an address never seen before"
        if never
        else f"after at least {plural(silent, 'day')} without a search"
    )
    return Finding(
        "dormant_searcher",
        email,
        ctx.day,
        ctx.lower,
        ctx.upper,
        count / rule.min_searches,
        f"{count:,} searches {before}",
        {"searches": count, "never_seen": bool(never), "silent_days_at_least": silent},
    )


def _system_volume(
    grid: CountGrid,
    ctx: DayContext,
    config: DetectionConfig,
    user: int,
    count: int,
    history: np.ndarray,
) -> Finding | None:
    rule = config.rules.system_volume
    email = grid.emails[user]
    if not rule.enabled or count < rule.min_searches or ctx.allowed(email, rule.allow):
        return None
    values = history[history > 0]
    if len(values) < config.general.min_history_days:
        return None
    usual = float(np.median(values))
    threshold = max(float(rule.min_searches), rule.min_ratio * usual)
    if count < threshold:
        return None
    return Finding(
        "system_volume",
        email,
        ctx.day,
        ctx.lower,
        ctx.upper,
        count / threshold,
        f"system or API sender: {count:,} searches against a usual {number(usual)} "
        f"(median of {plural(len(values), 'active day')})",
        {"searches": count, "usual": usual, "baseline_days": len(values)},
    )
