"""Rules on how much a user searched in a day: volume spike against the user's own usual,
peer outlier for users without enough history, dormant or never-seen searchers, and the
separate, coarser rule for system and API senders.

Every count rule compares with the mood of the person's peer group (`peers.py`; the whole
tenant when the group is too small): on a day their group searches three times its usual
(an incident response), a user's usual is scaled by that; the mood is a median over
people, so that one heavy searcher cannot hide behind themself, and a surge in one group
does not raise the thresholds of another. A day is compared with the same weekday over the
last `season_weeks` weeks when the user was active on enough of them (a weekly report).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import numpy as np

from ingest.detect.config import DetectionConfig
from ingest.detect.days import DAY_NAMES, weekday
from ingest.detect.features import CountGrid
from ingest.detect.finding import Finding, number, plural, times
from ingest.detect.peers import Peers

MIN_SAME_WEEKDAYS = 2
"""Active same weekdays (of `season_weeks`) needed to judge a day against its weekday."""


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
    moods: np.ndarray | None = None  # per user: their peer group's mood (else `tenant`)

    def mood(self, user: int) -> float:
        return self.tenant if self.moods is None else float(self.moods[user])


def _weekend(days: np.ndarray) -> np.ndarray:
    return np.asarray(weekday(days) >= 5)


def _window(grid: CountGrid, ctx: DayContext, width: int) -> tuple[slice, np.ndarray]:
    start = max(0, ctx.column - width)
    days = np.arange(start, ctx.column) + grid.first_day
    return slice(start, ctx.column), days


MOOD_PRIOR = 10
"""People's worth of the tenant's mood mixed into a learned group's."""
SURGE_RATIO = 2.0
"""A person searching at least this × their usual is up today."""
SURGE_SHARE = 0.1
SURGE_PEOPLE = 8
"""Up together: at least this share of the people judged today, and this many, are up."""
SURGE_SIGMAS = 3.0
"""...and more than usual by this many standard deviations (`_usually_up`)."""


def group_moods(
    grid: CountGrid, column: int, peers: Peers, baseline_days: int, min_history: int
) -> tuple[float, np.ndarray]:
    """The tenant's mood and, per user, the mood they are judged with: their peer group's
    (the tenant's when the group has fewer than 5 people with a history searching today),
    or, when many people are up together (an incident-response team that no peers file
    names; people it names are judged with their group), the median of those people, for
    each of them not far above it (at most twice it): the team is explained by its surge,
    and everyone else, one person far above it included, is judged without it."""
    start = max(0, column - baseline_days)
    history = grid.counts[:, start:column]
    active = (history > 0).sum(axis=1)
    today = grid.counts[:, column]
    judged = peers.people & (active >= min_history) & (today > 0)
    ratio = np.zeros(len(grid.emails))
    ratio[judged] = today[judged] / (history[judged].sum(axis=1) / active[judged])
    up = judged & (ratio >= SURGE_RATIO)
    together = np.zeros(len(grid.emails), dtype=bool)
    surge = 1.0
    if up.sum() >= max(SURGE_PEOPLE, SURGE_SHARE * judged.sum(), _usually_up(history, judged)):
        surge = float(np.median(ratio[up]))
        together = up & (ratio <= 2 * surge) & ~peers.mapped  # a named group speaks for itself
    rest = judged & ~together  # everyone else is judged without the surge they are not in
    tenant = float(np.median(ratio[rest])) if rest.sum() >= 5 else 1.0
    moods = np.full(len(grid.emails), tenant)
    for group in np.unique(peers.group[peers.group >= 0]):
        inside = peers.group == group
        count = int((rest & inside).sum())
        if count >= 5:
            median = float(np.median(ratio[rest & inside]))
            # A learned group is shrunk toward the tenant (its median is noisy and its
            # borders arbitrary); a group the peers file names speaks for itself.
            prior = 0 if peers.mapped[inside].any() else MOOD_PRIOR
            moods[inside] = (count * median + prior * tenant) / (count + prior)
    moods[together] = np.maximum(moods[together], surge)
    whole = float(np.median(ratio[judged])) if judged.sum() >= 5 else 1.0
    return whole, moods  # the whole tenant's for the text rules (DayContext.tenant)


def _usually_up(history: np.ndarray, judged: np.ndarray) -> float:
    """How many of the `judged` people being up would be ordinary: the expected number
    (each person's share of their active days at SURGE_RATIO × their mean or more,
    smoothed) plus SURGE_SIGMAS standard deviations. Bursty searchers are up on many
    ordinary days; only more of them than that is a surge (an incident response)."""
    days = history[judged]
    active = (days > 0).sum(axis=1)
    mean = days.sum(axis=1) / active
    chance = ((days >= SURGE_RATIO * mean[:, None]).sum(axis=1) + 0.5) / (active + 1)
    return float(chance.sum() + SURGE_SIGMAS * np.sqrt((chance * (1 - chance)).sum()))


