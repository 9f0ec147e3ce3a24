"""Unusual time: how improbable today's hours, or today's weekday, are for this person.

Why chances of days and not counts of searches: six searches at 02:00 by someone who has
never searched at night say more than thirty at 19:00 by someone who often works late, and
searches come in bursts, so a day is the unit of evidence. The chance is the person's own
share of active days with searches in those hours (or of the same weekday over the last
`season_weeks` weeks active), shrunk toward their peers' by `prior_days` pseudo-days:

    p = (own days with it + prior_days × peers' rate) / (own days + prior_days)

so a rare searcher borrows their peers' habit from day one, a first-ever night weighs more
the longer the habit it breaks (more own days), and a permanent change of habit stops
alerting once it is in their own history: with the defaults, one day with those hours (or
the hour either side) already puts p above 1 % , and one active same weekday puts a day's
surprise under 3, so a weekday person moving to a seven-night shift alerts on at most three
days: the first night, the first Saturday and the first Sunday (see
`test_a_permanent_move_to_nights_stops_alerting_within_three_days`). The surprise is
-log10 p; peers' rates are themselves shrunk toward the whole tenant's (GROUP_PRIOR) and
floored at `peer_floor`.
"""

from __future__ import annotations

import math

import numpy as np

from ingest.detect.config import DetectionConfig
from ingest.detect.counts import DayContext
from ingest.detect.days import DAY_NAMES, weekday
from ingest.detect.features import CountGrid
from ingest.detect.finding import Finding, plural
from ingest.detect.peers import Peers

HOURS = 24


def office_prior(config: DetectionConfig) -> np.ndarray:
    """Share per local hour of someone who keeps office hours: 90 % spread over the office
    hours, 10 % over every hour."""
    general = config.general
    prior = np.full(HOURS, 0.1 / HOURS)
    office = np.arange(general.office_start, general.office_end)
    prior[office] += 0.9 / len(office)
    return prior


def _hour_profiles(grid: CountGrid, first_day: int, day: int) -> np.ndarray:
    """users × 24 searches per local hour on days [first_day, day)."""
    lo, hi = np.searchsorted(grid.slot_day, [first_day, day])
    profile = np.zeros((len(grid.emails), HOURS), dtype=np.float64)
    hours = grid.slot[lo:hi] % HOURS
    np.add.at(profile, (grid.slot_user[lo:hi], hours), grid.slot_count[lo:hi])
    return profile


def _hour_ranges(hours: list[int]) -> str:
    ranges: list[str] = []
    start = previous = hours[0]
    for hour in [*hours[1:], None]:
        if hour is not None and hour == previous + 1:
            previous = hour
            continue
        ranges.append(f"{start:02d}:00–{previous + 1:02d}:00")
        if hour is not None:
            start = previous = hour
    return ", ".join(ranges)


def _near(bits: int) -> int:
    """The hours in `bits` and the hour either side: someone who searched at 03:00 before
    is not new to 04:00, so a night shift's hours drifting does not alert night after night."""
    spread = bits | (bits << 1) | (bits >> 1) | ((bits & 1) << 23) | (bits >> 23)
    return spread & ((1 << HOURS) - 1)


GROUP_PRIOR = 20
"""Pseudo-days of the whole tenant's rate mixed into a group's: a group of six people
that never searched on the four Saturdays seen says little about Saturdays."""


def _pooled(hits: int, days: int, tenant_rate: float) -> float:
    return (hits + GROUP_PRIOR * tenant_rate) / (days + GROUP_PRIOR) if days else tenant_rate


def _chance(own: int, days: int, peer_rate: float, prior_days: float) -> float:
    return (own + prior_days * peer_rate) / (days + prior_days)


def _history_text(own: int, days: int) -> str:
    return "no history yet" if days == 0 else f"{own} of their last {plural(days, 'active day')}"


def score_unusual_time(
    grid: CountGrid, ctx: DayContext, config: DetectionConfig, peers: Peers
) -> list[Finding]:
    rule = config.rules.unusual_time
    if not rule.enabled:
        return []
    today = grid.counts[:, ctx.column]
    candidates = (today >= rule.min_searches) & peers.people
    if not candidates.any():
        return []
    width = config.general.baseline_days
    window = slice(max(0, ctx.column - width), ctx.column)
    profiles = _hour_profiles(grid, ctx.day - width, ctx.day)
    groups = np.zeros((len(peers.names) + 1, HOURS))  # row 0: the whole tenant
    np.add.at(groups, np.where(peers.people, peers.group + 1, 0), profiles)
    groups[0] = profiles[peers.people].sum(axis=0)
    group_profiles = groups[np.maximum(peers.group + 1, 0)]
    weight = rule.prior_weight
    peer_share = (group_profiles + weight * office_prior(config)) / (
        group_profiles.sum(axis=1, keepdims=True) + weight
    )
    share = (profiles + weight * peer_share) / (profiles.sum(axis=1, keepdims=True) + weight)
    # Cheap tests over everyone first, the peers' arithmetic only for who passes them.
    rows = grid.slot_rows(ctx.day)
    hours_today = np.zeros_like(profiles)
    np.add.at(hours_today, (grid.slot_user[rows], grid.slot[rows] % HOURS), grid.slot_count[rows])
    odd_hours = (hours_today * (share < rule.rare_share)).sum(axis=1) >= rule.min_searches
    odd_day = _seldom_this_weekday(grid, ctx, config)
    findings: list[Finding] = []
    for user in np.flatnonzero(candidates & (odd_hours | odd_day)):
        if ctx.allowed(grid.emails[user], rule.allow):
            continue
        finding = None
        if odd_hours[user]:
            finding = _odd_hours(grid, ctx, config, peers, int(user), window, share[user])
        if finding is None and odd_day[user]:
            finding = _odd_day(grid, ctx, config, peers, int(user))
        if finding is not None:
            findings.append(finding)
    return findings


def _same_weekdays(ctx: DayContext, config: DetectionConfig) -> np.ndarray:
    """Grid columns of the same weekday over the last `season_weeks` weeks."""
    weeks = config.general.season_weeks
    same = np.arange(ctx.column - 7, max(-1, ctx.column - 7 * weeks - 1), -7)
    return same[same >= 0]


def _seldom_this_weekday(grid: CountGrid, ctx: DayContext, config: DetectionConfig) -> np.ndarray:
    """Per user: active on so few of the same weekdays (since their first search) that the
    chance of today could be under 10 %, whatever their peers do."""
    same = _same_weekdays(ctx, config)
    ends = ctx.upper.timestamp() - 86400.0 * (ctx.column - same)
    weeks = (grid.first_seen[:, None] < ends[None, :]).sum(axis=1)
    active = (grid.counts[:, same] > 0).sum(axis=1)
    return active <= 0.1 * (weeks + config.rules.unusual_time.prior_days)


def _odd_hours(
    grid: CountGrid,
    ctx: DayContext,
    config: DetectionConfig,
    peers: Peers,
    user: int,
    window: slice,
    share: np.ndarray,
) -> Finding | None:
    """Searches in hours rare for the user (`share`: their smoothed share of each hour), on
    a day whose chance of them is small."""
    rule = config.rules.unusual_time
    rows = grid.slot_rows(ctx.day)
    mine = grid.slot_user[rows] == user
    hours = grid.slot[rows][mine] % HOURS
    counts = grid.slot_count[rows][mine]
    rare = share[hours] < rule.rare_share
    if int(counts[rare].sum()) < rule.min_searches:
        return None
    members = peers.members(user)
    masks = grid.hour_masks[:, window]
    active = masks != 0
    others = members.copy()
    others[user] = False
    everyone = peers.people.copy()
    everyone[user] = False
    own_days, peer_days = int(active[user].sum()), int(active[others].sum())
    tenant_days = int(active[everyone].sum())
    best: tuple[float, float, float, int, list[int], int] | None = None
    # The rarest of today's rare hours first: a borderline hour (18:00 for someone who
    # sometimes stays late) must not dilute three searches at 02:00.
    candidates = []
    for hour, searches in zip(hours[rare].tolist(), counts[rare].tolist(), strict=True):
        hit = (masks & _near(1 << hour)) != 0
        candidates.append((int(hit[user].sum()), int(hit[others].sum()), hour, searches))
    chosen: list[int] = []
    observed = 0
    for _, _, hour, searches in sorted(candidates):
        chosen.append(hour)
        observed += searches
        if observed < rule.min_searches:
            continue
        hit = (masks & _near(sum(1 << h for h in chosen))) != 0
        own_hits = int(hit[user].sum())
        tenant_rate = _pooled(int(hit[everyone].sum()), tenant_days, 0.0)
        rate = _pooled(int(hit[others].sum()), peer_days, tenant_rate)
        peer_rate = max(rule.peer_floor, rate)
        chance = _chance(own_hits, own_days, peer_rate, rule.prior_days)
        if best is None or chance < best[0]:
            best = (chance, peer_rate, -math.log10(chance), own_hits, sorted(chosen), observed)
    if best is None or best[2] < rule.min_surprise:
        return None
    chance, peer_rate, surprise, own_hits, rare_hours, observed = best
    count = int(grid.counts[user, ctx.column])
    summary = (
        f"{observed:,} of {count:,} searches at {_hour_ranges(rare_hours)}; searched in those "
        f"hours on {_history_text(own_hits, own_days)}, their peers ({peers.name(user)}) on "
        f"{peer_rate:.1%} of theirs: a chance of {chance:.2%} (surprise {surprise:.1f})"
    )
    figures = {
        "observed": observed,
        "baseline": round(chance, 5),
        "threshold": rule.min_surprise,
        "surprise": round(surprise, 2),
        "searches": count,
        "local_hours": rare_hours,
        "own_days_in_those_hours": own_hits,
        "own_active_days": own_days,
        "peer_rate": round(peer_rate, 5),
        "peer_group": peers.name(user),
    }
    return Finding(
        "unusual_time",
        grid.emails[user],
        ctx.day,
        ctx.lower,
        ctx.upper,
        surprise / rule.min_surprise,
        summary,
        figures,
        {"hours": rare_hours},
    )