def score_counts(
    grid: CountGrid, ctx: DayContext, config: DetectionConfig, peers: Peers
) -> list[Finding]:
    general, rules = config.general, config.rules
    today = grid.counts[:, ctx.column]
    window, window_days = _window(grid, ctx, general.baseline_days)
    recent_window, _ = _window(grid, ctx, general.dormant_days)
    history = grid.counts[:, window]
    active_days = (history > 0).sum(axis=1)
    recent = np.asarray((grid.counts[:, recent_window] > 0).any(axis=1))
    same_kind = _weekend(window_days) == bool(_weekend(np.array([ctx.day]))[0])
    season = np.arange(ctx.column - 7, ctx.column - 7 * general.season_weeks - 1, -7)
    season = season[season >= 0]
    quantile = rules.peer_outlier.peer_quantile
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
            weekdays = grid.counts[user, season]
            finding = _volume_spike(
                ctx, config, email, count, history[user], same_kind, weekdays, ctx.mood(user)
            )
        else:
            reference = _peer_reference(history, peers.members(user), quantile)
            weekdays = grid.counts[user, season]
            weekdays = weekdays[weekdays > 0]
            if len(weekdays) >= MIN_SAME_WEEKDAYS:  # their own weekly habit, if bigger
                reference = max(reference, float(np.median(weekdays)))
            finding = _peer_outlier(
                ctx,
                config,
                email,
                count,
                int(active_days[user]),
                (reference, peers.name(user)),
                ctx.mood(user),
            )
        if finding is not None:
            findings.append(finding)
    return findings


def _peer_reference(history: np.ndarray, people: np.ndarray, quantile: float) -> float:
    """What `quantile` of `people`'s active days stay under, over the baseline window."""
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
    weekdays: np.ndarray,
    tenant: float,
) -> Finding | None:
    rule = config.rules.volume_spike
    min_history = config.general.min_history_days
    if not rule.enabled or count < rule.min_searches or ctx.allowed(email, rule.allow):
        return None
    kind_days = history[same_kind]
    values, kind = kind_days[kind_days > 0], "same-kind"
    if len(values) < min_history:  # too few weekend (or weekday) days: every active day
        values, kind = history[history > 0], "active"
    same_days = weekdays[weekdays > 0]
    # The spread comes from the many days: two or three same weekdays' spread is noise
    # (two Fridays of 29 and 2 would make a day of 84 against a usual 15.5 unremarkable).
    mad = float(np.median(np.abs(values - np.median(values))))
    # The same weekday only raises the usual (a weekly report): a few days' median is too
    # noisy to lower it.
    if len(same_days) >= MIN_SAME_WEEKDAYS and np.median(same_days) > np.median(values):
        values, kind = same_days, "same-weekday"
    usual = float(np.median(values))
    scale = max(1.0, tenant)
    expected = usual * scale
    spread = max(mad * scale, 0.1 * expected, 1.0)
    robust_z = 0.6745 * (count - expected) / spread
    threshold = rule.min_ratio * expected
    if count < threshold or robust_z < rule.min_robust_z:
        return None
    days_word = "weekend day" if kind == "same-kind" and weekday(ctx.day) >= 5 else "active day"
    if kind == "same-kind" and weekday(ctx.day) < 5:
        days_word = "weekday"
    if kind == "same-weekday":
        days_word = DAY_NAMES[int(weekday(ctx.day))]
    summary = (
        f"{count:,} searches against a usual {number(usual)} (median of "
        f"{plural(len(values), days_word)}); their peers searched {times(tenant)} "
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
            "observed": count,
            "baseline": usual,
            "threshold": round(max(threshold, float(rule.min_searches)), 2),
            "surprise": round(robust_z, 2),
            "baseline_kind": kind,
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
    peer: tuple[float, str],
    tenant: float,
) -> Finding | None:
    """Far above what the user's peer group (`peer` = reference, group name) searches on
    an active day: a rare searcher is judged against people like them, not the tenant."""
    rule = config.rules.peer_outlier
    reference, group = peer
    if not rule.enabled or ctx.allowed(email, rule.allow) or reference <= 0:
        return None
    scale = max(1.0, tenant)
    threshold = max(float(rule.min_searches), rule.min_ratio * reference * scale)
    if count < threshold:
        return None
    own = "no history yet" if own_days == 0 else f"only {plural(own_days, 'active day')}"
    summary = (
        f"{count:,} searches, {times(count / reference)} the {rule.peer_quantile:.0%} mark of "
        f"their peers' active days ({group}: {number(reference)}), with {own} of their own; "
        f"their peers searched {times(tenant)} their usual that day"
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
            "observed": count,
            "baseline": reference,
            "threshold": round(threshold, 2),
            "surprise": round(count / (reference * scale), 2),
            "peer_group": group,
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