def _odd_day(
    grid: CountGrid, ctx: DayContext, config: DetectionConfig, peers: Peers, user: int
) -> Finding | None:
    """Active on a weekday this person is seldom active on (the last `season_weeks` same
    weekdays), weighed with how big the day is for them."""
    rule = config.rules.unusual_time
    general = config.general
    same = _same_weekdays(ctx, config)
    window = slice(max(0, ctx.column - 7 * general.season_weeks), ctx.column)
    # Only the same weekdays after someone's first search count: before it, their not
    # searching says nothing (the data, or their job, had not started).
    ends = ctx.upper.timestamp() - 86400.0 * (ctx.column - same)
    own_seen = grid.first_seen[user] < ends
    own_active = int((grid.counts[user, same] > 0).sum())
    own_weeks = int(own_seen.sum())
    seen = grid.first_seen[:, None] < ends[None, :]
    members = peers.members(user)
    others = members.copy()
    others[user] = False
    everyone = peers.people.copy()
    everyone[user] = False
    searched = (grid.counts[:, same] > 0) & seen
    around = (grid.counts[:, window] > 0).any(axis=1)
    tenant_rate = _pooled(
        int(searched[everyone & around].sum()), int(seen[everyone & around].sum()), 0.0
    )
    group = others & around
    rate = _pooled(int(searched[group].sum()), int(seen[group].sum()), tenant_rate)
    peer_rate = max(rule.peer_floor, rate)
    same = same[own_seen]
    day_chance = _chance(own_active, own_weeks, peer_rate, rule.prior_days)
    if day_chance > 0.1:
        return None
    count = int(grid.counts[user, ctx.column])
    history = grid.counts[user, window]
    days = history[history > 0]
    bigger = int((days >= count).sum())
    volume_chance = _chance(bigger, len(days), 0.5, rule.prior_days)
    surprise = -math.log10(day_chance) - math.log10(volume_chance)
    if surprise < rule.day_min_surprise:
        return None
    name = DAY_NAMES[int(weekday(ctx.day))]
    summary = (
        f"{count:,} searches on a {name}; active on {own_active} of the last "
        f"{plural(len(same), name)}, their peers ({peers.name(user)}) on {peer_rate:.1%}; "
        f"a day this big on {_history_text(bigger, len(days))} (surprise {surprise:.1f})"
    )
    figures = {
        "observed": count,
        "baseline": round(day_chance * volume_chance, 5),
        "threshold": rule.day_min_surprise,
        "surprise": round(surprise, 2),
        "searches": count,
        "weekday": name,
        "own_same_weekdays_active": own_active,
        "same_weekdays": len(same),
        "peer_rate": round(peer_rate, 5),
        "peer_group": peers.name(user),
        "own_days_this_big": bigger,
        "own_active_days": len(days),
    }
    return Finding(
        "unusual_time",
        grid.emails[user],
        ctx.day,
        ctx.lower,
        ctx.upper,
        surprise / rule.day_min_surprise,
        summary,
        figures,
    )
